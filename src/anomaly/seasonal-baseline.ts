// SPDX-License-Identifier: Apache-2.0
/**
 * Online baselines for a series: the last value, a slow level, and daily and
 * weekly profiles (one running mean per time-of-day / time-of-week bucket).
 * Each predicts the next value; the one with the lowest recent absolute error
 * is the expectation. Nothing is known ahead of time: the bucket width comes
 * from the cadence seen in the first rows.
 */

export type BaselineKind = 'last' | 'level' | 'daily' | 'weekly';

export interface Prediction {
  readonly value: number;
  readonly kind: BaselineKind;
}

export interface SeasonalBaseline {
  /** The expectation for a row at time t (before seeing its value); undefined until anything was seen. */
  predict(t: number): Prediction | undefined;
  /** Learns the row's value. */
  /** Learns the row's value; each seasonal bucket takes it clipped to its own band, so one spike does not echo a period later. */
  learn(t: number, v: number): void;
  /** Resets the slow level (after a level shift) to the given value. */
  rebaseline(level: number): void;
  /** ms between rows as estimated so far (0 until known). */
  readonly cadenceMs: number;
}

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const KINDS: BaselineKind[] = ['last', 'level', 'daily', 'weekly'];

interface Profile {
  width: number;
  mean: Float64Array;
  count: Uint32Array;
}

function profile(periodMs: number, cadenceMs: number, maxBuckets: number): Profile {
  const buckets = Math.max(1, Math.min(maxBuckets, Math.round(periodMs / cadenceMs)));
  return { width: periodMs / buckets, mean: new Float64Array(buckets), count: new Uint32Array(buckets) };
}

export function createSeasonalBaseline(options: { errorAlpha?: number } = {}): SeasonalBaseline {
  const errAlpha = options.errorAlpha ?? 0.02;
  const diffs: number[] = [];
  let cadence = 0;
  let lastT = NaN;
  let last = NaN;
  let level = NaN;
  let daily: Profile | undefined;
  let weekly: Profile | undefined;
  const err = new Float64Array(KINDS.length).fill(Infinity);
  const bucket = (p: Profile, t: number, period: number): number => Math.floor((((t % period) + period) % period) / p.width) % p.mean.length;
  // Reused on every row (NaN = no candidate): no allocation on the hot path.
  const cand = new Float64Array(KINDS.length);
  const candidates = (t: number): Float64Array => {
    cand[0] = last;
    cand[1] = level;
    cand[2] = NaN;
    cand[3] = NaN;
    if (daily) {
      const b = bucket(daily, t, DAY);
      if (daily.count[b]! >= 2) cand[2] = daily.mean[b]!;
    }
    if (weekly) {
      const b = bucket(weekly, t, WEEK);
      if (weekly.count[b]! >= 2) cand[3] = weekly.mean[b]!;
    }
    return cand;
  };
  const learnProfile = (p: Profile | undefined, t: number, period: number, k: number, v: number): void => {
    if (!p) return;
    const b = bucket(p, t, period);
    const n = p.count[b]! + 1;
    const band = n > 2 && Number.isFinite(err[k]!) ? 4 * err[k]! : Infinity;
    const pv = Math.min(p.mean[b]! + band, Math.max(p.mean[b]! - band, v));
    p.count[b] = n;
    p.mean[b] = p.mean[b]! + (pv - p.mean[b]!) / Math.min(n, 4);
  };
  return {
    get cadenceMs() {
      return cadence;
    },
    predict(t) {
      const c = candidates(t);
      let best = -1;
      for (let k = 0; k < KINDS.length; k++) {
        if (Number.isNaN(c[k]!)) continue;
        if (best < 0 || err[k]! < err[best]!) best = k;
      }
      return best < 0 ? undefined : { value: c[best]!, kind: KINDS[best]! };
    },
    learn(t, v) {
      const c = candidates(t);
      for (let k = 0; k < KINDS.length; k++) {
        const p = c[k]!;
        if (Number.isNaN(p)) continue;
        const e = Math.abs(v - p);
        err[k] = err[k] === Infinity ? e : err[k]! + errAlpha * (e - err[k]!);
      }
      if (!Number.isNaN(lastT) && t > lastT && cadence === 0) {
        diffs.push(t - lastT);
        if (diffs.length >= 16) {
          cadence = diffs.sort((a, b) => a - b)[8]!;
          if (cadence < DAY) daily = profile(DAY, cadence, 1440);
          if (cadence < WEEK) weekly = profile(WEEK, cadence, 2016);
        }
      }
      learnProfile(daily, t, DAY, 2, v);
      learnProfile(weekly, t, WEEK, 3, v);
      level = Number.isNaN(level) ? v : level + 0.01 * (v - level);
      last = v;
      lastT = t;
    },
    rebaseline(v) {
      level = v;
    },
  };
}
