// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One trivial program per hook kind. `maxpro doctor` loads and attaches each
 * one on its own (autoload off for the rest), so it reports what really
 * loads on this kernel rather than what the config claims.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "doctor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} doctor_rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int doctor__tracepoint(void *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int doctor__raw_tp(void *ctx) { return 0; }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(doctor__tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) { return 0; }

SEC("kprobe/vfs_read")
int doctor__kprobe(void *ctx) { return 0; }

SEC("fentry/vfs_read")
int BPF_PROG(doctor__fentry, struct file *file) { return 0; }

SEC("uprobe")
int doctor__uprobe(void *ctx) { return 0; }

SEC("perf_event")
int doctor__perf_event(void *ctx) { return 0; }

SEC("xdp")
int doctor__xdp(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }

SEC("tc")
int doctor__tc(struct __sk_buff *skb) { return 0; /* TC_ACT_OK */ }

SEC("cgroup_skb/egress")
int doctor__cgroup_skb(struct __sk_buff *skb) { return 1; }

SEC("socket")
int doctor__socket(struct __sk_buff *skb) { return 0; }

/* Uses the ring buffer so that loading it proves ringbuf maps and helpers. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(doctor__ringbuf, struct task_struct *parent, struct task_struct *child)
{
	__u64 *v = bpf_ringbuf_reserve(&doctor_rb, sizeof(*v), 0);
	if (v)
		bpf_ringbuf_discard(v, BPF_RB_NO_WAKEUP);
	return 0;
}
