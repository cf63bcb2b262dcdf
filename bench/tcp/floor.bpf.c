// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The measurement floor: an empty program on every hook the TCP probe attaches by default. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor__inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(floor__retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(floor__retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(floor__send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(floor__kfree_skb, struct sk_buff *skb, void *location)
{
	return 0;
}
