// SPDX-License-Identifier: Apache-2.0
/** Reads NAB-format data: `timestamp,value` CSV files and the label windows JSON. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../lib/errors.js';

/** Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC) to epoch ms; NaN when malformed. */
export function parseNabTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return NaN;
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + frac;
}

export interface NabCsv {
  readonly timestamps: Float64Array;
  readonly columns: Map<string, Float64Array>;
}

/** Reads a NAB CSV: a `timestamp` column plus numeric columns. */
export function readNabCsv(path: string): NabCsv {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines[0] ?? '').split(',');
  if (header[0] !== 'timestamp') throw new InvalidArgumentError(`${path}:1: expected a header starting with "timestamp", got "${lines[0] ?? ''}"`);
  const n = lines.length - 1;
  const timestamps = new Float64Array(n);
  const cols = header.slice(1).map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1]!.split(',');
    const t = parseNabTime(f[0] ?? '');
    if (Number.isNaN(t)) throw new InvalidArgumentError(`${path}:${i + 2}: bad timestamp "${f[0] ?? ''}"`);
    timestamps[i] = t;
    for (let c = 0; c < cols.length; c++) cols[c]![i] = Number(f[c + 1]);
  }
  return { timestamps, columns: new Map(header.slice(1).map((h, c) => [h, cols[c]!])) };
}

/** `labels/combined_windows.json` as epoch-ms pairs, keyed `<category>/<file>.csv`. */
export function readNabWindows(nabDir: string): Map<string, [number, number][]> {
  const raw = JSON.parse(readFileSync(join(nabDir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  return new Map(Object.entries(raw).map(([k, ws]) => [k, ws.map(([a, b]) => [parseNabTime(a), parseNabTime(b)] as [number, number])]));
}
