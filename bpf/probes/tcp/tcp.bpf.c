// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP connections, aggregated in the kernel: handshake latency, RTT and
 * lifetime histograms plus counters per (socket cgroup, direction), and
 * counters of retransmits, resets and drops by reason. Per-connection
 * records reach the ring buffer only when the live policy (`tcp_policy`)
 * asks for them, so the cost per connection is a few map operations.
 *
 * Hooks are tp_btf only (no kprobes or fentry needed):
 *   inet_sock_set_state   state machine: connect, accept, close, failed connect
 *   tcp_retransmit_skb    retransmits
 *   tcp_retransmit_synack SYN-ACK retransmits (on the listener)
 *   tcp_send_reset        resets sent, with sk_rst_reason
 *   tcp_receive_reset     resets received
 *   kfree_skb             drops of TCP segments, with skb_drop_reason
 *
 * Attribution. inet_sock_set_state often runs in softirq context, where
 * `current` is whatever task the interrupt hit. So:
 *   - the cgroup comes from the socket (sk_cgrp_data), which the kernel sets
 *     when the socket is created and copies from the listener into accepted
 *     children; it is right in any context;
 *   - the client pid/tgid are taken at CLOSE -> SYN_SENT, which runs in
 *     the connect() syscall of the owner;
 *   - an accepted socket has no owner until accept() returns, later. Its
 *     records name the process that called listen() on the port (recorded at
 *     CLOSE -> LISTEN, also process context), looked up only when a record is
 *     emitted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maxpro/output.bpf.h"
#include "maxpro/errmetrics.bpf.h"
#include "maxpro/cgroup_filter.bpf.h"
#include "maxpro/histogram.bpf.h"
#include "tcp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define E2BIG 7
#define ENOMEM 12
#define EPIPE 32
#define ECONNRESET 104
#define ECONNREFUSED 111
#define TCPHDR_SYN 0x02
#define TCPHDR_ACK 0x10

/*
 * A socket between its first tracked transition and CLOSE: one 64-byte
 * slot of `tcp_conns`, found by the socket's cookie (unique for the life of
 * the machine, unlike its address, which the slab reuses; and a plain
 * number, where the verifier forbids arithmetic on a socket pointer). A
 * hash map would cost a bucket lock (interrupts off) and an element copy on
 * every insert and delete, twice per connection; a slot is claimed with one
 * compare-and-swap and freed with one store. Only the socket's own
 * transitions (serialized by its lock or its softirq) write its slot after
 * the claim.
 */
struct tcp_conn {
	__u64 sk;           /* the owner's socket cookie; 0 when free */
	__u64 start_ns;     /* connect() (client) or handshake completion (server) */
	__u64 handshake_ns;
	maxpro_cgroup_id cgroup_id;
	__u32 tgid;         /* client: connect() caller; server: 0 (see top) */
	__u32 pid;
	__u8 dir;
	__u8 flagged;       /* the policy matched at open: emit the close record too */
	__u8 port_class;
	__u8 timed;         /* start_ns is connect() (client) or the handshake's end (server) */
	__u8 pad[20];
};

/* Open addressing: a socket lives in one of this many slots (conn_slot()). */
#define TCP_CONN_PROBES 4

/* Slot count - 1 (a power of two - 1); user space sets it with the map size. */
const volatile __u32 tcp_conn_mask = 32767;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct tcp_conn);
} tcp_conns SEC(".maps");

/*
 * Aggregates per (cgroup, direction). Per-CPU, so updates are plain adds;
 * not preallocated, so memory follows the cgroups actually seen.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcp_agg_key);
	__type(value, struct tcp_agg);
} tcp_aggs SEC(".maps");

/* A zeroed aggregate to create entries from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_agg);
} tcp_agg_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_global);
} tcp_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_DROP_REASONS);
	__type(key, __u32);
	__type(value, struct tcp_drop_count);
} tcp_drop_reasons SEC(".maps");

/* Resets sent by enum sk_rst_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_RST_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} tcp_rst_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_policy);
} tcp_policy SEC(".maps");

/* Port -> class (struct tcp_agg_key.port_class), filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tcp_port_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_listener_key);
	__type(value, struct tcp_listener);
} tcp_listeners SEC(".maps");

/* Written and read by user space only (no program touches it): see struct tcp_meta. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_meta);
} tcp_meta SEC(".maps");

/* Force BTF for the structs user space decodes (layout test). */
const struct tcp_conn_event *unused_conn_event __attribute__((unused));
const struct tcp_signal_event *unused_signal_event __attribute__((unused));

