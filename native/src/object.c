// SPDX-License-Identifier: Apache-2.0
// bpf_object lifecycle: open (file or bytes), pre-load settings (rodata,
// map sizes, autoload, pin paths), load, close. Introspection is reported
// as plain data; TypeScript decides what to set.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "common.h"
#include "object.h"

static void obj_free(struct obj *o)
{
	if (!o->closed) {
		o->closed = true;
		if (o->o)
			bpf_object__close(o->o);
		o->o = NULL;
		free(o->elf);
		o->elf = NULL;
		if (o->ad)
			o->ad->objects--;
	}
}

static void obj_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	struct obj *o = data;
	obj_free(o);
	free(o);
}

struct obj *obj_from(napi_env env, napi_value v)
{
	struct obj *o = NULL;
	if (napi_get_value_external(env, v, (void **)&o) != napi_ok || !o || o->magic != OBJ_MAGIC) {
		throw_arg(env, "expected an object handle");
		return NULL;
	}
	if (o->closed) {
		napi_throw_error(env, "MAXPRO_ERR_CLOSED", "bpf object: used after close");
		return NULL;
	}
	return o;
}

static napi_value describe(napi_env env, struct obj *o)
{
	napi_value res, progs, maps, datasecs;
	CHECK(env, napi_create_object(env, &res));
	CHECK(env, napi_create_array(env, &progs));
	CHECK(env, napi_create_array(env, &maps));
	CHECK(env, napi_create_object(env, &datasecs));
	uint32_t i = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, o->o) {
		napi_value e;
		CHECK(env, napi_create_object(env, &e));
		set_prop(env, e, "name", make_string(env, bpf_program__name(p)));
		set_prop(env, e, "section", make_string(env, bpf_program__section_name(p)));
		set_prop(env, e, "type", make_string(env, libbpf_bpf_prog_type_str(bpf_program__type(p))));
		set_prop(env, e, "attachType", make_string(env, libbpf_bpf_attach_type_str(bpf_program__expected_attach_type(p))));
		set_prop(env, e, "autoload", make_bool(env, bpf_program__autoload(p)));
		CHECK(env, napi_set_element(env, progs, i++, e));
	}
	i = 0;
	struct bpf_map *m;
	bpf_object__for_each_map(m, o->o) {
		napi_value e;
		CHECK(env, napi_create_object(env, &e));
		set_prop(env, e, "name", make_string(env, bpf_map__name(m)));
		set_prop(env, e, "type", make_string(env, libbpf_bpf_map_type_str(bpf_map__type(m))));
		set_prop(env, e, "keySize", make_int64(env, bpf_map__key_size(m)));
		set_prop(env, e, "valueSize", make_int64(env, bpf_map__value_size(m)));
		set_prop(env, e, "maxEntries", make_int64(env, bpf_map__max_entries(m)));
		set_prop(env, e, "flags", make_int64(env, bpf_map__map_flags(m)));
		set_prop(env, e, "internal", make_bool(env, bpf_map__is_internal(m)));
		CHECK(env, napi_set_element(env, maps, i++, e));
	}
	// Variables of the global data sections, so TS can set constants by name.
	struct btf *btf = bpf_object__btf(o->o);
	if (btf) {
		uint32_t n = btf__type_cnt(btf);
		for (uint32_t id = 1; id < n; id++) {
			const struct btf_type *t = btf__type_by_id(btf, id);
			if (!btf_is_datasec(t))
				continue;
			const char *sec = btf__name_by_offset(btf, t->name_off);
			napi_value vars;
			CHECK(env, napi_create_array(env, &vars));
			const struct btf_var_secinfo *vs = btf_var_secinfos(t);
			for (uint16_t k = 0; k < btf_vlen(t); k++, vs++) {
				const struct btf_type *var = btf__type_by_id(btf, vs->type);
				napi_value e;
				CHECK(env, napi_create_object(env, &e));
				set_prop(env, e, "name", make_string(env, btf__name_by_offset(btf, var->name_off)));
				set_prop(env, e, "offset", make_int64(env, vs->offset));
				set_prop(env, e, "size", make_int64(env, vs->size));
				CHECK(env, napi_set_element(env, vars, k, e));
			}
			set_prop(env, datasecs, sec, vars);
		}
	}
	set_prop(env, res, "programs", progs);
	set_prop(env, res, "maps", maps);
	set_prop(env, res, "datasecs", datasecs);
	return res;
}

