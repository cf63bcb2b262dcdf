// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One program per attach kind, each counting its runs in `hits[slot]`, so a
 * kernel test can prove every attach path end to end. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_GETPPID 110 /* x86_64 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

const volatile __u32 targ_tgid = 0;

static __always_inline void hit(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int t_tracepoint(void *ctx) { if (mine()) hit(0); return 0; }

SEC("raw_tp/sys_enter")
int t_raw_tp(struct bpf_raw_tracepoint_args *ctx) { if (mine() && ctx->args[1] == NR_GETPPID) hit(1); return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(t_tp_btf, struct pt_regs *regs, long id) { if (mine() && id == NR_GETPPID) hit(2); return 0; }

SEC("uprobe")
int t_uprobe(void *ctx) { hit(3); return 0; }

SEC("uretprobe")
int t_uretprobe(void *ctx) { hit(4); return 0; }

SEC("perf_event")
int t_perf_event(void *ctx) { hit(5); return 0; }

SEC("xdp")
int t_xdp(struct xdp_md *ctx) { hit(6); return 2; /* XDP_PASS */ }

SEC("tc")
int t_tc(struct __sk_buff *skb) { hit(7); return 0; /* TC_ACT_OK */ }

SEC("socket")
int t_socket(struct __sk_buff *skb) { hit(8); return skb->len; /* keep the packet */ }

SEC("cgroup_skb/egress")
int t_cgroup_skb(struct __sk_buff *skb) { hit(9); return 1; /* allow */ }

SEC("kprobe/vfs_read")
int t_kprobe(void *ctx) { if (mine()) hit(10); return 0; }

SEC("fentry/vfs_read")
int BPF_PROG(t_fentry, struct file *file) { if (mine()) hit(11); return 0; }
