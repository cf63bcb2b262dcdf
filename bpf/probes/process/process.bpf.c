// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Process lifecycle: exec (with argv, also failed ones and their errno), fork
 * and exit (with exit code, signal and lifetime).
 *
 * Successful execs are reported from tp_btf/sched_process_exec, which reads
 * argv in one copy from the new image (mm->arg_start..arg_end, written by the
 * kernel during the exec), instead of one read per argument from the caller's
 * argv array. Failed execs never reach that tracepoint, so the execve/execveat
 * syscall tracepoints keep the caller's pointers by thread id at entry and,
 * only when the syscall returns an error, copy path and argv at exit.
 *
 * The cgroup filter (maxpro/cgroup_filter.bpf.h) is checked at each emit
 * point only: exec_starts is kept for every task, so a filter change between
 * an execve's entry and exit cannot leave a stale entry or miss a failure.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maxpro/output.bpf.h"
#include "maxpro/errmetrics.bpf.h"
#include "maxpro/cgroup_filter.bpf.h"
#include "process.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Arguments kept per exec; more set PROCESS_F_ARGS_TRUNCATED. <= PROCESS_ARGC_MAX. */
const volatile __u32 max_args = 128;
/* Argument bytes kept per exec; more set PROCESS_F_ARGS_TRUNCATED. <= PROCESS_ARGS_MAX. */
const volatile __u32 max_arg_bytes = 4096;
/* Only this real uid; -1: every user. */
const volatile __u32 targ_uid = (__u32)-1;

/* Force BTF for the event structs so user space can check its layouts. */
const struct process_exec_event *unused_exec __attribute__((unused));
const struct process_fork_event *unused_fork __attribute__((unused));
const struct process_exit_event *unused_exit __attribute__((unused));

/* What execve/execveat entry saw, until the syscall returns. */
struct exec_start {
	const char *filename;
	const char *const *argv;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* thread id that called execve */
	__type(value, struct exec_start);
} exec_starts SEC(".maps");

/*
 * Room to build one exec record per CPU: the path, then argv. The argv area
 * is twice PROCESS_ARGS_MAX so that the verifier can bound each copy at a
 * masked offset without knowing how much room is left. A plain array indexed
 * by CPU rather than a per-CPU array: per-CPU values are capped at 32 KiB.
 * The exec tracepoints run in process context and do not nest on a CPU.
 * User space sets max_entries to the number of possible CPUs.
 */
struct exec_scratch {
	struct process_exec_event e;
	char data[PROCESS_FILENAME_MAX + 2 * PROCESS_ARGS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} scratch SEC(".maps");

static __always_inline bool uid_filtered(void)
{
	return targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid;
}

/*
 * Mount and pid namespace ids and the pid as the process sees it. A task's
 * pid in its own namespace is numbers[level] of its struct pid.
 */
static __always_inline void read_ns(struct task_struct *task, __u32 *mntns, __u32 *pidns, __u32 *ns_pid)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	*mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 63]);
	*ns_pid = up.nr;
	*pidns = BPF_CORE_READ(up.ns, ns.inum);
}

