// SPDX-License-Identifier: Apache-2.0
// Module entry: per-instance data (no static state but libbpf's print hook),
// the error factory TS injects, and the flat export table.
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "common.h"

#define ABI_VERSION 2

static void addon_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	struct addon *ad = data;
	if (ad->error_factory)
		napi_delete_reference(env, ad->error_factory);
	free(ad);
}

// setErrorFactory((op, errno, detail) => Error)
static napi_value set_error_factory(napi_env env, napi_callback_info info)
{
	ARGS(1);
	if (ad->error_factory)
		napi_delete_reference(env, ad->error_factory);
	ad->error_factory = NULL;
	CHECK(env, napi_create_reference(env, argv[0], 1, &ad->error_factory));
	return NULL;
}

// handleCounts() -> { objects, links, readers }
static napi_value handle_counts(napi_env env, napi_callback_info info)
{
	ARGS(0);
	napi_value r;
	CHECK(env, napi_create_object(env, &r));
	set_prop(env, r, "objects", make_int64(env, ad->objects));
	set_prop(env, r, "links", make_int64(env, ad->links));
	set_prop(env, r, "readers", make_int64(env, ad->readers));
	return r;
}

// libbpfVersion() -> "1.1"
static napi_value libbpf_version(napi_env env, napi_callback_info info)
{
	ARGS(0);
	return make_string(env, libbpf_version_string());
}

NAPI_MODULE_INIT()
{
	struct addon *ad = calloc(1, sizeof(*ad));
	if (!ad)
		return NULL;
	if (napi_set_instance_data(env, ad, addon_finalize, NULL) != napi_ok) {
		free(ad);
		return NULL;
	}
	static const struct export_fn fns[] = {
		{ "setErrorFactory", set_error_factory },
		{ "handleCounts", handle_counts },
		{ "libbpfVersion", libbpf_version },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
	set_prop(env, exports, "ABI_VERSION", make_int64(env, ABI_VERSION));
	object_register(env, exports, ad);
	link_register(env, exports, ad);
	map_register(env, exports, ad);
	ringbuf_register(env, exports, ad);
	probe_register(env, exports, ad);
	log_register(env, exports, ad);
	return exports;
}
