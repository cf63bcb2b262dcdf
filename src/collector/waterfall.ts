// SPDX-License-Identifier: Apache-2.0
/**
 * Renders a trace as a terminal waterfall: indented tree, duration bars,
 * errors highlighted. Deep trees keep their names readable: past a share of
 * the label column the indentation is compressed into a `┆N` marker (N
 * levels elided) followed by the nearest levels. Names and status messages
 * are escaped, so a newline or a terminal control sequence in a span cannot
 * break the tree. What is shown is chosen by {@link waterfallRows}.
 */
import type { TraceTree } from './trace-tree.js';
import { waterfallRows, type WaterfallRow, type WaterfallView } from './waterfall-rows.js';

/** Options of {@link renderWaterfall}. */
export interface WaterfallOptions extends WaterfallView {
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

/** Escapes newlines, tabs and every other control character (C0, DEL, C1, line separators) as `\n`, `\t`, `\xNN`, `\uNNNN`. */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

/** The tree lines before the label: guides of the ancestors and the branch, compressed past `maxIndent` characters. */
function indent(row: WaterfallRow, maxIndent: number): { prefix: string; cont: string } {
  if (row.depth === 0) return { prefix: '', cont: '' };
  let guides = row.guides;
  let marker = '';
  if ((guides.length + 1) * 3 > maxIndent) {
    const keep = Math.max(0, Math.min(4, Math.floor((maxIndent - 5) / 3) - 1));
    marker = `┆${guides.length - keep} `;
    guides = guides.slice(guides.length - keep);
  }
  const g = marker + guides.map((x) => (x ? '│  ' : '   ')).join('');
  return { prefix: `${g}${row.last ? '└─ ' : '├─ '}`, cont: `${g}${row.last ? '   ' : '│  '}` };
}

function summaryLabel(r: Exclude<WaterfallRow, { type: 'span' }>): string {
  const errors = r.errors ? `, ${r.errors} error${r.errors > 1 ? 's' : ''}` : '';
  if (r.type === 'run') {
    const each = r.spans / r.subtrees;
    return `⋯ ×${r.subtrees} more like ${escapeControl(r.sample!.name)} (${each > 1 ? `${each} spans each, ` : ''}p50 ${formatDuration(median(r.durations))} max ${formatDuration(Math.max(...r.durations))}${errors})`;
  }
  if (r.type === 'more') return `⋯ ${r.subtrees} more children (${r.spans} spans${errors})`;
  return `⋯ ${r.spans} spans below${errors}`;
}

/** Returns the waterfall as lines of text (no trailing newline). */
export function renderWaterfall(tree: TraceTree, options: WaterfallOptions = {}): string {
  const width = Math.max(options.width ?? 120, 60);
  const red = (s: string): string => (options.color ? `\u001b[31m${s}\u001b[0m` : s);
  const barWidth = Math.max(20, Math.floor(width * 0.4));
  const labelWidth = width - barWidth - 12;
  const maxIndent = Math.floor(labelWidth * 0.4);
  const t0 = BigInt(tree.startTimeUnixNano);
  const total = Math.max(tree.durationNs, 1);
  const rows = waterfallRows(tree, options);
  const lines: string[] = [];
  const shown = rows.filter((r) => r.type === 'span').length;
  const narrowed = options.errorsOnly || options.criticalPath || options.depth !== undefined || options.fold !== undefined;
  lines.push(`Trace ${tree.traceId}  ${tree.spanCount} spans  ${tree.services.length} services  ${formatDuration(tree.durationNs)}${tree.errorCount ? `  ${red(`${tree.errorCount} error(s)`)}` : ''}${narrowed ? `  (${shown} shown)` : ''}`);
  lines.push('');
  const bar = (startNs: bigint, durNs: number, ch: string): string => {
    const from = Math.min(barWidth - 1, Math.floor((Number(startNs - t0) / total) * barWidth));
    const len = Math.max(1, Math.min(barWidth - from, Math.round((durNs / total) * barWidth)));
    return `${' '.repeat(from)}${ch.repeat(len)}${' '.repeat(barWidth - from - len)}`;
  };
  const fit = (label: string): string => (label.length > labelWidth ? `${label.slice(0, labelWidth - 1)}…` : label).padEnd(labelWidth);
  for (const r of rows) {
    const { prefix, cont } = indent(r, maxIndent);
    if (r.type !== 'span') {
      const dur = Number(r.endNs - r.startNs);
      const line = `${fit(prefix + summaryLabel(r))} │${bar(r.startNs, dur, '░')}│ ${formatDuration(dur).padStart(8)}`;
      lines.push(r.errors ? red(line) : line);
      continue;
    }
    const n = r.node;
    const isError = n.status.code === 2;
    const label = `${prefix}${escapeControl(`${n.service}: ${n.name}`)}${KIND[n.kind] ? ` [${KIND[n.kind]}]` : ''}${isError ? ' ✗' : ''}`;
    const line = `${fit(label)} │${bar(BigInt(n.startTimeUnixNano), n.durationNs, isError ? '▓' : '█')}│ ${formatDuration(n.durationNs).padStart(8)}`;
    lines.push(isError ? red(line) : line);
    if (isError && n.status.message) lines.push(red(`${cont}  error: ${escapeControl(n.status.message).slice(0, labelWidth)}`));
  }
  return lines.join('\n');
}
