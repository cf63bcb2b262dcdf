// SPDX-License-Identifier: Apache-2.0
// Map operations on fds, bytes in and bytes out; pinning; object info and
// BPF run-time stats. TS owns key/value encoding and size checks.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"

static bool get_fd(napi_env env, napi_value v, int *fd)
{
	int64_t x;
	if (!get_int64(env, v, &x) || x < 0 || x > 0x7fffffff) {
		throw_arg(env, "fd must be a non-negative integer");
		return false;
	}
	*fd = (int)x;
	return true;
}

#define BYTES(idx, ptr, len, what)                         \
	void *ptr;                                             \
	size_t len;                                            \
	if (!get_bytes(env, argv[idx], &ptr, &len))            \
		return throw_arg(env, what " must be a Uint8Array");

// mapLookup(fd, key, valueOut, flags) -> found
static napi_value map_lookup(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int fd;
	uint32_t flags = 0;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	BYTES(1, key, klen, "key");
	BYTES(2, val, vlen, "value");
	(void)klen; (void)vlen;
	get_uint32(env, argv[3], &flags);
	int err = bpf_map_lookup_elem_flags(fd, key, val, flags);
	if (err == -ENOENT)
		return make_bool(env, false);
	if (err)
		return throw_errno(env, ad, "bpf_map_lookup_elem", err, NULL);
	return make_bool(env, true);
}

// mapUpdate(fd, key, value, flags)
static napi_value map_update(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int fd;
	uint32_t flags = 0;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	BYTES(1, key, klen, "key");
	BYTES(2, val, vlen, "value");
	(void)klen; (void)vlen;
	get_uint32(env, argv[3], &flags);
	int err = bpf_map_update_elem(fd, key, val, flags);
	if (err)
		return throw_errno(env, ad, "bpf_map_update_elem", err, NULL);
	return NULL;
}

// mapDelete(fd, key) -> deleted
static napi_value map_delete(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	BYTES(1, key, klen, "key");
	(void)klen;
	int err = bpf_map_delete_elem(fd, key);
	if (err == -ENOENT)
		return make_bool(env, false);
	if (err)
		return throw_errno(env, ad, "bpf_map_delete_elem", err, NULL);
	return make_bool(env, true);
}

// mapNextKey(fd, key | null, nextOut) -> has next
static napi_value map_next_key(napi_env env, napi_callback_info info)
{
	ARGS(3);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	void *key = NULL;
	size_t klen;
	if (!is_nullish(env, argv[1]) && !get_bytes(env, argv[1], &key, &klen))
		return throw_arg(env, "key must be a Uint8Array or null");
	BYTES(2, next, nlen, "next key");
	(void)nlen;
	int err = bpf_map_get_next_key(fd, key, next);
	if (err == -ENOENT)
		return make_bool(env, false);
	if (err)
		return throw_errno(env, ad, "bpf_map_get_next_key", err, NULL);
	return make_bool(env, true);
}

// mapLookupBatch(fd, inBatch | null, outBatch, keys, values, count, andDelete)
//   -> { count, done }
static napi_value map_lookup_batch(napi_env env, napi_callback_info info)
{
	ARGS(7);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	void *in = NULL;
	size_t inlen;
	if (!is_nullish(env, argv[1]) && !get_bytes(env, argv[1], &in, &inlen))
		return throw_arg(env, "in batch must be a Uint8Array or null");
	BYTES(2, out, outlen, "out batch");
	BYTES(3, keys, klen, "keys");
	BYTES(4, vals, vlen, "values");
	(void)outlen; (void)klen; (void)vlen;
	uint32_t count;
	bool del = false;
	if (!get_uint32(env, argv[5], &count) || !get_bool(env, argv[6], &del))
		return throw_arg(env, "count must be uint32 and andDelete a boolean");
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 n = count;
	int err = del ? bpf_map_lookup_and_delete_batch(fd, in, out, keys, vals, &n, &opts)
		      : bpf_map_lookup_batch(fd, in, out, keys, vals, &n, &opts);
	bool done = false;
	if (err == -ENOENT) {
		done = true;
		err = 0;
	}
	if (err)
		return throw_errno(env, ad, del ? "bpf_map_lookup_and_delete_batch" : "bpf_map_lookup_batch", err, NULL);
	napi_value res;
	CHECK(env, napi_create_object(env, &res));
	set_prop(env, res, "count", make_int64(env, n));
	set_prop(env, res, "done", make_bool(env, done));
	return res;
}

