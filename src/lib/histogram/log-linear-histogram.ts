// SPDX-License-Identifier: Apache-2.0
/**
 * A log-linear histogram in user space: the counts of one in-kernel
 * histogram (or of several merged), with quantile estimation.
 */
import { InvalidArgumentError } from '../errors.js';
import { HIST_BUCKETS, bucketIndex, bucketLower, bucketUpper } from './log-linear-scheme.js';

export interface LogLinearHistogram {
  /** Count per bucket, HIST_BUCKETS long. */
  readonly counts: Float64Array;
  /** Exact sum of the recorded values. */
  sum: number;
  /** Total count (the sum of `counts`). */
  count: number;
}

/** An empty histogram. */
export function createLogLinearHistogram(): LogLinearHistogram {
  return { counts: new Float64Array(HIST_BUCKETS), sum: 0, count: 0 };
}

/** Records `n` occurrences of `value` (as BPF would). */
export function recordValue(h: LogLinearHistogram, value: number, n = 1): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new InvalidArgumentError(`recordValue: ${value} is not a finite value >= 0`);
  h.counts[bucketIndex(value)]! += n;
  h.sum += value * n;
  h.count += n;
}

/** Adds `src` into `dst`. */
export function mergeInto(dst: LogLinearHistogram, src: LogLinearHistogram): void {
  for (let i = 0; i < HIST_BUCKETS; i++) dst.counts[i]! += src.counts[i]!;
  dst.sum += src.sum;
  dst.count += src.count;
}

/** `a - b`, bucket by bucket (a later snapshot minus an earlier one). Negative counts clamp to 0. */
export function subtract(a: LogLinearHistogram, b: LogLinearHistogram): LogLinearHistogram {
  const out = createLogLinearHistogram();
  for (let i = 0; i < HIST_BUCKETS; i++) {
    const d = a.counts[i]! - b.counts[i]!;
    out.counts[i] = d > 0 ? d : 0;
    out.count += out.counts[i]!;
  }
  out.sum = Math.max(0, a.sum - b.sum);
  return out;
}

/**
 * Estimates quantile `q` (0..1): finds the bucket holding the rank and
 * returns its midpoint, which is within HIST_MAX_RELATIVE_ERROR of every
 * value in the bucket. Bucket 0 answers its upper bound's half; the overflow
 * bucket answers its lower bound. NaN for an empty histogram.
 */
export function quantile(h: LogLinearHistogram, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError(`quantile: q ${q} is not in [0, 1]`);
  if (h.count <= 0) return NaN;
  // The rank of the q-th value, 1-based, as in the nearest-rank definition.
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) {
      if (i === HIST_BUCKETS - 1) return bucketLower(i);
      return (bucketLower(i) + bucketUpper(i)) / 2;
    }
  }
  return bucketLower(HIST_BUCKETS - 1);
}