/* Identity fields of an exec record, from the task that performs the exec. */
static __always_inline void fill_exec_common(struct process_exec_event *e, struct task_struct *task)
{
	__u64 ugid = bpf_get_current_uid_gid();

	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	e->euid = BPF_CORE_READ(task, cred, euid.val);
	e->egid = BPF_CORE_READ(task, cred, egid.val);
	/* Default hierarchy id: on v1/v2 hybrid hosts this is the v2 cgroup. */
	e->cgroup_id = bpf_get_current_cgroup_id();
	read_ns(task, &e->mntns_id, &e->pidns_id, &e->ns_pid);
	e->start_boot_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline int emit_exec(struct exec_scratch *s, __u32 fn_len, __u32 args_len)
{
	__u64 size = sizeof(s->e) + fn_len + args_len;

	s->e.filename_len = fn_len;
	s->e.args_len = args_len;
	s->e.hdr.size = size;
	if (size > sizeof(*s))
		return 0;
	return maxpro_output(s, size);
}

/* Copies a kernel or user path into the record; returns its length with NUL. */
static __always_inline __u32 copy_filename(struct exec_scratch *s, const char *path, bool user)
{
	long n = user ? bpf_probe_read_user_str(s->data, PROCESS_FILENAME_MAX, path)
		      : bpf_probe_read_kernel_str(s->data, PROCESS_FILENAME_MAX, path);
	if (n <= 0) {
		s->data[0] = 0;
		return 1;
	}
	/* A full buffer means the path may have gone on: say so. */
	if (n >= PROCESS_FILENAME_MAX)
		s->e.hdr.flags |= PROCESS_F_FILENAME_TRUNCATED;
	return n > PROCESS_FILENAME_MAX ? PROCESS_FILENAME_MAX : n;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process__sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 key = bpf_get_smp_processor_id(), old_tid = old_pid;

	/*
	 * The exec succeeded: no failure to report at syscall exit. Keyed by
	 * old_pid because a non-leader thread that execs takes over the leader's
	 * pid in de_thread(), so sys_exit_execve then runs with tid == tgid.
	 */
	bpf_map_delete_elem(&exec_starts, &old_tid);
	if (uid_filtered() || !maxpro_cgroup_pass(bpf_get_current_cgroup_id()))
		return 0;

	struct exec_scratch *s = bpf_map_lookup_elem(&scratch, &key);
	if (!s) {
		maxpro_count_drop(MAXPRO_DROP_HELPER);
		return 0;
	}
	maxpro_hdr_init(&s->e.hdr, MAXPRO_EV_PROCESS_EXEC, PROCESS_EXEC_VERSION, 0);
	fill_exec_common(&s->e, p);
	s->e.old_tid = old_tid;
	s->e.retval = 0;
	if (old_tid != s->e.pid)
		s->e.hdr.flags |= PROCESS_F_THREAD_EXEC;

	__u32 fn_len = copy_filename(s, BPF_CORE_READ(bprm, filename), false);

	/* The new image's argv: NUL-separated strings the kernel just copied in. */
	unsigned long arg_start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(p, mm, arg_end);
	__u32 argc = BPF_CORE_READ(bprm, argc);
	__u64 total = arg_end > arg_start ? arg_end - arg_start : 0;
	__u64 n = total;
	__u32 limit = max_arg_bytes;

	if (limit > PROCESS_ARGS_MAX)
		limit = PROCESS_ARGS_MAX;
	if (n > limit) {
		n = limit;
		s->e.hdr.flags |= PROCESS_F_ARGS_TRUNCATED;
	}
	/* User space keeps the first max_args; the flag says more existed. */
	if (argc > max_args)
		s->e.hdr.flags |= PROCESS_F_ARGS_TRUNCATED;
	s->e.argc = argc;
	s->e.args_total = total > 0xffffffff ? 0xffffffff : total;
	if (fn_len > PROCESS_FILENAME_MAX)
		fn_len = PROCESS_FILENAME_MAX;
	if (n > PROCESS_ARGS_MAX)
		n = PROCESS_ARGS_MAX;
	if (n && bpf_probe_read_user(s->data + fn_len, n, (const void *)arg_start)) {
		s->e.hdr.flags |= PROCESS_F_ARGS_FAULT;
		n = 0;
	}
	emit_exec(s, fn_len, n);
	return 0;
}

static __always_inline int on_exec_enter(const char *filename, const char *const *argv, __u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_start st = { .filename = filename, .argv = argv, .flags = flags };

	if (uid_filtered())
		return 0;
	if (MAXPRO_CHECK(bpf_map_update_elem(&exec_starts, &tid, &st, BPF_ANY)))
		maxpro_count_drop(MAXPRO_DROP_MAP_FULL); /* a failure of this exec would go unseen */
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int process__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return on_exec_enter((const char *)ctx->args[0], (const char *const *)ctx->args[1], 0);
}

SEC("tp/syscalls/sys_enter_execveat")
int process__sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return on_exec_enter((const char *)ctx->args[1], (const char *const *)ctx->args[2], PROCESS_F_EXECVEAT);
}

struct argv_walk {
	struct exec_scratch *s;
	char *args;
	const char *const *argv;
	__u32 off;
	__u32 limit;
	__u32 nmax;
};

/*
 * One argument per call, through bpf_loop: the verifier checks the body once
 * instead of once per iteration, which keeps loading fast (a long
 * verification is aborted with EAGAIN by any signal to the loader).
 */
