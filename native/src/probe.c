// SPDX-License-Identifier: Apache-2.0
// Feature probes through libbpf. Results are raw: 1 yes, 0 no, <0 -errno
// (inconclusive). TS caches conclusive answers and names the feature.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "common.h"

#define ENUM_SCAN_MAX 128

static int prog_type_by_name(const char *name)
{
	for (int i = 0; i < ENUM_SCAN_MAX; i++) {
		const char *s = libbpf_bpf_prog_type_str((enum bpf_prog_type)i);
		if (s && strcmp(s, name) == 0)
			return i;
	}
	return -1;
}

static int map_type_by_name(const char *name)
{
	for (int i = 0; i < ENUM_SCAN_MAX; i++) {
		const char *s = libbpf_bpf_map_type_str((enum bpf_map_type)i);
		if (s && strcmp(s, name) == 0)
			return i;
	}
	return -1;
}

// probeProgType(name) -> 1 | 0 | -errno
static napi_value probe_prog_type(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char name[64];
	if (!get_string(env, argv[0], name, sizeof(name)))
		return throw_arg(env, "program type must be a string");
	int t = prog_type_by_name(name);
	if (t < 0)
		return make_int64(env, -EINVAL);
	return make_int64(env, libbpf_probe_bpf_prog_type((enum bpf_prog_type)t, NULL));
}

// probeMapType(name) -> 1 | 0 | -errno
static napi_value probe_map_type(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char name[64];
	if (!get_string(env, argv[0], name, sizeof(name)))
		return throw_arg(env, "map type must be a string");
	int t = map_type_by_name(name);
	if (t < 0)
		return make_int64(env, -EINVAL);
	return make_int64(env, libbpf_probe_bpf_map_type((enum bpf_map_type)t, NULL));
}

// probeHelper(progType, helperId) -> 1 | 0 | -errno
static napi_value probe_helper(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char name[64];
	uint32_t helper;
	if (!get_string(env, argv[0], name, sizeof(name)) || !get_uint32(env, argv[1], &helper))
		return throw_arg(env, "probeHelper needs a program type and a helper id");
	int t = prog_type_by_name(name);
	if (t < 0)
		return make_int64(env, -EINVAL);
	return make_int64(env, libbpf_probe_bpf_helper((enum bpf_prog_type)t, (enum bpf_func_id)helper, NULL));
}

// tracepointArgCount(name) -> the number of arguments the running kernel's
// raw tracepoint `name` passes to BPF (its btf_trace_<name> prototype, less
// the leading data pointer), or -errno (-ENOENT: no such tracepoint in BTF).
static napi_value tracepoint_arg_count(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char name[128], tname[160];
	if (!get_string(env, argv[0], name, sizeof(name)))
		return throw_arg(env, "tracepoint name must be a string");
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	struct btf *btf = btf__load_vmlinux_btf();
	long err = libbpf_get_error(btf);
	if (err)
		return make_int64(env, err < 0 ? err : -err);
	int64_t res = -ENOENT;
	int id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id > 0) {
		// typedef -> pointer -> func_proto
		const struct btf_type *t = btf__type_by_id(btf, id);
		t = t ? btf__type_by_id(btf, t->type) : NULL;
		t = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
		res = t && btf_is_func_proto(t) && btf_vlen(t) > 0 ? btf_vlen(t) - 1 : -EINVAL;
	}
	btf__free(btf);
	return make_int64(env, res);
}

// btfEnumValues(name) -> [[name, value], ...] of enum `name` in the running
// kernel's BTF (e.g. skb_drop_reason), or -errno (-ENOENT: no such enum).
static napi_value btf_enum_values(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char name[128];
	if (!get_string(env, argv[0], name, sizeof(name)))
		return throw_arg(env, "enum name must be a string");
	struct btf *btf = btf__load_vmlinux_btf();
	long err = libbpf_get_error(btf);
	if (err)
		return make_int64(env, err < 0 ? err : -err);
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	if (!t) {
		btf__free(btf);
		return make_int64(env, -ENOENT);
	}
	napi_value arr;
	if (napi_create_array(env, &arr) != napi_ok) {
		btf__free(btf);
		return NULL;
	}
	const struct btf_enum *e = btf_enum(t);
	for (uint32_t i = 0; i < btf_vlen(t); i++, e++) {
		napi_value pair;
		if (napi_create_array(env, &pair) != napi_ok)
			break;
		napi_set_element(env, pair, 0, make_string(env, btf__name_by_offset(btf, e->name_off)));
		napi_set_element(env, pair, 1, make_int64(env, e->val));
		napi_set_element(env, arr, i, pair);
	}
	btf__free(btf);
	return arr;
}

void probe_register(napi_env env, napi_value exports, struct addon *ad)
{
	static const struct export_fn fns[] = {
		{ "probeProgType", probe_prog_type },
		{ "probeMapType", probe_map_type },
		{ "probeHelper", probe_helper },
		{ "tracepointArgCount", tracepoint_arg_count },
		{ "btfEnumValues", btf_enum_values },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
