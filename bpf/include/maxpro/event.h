/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The common event header and event kinds, shared by BPF and user space. */
#ifndef __MAXPRO_EVENT_H
#define __MAXPRO_EVENT_H

/*
 * Every ring-buffer record starts with this header. User space dispatches on
 * `kind`, checks `version`, and skips `size` bytes, so a reader never stops on
 * an event it does not know (it counts it).
 */
struct maxpro_event_hdr {
	__u8 kind;    /* enum maxpro_event_kind */
	__u8 version; /* layout version of this kind */
	__u16 flags;  /* kind-specific flags, e.g. truncation */
	__u32 size;   /* bytes of the whole record, header included */
	__u64 boot_ns; /* bpf_ktime_get_boot_ns() when the event happened */
};

/*
 * Never reuse a number. Retired kinds stay listed in a comment.
 * Ranges: 1-31 process, 32-63 tcp, 64-95 scheduler, 96-127 network,
 * 128-159 profiling, 240-254 test, benchmark and the example probe.
 */
enum maxpro_event_kind {
	MAXPRO_EV_PROCESS_EXEC = 1,
	MAXPRO_EV_PROCESS_FORK = 2,
	MAXPRO_EV_PROCESS_EXIT = 3,
	MAXPRO_EV_TCP_CONNECT = 32,        /* struct tcp_conn_event: client handshake done */
	MAXPRO_EV_TCP_ACCEPT = 33,         /* struct tcp_conn_event: server handshake done */
	MAXPRO_EV_TCP_CLOSE = 34,          /* struct tcp_conn_event: connection closed */
	MAXPRO_EV_TCP_CONNECT_FAILED = 35, /* struct tcp_conn_event: SYN_SENT -> CLOSE */
	MAXPRO_EV_TCP_RETRANSMIT = 36,     /* struct tcp_signal_event */
	MAXPRO_EV_TCP_SYNACK_RETRANSMIT = 37, /* struct tcp_signal_event */
	MAXPRO_EV_TCP_RESET_SENT = 38,     /* struct tcp_signal_event */
	MAXPRO_EV_TCP_RESET_RECEIVED = 39, /* struct tcp_signal_event */
	MAXPRO_EV_TCP_DROP = 40,           /* struct tcp_signal_event */
	MAXPRO_EV_SYSCALL_ENTER = 240,     /* struct sysenter_event (bpf/probes/sysenter, the example probe) */
	MAXPRO_EV_BENCH = 250,
};

/* Why an event was lost inside BPF; indexes the per-probe `drops` map. */
enum maxpro_drop_reason {
	MAXPRO_DROP_RESERVE = 0,  /* ring buffer full: bpf_ringbuf_reserve failed */
	MAXPRO_DROP_OUTPUT = 1,   /* bpf_ringbuf_output failed */
	MAXPRO_DROP_HELPER = 2,   /* a helper needed for the event failed */
	MAXPRO_DROP_MAP_FULL = 3, /* a state map had no room (E2BIG/ENOMEM) */
	MAXPRO_DROP__MAX = 8,
};

#endif /* __MAXPRO_EVENT_H */