static __always_inline void global_inc(__u32 idx, __u64 n)
{
	__u32 zero = 0;
	struct tcp_global *g = bpf_map_lookup_elem(&tcp_global, &zero);

	if (g && idx < TCP_G__MAX)
		g->c[idx] += n;
}

/* The socket's cookie, made on first use (sock_gen_cookie). */
static __always_inline __u64 sk_key(const struct sock *sk)
{
	return bpf_get_socket_cookie((void *)sk);
}

/*
 * Where a socket may live: 2 slots at its cookie, then 2 at a hash of it.
 * Cookies are handed out in per-CPU runs, so sockets opened together sit in
 * neighbouring slots whose cache lines are still warm; but a burst of
 * long-lived sockets fills a run of slots, and the hashed pair keeps new
 * sockets that land in such a run from being turned away.
 */
static __always_inline __u32 conn_slot(__u64 sk, int i)
{
	__u32 h = i < 2 ? (__u32)sk : (__u32)((sk * 0x9E3779B97F4A7C15ULL) >> 32);

	return (h + (i & 1)) & tcp_conn_mask;
}

static __always_inline struct tcp_conn *conn_find(__u64 sk)
{
#pragma unroll
	for (int i = 0; i < TCP_CONN_PROBES; i++) {
		__u32 idx = conn_slot(sk, i);
		struct tcp_conn *c = bpf_map_lookup_elem(&tcp_conns, &idx);

		if (c && c->sk == sk)
			return c;
	}
	return NULL;
}

/* A slot for sk (its own, if it has one), or NULL (counted) when all are taken. */
static __always_inline struct tcp_conn *conn_claim(__u64 sk)
{
#pragma unroll
	for (int i = 0; i < TCP_CONN_PROBES; i++) {
		__u32 idx = conn_slot(sk, i);
		struct tcp_conn *c = bpf_map_lookup_elem(&tcp_conns, &idx);

		if (!c)
			continue;
		if (c->sk == sk)
			return c;
		if (c->sk == 0 && __sync_val_compare_and_swap(&c->sk, 0, sk) == 0)
			return c;
	}
	maxpro_count_drop(MAXPRO_DROP_MAP_FULL);
	global_inc(TCP_G_CONN_FULL, 1);
	return NULL;
}

static __always_inline void conn_free(struct tcp_conn *c)
{
	/*
	 * Last, after every read of the slot: it is reusable from here on. A
	 * plain store after a compiler barrier (clang 14 cannot emit a BPF
	 * store-release); the JITs keep program order for stores to memory.
	 */
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&c->sk = 0;
}

static __always_inline struct tcp_policy *policy(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcp_policy, &zero);
}

static __always_inline __u64 sk_cgroup_id(const struct sock *sk)
{
	struct cgroup *cg = sk->sk_cgrp_data.cgroup;

	return cg ? cg->kn->id : 0;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return sk->__sk_common.skc_net.net->ns.inum;
}

static __always_inline __u8 port_class(__u16 port)
{
	__u32 k = port;
	__u8 *c = bpf_map_lookup_elem(&tcp_port_class, &k);

	return c ? *c : 0;
}

