// SPDX-License-Identifier: Apache-2.0
// Shared declarations of the N-API addon. C performs libbpf operations and
// reports what happened; every decision is made in TypeScript.
#ifndef MAXPRO_NATIVE_COMMON_H
#define MAXPRO_NATIVE_COMMON_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

// Per-instance state: no static globals except the libbpf print hook (libbpf's
// print callback is process-wide by API; see log.c).
struct addon {
	napi_ref error_factory; // (op, errno, detail) => Error, injected by TS
	// Open handle counters, so tests can assert teardown returns to baseline.
	int64_t objects;
	int64_t links;
	int64_t readers;
};

#define CHECK(env, call)                                                        \
	do {                                                                        \
		napi_status _s = (call);                                                \
		if (_s != napi_ok) {                                                    \
			napi_throw_error((env), "MAXPRO_ERR_INTERNAL", "napi call failed: " #call); \
			return NULL;                                                        \
		}                                                                       \
	} while (0)

#define CHECK_VOID(env, call)                                                   \
	do {                                                                        \
		napi_status _s = (call);                                                \
		if (_s != napi_ok) {                                                    \
			napi_throw_error((env), "MAXPRO_ERR_INTERNAL", "napi call failed: " #call); \
			return;                                                             \
		}                                                                       \
	} while (0)

#define ARGS(n)                                                                 \
	size_t argc = (n);                                                          \
	napi_value argv[(n) > 0 ? (n) : 1];                                         \
	struct addon *ad = NULL;                                                    \
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&ad));   \
	(void)ad;

// errors.c
napi_value throw_errno(napi_env env, struct addon *ad, const char *op, int err, const char *detail);
napi_value throw_arg(napi_env env, const char *msg);

// helpers.c
bool get_string(napi_env env, napi_value v, char *buf, size_t size);
char *get_string_alloc(napi_env env, napi_value v);
bool get_int64(napi_env env, napi_value v, int64_t *out);
bool get_uint32(napi_env env, napi_value v, uint32_t *out);
bool get_bool(napi_env env, napi_value v, bool *out);
bool get_bytes(napi_env env, napi_value v, void **data, size_t *len);
bool is_nullish(napi_env env, napi_value v);
napi_value make_int64(napi_env env, int64_t v);
napi_value make_uint64_bigint(napi_env env, uint64_t v);
napi_value make_string(napi_env env, const char *s);
napi_value make_bool(napi_env env, bool b);
void set_prop(napi_env env, napi_value obj, const char *key, napi_value v);
napi_value get_prop(napi_env env, napi_value obj, const char *key);

// Module registration per file.
void object_register(napi_env env, napi_value exports, struct addon *ad);
void link_register(napi_env env, napi_value exports, struct addon *ad);
void map_register(napi_env env, napi_value exports, struct addon *ad);
void ringbuf_register(napi_env env, napi_value exports, struct addon *ad);
void probe_register(napi_env env, napi_value exports, struct addon *ad);
void log_register(napi_env env, napi_value exports, struct addon *ad);

// log.c: capture libbpf output of the calling thread (used around load).
void log_capture_begin(void);
char *log_capture_end(void); // caller frees

struct export_fn {
	const char *name;
	napi_callback fn;
};
void export_fns(napi_env env, napi_value exports, struct addon *ad, const struct export_fn *fns, size_t n);

#endif