static long copy_user_arg(__u64 i, void *ctx)
{
	struct argv_walk *w = ctx;
	struct exec_scratch *s = w->s;
	const char *arg = NULL;

	if (bpf_probe_read_user(&arg, sizeof(arg), &w->argv[i])) {
		s->e.hdr.flags |= PROCESS_F_ARGS_FAULT;
		return 1;
	}
	if (!arg)
		return 1;
	if (i >= w->nmax || w->off >= w->limit) {
		s->e.hdr.flags |= PROCESS_F_ARGS_TRUNCATED;
		return 1;
	}
	__u64 room = w->limit - w->off;
	if (room > PROCESS_ARGS_MAX)
		room = PROCESS_ARGS_MAX;
	/* Keep the clamped value in the register the helper gets. */
	asm volatile("" : "+r"(room));
	if (room > PROCESS_ARGS_MAX || room == 0)
		return 1;
	long n = bpf_probe_read_user_str(w->args + (w->off & (PROCESS_ARGS_MAX - 1)), room, arg);
	if (n < 0) {
		s->e.hdr.flags |= PROCESS_F_ARGS_FAULT;
		return 1;
	}
	w->off += n;
	s->e.argc++;
	if (n >= room) {
		s->e.hdr.flags |= PROCESS_F_ARGS_TRUNCATED;
		return 1;
	}
	return 0;
}

/* Walks the caller's argv array: only failed execs take this path. */
static __always_inline __u32 copy_user_argv(struct exec_scratch *s, __u32 fn_len, const char *const *argv)
{
	struct argv_walk w = { .s = s, .argv = argv, .limit = max_arg_bytes, .nmax = max_args };

	if (fn_len > PROCESS_FILENAME_MAX)
		fn_len = PROCESS_FILENAME_MAX;
	w.args = s->data + fn_len;
	if (w.limit > PROCESS_ARGS_MAX)
		w.limit = PROCESS_ARGS_MAX;
	if (w.nmax > PROCESS_ARGC_MAX)
		w.nmax = PROCESS_ARGC_MAX;
	s->e.argc = 0;
	/* One more than nmax, to see whether an argument beyond the limit exists. */
	bpf_loop(PROCESS_ARGC_MAX + 1, copy_user_arg, &w, 0);
	return w.off > w.limit ? w.limit : w.off;
}

/* Builds and emits the record of a failed exec from the caller's path and argv pointers. */
static __always_inline int report_failed_exec(long ret, const char *filename, const char *const *argv, __u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), key = bpf_get_smp_processor_id();

	if (!maxpro_cgroup_pass(bpf_get_current_cgroup_id()))
		return 0;
	struct exec_scratch *s = bpf_map_lookup_elem(&scratch, &key);
	if (!s) {
		maxpro_count_drop(MAXPRO_DROP_HELPER);
		return 0;
	}
	struct task_struct *task = bpf_get_current_task_btf();
	maxpro_hdr_init(&s->e.hdr, MAXPRO_EV_PROCESS_EXEC, PROCESS_EXEC_VERSION, 0);
	s->e.hdr.flags = flags | PROCESS_F_FAILED;
	fill_exec_common(&s->e, task);
	s->e.old_tid = tid;
	s->e.retval = ret;
	s->e.args_total = 0; /* unknown: the kernel never measured it */
	if (tid != s->e.pid)
		s->e.hdr.flags |= PROCESS_F_THREAD_EXEC;
	__u32 fn_len = copy_filename(s, filename, true);
	__u32 args_len = copy_user_argv(s, fn_len, argv);
	if (fn_len > PROCESS_FILENAME_MAX)
		fn_len = PROCESS_FILENAME_MAX;
	if (args_len > PROCESS_ARGS_MAX)
		args_len = PROCESS_ARGS_MAX;
	emit_exec(s, fn_len, args_len);
	return 0;
}

static __always_inline int on_exec_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_start *st = bpf_map_lookup_elem(&exec_starts, &tid);

	if (!st)
		return 0;
	const char *filename = st->filename;
	const char *const *argv = st->argv;
	__u32 flags = st->flags;
	bpf_map_delete_elem(&exec_starts, &tid);
	if (ret >= 0)
		return 0; /* reported by sched_process_exec */
	return report_failed_exec(ret, filename, argv, flags);
}

SEC("tp/syscalls/sys_exit_execve")
int process__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return on_exec_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_execveat")
int process__sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exec_exit(ctx->ret);
}

