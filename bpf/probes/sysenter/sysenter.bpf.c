// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The smallest probe of the platform: every syscall entry on the machine is
 * counted in a per-CPU array (no record), and the syscalls of at most two
 * processes (the configured one, as the policy allows, and one a live-stream
 * subscriber watches) become records through the shared ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maxpro/output.bpf.h"
#include "sysenter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

MAXPRO_EMIT_BTF(struct sysenter_event, event);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} syscall_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sysenter_policy);
} sysenter_policy SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(sysenter__sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&syscall_counts, &zero);

	if (n)
		*n += 1;
	struct sysenter_policy *p = bpf_map_lookup_elem(&sysenter_policy, &zero);
	if (!p)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (tgid == 0)
		return 0;
	int live = tgid == p->live_tgid;
	int configured = tgid == p->tgid && p->records && (p->syscall_nr < 0 || id == p->syscall_nr);
	if (!live && !configured)
		return 0;

	struct sysenter_event *e = maxpro_reserve(sizeof(*e));
	if (!e)
		return 0;
	maxpro_hdr_init(&e->hdr, MAXPRO_EV_SYSCALL_ENTER, SYSENTER_VERSION, sizeof(*e));
	e->pid = tgid;
	e->tid = (__u32)pid_tgid;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->syscall_nr = id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	maxpro_submit(e);
	return 0;
}
