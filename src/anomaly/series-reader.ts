// SPDX-License-Identifier: Apache-2.0
/** Reads `timestamp,value` series from CSV or NDJSON text, with errors that name the line. */
import { InvalidArgumentError } from '../lib/errors.js';

export interface Series {
  readonly name: string;
  readonly t: number[];
  readonly v: number[];
  /** What the series is about (e.g. service, operation, signal), when the source knows. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A timestamp as epoch ms: ISO / `YYYY-MM-DD HH:MM:SS` (UTC when no zone), or epoch seconds / ms. */
export function parseTimestamp(raw: unknown): number {
  if (typeof raw === 'number') return raw < 1e11 ? raw * 1000 : raw;
  if (typeof raw !== 'string' || raw.trim() === '') return NaN;
  const s = raw.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseTimestamp(Number(s));
  const iso = s.replace(' ', 'T');
  return Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
}

/** Parses a series; values that are empty or `NaN` are kept as NaN (a gap), not dropped. */
export function parseSeries(text: string, name: string): Series {
  const lines = text.split(/\r?\n/);
  const t: number[] = [];
  const v: number[] = [];
  const ndjson = (lines.find((l) => l.trim() !== '') ?? '').trim().startsWith('{');
  lines.forEach((line, k) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    let ts: unknown;
    let val: unknown;
    if (ndjson) {
      let o: unknown;
      try {
        o = JSON.parse(l);
      } catch (e) {
        throw new InvalidArgumentError(`${name}:${k + 1}: not JSON`, { cause: e });
      }
      const rec = o as Record<string, unknown>;
      ts = rec['timestamp'] ?? rec['t'];
      val = rec['value'] ?? rec['v'];
    } else {
      const f = l.split(',');
      if (k === 0 && f[0]?.trim() === 'timestamp') return;
      if (f.length < 2) throw new InvalidArgumentError(`${name}:${k + 1}: expected "timestamp,value", got "${l}"`);
      ts = f[0];
      val = f[1];
    }
    const tm = parseTimestamp(ts);
    if (Number.isNaN(tm)) throw new InvalidArgumentError(`${name}:${k + 1}: bad timestamp ${JSON.stringify(ts)}`);
    const num = val === null || val === '' || val === undefined ? NaN : Number(val);
    if (Number.isNaN(num) && !(val === null || val === '' || val === undefined || String(val).trim().toLowerCase() === 'nan')) {
      throw new InvalidArgumentError(`${name}:${k + 1}: bad value ${JSON.stringify(val)}`);
    }
    if (t.length > 0 && tm < t[t.length - 1]!) throw new InvalidArgumentError(`${name}:${k + 1}: timestamp goes back in time`);
    t.push(tm);
    v.push(num);
  });
  return { name, t, v };
}
