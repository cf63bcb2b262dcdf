// SPDX-License-Identifier: Apache-2.0
/**
 * Compares two captures (`maxpro replay --diff BEFORE AFTER`): services and
 * operations added or gone, per-operation rate, latency and error changes,
 * event counts, and the anomaly detector's verdicts. The detector sees each
 * operation's per-second mean latency: over each capture on its own (does
 * it alert within BEFORE, within AFTER), and over BEFORE then AFTER with
 * BEFORE as its learning period (does AFTER look anomalous against BEFORE).
 */
import { createAnomalyDetector, type AnomalyAlert } from '../anomaly/anomaly-detector.js';
import type { StoredSpan } from '../collector/span-store.js';
import type { CaptureContents } from './capture-contents.js';
import { createOperationStats, operationKey, type OperationFigures } from './operation-stats.js';

/** Relative change that counts as a latency change (p50 or p99 up or down by this factor). */
const LATENCY_FACTOR = 1.5;
/** Smallest absolute p50/p99 change, ms, that counts (sub-millisecond jitter is not a change). */
const LATENCY_MIN_MS = 1;
/** Error-ratio change, in points, that counts. */
const ERROR_POINTS = 0.05;

export interface DetectorVerdict {
  /** Rows (seconds with spans) the detector saw. */
  rows: number;
  alerts: number;
  maxScore: number;
  /** The first alert, with its explanation. */
  first?: AnomalyAlert;
}

export interface OperationDiff {
  service: string;
  operation: string;
  before: OperationFigures & { ratePerSec: number; errorRatio: number };
  after: OperationFigures & { ratePerSec: number; errorRatio: number };
  /** What changed beyond the thresholds: `latency_up`, `latency_down`, `errors_up`, `errors_down`, `anomalous`. */
  changes: string[];
  verdicts: { before: DetectorVerdict; after: DetectorVerdict; afterAgainstBefore: DetectorVerdict };
}

export interface CaptureDiff {
  durationSec: { before: number; after: number };
  services: { added: string[]; gone: string[]; common: string[] };
  operations: { added: { service: string; operation: string; count: number }[]; gone: { service: string; operation: string; count: number }[] };
  changed: OperationDiff[];
  unchanged: number;
  events: { name: string; before: number; after: number }[];
}

function spanSeconds(c: CaptureContents): number {
  const meta = c.meta as { startedNs?: string } | undefined;
  const times = c.spans.flatMap((s) => [BigInt(s.startTimeUnixNano), BigInt(s.endTimeUnixNano)]);
  if (c.stats) return Number(BigInt(c.stats.endedNs) - BigInt(c.stats.startedNs)) / 1e9;
  if (times.length === 0) return 0;
  const lo = meta?.startedNs ? BigInt(meta.startedNs) : times.reduce((a, b) => (b < a ? b : a));
  const hi = times.reduce((a, b) => (b > a ? b : a));
  return Math.max(1, Number(hi - lo) / 1e9);
}

/** Per operation: mean latency (ms) per second of span start, time order; seconds without spans are absent. */
function latencySeries(spans: readonly StoredSpan[]): Map<string, { t: number; v: number }[]> {
  const acc = new Map<string, Map<number, { sum: number; n: number }>>();
  for (const s of spans) {
    const sec = Number(BigInt(s.startTimeUnixNano) / 1_000_000_000n);
    const key = operationKey(s.service, s.name);
    let m = acc.get(key);
    if (!m) acc.set(key, m = new Map());
    const b = m.get(sec) ?? { sum: 0, n: 0 };
    b.sum += s.durationNs / 1e6;
    b.n++;
    m.set(sec, b);
  }
  return new Map([...acc].map(([k, m]) => [k, [...m].sort((a, b) => a[0] - b[0]).map(([sec, b]) => ({ t: sec * 1000, v: b.sum / b.n }))]));
}

