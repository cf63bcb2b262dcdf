// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The measurement floor: an empty program on every TCP state change. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor__inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}
