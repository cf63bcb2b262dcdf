// SPDX-License-Identifier: Apache-2.0
/** What `maxpro replay` prints: event and span lines, the live table, problems and the summary. */
import type { LiveStreamEvent } from '../agent/http/live-stream-client.js';
import type { StoredSpan } from '../collector/span-store.js';
import { escapeControl, formatDuration } from '../collector/waterfall.js';
import type { CaptureProblem } from '../capture/capture-reader.js';
import type { OperationFigures } from '../capture/operation-stats.js';
import { createTable } from './output/table.js';

const clock = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().slice(11, 23);

function attrs(e: LiveStreamEvent): string {
  if (e.args?.length) return e.args.map((a) => escapeControl(a)).join(' ');
  return Object.entries(e.attributes ?? {}).filter(([, v]) => v !== '' && v !== undefined && v !== null).slice(0, 6)
    .map(([k, v]) => `${k}=${escapeControl(typeof v === 'string' ? v : JSON.stringify(v))}`).join(' ');
}

export function eventLine(e: LiveStreamEvent, t: bigint, width: number): string {
  const pod = e.workload?.pod ? `  pod=${escapeControl(e.workload.pod)}` : '';
  const line = `${clock(t)}  ${e.name.padEnd(14)} ${String(e.pid).padStart(7)} ${escapeControl(e.comm).padEnd(16)} ${attrs(e)}${pod}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

export function spanLine(s: StoredSpan, t: bigint, width: number): string {
  const err = s.status.code === 2 ? `  ✗ ${escapeControl(s.status.message ?? 'error')}` : '';
  const line = `${clock(t)}  span           ${formatDuration(s.durationNs).padStart(8)} ${escapeControl(s.service)}: ${escapeControl(s.name)}  trace ${s.traceId}${err}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

const OPS = createTable({ columns: [
  { header: 'SERVICE', width: 20 }, { header: 'OPERATION', width: 32 }, { header: 'COUNT', width: 8, align: 'right' },
  { header: 'ERRORS', width: 7, align: 'right' }, { header: 'P50', width: 9, align: 'right' }, { header: 'P99', width: 9, align: 'right' },
] });
const EVENTS = createTable({ columns: [{ header: 'EVENT', width: 24 }, { header: 'COUNT', width: 8, align: 'right' }, { header: 'TOP COMM', width: 0 }] });

/** The live table: operations by span count, then events by name. */
export function replayTable(t: bigint | undefined, ops: readonly OperationFigures[], events: Map<string, { n: number; comms: Map<string, number> }>, maxRows = 20): string {
  const lines = [t !== undefined ? `capture time ${clock(t)}` : 'capture', '', OPS.header()];
  for (const o of ops.slice(0, maxRows)) lines.push(OPS.row([escapeControl(o.service), escapeControl(o.operation), o.count, o.errors, formatDuration(Math.round(o.p50Ms * 1e6)), formatDuration(Math.round(o.p99Ms * 1e6))]));
  if (ops.length > maxRows) lines.push(`… ${ops.length - maxRows} more operations`);
  lines.push('', EVENTS.header());
  for (const [name, e] of [...events].sort((a, b) => b[1].n - a[1].n).slice(0, maxRows)) {
    const top = [...e.comms].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c, n]) => `${escapeControl(c)} ${n}`).join(', ');
    lines.push(EVENTS.row([name, e.n, top]));
  }
  return `${lines.join('\n')}\n`;
}

export function problemLine(file: string, p: CaptureProblem): string {
  return p.tail
    ? `maxpro: ${file}: ends with an incomplete block at offset ${p.offset} (${p.bytes} bytes not read): ${p.reason}\n`
    : `maxpro: ${file}: damaged block at offset ${p.offset} skipped: ${p.reason}\n`;
}