// objectOpen(bytes: Uint8Array | null, path: string | null, name: string, btfCustomPath?: string | null)
// btfCustomPath: the kernel BTF that CO-RE relocations resolve against at load,
// instead of the running kernel's (another kernel's, e.g. another architecture's).
static napi_value object_open(napi_env env, napi_callback_info info)
{
	ARGS(4);
	char name[64] = "";
	if (!get_string(env, argv[2], name, sizeof(name)))
		return throw_arg(env, "object name must be a string of at most 63 bytes");
	char btf_path[4096] = "";
	if (argc > 3 && !is_nullish(env, argv[3]) && (!get_string(env, argv[3], btf_path, sizeof(btf_path)) || !btf_path[0]))
		return throw_arg(env, "BTF path must be a non-empty string of at most 4095 bytes");
	struct obj *o = calloc(1, sizeof(*o));
	if (!o)
		return throw_errno(env, ad, "objectOpen", ENOMEM, NULL);
	o->magic = OBJ_MAGIC;
	// libbpf copies btf_custom_path at open.
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .btf_custom_path = btf_path[0] ? btf_path : NULL);
	if (!is_nullish(env, argv[0])) {
		void *data;
		size_t len;
		if (!get_bytes(env, argv[0], &data, &len) || len == 0) {
			free(o);
			return throw_arg(env, "object bytes must be a non-empty Uint8Array");
		}
		o->elf = malloc(len);
		if (!o->elf) {
			free(o);
			return throw_errno(env, ad, "objectOpen", ENOMEM, NULL);
		}
		memcpy(o->elf, data, len);
		o->o = bpf_object__open_mem(o->elf, len, &opts);
	} else {
		char *path = get_string_alloc(env, argv[1]);
		if (!path) {
			free(o);
			return throw_arg(env, "object path must be a string");
		}
		o->o = bpf_object__open_file(path, &opts);
		free(path);
	}
	if (!o->o) {
		int err = errno;
		free(o->elf);
		free(o);
		return throw_errno(env, ad, "bpf_object__open", err, name);
	}
	o->ad = ad;
	ad->objects++;
	napi_value handle, res;
	if (napi_create_external(env, o, obj_finalize, NULL, &handle) != napi_ok) {
		obj_free(o);
		free(o);
		return throw_errno(env, ad, "objectOpen", ENOMEM, NULL);
	}
	res = describe(env, o);
	if (!res)
		return NULL;
	set_prop(env, res, "handle", handle);
	return res;
}

struct bpf_map *obj_find_map(napi_env env, struct obj *o, napi_value v)
{
	char name[128];
	if (!get_string(env, v, name, sizeof(name))) {
		throw_arg(env, "map name must be a string");
		return NULL;
	}
	struct bpf_map *m = bpf_object__find_map_by_name(o->o, name);
	if (!m)
		throw_errno(env, o->ad, "bpf_object__find_map_by_name", ENOENT, name);
	return m;
}

struct bpf_program *obj_find_prog(napi_env env, struct obj *o, napi_value v)
{
	char name[128];
	if (!get_string(env, v, name, sizeof(name))) {
		throw_arg(env, "program name must be a string");
		return NULL;
	}
	struct bpf_program *p = bpf_object__find_program_by_name(o->o, name);
	if (!p)
		throw_errno(env, o->ad, "bpf_object__find_program_by_name", ENOENT, name);
	return p;
}

// objectInitialValue(handle, mapName) -> Uint8Array copy of a data section.
static napi_value object_initial_value(napi_env env, napi_callback_info info)
{
	OBJ_MAP_ARGS(2);
	size_t size = 0;
	const void *data = bpf_map__initial_value(m, &size);
	if (!data)
		return throw_errno(env, ad, "bpf_map__initial_value", EINVAL, bpf_map__name(m));
	napi_value buf;
	void *out;
	CHECK(env, napi_create_buffer_copy(env, size, data, &out, &buf));
	return buf;
}

// objectSetInitialValue(handle, mapName, bytes)
static napi_value object_set_initial_value(napi_env env, napi_callback_info info)
{
	OBJ_MAP_ARGS(3);
	void *data;
	size_t len;
	if (!get_bytes(env, argv[2], &data, &len))
		return throw_arg(env, "initial value must be a Uint8Array");
	int err = bpf_map__set_initial_value(m, data, len);
	if (err)
		return throw_errno(env, ad, "bpf_map__set_initial_value", err, bpf_map__name(m));
	return NULL;
}

// objectSetMaxEntries(handle, mapName, n)
static napi_value object_set_max_entries(napi_env env, napi_callback_info info)
{
	OBJ_MAP_ARGS(3);
	uint32_t n;
	if (!get_uint32(env, argv[2], &n))
		return throw_arg(env, "max entries must be a uint32");
	int err = bpf_map__set_max_entries(m, n);
	if (err)
		return throw_errno(env, ad, "bpf_map__set_max_entries", err, bpf_map__name(m));
	return NULL;
}

