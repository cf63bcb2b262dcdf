// SPDX-License-Identifier: Apache-2.0
/** Renders a trace as a terminal waterfall: indented tree, duration bars, errors highlighted. */
import type { SpanNode, TraceTree } from './trace-tree.js';

/** Options of {@link renderWaterfall}. */
export interface WaterfallOptions {
  /** Total line width; default 120. */
  width?: number;
  /** Use ANSI colours (errors in red); default false. */
  color?: boolean;
}

const KIND = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/** Formats nanoseconds as `850µs`, `12.3ms`, `1.20s`. */
export function formatDuration(ns: number): string {
  if (ns < 1_000) return `${ns}ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(0)}µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)}ms`;
  return `${(ns / 1_000_000_000).toFixed(2)}s`;
}

/** Returns the waterfall as lines of text (no trailing newline). */
export function renderWaterfall(tree: TraceTree, options: WaterfallOptions = {}): string {
  const width = Math.max(options.width ?? 120, 60);
  const red = (s: string): string => (options.color ? `\u001b[31m${s}\u001b[0m` : s);
  const barWidth = Math.max(20, Math.floor(width * 0.4));
  const labelWidth = width - barWidth - 12;
  const t0 = BigInt(tree.startTimeUnixNano);
  const total = Math.max(tree.durationNs, 1);
  const lines: string[] = [];
  lines.push(`Trace ${tree.traceId}  ${tree.spanCount} spans  ${tree.services.length} services  ${formatDuration(tree.durationNs)}${tree.errorCount ? `  ${red(`${tree.errorCount} error(s)`)}` : ''}`);
  lines.push('');
  const walk = (n: SpanNode, prefix: string, last: boolean, depth: number): void => {
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    const isError = n.status.code === 2;
    let label = `${prefix}${branch}${n.service}: ${n.name}${KIND[n.kind] ? ` [${KIND[n.kind]}]` : ''}${isError ? ' ✗' : ''}`;
    if (label.length > labelWidth) label = `${label.slice(0, labelWidth - 1)}…`;
    const offset = Number(BigInt(n.startTimeUnixNano) - t0);
    const from = Math.min(barWidth - 1, Math.floor((offset / total) * barWidth));
    const len = Math.max(1, Math.min(barWidth - from, Math.round((n.durationNs / total) * barWidth)));
    const bar = `${' '.repeat(from)}${(isError ? '▓' : '█').repeat(len)}${' '.repeat(barWidth - from - len)}`;
    const line = `${label.padEnd(labelWidth)} │${bar}│ ${formatDuration(n.durationNs).padStart(8)}`;
    lines.push(isError ? red(line) : line);
    if (isError && n.status.message) lines.push(red(`${prefix}${depth === 0 ? '' : last ? '   ' : '│  '}  error: ${n.status.message.slice(0, labelWidth)}`));
    const childPrefix = depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`;
    n.children.forEach((c, i) => walk(c, childPrefix, i === n.children.length - 1, depth + 1));
  };
  tree.roots.forEach((r, i) => walk(r, '', i === tree.roots.length - 1, 0));
  return lines.join('\n');
}
