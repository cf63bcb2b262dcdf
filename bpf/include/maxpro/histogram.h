/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The log-linear histogram bucket scheme, shared by BPF and user space
 * (src/lib/histogram/log-linear.ts mirrors these numbers; a unit test reads
 * this file and compares).
 *
 * Values are nanoseconds. Each power of two [2^e, 2^(e+1)) is cut into
 * 2^SUB_BITS equal sub-buckets, so a bucket is at most 1/8 = 12.5% wide
 * relative to its lower bound and a quantile estimated at the bucket
 * midpoint is within 6.25% of the true value.
 *
 *   bucket 0                     : v < 2^MIN_EXP (below ~1 us)
 *   bucket 1 + (e - MIN_EXP) * 8 + s : 2^e + s * 2^(e-3) <= v < 2^e + (s+1) * 2^(e-3)
 *   bucket BUCKETS - 1           : v >= 2^MAX_EXP (above ~4.9 h)
 */
#ifndef __MAXPRO_HISTOGRAM_H
#define __MAXPRO_HISTOGRAM_H

#define MAXPRO_HIST_SUB_BITS 3
#define MAXPRO_HIST_SUB (1 << MAXPRO_HIST_SUB_BITS)
#define MAXPRO_HIST_MIN_EXP 10
#define MAXPRO_HIST_MAX_EXP 44
#define MAXPRO_HIST_BUCKETS (2 + (MAXPRO_HIST_MAX_EXP - MAXPRO_HIST_MIN_EXP) * MAXPRO_HIST_SUB)

/* One histogram: per-bucket counts and the exact sum of recorded values. */
struct maxpro_hist {
	__u64 buckets[MAXPRO_HIST_BUCKETS];
	__u64 sum;
};

#endif /* __MAXPRO_HISTOGRAM_H */