// objectSetPinPath(handle, mapName, path | null): libbpf reuses a compatible
// pinned map at that path on load, or pins the new one there.
static napi_value object_set_pin_path(napi_env env, napi_callback_info info)
{
	OBJ_MAP_ARGS(3);
	char *path = is_nullish(env, argv[2]) ? NULL : get_string_alloc(env, argv[2]);
	int err = bpf_map__set_pin_path(m, path);
	free(path);
	if (err)
		return throw_errno(env, ad, "bpf_map__set_pin_path", err, bpf_map__name(m));
	return NULL;
}

// objectSetAutoload(handle, progName, bool)
static napi_value object_set_autoload(napi_env env, napi_callback_info info)
{
	OBJ_PROG_ARGS(3);
	bool on;
	if (!get_bool(env, argv[2], &on))
		return throw_arg(env, "autoload must be a boolean");
	int err = bpf_program__set_autoload(p, on);
	if (err)
		return throw_errno(env, ad, "bpf_program__set_autoload", err, bpf_program__name(p));
	return NULL;
}

// objectLoad(handle, logSize, logLevel) -> { ok, errno?, log?, libbpfLog?, programs?, maps? }
// A load failure is returned as a value: TS builds the VerifierError from it.
static napi_value object_load(napi_env env, napi_callback_info info)
{
	OBJ_ARGS(3);
	uint32_t log_size = 0, log_level = 0;
	if (!get_uint32(env, argv[1], &log_size) || !get_uint32(env, argv[2], &log_level))
		return throw_arg(env, "log size and level must be uint32");
	if (o->loaded)
		return throw_errno(env, ad, "bpf_object__load", EALREADY, "object already loaded");
	char *log = NULL;
	if (log_size) {
		log = calloc(1, log_size);
		if (!log)
			return throw_errno(env, ad, "bpf_object__load", ENOMEM, "verifier log buffer");
		struct bpf_program *p;
		// One buffer for all programs: libbpf stops at the first failure,
		// so it holds the failing program's log. With level 0 libbpf asks
		// the kernel for a log only when a load fails, then retries with 1.
		bpf_object__for_each_program(p, o->o) {
			bpf_program__set_log_buf(p, log, log_size);
			bpf_program__set_log_level(p, log_level);
		}
	}
	log_capture_begin();
	int err = bpf_object__load(o->o);
	char *captured = log_capture_end();
	napi_value res;
	CHECK(env, napi_create_object(env, &res));
	set_prop(env, res, "ok", make_bool(env, err == 0));
	set_prop(env, res, "libbpfLog", make_string(env, captured ? captured : ""));
	free(captured);
	if (err) {
		set_prop(env, res, "errno", make_int64(env, err < 0 ? -err : err));
		set_prop(env, res, "log", make_string(env, log ? log : ""));
		free(log);
		return res;
	}
	o->loaded = true;
	if (log) {
		struct bpf_program *p;
		bpf_object__for_each_program(p, o->o)
			bpf_program__set_log_buf(p, NULL, 0);
		free(log);
	}
	napi_value progs, maps;
	CHECK(env, napi_create_object(env, &progs));
	CHECK(env, napi_create_object(env, &maps));
	struct bpf_program *p;
	bpf_object__for_each_program(p, o->o)
		set_prop(env, progs, bpf_program__name(p), make_int64(env, bpf_program__fd(p)));
	struct bpf_map *m;
	bpf_object__for_each_map(m, o->o)
		set_prop(env, maps, bpf_map__name(m), make_int64(env, bpf_map__fd(m)));
	set_prop(env, res, "programs", progs);
	set_prop(env, res, "maps", maps);
	return res;
}

// objectClose(handle): idempotent; frees every fd of the object.
static napi_value object_close(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct obj *o = NULL;
	if (napi_get_value_external(env, argv[0], (void **)&o) != napi_ok || !o || o->magic != OBJ_MAGIC)
		return throw_arg(env, "expected an object handle");
	obj_free(o);
	return NULL;
}

void object_register(napi_env env, napi_value exports, struct addon *ad)
{
	static const struct export_fn fns[] = {
		{ "objectOpen", object_open },
		{ "objectInitialValue", object_initial_value },
		{ "objectSetInitialValue", object_set_initial_value },
		{ "objectSetMaxEntries", object_set_max_entries },
		{ "objectSetPinPath", object_set_pin_path },
		{ "objectSetAutoload", object_set_autoload },
		{ "objectLoad", object_load },
		{ "objectClose", object_close },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
