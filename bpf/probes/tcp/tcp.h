/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types and constants of the TCP probe, shared by BPF and user space
 * (src/probes/tcp/tcp-event.ts and tcp-aggregates.ts mirror them; the layout
 * test compares the structs with this object's BTF).
 */
#ifndef __TCP_H
#define __TCP_H

#include "maxpro/event.h"
#include "maxpro/types.h"
#include "maxpro/histogram.h"

#define TCP_EVENT_VERSION 1

/* Which end of the connection a socket is. */
enum tcp_dir {
	TCP_DIR_CLIENT = 0, /* connect(): active open */
	TCP_DIR_SERVER = 1, /* accepted child of a listener: passive open */
};

/* The histograms of one (cgroup, direction) aggregate. */
enum tcp_hist_kind {
	TCP_HIST_HANDSHAKE = 0, /* client: SYN_SENT -> ESTABLISHED; server: SYN-ACK -> ACK */
	TCP_HIST_RTT = 1,       /* smoothed RTT at close, in ns */
	TCP_HIST_LIFETIME = 2,  /* connect() or handshake completion -> CLOSE */
	TCP_HIST__MAX = 3,
};

/* Counters of one (cgroup, direction) aggregate. */
enum tcp_agg_counter {
	TCP_AGG_OPENS = 0,          /* handshakes completed (connects or accepts) */
	TCP_AGG_CONNECT_FAILED = 1, /* SYN_SENT -> CLOSE */
	TCP_AGG_CLOSES = 2,         /* tracked connections closed */
	TCP_AGG_CLOSE_ERRORS = 3,   /* closes with sk_err set */
	TCP_AGG_RESETS_RECEIVED = 4, /* closes caused by a received RST (ECONNRESET/EPIPE/ECONNREFUSED) */
	TCP_AGG_RETRANSMITS = 5,    /* tcp_retransmit_skb on sockets of this cgroup */
	TCP_AGG_SYNACK_RETRANSMITS = 6,
	TCP_AGG_DROPS = 7,          /* TCP segments dropped with a socket of this cgroup */
	TCP_AGG_SYN_DROPS = 8,      /* of which SYNs */
	TCP_AGG_BYTES_ACKED = 9,    /* bytes sent and acknowledged, summed at close */
	TCP_AGG_BYTES_RECEIVED = 10,
	TCP_AGG_UNTRACKED_CLOSES = 11, /* closes of sockets opened before the probe */
	TCP_AGG_SYN_RETRANSMITS = 12, /* of TCP_AGG_RETRANSMITS, SYNs (the client's view of SYN drops) */
	TCP_AGG_LISTEN_OVERFLOWS = 13, /* segments dropped with TCP_LISTEN_OVERFLOW on this listener */
	TCP_AGG__MAX = 16,
};

/*
 * Service port classes: user space fills the `tcp_port_class` array (one
 * u8 per port) so that aggregates split by what a port serves without a
 * series per port. Class 0 is "other".
 */
#define TCP_PORT_CLASSES 256

struct tcp_agg_key {
	maxpro_cgroup_id cgroup_id;
	__u32 dir;        /* enum tcp_dir */
	__u32 port_class; /* class of the service port: remote on clients, local on servers */
};

struct tcp_agg {
	__u64 counters[TCP_AGG__MAX];
	struct maxpro_hist hist[TCP_HIST__MAX];
};

/* Machine-wide counters, indexes of struct tcp_global. */
enum tcp_global_counter {
	TCP_G_STATE_CHANGES = 0,
	TCP_G_RETRANSMITS = 1,
	TCP_G_SYNACK_RETRANSMITS = 2,
	TCP_G_RESETS_SENT = 3,
	TCP_G_RESETS_SENT_NO_SOCKET = 4, /* RST for a segment no socket wanted, e.g. a closed port */
	TCP_G_RESETS_RECEIVED = 5,  /* counted while streaming (tcp_receive_reset is attached then only) */
	TCP_G_DROPS = 6,
	TCP_G_SYN_DROPS = 7,
	TCP_G_UNTRACKED_CLOSES = 8,
	TCP_G_EVENTS_EMITTED = 9,
	TCP_G_AGG_FULL = 10,  /* a (cgroup, dir) aggregate could not be created */
	TCP_G_CONN_FULL = 11, /* an in-flight socket could not be tracked */
	TCP_G_SYN_RETRANSMITS = 12,
	TCP_G_LISTEN_OVERFLOWS = 13,
	TCP_G__MAX = 16,
};

struct tcp_global {
	__u64 c[TCP_G__MAX];
};

/* Drop counts for one skb drop reason (enum skb_drop_reason). */
#define TCP_DROP_REASONS 256
struct tcp_drop_count {
	__u64 segments; /* TCP segments dropped with this reason */
	__u64 syns;     /* of which SYNs without ACK */
};

#define TCP_RST_REASONS 64 /* enum sk_rst_reason, clamped */

/* Policy flags of struct tcp_policy. */
#define TCP_POLICY_STREAM (1U << 0)  /* every connect, accept, close and signal */
#define TCP_POLICY_FAILED (1U << 1)  /* failed connects */
#define TCP_POLICY_RETRANS (1U << 2) /* closes of connections that retransmitted */

/*
 * Where the pinned counts come from, pinned beside them and carried across
 * agent restarts (the single entry of `tcp_meta`): when counting started and
 * the intervals in which no program counted although the counts went on.
 */
struct tcp_meta {
	__u64 start_wall_ns;    /* Unix time of the first load of these counts; 0: unknown */
	__u64 gaps;             /* intervals without attached programs */
	__u64 gap_ns;           /* their known length */
	__u64 detached_wall_ns; /* Unix time the programs were detached in an orderly way; 0: attached */
};

/*
 * Which per-connection records reach user space; the agent updates it live
 * (the single entry of the `tcp_policy` array map). Thresholds of 0 are off.
 */
struct tcp_policy {
	__u64 min_handshake_ns; /* connect/accept slower than this: record at open and close */
	__u64 min_srtt_ns;      /* close records of connections with a larger smoothed RTT */
	__u64 min_lifetime_ns;  /* close records of connections that lived longer */
	__u32 flags;            /* TCP_POLICY_* */
	__u32 pad;
};

/*
 * One connection record: at connect, accept, close or failed connect
 * (hdr.kind tells which). Addresses are in network order; IPv4 uses the
 * first 4 bytes.
 */
struct tcp_conn_event {
	struct maxpro_event_hdr hdr;
	maxpro_cgroup_id cgroup_id;
	__u64 handshake_ns; /* connect: SYN_SENT -> ESTABLISHED; accept: SYN-ACK RTT */
	__u64 lifetime_ns;  /* close only */
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 tgid;
	__u32 pid;
	__u32 segs_out;
	__u32 segs_in;
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 total_retrans;
	maxpro_errno err;   /* -sk_err at close or failed connect */
	__u32 netns;
	__u16 sport;        /* host order */
	__u16 dport;        /* host order */
	__u16 family;       /* AF_INET or AF_INET6 */
	__u8 dir;           /* enum tcp_dir */
	__u8 oldstate;      /* state before the transition */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[MAXPRO_COMM_LEN];
};

/*
 * A retransmit, reset or drop, sent only in stream mode (counted always).
 * For a reset sent without a socket, the tuple is that of the segment
 * answered, seen from this host.
 */
struct tcp_signal_event {
	struct maxpro_event_hdr hdr;
	maxpro_cgroup_id cgroup_id;
	__u32 tgid;
	__u32 pid;
	__u32 reason;  /* skb drop reason, sk_rst_reason, or 0 */
	__u32 netns;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 state;    /* socket state, 0 when there is no socket */
	__u8 tcpflags; /* TCP header flags of the segment, when one was read */
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Listening socket owners, so server-side records can name a process. */
struct tcp_listener_key {
	__u32 netns;
	__u16 port;
	__u16 family;
};

struct tcp_listener {
	__u32 tgid;
	__u32 pid;
	char comm[MAXPRO_COMM_LEN];
};

#endif /* __TCP_H */