// objPin(fd, path)
static napi_value obj_pin(napi_env env, napi_callback_info info)
{
	ARGS(2);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	char *path = get_string_alloc(env, argv[1]);
	if (!path)
		return throw_arg(env, "pin path must be a string");
	int err = bpf_obj_pin(fd, path);
	if (err) {
		napi_value r = throw_errno(env, ad, "bpf_obj_pin", err, path);
		free(path);
		return r;
	}
	free(path);
	return NULL;
}

// objGet(path) -> fd
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *path = get_string_alloc(env, argv[0]);
	if (!path)
		return throw_arg(env, "pin path must be a string");
	int fd = bpf_obj_get(path);
	if (fd < 0) {
		napi_value r = throw_errno(env, ad, "bpf_obj_get", fd, path);
		free(path);
		return r;
	}
	free(path);
	return make_int64(env, fd);
}

// closeFd(fd)
static napi_value close_fd(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	if (close(fd))
		return throw_errno(env, ad, "close", errno, NULL);
	return NULL;
}

// mapInfo(fd) -> { id, name, type, keySize, valueSize, maxEntries, flags }
static napi_value map_info(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	struct bpf_map_info mi;
	__u32 len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
	if (err)
		return throw_errno(env, ad, "bpf_obj_get_info_by_fd", err, "map");
	napi_value r;
	CHECK(env, napi_create_object(env, &r));
	set_prop(env, r, "id", make_int64(env, mi.id));
	set_prop(env, r, "name", make_string(env, mi.name));
	set_prop(env, r, "type", make_string(env, libbpf_bpf_map_type_str(mi.type)));
	set_prop(env, r, "keySize", make_int64(env, mi.key_size));
	set_prop(env, r, "valueSize", make_int64(env, mi.value_size));
	set_prop(env, r, "maxEntries", make_int64(env, mi.max_entries));
	set_prop(env, r, "flags", make_int64(env, mi.map_flags));
	return r;
}

// progInfo(fd) -> { id, name, type, tag, xlatedLen, runTimeNs, runCount, recursionMisses }
// tag: the kernel's hex digest of the instructions as loaded (what `bpftool prog` shows).
// runTimeNs/runCount count only while BPF stats are enabled (enableStats).
static napi_value prog_info(napi_env env, napi_callback_info info)
{
	ARGS(1);
	int fd;
	if (!get_fd(env, argv[0], &fd))
		return NULL;
	struct bpf_prog_info pi;
	__u32 len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
	if (err)
		return throw_errno(env, ad, "bpf_obj_get_info_by_fd", err, "program");
	napi_value r;
	CHECK(env, napi_create_object(env, &r));
	set_prop(env, r, "id", make_int64(env, pi.id));
	set_prop(env, r, "name", make_string(env, pi.name));
	set_prop(env, r, "type", make_string(env, libbpf_bpf_prog_type_str(pi.type)));
	char tag[2 * BPF_TAG_SIZE + 1];
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
	set_prop(env, r, "tag", make_string(env, tag));
	set_prop(env, r, "xlatedLen", make_int64(env, pi.xlated_prog_len));
	set_prop(env, r, "runTimeNs", make_uint64_bigint(env, pi.run_time_ns));
	set_prop(env, r, "runCount", make_uint64_bigint(env, pi.run_cnt));
	set_prop(env, r, "recursionMisses", make_uint64_bigint(env, pi.recursion_misses));
	return r;
}

// enableStats() -> fd; stats stay on while the fd is open.
static napi_value enable_stats(napi_env env, napi_callback_info info)
{
	ARGS(0);
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return throw_errno(env, ad, "bpf_enable_stats", fd, NULL);
	return make_int64(env, fd);
}

// numPossibleCpus() -> n (per-CPU map values hold one slot per possible CPU)
static napi_value num_possible_cpus(napi_env env, napi_callback_info info)
{
	ARGS(0);
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return throw_errno(env, ad, "libbpf_num_possible_cpus", n, NULL);
	return make_int64(env, n);
}

void map_register(napi_env env, napi_value exports, struct addon *ad)
{
	static const struct export_fn fns[] = {
		{ "mapLookup", map_lookup },
		{ "mapUpdate", map_update },
		{ "mapDelete", map_delete },
		{ "mapNextKey", map_next_key },
		{ "mapLookupBatch", map_lookup_batch },
		{ "objPin", obj_pin },
		{ "objGet", obj_get },
		{ "closeFd", close_fd },
		{ "mapInfo", map_info },
		{ "progInfo", prog_info },
		{ "enableStats", enable_stats },
		{ "numPossibleCpus", num_possible_cpus },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