/* The aggregate of (cgroup, dir, port class), created on first use; NULL when full. */
static __always_inline struct tcp_agg *agg_get(__u64 cgroup_id, __u32 dir, __u8 pclass)
{
	struct tcp_agg_key key = { .cgroup_id = cgroup_id, .dir = dir, .port_class = pclass };
	struct tcp_agg *a = bpf_map_lookup_elem(&tcp_aggs, &key);
	__u32 zero = 0;

	if (a)
		return a;
	struct tcp_agg *z = bpf_map_lookup_elem(&tcp_agg_zero, &zero);
	if (!z)
		return NULL;
	long err = bpf_map_update_elem(&tcp_aggs, &key, z, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU created it */) {
		maxpro_count_err(err, __LINE__);
		global_inc(TCP_G_AGG_FULL, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&tcp_aggs, &key);
}

static __always_inline void fill_tuple(const struct sock *sk, __u16 *family, __u16 *sport, __u16 *dport,
				       __u8 saddr[16], __u8 daddr[16])
{
	__u16 fam = sk->__sk_common.skc_family;

	*family = fam;
	/*
	 * skc_num is cleared when a closing socket releases its port, before the
	 * CLOSE transition; inet_sport keeps it (the tracepoint's own sport reads
	 * it too). Read through the inet_sock the socket is embedded in.
	 */
	*sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	if (!*sport)
		*sport = sk->__sk_common.skc_num;
	*dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (fam == AF_INET6) {
		__builtin_memcpy(saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(daddr, &sk->__sk_common.skc_v6_daddr, 16);
	} else {
		__u32 s = sk->__sk_common.skc_rcv_saddr, d = sk->__sk_common.skc_daddr;
		__builtin_memcpy(saddr, &s, 4);
		__builtin_memcpy(daddr, &d, 4);
	}
}

/* Fills the owner of a server-side socket from the listener table. */
static __always_inline void fill_listener_owner(const struct sock *sk, struct tcp_conn_event *e)
{
	struct tcp_listener_key lk = {
		.netns = e->netns, .port = e->sport, .family = e->family,
	};
	struct tcp_listener *l = bpf_map_lookup_elem(&tcp_listeners, &lk);

	if (!l)
		return;
	e->tgid = l->tgid;
	e->pid = l->pid;
	__builtin_memcpy(e->comm, l->comm, sizeof(e->comm));
}

/*
 * A ring-buffer record with its header set, or NULL: the policy drops every
 * record of this cgroup (aggregates still counted it), or the ring is full
 * (counted by maxpro_reserve()).
 */
static __always_inline void *record_reserve(__u8 kind, __u32 size, __u64 cgroup_id)
{
	struct maxpro_event_hdr *h;

	if (!maxpro_cgroup_pass(cgroup_id))
		return NULL;
	h = maxpro_reserve(size);
	if (h)
		maxpro_hdr_init(h, kind, TCP_EVENT_VERSION, size);
	return h;
}

static __always_inline void emit_conn(const struct sock *sk, __u8 kind, const struct tcp_conn *c, __u64 cgroup_id,
				      __u8 dir, int oldstate, __u64 now, __s32 err)
{
	struct tcp_conn_event *e = record_reserve(kind, sizeof(*e), cgroup_id);
	struct tcp_sock *tp;

	if (!e)
		return;
	e->cgroup_id = cgroup_id;
	e->dir = dir;
	e->oldstate = oldstate;
	e->err = err;
	e->netns = sk_netns(sk);
	fill_tuple(sk, &e->family, &e->sport, &e->dport, e->saddr, e->daddr);
	if (c) {
		e->handshake_ns = c->handshake_ns;
		e->lifetime_ns = (kind == MAXPRO_EV_TCP_CLOSE || kind == MAXPRO_EV_TCP_CONNECT_FAILED) && c->timed && now > c->start_ns ?
				 now - c->start_ns : 0;
		e->tgid = c->tgid;
		e->pid = c->pid;
	} else {
		e->handshake_ns = 0;
		e->lifetime_ns = 0;
		e->tgid = 0;
		e->pid = 0;
	}
	/*
	 * comm is read here rather than kept per connection (that would cost a
	 * helper call and 16 bytes per connect): when the owner is current, as
	 * in connect() and close(), from the task; else user space resolves the
	 * tgid.
	 */
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	if (e->tgid && e->tgid == bpf_get_current_pid_tgid() >> 32)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (dir == TCP_DIR_SERVER && e->tgid == 0)
		fill_listener_owner(sk, e);
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (tp) {
		e->bytes_acked = tp->bytes_acked;
		e->bytes_received = tp->bytes_received;
		e->segs_out = tp->segs_out;
		e->segs_in = tp->segs_in;
		e->srtt_us = tp->srtt_us >> 3;
		e->rttvar_us = tp->mdev_us >> 2; /* as tcp_info's tcpi_rttvar */
		e->total_retrans = tp->total_retrans;
	} else {
		e->bytes_acked = 0;
		e->bytes_received = 0;
		e->segs_out = 0;
		e->segs_in = 0;
		e->srtt_us = 0;
		e->rttvar_us = 0;
		e->total_retrans = 0;
	}
	maxpro_submit(e);
	global_inc(TCP_G_EVENTS_EMITTED, 1);
}

/*
 * Whether the policy can ask for a per-connection record. Only then is a
 * client tracked from connect(), for its pid (connect() runs in the owner;
 * the handshake's end usually runs in softirq); otherwise tracking starts at
 * ESTABLISHED.
 */
static __always_inline bool records_wanted(const struct tcp_policy *p)
{
	return p && (p->flags || p->min_handshake_ns || p->min_srtt_ns || p->min_lifetime_ns);
}

/*
 * tcp_mstamp in ns: the stack refreshes it (CLOCK_MONOTONIC, us, as
 * bpf_ktime_get_ns()) when it processes a received segment and before it
 * sends a SYN, so on those paths it is the current time, read for free; a
 * clock read is costly in a VM. 0 when unusable.
 */
static __always_inline __u64 mstamp_ns(const struct tcp_sock *tp)
{
	return tp ? tp->tcp_mstamp * 1000 : 0;
}

/* A claimed slot's fields; owner is bpf_get_current_pid_tgid() or 0 (not known). */
static __always_inline void conn_init(struct tcp_conn *c, __u64 start_ns, __u64 cgroup_id, __u64 owner,
				      __u8 dir, __u8 pclass, __u8 timed)
{
	c->start_ns = start_ns;
	c->handshake_ns = 0;
	c->cgroup_id = cgroup_id;
	c->tgid = owner >> 32;
	c->pid = (__u32)owner;
	c->dir = dir;
	c->flagged = 0;
	c->timed = timed;
	c->port_class = pclass;
}

/*
 * A handshake completed: the open counter and handshake histogram of the
 * aggregate, then the record when the policy asks (a slow handshake also
 * flags the connection for a close record).
 */
static __always_inline void conn_opened(const struct sock *sk, struct tcp_conn *c, __u8 dir, __u64 cgroup_id,
					__u8 pclass, __u64 handshake, __u64 now)
{
	struct tcp_agg *a = agg_get(cgroup_id, dir, pclass);
	struct tcp_policy *p;

	if (a) {
		a->counters[TCP_AGG_OPENS] += 1;
		if (handshake)
			maxpro_hist_record(&a->hist[TCP_HIST_HANDSHAKE], handshake);
	}
	if (!c)
		return;
	c->handshake_ns = handshake;
	p = policy();
	if (!p)
		return;
	if (p->min_handshake_ns && handshake >= p->min_handshake_ns)
		c->flagged = 1;
	if (c->flagged || (p->flags & TCP_POLICY_STREAM)) {
		bool client = dir == TCP_DIR_CLIENT;
		emit_conn(sk, client ? MAXPRO_EV_TCP_CONNECT : MAXPRO_EV_TCP_ACCEPT, c, cgroup_id, dir,
			  client ? TCP_SYN_SENT : TCP_SYN_RECV, now, 0);
	}
}

/*
 * When connect() sent the first SYN, for a client whose handshake cannot be
 * timed from an RTT sample (its SYN was retransmitted) or that failed:
 * tcp_connect() stamped it into retrans_stamp, in ms, or in us when the route
 * asks for usec timestamps (tcp_usec_ts, 6.7+), off the same clock as
 * bpf_ktime_get_ns(). Reading that stamp instead of the clock at
 * CLOSE -> SYN_SENT saves a clock read per tracked connection.
 */
static __always_inline void syn_start(const struct sock *sk, struct tcp_conn *c)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	__u64 now = bpf_ktime_get_ns(), elapsed;
	bool usec = false;

	if (!tp)
		return;
	if (bpf_core_field_exists(tp->tcp_usec_ts))
		usec = BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts);
	if (usec)
		elapsed = (__u64)(__u32)((__u32)(now / 1000) - tp->retrans_stamp) * 1000;
	else
		elapsed = (__u64)(__u32)((__u32)(now / 1000000) - tp->retrans_stamp) * 1000000;
	if (!tp->retrans_stamp || elapsed > now)
		return;
	c->start_ns = now - elapsed;
	c->timed = 1;
}

