/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy push-down by cgroup: user space resolves label selectors to cgroup
 * v2 ids and writes them here; a probe calls maxpro_cgroup_pass(cgid) just
 * before it would emit a record and skips records that fail. TypeScript
 * (src/probes/cgroup-filter.ts) makes every decision; this only looks up.
 *
 * Modes (maxpro_cgf_mode[0].mode):
 *   OFF   every record passes (one inlined array lookup and a compare).
 *   ALLOW a record passes when its cgroup id is in maxpro_cgroup_filter, or
 *         is above known_max_id: kernfs ids only grow, so such a cgroup was
 *         created after user space last scanned the tree and has not been
 *         classified yet; user space sees its records and rescans.
 *   DENY  a record passes unless its cgroup id is in maxpro_cgroup_filter.
 *
 * Only the exact (leaf) id is matched, no ancestors: user space walks the
 * whole tree and puts in every cgroup whose path-derived labels match, which
 * also covers labels inherited from a parent (pod, workload prefix). A walk
 * up kn->parent would need the task (sockets carry only their leaf id) and a
 * bounded loop on every event.
 *
 * Records filtered out are counted per reason in maxpro_cgf_stat: these are
 * policy decisions made early, not lost data.
 */
#ifndef __MAXPRO_CGROUP_FILTER_BPF_H
#define __MAXPRO_CGROUP_FILTER_BPF_H

#define MAXPRO_CGF_OFF   0
#define MAXPRO_CGF_ALLOW 1
#define MAXPRO_CGF_DENY  2

/* Indexes of maxpro_cgf_stat. */
#define MAXPRO_CGF_NOT_ALLOWED 0 /* ALLOW mode, id classified and not in the list */
#define MAXPRO_CGF_DENIED      1 /* DENY mode, id in the list */
#define MAXPRO_CGF__REASONS    2

/* Cgroup ids the filter holds; user space falls back to OFF rather than exceed it. */
#define MAXPRO_CGF_MAX_IDS 8192

struct maxpro_cgroup_filter_cfg {
	__u32 mode;
	__u32 pad;
	/* ALLOW: ids above this are not yet classified and pass. */
	__u64 known_max_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct maxpro_cgroup_filter_cfg);
} maxpro_cgf_mode SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAXPRO_CGF_MAX_IDS);
	__type(key, __u64);  /* cgroup v2 id (kernfs id) */
	__type(value, __u8); /* 1; the mode says what membership means */
} maxpro_cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAXPRO_CGF__REASONS);
	__type(key, __u32);
	__type(value, __u64);
} maxpro_cgf_stat SEC(".maps");

const struct maxpro_cgroup_filter_cfg *__maxpro_btf_cgf_cfg __attribute__((unused));

static __always_inline bool maxpro_cgroup_filtered(__u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&maxpro_cgf_stat, &reason);

	if (cnt)
		*cnt += 1;
	return false;
}

/* True when a record of cgroup `cgid` may be emitted. */
static __always_inline bool maxpro_cgroup_pass(__u64 cgid)
{
	__u32 zero = 0;
	struct maxpro_cgroup_filter_cfg *cfg = bpf_map_lookup_elem(&maxpro_cgf_mode, &zero);

	if (!cfg || cfg->mode == MAXPRO_CGF_OFF)
		return true;
	bool listed = bpf_map_lookup_elem(&maxpro_cgroup_filter, &cgid) != NULL;
	if (cfg->mode == MAXPRO_CGF_DENY)
		return listed ? maxpro_cgroup_filtered(MAXPRO_CGF_DENIED) : true;
	if (listed || cgid > cfg->known_max_id)
		return true;
	return maxpro_cgroup_filtered(MAXPRO_CGF_NOT_ALLOWED);
}

#endif /* __MAXPRO_CGROUP_FILTER_BPF_H */