/** Runs the detector over `learn` (no verdict) then `judge`; the verdict covers `judge` only. */
function judge(learn: { t: number; v: number }[], rows: { t: number; v: number }[], learnRows: number): DetectorVerdict {
  const d = createAnomalyDetector({ model: 'stat', learnRows: Math.max(1, learnRows), seed: 1 });
  let last = -Infinity;
  const feed = (r: { t: number; v: number }): ReturnType<typeof d.update> => {
    // A later capture may start before an earlier one ended on the clock: keep time moving forward.
    const t = r.t > last ? r.t : last + 1000;
    last = t;
    return d.update(t, r.v);
  };
  for (const r of learn) feed(r);
  const v: DetectorVerdict = { rows: rows.length, alerts: 0, maxScore: 0 };
  for (const r of rows) {
    const step = feed(r);
    if (step.score > v.maxScore) v.maxScore = step.score;
    if (step.alert) {
      v.alerts++;
      v.first ??= step.alert;
    }
  }
  return v;
}

export function diffCaptures(before: CaptureContents, after: CaptureContents): CaptureDiff {
  const dur = { before: spanSeconds(before), after: spanSeconds(after) };
  const statsOf = (c: CaptureContents): Map<string, OperationFigures> => {
    const st = createOperationStats();
    for (const s of c.spans) st.add(s);
    return new Map(st.rows().map((r) => [operationKey(r.service, r.operation), r]));
  };
  const a = statsOf(before), b = statsOf(after);
  const svcA = new Set(before.spans.map((s) => s.service)), svcB = new Set(after.spans.map((s) => s.service));
  const seriesA = latencySeries(before.spans), seriesB = latencySeries(after.spans);
  const changed: OperationDiff[] = [];
  let unchanged = 0;
  for (const [key, fa] of a) {
    const fb = b.get(key);
    if (!fb) continue;
    const rate = (f: OperationFigures, sec: number): number => (sec > 0 ? f.count / sec : 0);
    const ea = fa.errors / fa.count, eb = fb.errors / fb.count;
    const changes: string[] = [];
    const moved = (x: number, y: number): number => (Math.abs(y - x) < LATENCY_MIN_MS ? 0 : y >= x * LATENCY_FACTOR ? 1 : x >= y * LATENCY_FACTOR ? -1 : 0);
    const lat = moved(fa.p50Ms, fb.p50Ms) || moved(fa.p99Ms, fb.p99Ms);
    if (lat > 0) changes.push('latency_up');
    if (lat < 0) changes.push('latency_down');
    if (eb - ea >= ERROR_POINTS) changes.push('errors_up');
    if (ea - eb >= ERROR_POINTS) changes.push('errors_down');
    const sa = seriesA.get(key) ?? [], sb = seriesB.get(key) ?? [];
    const verdicts = {
      before: judge([], sa, Math.ceil(sa.length / 3)),
      after: judge([], sb, Math.ceil(sb.length / 3)),
      afterAgainstBefore: judge(sa, sb, sa.length),
    };
    if (verdicts.afterAgainstBefore.alerts > 0) changes.push('anomalous');
    if (changes.length === 0) { unchanged++; continue; }
    changed.push({
      service: fa.service, operation: fa.operation, changes, verdicts,
      before: { ...fa, ratePerSec: rate(fa, dur.before), errorRatio: ea },
      after: { ...fb, ratePerSec: rate(fb, dur.after), errorRatio: eb },
    });
  }
  const only = (x: Map<string, OperationFigures>, y: Map<string, OperationFigures>): { service: string; operation: string; count: number }[] =>
    [...x].filter(([k]) => !y.has(k)).map(([, f]) => ({ service: f.service, operation: f.operation, count: f.count }));
  const events = new Map<string, { name: string; before: number; after: number }>();
  for (const [c, side] of [[before, 'before'], [after, 'after']] as const) {
    for (const e of c.events) {
      const row = events.get(e.name) ?? { name: e.name, before: 0, after: 0 };
      row[side]++;
      events.set(e.name, row);
    }
  }
  return {
    durationSec: dur,
    services: { added: [...svcB].filter((s) => !svcA.has(s)).sort(), gone: [...svcA].filter((s) => !svcB.has(s)).sort(), common: [...svcA].filter((s) => svcB.has(s)).sort() },
    operations: { added: only(b, a), gone: only(a, b) },
    changed, unchanged,
    events: [...events.values()].sort((x, y) => x.name.localeCompare(y.name)),
  };
}
