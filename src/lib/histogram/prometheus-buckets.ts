// SPDX-License-Identifier: Apache-2.0
/** Log-linear histogram to Prometheus cumulative `le` buckets. */
import { InvalidArgumentError } from '../errors.js';
import type { LogLinearHistogram } from './log-linear-histogram.js';
import { HIST_BUCKETS, HIST_MAX_EXP, HIST_MIN_EXP, bucketUpper } from './log-linear-scheme.js';

export interface CumulativeBucket {
  /** Upper bound, inclusive as Prometheus reads it, in the histogram's unit. */
  le: number;
  /** Values at or below `le`. */
  count: number;
}

/**
 * The default bounds: every power of two of the scheme, 2^10 .. 2^44.
 * They are bucket boundaries, so the conversion is exact.
 */
export function defaultBounds(): number[] {
  const out: number[] = [];
  for (let e = HIST_MIN_EXP; e <= HIST_MAX_EXP; e++) out.push(2 ** e);
  return out;
}

/**
 * Cumulative counts at each bound, plus +Inf. A log-linear bucket counts
 * towards `le` when its whole range lies below `le`; with bounds on bucket
 * boundaries (the default) this is exact, otherwise a bucket straddling a
 * bound counts towards the next bound (never early).
 *
 * The in-kernel buckets are [lower, upper): a value equal to a boundary sits
 * in the bucket above it. Prometheus' `le` is inclusive, so a value exactly
 * on a bound is reported one bound later; for nanosecond timings this is a
 * 1 ns shift.
 */
export function toPrometheusBuckets(h: LogLinearHistogram, bounds: readonly number[] = defaultBounds()): CumulativeBucket[] {
  for (let i = 1; i < bounds.length; i++) {
    if (!(bounds[i]! > bounds[i - 1]!)) throw new InvalidArgumentError('toPrometheusBuckets: bounds must be strictly increasing');
  }
  const out: CumulativeBucket[] = [];
  let b = 0;
  let cum = 0;
  for (const le of bounds) {
    while (b < HIST_BUCKETS && bucketUpper(b) <= le) cum += h.counts[b++]!;
    out.push({ le, count: cum });
  }
  out.push({ le: Infinity, count: h.count });
  return out;
}