/* CLOSE -> SYN_SENT, in connect(): the owner is current. */
static __always_inline void on_connect_start(const struct sock *sk)
{
	struct tcp_conn *c;

	if (!records_wanted(policy()))
		return;
	c = conn_claim(sk_key(sk));
	if (!c)
		return;
	/* Not timed: on_connected() uses the SYN's RTT sample, syn_start() the SYN's stamp. */
	conn_init(c, 0, sk_cgroup_id(sk), bpf_get_current_pid_tgid(), TCP_DIR_CLIENT,
		  port_class(bpf_ntohs(sk->__sk_common.skc_dport)), 0);
}

/*
 * SYN_SENT -> ESTABLISHED (usually softirq, on the SYN-ACK). The handshake
 * is the RTT sample that tcp_ack_update_rtt() has just taken of the single
 * SYN (SYN sent -> SYN-ACK processed, in us), which is the first srtt; after
 * a SYN retransmit (no sample: Karn) it runs from the first SYN's stamp
 * (syn_start(), in tcp_retransmit_skb).
 */
static __always_inline void on_connected(const struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	__u64 key = sk_key(sk), now, handshake, cgroup_id;
	struct tcp_conn *c = conn_find(key);
	__u8 pclass;

	now = mstamp_ns(tp);
	if (!now)
		now = bpf_ktime_get_ns();
	if (c && c->timed)
		handshake = now > c->start_ns ? now - c->start_ns : 0;
	else
		handshake = tp ? (__u64)(tp->srtt_us >> 3) * 1000 : 0;
	if (c) {
		cgroup_id = c->cgroup_id;
		pclass = c->port_class;
		if (!c->timed)
			c->start_ns = now - handshake;
		c->timed = 1;
	} else {
		cgroup_id = sk_cgroup_id(sk);
		pclass = port_class(bpf_ntohs(sk->__sk_common.skc_dport));
		c = conn_claim(key);
		if (c)
			conn_init(c, now - handshake, cgroup_id, 0, TCP_DIR_CLIENT, pclass, 1);
	}
	conn_opened(sk, c, TCP_DIR_CLIENT, cgroup_id, pclass, handshake, now);
}

