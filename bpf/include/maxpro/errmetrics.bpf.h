/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helper failures counted by (errno, line), so that no error inside BPF is
 * silent. User space exports them as maxpro_agent_bpf_errors_total.
 */
#ifndef __MAXPRO_ERRMETRICS_BPF_H
#define __MAXPRO_ERRMETRICS_BPF_H

struct maxpro_err_key {
	__s32 err;
	__u32 line;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, struct maxpro_err_key);
	__type(value, __u64);
} errmetrics SEC(".maps");

static __always_inline void maxpro_count_err(long err, __u32 line)
{
	struct maxpro_err_key k = { .err = (__s32)err, .line = line };
	__u64 one = 1, *cnt = bpf_map_lookup_elem(&errmetrics, &k);
	if (cnt)
		*cnt += 1;
	else
		bpf_map_update_elem(&errmetrics, &k, &one, BPF_NOEXIST);
}

/* Evaluate a helper call; count a negative result with its line. */
#define MAXPRO_CHECK(call)                                      \
	({                                                          \
		long __r = (call);                                      \
		if (__r < 0)                                            \
			maxpro_count_err(__r, __LINE__);                    \
		__r;                                                    \
	})

#endif /* __MAXPRO_ERRMETRICS_BPF_H */
