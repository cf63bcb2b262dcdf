// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Deliberately invalid: reads a map value without a NULL check, which the
 * verifier must reject. Used to test VerifierError. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH); /* arrays with a constant in-range key are NULL-safe since 6.x */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int verifier_reject(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	*v += 1; /* no NULL check: R0 invalid mem access 'map_value_or_null' */
	return 0;
}