/*
 * SYN_RECV -> ESTABLISHED on an accepted child. The child exists only since
 * the final ACK arrived (the handshake before that lives in a request_sock,
 * which has no state-change tracepoint). tcp_rcv_state_process() has just
 * measured the SYN-ACK -> ACK round trip into srtt_us (tcp_synack_rtt_meas),
 * which is the server's view of the handshake; 0 when it could not measure
 * (a retransmitted SYN-ACK without timestamps).
 */
static __always_inline void on_accepted(const struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
	struct tcp_conn *c = conn_claim(sk_key(sk));
	__u64 now, handshake, cgroup_id = sk_cgroup_id(sk);
	__u8 pclass = port_class(sk->__sk_common.skc_num);

	now = mstamp_ns(tp);
	if (!now)
		now = bpf_ktime_get_ns();
	handshake = tp ? (__u64)(tp->srtt_us >> 3) * 1000 : 0;
	if (c)
		conn_init(c, now, cgroup_id, 0, TCP_DIR_SERVER, pclass, 1);
	conn_opened(sk, c, TCP_DIR_SERVER, cgroup_id, pclass, handshake, now);
}

/* SYN_SENT -> CLOSE: refused, timed out, unreachable, or aborted (err 0). */
static __always_inline void on_connect_failed(const struct sock *sk)
{
	struct tcp_conn *c = conn_find(sk_key(sk));
	__s32 err = -(__s32)sk->sk_err;
	__u64 cgroup_id = sk_cgroup_id(sk);
	struct tcp_agg *a = agg_get(cgroup_id, TCP_DIR_CLIENT, port_class(bpf_ntohs(sk->__sk_common.skc_dport)));
	struct tcp_policy *p = policy();

	if (a) {
		a->counters[TCP_AGG_CONNECT_FAILED] += 1;
		if (err == -ECONNREFUSED)
			a->counters[TCP_AGG_RESETS_RECEIVED] += 1;
	}
	if (p && (p->flags & (TCP_POLICY_STREAM | TCP_POLICY_FAILED))) {
		/* The record's lifetime is the time to fail, from the first SYN. */
		if (c && !c->timed)
			syn_start(sk, c);
		emit_conn(sk, MAXPRO_EV_TCP_CONNECT_FAILED, c, cgroup_id, TCP_DIR_CLIENT, TCP_SYN_SENT,
			  bpf_ktime_get_ns(), err);
	}
	if (c)
		conn_free(c);
}

