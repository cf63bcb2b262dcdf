/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Fixed 64-byte event used to measure and test the ring-buffer path. */
#ifndef __RINGBUF_BENCH_H
#define __RINGBUF_BENCH_H

#include "maxpro/event.h"
#include "maxpro/types.h"

#define RINGBUF_BENCH_VERSION 1

struct ringbuf_bench_event {
	struct maxpro_event_hdr hdr;
	__u32 pid;
	__u32 tid;
	maxpro_cgroup_id cgroup_id;
	__u64 seq;
	__u64 syscall_nr;
	char comm[MAXPRO_COMM_LEN];
};

#endif /* __RINGBUF_BENCH_H */
