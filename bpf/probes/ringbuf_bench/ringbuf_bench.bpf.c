// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One 64-byte event per matching syscall entry of one process. Drives the
 * ring-buffer benchmark and the exact loss-accounting test: `produced`
 * counts every attempt, so delivered + counted drops must equal produced.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maxpro/output.bpf.h"
#include "ringbuf_bench.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 targ_tgid = 0;       /* only this process */
const volatile __s64 targ_syscall = -1;   /* only this syscall number; -1: any */

__u64 produced = 0;
MAXPRO_EMIT_BTF(struct ringbuf_bench_event, event);

SEC("tp_btf/sys_enter")
int BPF_PROG(ringbuf_bench__sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if ((__u32)(pid_tgid >> 32) != targ_tgid)
		return 0;
	if (targ_syscall >= 0 && id != targ_syscall)
		return 0;

	__u64 seq = __sync_fetch_and_add(&produced, 1);
	struct ringbuf_bench_event *e = maxpro_reserve(sizeof(*e));
	if (!e)
		return 0;
	maxpro_hdr_init(&e->hdr, MAXPRO_EV_BENCH, RINGBUF_BENCH_VERSION, sizeof(*e));
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->seq = seq;
	e->syscall_nr = id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	maxpro_submit(e);
	return 0;
}