/* Any tracked state -> CLOSE: lifetime, RTT and byte counts. */
static __always_inline void on_close(const struct sock *sk, int oldstate)
{
	struct tcp_conn *c = conn_find(sk_key(sk));
	struct tcp_sock *tp;
	struct tcp_policy *p;
	struct tcp_agg *a;
	__u64 srtt_ns = 0, lifetime, now = 0;
	__s32 err;

	if (!c) {
		/* Opened before the probe, or a child that never got established. */
		global_inc(TCP_G_UNTRACKED_CLOSES, 1);
		return;
	}
	err = -(__s32)sk->sk_err;
	tp = bpf_skc_to_tcp_sock((void *)sk);
	/*
	 * A reset received on an established connection: tcp_rcv_established()
	 * refreshed tcp_mstamp for it before tcp_reset() set sk_err. (A local
	 * close or abort sets sk_err only after this transition.) Elsewhere the
	 * stamp can be as old as the last segment, so read the clock.
	 */
	if (oldstate == TCP_ESTABLISHED && err == -ECONNRESET)
		now = mstamp_ns(tp);
	if (!now)
		now = bpf_ktime_get_ns();
	lifetime = now > c->start_ns ? now - c->start_ns : 0;
	a = agg_get(c->cgroup_id, c->dir, c->port_class);
	if (a) {
		a->counters[TCP_AGG_CLOSES] += 1;
		if (err) {
			a->counters[TCP_AGG_CLOSE_ERRORS] += 1;
			if (err == -ECONNRESET || err == -EPIPE)
				a->counters[TCP_AGG_RESETS_RECEIVED] += 1;
		}
		maxpro_hist_record(&a->hist[TCP_HIST_LIFETIME], lifetime);
		if (tp) {
			srtt_ns = (__u64)(tp->srtt_us >> 3) * 1000;
			if (srtt_ns)
				maxpro_hist_record(&a->hist[TCP_HIST_RTT], srtt_ns);
			a->counters[TCP_AGG_BYTES_ACKED] += tp->bytes_acked;
			a->counters[TCP_AGG_BYTES_RECEIVED] += tp->bytes_received;
		}
	}
	p = policy();
	if (p) {
		bool emit = c->flagged || (p->flags & TCP_POLICY_STREAM);
		if (!emit && p->min_srtt_ns && srtt_ns >= p->min_srtt_ns)
			emit = true;
		if (!emit && p->min_lifetime_ns && lifetime >= p->min_lifetime_ns)
			emit = true;
		if (!emit && (p->flags & TCP_POLICY_RETRANS) && tp && tp->total_retrans)
			emit = true;
		if (emit)
			emit_conn(sk, MAXPRO_EV_TCP_CLOSE, c, c->cgroup_id, c->dir, oldstate, now, err);
	}
	conn_free(c);
}

static __always_inline void on_listen(const struct sock *sk, bool start)
{
	struct tcp_listener_key k = {
		.netns = sk_netns(sk),
		.port = sk->__sk_common.skc_num,
		.family = sk->__sk_common.skc_family,
	};

	if (!start) {
		bpf_map_delete_elem(&tcp_listeners, &k);
		return;
	}
	struct tcp_listener l = {};
	__u64 id = bpf_get_current_pid_tgid();

	l.tgid = id >> 32;
	l.pid = (__u32)id;
	bpf_get_current_comm(l.comm, sizeof(l.comm));
	MAXPRO_CHECK(bpf_map_update_elem(&tcp_listeners, &k, &l, BPF_ANY));
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp__inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;

	switch (newstate) {
	case TCP_SYN_SENT:
		on_connect_start(sk);
		break;
	case TCP_ESTABLISHED:
		if (oldstate == TCP_SYN_SENT)
			on_connected(sk);
		else if (oldstate == TCP_SYN_RECV)
			on_accepted(sk);
		break;
	case TCP_CLOSE:
		if (oldstate == TCP_SYN_SENT)
			on_connect_failed(sk);
		else if (oldstate == TCP_LISTEN)
			on_listen(sk, false);
		else
			on_close(sk, oldstate);
		break;
	case TCP_LISTEN:
		on_listen(sk, true);
		break;
	}
	return 0;
}

static __always_inline void emit_signal_sk(__u8 kind, const struct sock *sk, __u32 reason, __u64 cgroup_id)
{
	struct tcp_signal_event *e = record_reserve(kind, sizeof(*e), cgroup_id);

	if (!e)
		return;
	e->cgroup_id = cgroup_id;
	e->reason = reason;
	e->tcpflags = 0;
	e->tgid = 0;
	e->pid = 0;
	if (sk) {
		struct tcp_conn *c;
		__u64 key = sk_key(sk);

		e->netns = sk_netns(sk);
		e->state = sk->__sk_common.skc_state;
		fill_tuple(sk, &e->family, &e->sport, &e->dport, e->saddr, e->daddr);
		c = conn_find(key);
		if (c) {
			e->tgid = c->tgid;
			e->pid = c->pid;
		}
	} else {
		e->netns = 0;
		e->state = 0;
		e->family = 0;
		e->sport = 0;
		e->dport = 0;
		__builtin_memset(e->saddr, 0, 16);
		__builtin_memset(e->daddr, 0, 16);
	}
	maxpro_submit(e);
	global_inc(TCP_G_EVENTS_EMITTED, 1);
}