/*
 * Failed execs without tracefs: the syscall tracepoints need their ids from
 * tracefs, which is root-only, while tp_btf on the raw sys_exit tracepoint
 * needs only CAP_BPF and CAP_PERFMON. It runs on every syscall and returns at
 * once unless an execve or execveat of a native (not compat) task failed. A
 * failed exec returns before the point of no return, so the caller's
 * argument registers and memory are still as they were at entry: no entry
 * hook is needed. User space loads this or the four tracepoint programs.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#else
#define NR_EXECVE -1
#define NR_EXECVEAT -1
#endif

/* The syscall tracepoints skip compat (32-bit) syscalls, whose numbers mean other calls. */
static __always_inline bool compat_syscall(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = bpf_get_current_task_btf();
	return t->thread_info.status & 0x0002; /* TS_COMPAT */
#elif defined(__TARGET_ARCH_arm64)
	struct task_struct *t = bpf_get_current_task_btf();
	return t->thread_info.flags & (1UL << 22); /* TIF_32BIT */
#else
	return true;
#endif
}

static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

SEC("tp_btf/sys_exit")
int BPF_PROG(process__sys_exit, struct pt_regs *regs, long ret)
{
	if (ret >= 0)
		return 0; /* a successful exec is reported by sched_process_exec */
	long nr = syscall_nr(regs);
	if (nr != NR_EXECVE && nr != NR_EXECVEAT)
		return 0;
	if (compat_syscall() || uid_filtered())
		return 0;
	/* PARM*_CORE_SYSCALL read the registers as the syscall got them (arm64: orig_x0). */
	if (nr == NR_EXECVE)
		return report_failed_exec(ret, (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
					  (const char *const *)PT_REGS_PARM2_CORE_SYSCALL(regs), 0);
	return report_failed_exec(ret, (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
				  (const char *const *)PT_REGS_PARM3_CORE_SYSCALL(regs), PROCESS_F_EXECVEAT);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process__sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	/* A new thread is not a new process: its exec and exit are reported. */
	if (child->pid != child->tgid)
		return 0;
	if (uid_filtered())
		return 0;
	/* The child's cgroup, as the record reports it (CLONE_INTO_CGROUP may differ from the parent's). */
	__u64 cgid = BPF_CORE_READ(child, cgroups, dfl_cgrp, kn, id);
	if (!maxpro_cgroup_pass(cgid))
		return 0;
	struct process_fork_event *e = maxpro_reserve(sizeof(*e));
	if (!e)
		return 0;
	__u64 ugid = bpf_get_current_uid_gid();

	maxpro_hdr_init(&e->hdr, MAXPRO_EV_PROCESS_FORK, PROCESS_FORK_VERSION, sizeof(*e));
	e->pid = child->tgid;
	e->tid = child->pid;
	e->ppid = BPF_CORE_READ(child, real_parent, tgid);
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	read_ns(child, &e->mntns_id, &e->pidns_id, &e->ns_pid);
	e->cgroup_id = cgid;
	e->start_boot_ns = child->start_boottime;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	maxpro_submit(e);
	return 0;
}

/*
 * One exit event per process, not per thread. Recent kernels (6.18 here)
 * pass group_dead to the tracepoint, true for the last thread of the process
 * only; older ones pass the task alone, and process__sched_process_exit_leader
 * stands in (user space loads the one the running kernel's BTF prototype
 * fits).
 */
static __always_inline int on_exit(struct task_struct *p, bool group_dead)
{
	__u32 tid = p->pid;

	/* A thread that dies inside execve (de_thread) never reaches sys_exit. */
	bpf_map_delete_elem(&exec_starts, &tid);
	if (!group_dead)
		return 0;
	__u64 cgid = bpf_get_current_cgroup_id();
	if (uid_filtered() || !maxpro_cgroup_pass(cgid))
		return 0;
	struct process_exit_event *e = maxpro_reserve(sizeof(*e));
	if (!e)
		return 0;
	maxpro_hdr_init(&e->hdr, MAXPRO_EV_PROCESS_EXIT, PROCESS_EXIT_VERSION, sizeof(*e));
	e->pid = p->tgid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->exit_code = p->exit_code;
	e->start_boot_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	e->lifetime_ns = e->hdr.boot_ns > e->start_boot_ns ? e->hdr.boot_ns - e->start_boot_ns : 0;
	e->cgroup_id = cgid;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	maxpro_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process__sched_process_exit, struct task_struct *p, bool group_dead)
{
	return on_exit(p, group_dead);
}

/*
 * Where sched_process_exit has no group_dead: report the thread group
 * leader's exit, as exitsnoop does. Under exit_group() every thread dies and
 * the code is the group's; a leader that leaves by pthread_exit() while
 * other threads run is reported early.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(process__sched_process_exit_leader, struct task_struct *p)
{
	return on_exit(p, p->pid == p->tgid);
}
