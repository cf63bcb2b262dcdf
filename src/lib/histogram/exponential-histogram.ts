// SPDX-License-Identifier: Apache-2.0
/**
 * Log-linear histogram to an OTLP exponential histogram
 * (opentelemetry-proto metrics.v1.ExponentialHistogramDataPoint).
 *
 * At scale s, bucket index i covers (base^i, base^(i+1)] with
 * base = 2^(2^-s). The log-linear buckets do not line up with these
 * boundaries (linear steps inside each power of two), so each log-linear
 * bucket's count goes to the exponential bucket that holds its midpoint.
 * At the default scale 3 (8 buckets per power of two, like the source) the
 * value a count stands for moves by at most one exponential bucket width
 * (9%) beyond the source's own 6.25%.
 */
import { InvalidArgumentError } from '../errors.js';
import type { LogLinearHistogram } from './log-linear-histogram.js';
import { HIST_BUCKETS, bucketLower, bucketUpper } from './log-linear-scheme.js';

export interface ExponentialHistogramPoint {
  scale: number;
  count: number;
  sum: number;
  /** Values in the zero bucket (none here: every bucket has a positive midpoint). */
  zeroCount: number;
  positive: { offset: number; bucketCounts: number[] };
  negative: { offset: number; bucketCounts: number[] };
}

/** The exponential bucket index of a positive value at a scale (OTel's reference mapping). */
export function exponentialIndex(value: number, scale: number): number {
  if (!(value > 0)) throw new InvalidArgumentError(`exponentialIndex: ${value} is not > 0`);
  // index = ceil(log2(value) * 2^scale) - 1; exact powers of two sit at the top of their bucket.
  const exact = Math.log2(value) * 2 ** scale;
  const idx = Math.ceil(exact) - 1;
  return idx;
}

/** Converts; `scale` from -10 to 20, default 3. */
export function toExponentialHistogram(h: LogLinearHistogram, scale = 3): ExponentialHistogramPoint {
  if (!Number.isInteger(scale) || scale < -10 || scale > 20) throw new InvalidArgumentError(`toExponentialHistogram: scale ${scale} not in -10..20`);
  const byIndex = new Map<number, number>();
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < HIST_BUCKETS; i++) {
    const c = h.counts[i]!;
    if (c === 0) continue;
    const upper = bucketUpper(i);
    const mid = upper === Infinity ? bucketLower(i) : (bucketLower(i) + upper) / 2;
    const idx = exponentialIndex(mid, scale);
    byIndex.set(idx, (byIndex.get(idx) ?? 0) + c);
    if (idx < min) min = idx;
    if (idx > max) max = idx;
  }
  const bucketCounts: number[] = [];
  if (byIndex.size > 0) for (let i = min; i <= max; i++) bucketCounts.push(byIndex.get(i) ?? 0);
  return {
    scale,
    count: h.count,
    sum: h.sum,
    zeroCount: 0,
    positive: { offset: byIndex.size > 0 ? min : 0, bucketCounts },
    negative: { offset: 0, bucketCounts: [] },
  };
}