static __always_inline bool streaming(void)
{
	struct tcp_policy *p = policy();

	return p && (p->flags & TCP_POLICY_STREAM);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp__retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	__u64 cg = sk_cgroup_id(sk);
	__u32 dir = TCP_DIR_CLIENT; /* unless the socket is a tracked server side */
	__u8 pclass = port_class(bpf_ntohs(sk->__sk_common.skc_dport));
	struct tcp_conn *c;
	__u64 key = sk_key(sk);
	struct tcp_agg *a;

	global_inc(TCP_G_RETRANSMITS, 1);
	/*
	 * A SYN retransmit is how a client sees its SYN dropped: a listener whose
	 * accept queue is full frees the SYN with consume_skb(), not kfree_skb(),
	 * so no drop tracepoint fires for it on the server.
	 */
	bool syn = sk->__sk_common.skc_state == TCP_SYN_SENT;
	if (syn)
		global_inc(TCP_G_SYN_RETRANSMITS, 1);
	c = conn_find(key);
	if (c) {
		dir = c->dir;
		pclass = c->port_class;
	} else if (syn) {
		c = conn_claim(key);
		if (c)
			conn_init(c, 0, cg, 0, TCP_DIR_CLIENT, pclass, 0);
	}
	if (syn && c && !c->timed)
		syn_start(sk, c);
	a = agg_get(cg, dir, pclass);
	if (a) {
		a->counters[TCP_AGG_RETRANSMITS] += 1;
		if (syn)
			a->counters[TCP_AGG_SYN_RETRANSMITS] += 1;
	}
	if (streaming())
		emit_signal_sk(MAXPRO_EV_TCP_RETRANSMIT, sk, 0, cg);
	return 0;
}

/* sk is the listener: the child does not exist yet. */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(tcp__retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	__u64 cg = sk_cgroup_id(sk);
	struct tcp_agg *a;

	global_inc(TCP_G_SYNACK_RETRANSMITS, 1);
	a = agg_get(cg, TCP_DIR_SERVER, port_class(sk->__sk_common.skc_num));
	if (a)
		a->counters[TCP_AGG_SYNACK_RETRANSMITS] += 1;
	if (streaming())
		emit_signal_sk(MAXPRO_EV_TCP_SYNACK_RETRANSMIT, sk, 0, cg);
	return 0;
}

/*
 * Reads the IP and TCP headers of an skb the stack is done with: the
 * addresses, ports and flags. Returns false when it is not TCP.
 */
