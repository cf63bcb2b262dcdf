/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The example probe: a per-CPU count of syscall entries and records of one process's syscalls. */
#ifndef __SYSENTER_H
#define __SYSENTER_H

#include "maxpro/event.h"
#include "maxpro/types.h"

#define SYSENTER_VERSION 1

/* Which records leave the kernel (array map `sysenter_policy`, one entry, written by user space). */
struct sysenter_policy {
	__u32 tgid;       /* the configured process (0: none) */
	__u32 live_tgid;  /* the process a live-stream subscriber watches (0: none), every syscall */
	__s32 syscall_nr; /* of `tgid`, only this syscall (-1: any) */
	__u32 records;    /* of `tgid`, 0: no records (the policy keeps none) */
};

struct sysenter_event {
	struct maxpro_event_hdr hdr;
	__u32 pid;
	__u32 tid;
	maxpro_cgroup_id cgroup_id;
	__u64 syscall_nr;
	char comm[MAXPRO_COMM_LEN];
};

#endif /* __SYSENTER_H */
