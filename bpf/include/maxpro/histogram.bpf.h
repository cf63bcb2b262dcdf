/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Recording into a log-linear histogram (scheme in maxpro/histogram.h). */
#ifndef __MAXPRO_HISTOGRAM_BPF_H
#define __MAXPRO_HISTOGRAM_BPF_H

#include "histogram.h"

/* floor(log2(v)) for v > 0; BPF has no count-leading-zeros instruction. */
static __always_inline __u32 maxpro_log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static __always_inline __u32 maxpro_hist_bucket(__u64 v)
{
	if (v < (1ULL << MAXPRO_HIST_MIN_EXP))
		return 0;
	if (v >= (1ULL << MAXPRO_HIST_MAX_EXP))
		return MAXPRO_HIST_BUCKETS - 1;
	__u32 e = maxpro_log2_u64(v);
	__u32 s = (v >> (e - MAXPRO_HIST_SUB_BITS)) & (MAXPRO_HIST_SUB - 1);
	return 1 + (e - MAXPRO_HIST_MIN_EXP) * MAXPRO_HIST_SUB + s;
}

/* The histogram lives in a per-CPU map value: plain increments suffice. */
static __always_inline void maxpro_hist_record(struct maxpro_hist *h, __u64 v)
{
	__u32 b = maxpro_hist_bucket(v);

	if (b >= MAXPRO_HIST_BUCKETS) /* bounds proof for the verifier */
		return;
	h->buckets[b] += 1;
	h->sum += v;
}

#endif /* __MAXPRO_HISTOGRAM_BPF_H */
