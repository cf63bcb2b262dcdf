// SPDX-License-Identifier: Apache-2.0
/**
 * The log-linear bucket scheme of in-kernel histograms
 * (bpf/include/maxpro/histogram.h; a unit test keeps the two in sync).
 *
 * Each power of two [2^e, 2^(e+1)) is split into 8 equal buckets, so a
 * bucket spans at most 12.5% of its lower bound and a value estimated at the
 * bucket midpoint is within 6.25% of any value in the bucket. Bucket 0 holds
 * values below 2^MIN_EXP; the last bucket holds values of 2^MAX_EXP and up.
 */

export const HIST_SUB_BITS = 3;
export const HIST_SUB = 1 << HIST_SUB_BITS;
export const HIST_MIN_EXP = 10;
export const HIST_MAX_EXP = 44;
export const HIST_BUCKETS = 2 + (HIST_MAX_EXP - HIST_MIN_EXP) * HIST_SUB;

/** Largest relative distance between a bucket's midpoint and any value in it (finite buckets above bucket 0). */
export const HIST_MAX_RELATIVE_ERROR = 1 / (2 * HIST_SUB);

/** The bucket a value falls in, as BPF computes it. Values must be >= 0. */
export function bucketIndex(value: number): number {
  if (!(value >= 2 ** HIST_MIN_EXP)) return 0;
  if (value >= 2 ** HIST_MAX_EXP) return HIST_BUCKETS - 1;
  const v = Math.floor(value);
  const e = Math.floor(Math.log2(v));
  // Math.log2 can be off by one just below a power of two: correct it.
  const exp = 2 ** e > v ? e - 1 : 2 ** (e + 1) <= v ? e + 1 : e;
  const sub = Math.floor(v / 2 ** (exp - HIST_SUB_BITS)) - HIST_SUB;
  return 1 + (exp - HIST_MIN_EXP) * HIST_SUB + sub;
}

/** Lower bound (inclusive) of a bucket. */
export function bucketLower(index: number): number {
  if (index <= 0) return 0;
  if (index >= HIST_BUCKETS - 1) return 2 ** HIST_MAX_EXP;
  const e = HIST_MIN_EXP + Math.floor((index - 1) / HIST_SUB);
  const s = (index - 1) % HIST_SUB;
  return (HIST_SUB + s) * 2 ** (e - HIST_SUB_BITS);
}

/** Upper bound (exclusive) of a bucket; Infinity for the last. */
export function bucketUpper(index: number): number {
  if (index >= HIST_BUCKETS - 1) return Infinity;
  return bucketLower(index + 1);
}
