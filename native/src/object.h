// SPDX-License-Identifier: Apache-2.0
#ifndef MAXPRO_NATIVE_OBJECT_H
#define MAXPRO_NATIVE_OBJECT_H
#include <bpf/libbpf.h>
#include "common.h"

#define OBJ_MAGIC 0x4d58504fu /* "MXPO" */

struct obj {
	uint32_t magic;
	struct bpf_object *o;
	void *elf; // copy of the ELF bytes, alive while the object is open
	struct addon *ad;
	bool loaded;
	bool closed;
};

// Returns the open object behind a handle, or NULL with a JS error pending.
struct obj *obj_from(napi_env env, napi_value v);
struct bpf_program *obj_find_prog(napi_env env, struct obj *o, napi_value v);
struct bpf_map *obj_find_map(napi_env env, struct obj *o, napi_value v);

// Prologues of functions taking (objectHandle, ...): `o` is the open object.
#define OBJ_ARGS(n)                                                \
	ARGS(n);                                                   \
	struct obj *o = obj_from(env, argv[0]);                    \
	if (!o)                                                    \
		return NULL;

// ... and (objectHandle, mapName, ...): `m` is the map.
#define OBJ_MAP_ARGS(n)                                            \
	OBJ_ARGS(n);                                               \
	struct bpf_map *m = obj_find_map(env, o, argv[1]);         \
	if (!m)                                                    \
		return NULL;

// ... and (objectHandle, programName, ...): `p` is the program.
#define OBJ_PROG_ARGS(n)                                           \
	OBJ_ARGS(n);                                               \
	struct bpf_program *p = obj_find_prog(env, o, argv[1]);    \
	if (!p)                                                    \
		return NULL;

#endif