static __always_inline bool skb_tcp_tuple(const struct sk_buff *skb, struct tcp_signal_event *e)
{
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header, th = skb->transport_header;
	__u16 proto = bpf_ntohs(skb->protocol);
	__u8 l4 = 0;

	if (nh == (__u16)~0U)
		return false;
	if (proto == ETH_P_IP) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return false;
		l4 = ip.protocol;
		e->family = AF_INET;
		__builtin_memcpy(e->saddr, &ip.saddr, 4);
		__builtin_memcpy(e->daddr, &ip.daddr, 4);
		if (th == (__u16)~0U || th <= nh)
			th = nh + ip.ihl * 4;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return false;
		l4 = ip6.nexthdr; /* extension headers are not followed */
		e->family = AF_INET6;
		__builtin_memcpy(e->saddr, &ip6.saddr, 16);
		__builtin_memcpy(e->daddr, &ip6.daddr, 16);
		if (th == (__u16)~0U || th <= nh)
			th = nh + sizeof(ip6);
	} else {
		return false;
	}
	if (l4 != IPPROTO_TCP)
		return false;
	struct tcphdr tcp;
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return true;
	e->sport = bpf_ntohs(tcp.source);
	e->dport = bpf_ntohs(tcp.dest);
	e->tcpflags = ((__u8 *)&tcp)[13];
	return true;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp__send_reset, const struct sock *sk, const struct sk_buff *skb, const enum sk_rst_reason reason)
{
	__u32 r = reason < TCP_RST_REASONS ? reason : TCP_RST_REASONS - 1;
	__u64 *cnt = bpf_map_lookup_elem(&tcp_rst_reasons, &r);

	if (cnt)
		*cnt += 1;
	global_inc(TCP_G_RESETS_SENT, 1);
	/*
	 * A full socket only: for a TIME_WAIT or request socket, sk is not a
	 * struct sock with cgroup data. For no socket at all (a closed port)
	 * the tuple comes from the segment answered.
	 */
	bool full = sk && sk->__sk_common.skc_state != TCP_TIME_WAIT && sk->__sk_common.skc_state != TCP_NEW_SYN_RECV;
	if (!full)
		global_inc(TCP_G_RESETS_SENT_NO_SOCKET, 1);
	if (!streaming())
		return 0;
	if (full) {
		emit_signal_sk(MAXPRO_EV_TCP_RESET_SENT, sk, r, sk_cgroup_id(sk));
		return 0;
	}
	if (!skb)
		return 0;
	/* No socket, so no cgroup: id 0, as user space sees it. */
	struct tcp_signal_event *e = record_reserve(MAXPRO_EV_TCP_RESET_SENT, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(((__u8 *)e) + sizeof(e->hdr), 0, sizeof(*e) - sizeof(e->hdr));
	e->reason = r;
	if (skb_tcp_tuple(skb, e)) {
		/* Seen from this host: the answered segment's destination is local. */
		__u8 tmp[16];
		__u16 p = e->sport;
		__builtin_memcpy(tmp, e->saddr, 16);
		__builtin_memcpy(e->saddr, e->daddr, 16);
		__builtin_memcpy(e->daddr, tmp, 16);
		e->sport = e->dport;
		e->dport = p;
	}
	maxpro_submit(e);
	global_inc(TCP_G_EVENTS_EMITTED, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp__receive_reset, struct sock *sk)
{
	global_inc(TCP_G_RESETS_RECEIVED, 1);
	if (streaming())
		emit_signal_sk(MAXPRO_EV_TCP_RESET_RECEIVED, sk, 0, sk_cgroup_id(sk));
	return 0;
}

/*
 * The numbers of enum skb_drop_reason change between kernels and TCP_LISTEN_OVERFLOW
 * is newer than some (6.12 lacks it): its value is read from the running kernel's BTF,
 * and a kernel without it never matches.
 */
enum skb_drop_reason___maxpro { SKB_DROP_REASON_TCP_LISTEN_OVERFLOW___maxpro = 0 };

static __always_inline __u32 listen_overflow_reason(void)
{
	if (!bpf_core_enum_value_exists(enum skb_drop_reason___maxpro, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW___maxpro))
		return (__u32)-1;
	return bpf_core_enum_value(enum skb_drop_reason___maxpro, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW___maxpro);
}

/*
 * Every dropped skb passes here; only TCP segments are counted. An ACK that
 * completes a handshake while the listener's accept queue is full is dropped
 * with TCP_LISTEN_OVERFLOW. (A SYN refused for the same reason is freed with
 * consume_skb(), so it is seen as a client SYN retransmit instead.)
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tcp__kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
	const __u32 listen_overflow = listen_overflow_reason();
	struct tcp_signal_event e;
	struct tcp_drop_count *dc;
	struct sock *sk = rx_sk;
	__u32 r = reason < TCP_DROP_REASONS ? reason : TCP_DROP_REASONS - 1;
	bool syn;

	__builtin_memset(&e, 0, sizeof(e));
	if (!skb_tcp_tuple(skb, &e))
		return 0;
	syn = (e.tcpflags & (TCPHDR_SYN | TCPHDR_ACK)) == TCPHDR_SYN;
	dc = bpf_map_lookup_elem(&tcp_drop_reasons, &r);
	if (dc) {
		dc->segments += 1;
		if (syn)
			dc->syns += 1;
	}
	global_inc(TCP_G_DROPS, 1);
	if (syn)
		global_inc(TCP_G_SYN_DROPS, 1);
	if (reason == listen_overflow)
		global_inc(TCP_G_LISTEN_OVERFLOWS, 1);
	if (!sk)
		sk = skb->sk;
	if (sk) {
		__u8 st = sk->__sk_common.skc_state;
		/* Only full sockets carry cgroup data (not TIME_WAIT or request socks). */
		if (st != TCP_TIME_WAIT && st != TCP_NEW_SYN_RECV) {
			e.cgroup_id = sk_cgroup_id(sk);
			e.state = st;
			e.netns = sk_netns(sk);
			/* A listener's drops are the server side of its port; others, as a client. */
			bool server = st == TCP_LISTEN;
			struct tcp_agg *a = agg_get(e.cgroup_id, server ? TCP_DIR_SERVER : TCP_DIR_CLIENT,
						    port_class(server ? sk->__sk_common.skc_num :
								bpf_ntohs(sk->__sk_common.skc_dport)));
			if (a) {
				a->counters[TCP_AGG_DROPS] += 1;
				if (syn)
					a->counters[TCP_AGG_SYN_DROPS] += 1;
				if (reason == listen_overflow)
					a->counters[TCP_AGG_LISTEN_OVERFLOWS] += 1;
			}
		}
	}
	if (streaming() && maxpro_cgroup_pass(e.cgroup_id)) {
		e.reason = r;
		maxpro_hdr_init(&e.hdr, MAXPRO_EV_TCP_DROP, TCP_EVENT_VERSION, sizeof(e));
		if (maxpro_output(&e, sizeof(e)) == 0)
			global_inc(TCP_G_EVENTS_EMITTED, 1);
	}
	return 0;
}
