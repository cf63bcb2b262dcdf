/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Process lifecycle events: exec (successful and failed), fork and exit.
 * Types and constants only; shared by process.bpf.c and the TypeScript
 * decoder (src/probes/process/process-event.ts), which a unit test compares
 * with this object's BTF.
 */
#ifndef __MAXPRO_PROCESS_H
#define __MAXPRO_PROCESS_H

#include "maxpro/event.h"
#include "maxpro/types.h"

#define PROCESS_EXEC_VERSION 1
#define PROCESS_FORK_VERSION 1
#define PROCESS_EXIT_VERSION 1

/* Bytes of the executable path kept; longer paths set PROCESS_F_FILENAME_TRUNCATED. */
#define PROCESS_FILENAME_MAX 512
/* Hard cap of argv bytes per event; the max_arg_bytes tunable must not exceed it. */
#define PROCESS_ARGS_MAX 32768
/* Hard cap of the max_args tunable (arguments walked on a failed exec). */
#define PROCESS_ARGC_MAX 1024

/* hdr.flags of an exec event. Any cut sets a flag: nothing is shortened silently. */
#define PROCESS_F_ARGS_TRUNCATED     (1 << 0) /* argv cut by max_args or max_arg_bytes */
#define PROCESS_F_FILENAME_TRUNCATED (1 << 1) /* path longer than PROCESS_FILENAME_MAX */
#define PROCESS_F_FAILED             (1 << 2) /* execve returned an error (retval < 0) */
#define PROCESS_F_THREAD_EXEC        (1 << 3) /* exec called by a non-leader thread (old_tid != pid) */
#define PROCESS_F_ARGS_FAULT         (1 << 4) /* argv memory could not be read: args incomplete */
#define PROCESS_F_EXECVEAT           (1 << 5) /* execveat(2) rather than execve(2) */

/*
 * One exec. Followed by `filename_len` bytes of path (NUL included) and
 * `args_len` bytes of NUL-separated arguments; hdr.size covers all of it.
 */
struct process_exec_event {
	struct maxpro_event_hdr hdr;
	__u32 pid;      /* tgid after the exec */
	__u32 tid;      /* thread that returns from the exec (== pid on success) */
	__u32 ppid;     /* tgid of the real parent */
	__u32 old_tid;  /* thread id that called execve (differs for a non-leader thread) */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	maxpro_cgroup_id cgroup_id;
	maxpro_mntns_id mntns_id;
	maxpro_pidns_id pidns_id;
	__u32 ns_pid;   /* pid inside its own pid namespace */
	__u32 argc;     /* arguments the program was given (before any cut) */
	maxpro_errno retval; /* 0, or the negative errno of a failed exec */
	__u32 filename_len;
	__u32 args_len;   /* argv bytes carried */
	__u32 args_total; /* argv bytes the program was given (0 when unknown) */
	maxpro_boot_ns start_boot_ns; /* process start, boot clock */
	char comm[MAXPRO_COMM_LEN];
	/* then: char filename[filename_len]; char args[args_len]; */
};

/* A new process (threads are not reported; their exits and execs are). */
struct process_fork_event {
	struct maxpro_event_hdr hdr;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 ns_pid;
	__u32 uid;
	__u32 gid;
	maxpro_mntns_id mntns_id;
	maxpro_pidns_id pidns_id;
	maxpro_cgroup_id cgroup_id;
	maxpro_boot_ns start_boot_ns;
	char comm[MAXPRO_COMM_LEN];
};

/* The last thread of a process exited. */
struct process_exit_event {
	struct maxpro_event_hdr hdr;
	__u32 pid;
	__u32 tid;       /* the last thread to exit */
	__u32 ppid;
	__u32 exit_code; /* wait(2) status: exit status << 8 | core dump 0x80 | signal */
	maxpro_boot_ns start_boot_ns;
	__u64 lifetime_ns;
	maxpro_cgroup_id cgroup_id;
	char comm[MAXPRO_COMM_LEN];
};

#endif /* __MAXPRO_PROCESS_H */
