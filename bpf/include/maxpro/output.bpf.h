/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The probe's ring buffer, its drop counters and the submit policy.
 *
 * Submits use BPF_RB_NO_WAKEUP: the default wakeup raises an irq_work IPI per
 * event, which costs 1.3-1.6 us per event in a VM (about 4-5x the whole
 * NO_WAKEUP path). The reader drains on a timer instead, and a wakeup is
 * forced only when the ring holds more than `maxpro_wakeup_bytes`, so a burst
 * cannot overflow the ring while the reader sleeps.
 */
#ifndef __MAXPRO_OUTPUT_BPF_H
#define __MAXPRO_OUTPUT_BPF_H

#include "event.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* user space resizes before load */
} events SEC(".maps");

/* Lost events by enum maxpro_drop_reason, per CPU so counting never contends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAXPRO_DROP__MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * clang emits BTF only for types a global refers to. User space checks its
 * decoders against the BTF of each event struct, so probes force emission.
 */
#define MAXPRO_EMIT_BTF(type, tag) const type *__maxpro_btf_##tag __attribute__((unused))
MAXPRO_EMIT_BTF(struct maxpro_event_hdr, hdr);

/* Ring fill level (bytes) above which a submit wakes the reader; 0: never. */
const volatile __u64 maxpro_wakeup_bytes = 0;

static __always_inline void maxpro_count_drop(__u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&drops, &reason);
	if (cnt)
		*cnt += 1;
}

static __always_inline __u64 maxpro_submit_flags(void)
{
	if (maxpro_wakeup_bytes &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= maxpro_wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Reserve a record; counts the loss when the ring is full. */
static __always_inline void *maxpro_reserve(__u32 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		maxpro_count_drop(MAXPRO_DROP_RESERVE);
	return e;
}

static __always_inline void maxpro_submit(void *e)
{
	bpf_ringbuf_submit(e, maxpro_submit_flags());
}

/* Copy a variable-size record (built in scratch memory) into the ring. */
static __always_inline int maxpro_output(void *data, __u64 size)
{
	long err = bpf_ringbuf_output(&events, data, size, maxpro_submit_flags());
	if (err)
		maxpro_count_drop(MAXPRO_DROP_OUTPUT);
	return err ? -1 : 0;
}

static __always_inline void maxpro_hdr_init(struct maxpro_event_hdr *h, __u8 kind, __u8 version, __u32 size)
{
	h->kind = kind;
	h->version = version;
	h->flags = 0;
	h->size = size;
	h->boot_ns = bpf_ktime_get_boot_ns();
}

#endif /* __MAXPRO_OUTPUT_BPF_H */
