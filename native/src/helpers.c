// SPDX-License-Identifier: Apache-2.0
// Small N-API conversion helpers. They report failure; callers throw.
#include <stdlib.h>
#include <string.h>
#include "common.h"

bool get_string(napi_env env, napi_value v, char *buf, size_t size)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok)
		return false;
	return len < size - 1 || size == 0 ? true : false;
}

char *get_string_alloc(napi_env env, napi_value v)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return NULL;
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
		free(s);
		return NULL;
	}
	return s;
}

bool get_int64(napi_env env, napi_value v, int64_t *out)
{
	return napi_get_value_int64(env, v, out) == napi_ok;
}

bool get_uint32(napi_env env, napi_value v, uint32_t *out)
{
	return napi_get_value_uint32(env, v, out) == napi_ok;
}

bool get_bool(napi_env env, napi_value v, bool *out)
{
	return napi_get_value_bool(env, v, out) == napi_ok;
}

// Accepts any TypedArray/Buffer/DataView/ArrayBuffer and returns its bytes.
bool get_bytes(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is = false;
	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type t;
		size_t n;
		napi_value ab;
		size_t off;
		if (napi_get_typedarray_info(env, v, &t, &n, data, &ab, &off) != napi_ok)
			return false;
		size_t el = 1;
		switch (t) {
		case napi_int16_array: case napi_uint16_array: el = 2; break;
		case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
		case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
		default: el = 1;
		}
		*len = n * el;
		return true;
	}
	if (napi_is_dataview(env, v, &is) == napi_ok && is) {
		napi_value ab;
		size_t off;
		return napi_get_dataview_info(env, v, len, data, &ab, &off) == napi_ok;
	}
	if (napi_is_arraybuffer(env, v, &is) == napi_ok && is)
		return napi_get_arraybuffer_info(env, v, data, len) == napi_ok;
	return false;
}

bool is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok)
		return true;
	return t == napi_undefined || t == napi_null;
}

napi_value make_int64(napi_env env, int64_t v)
{
	napi_value r = NULL;
	napi_create_int64(env, v, &r);
	return r;
}

napi_value make_uint64_bigint(napi_env env, uint64_t v)
{
	napi_value r = NULL;
	napi_create_bigint_uint64(env, v, &r);
	return r;
}

napi_value make_string(napi_env env, const char *s)
{
	napi_value r = NULL;
	if (!s) {
		napi_get_null(env, &r);
		return r;
	}
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
	return r;
}

napi_value make_bool(napi_env env, bool b)
{
	napi_value r = NULL;
	napi_get_boolean(env, b, &r);
	return r;
}

void set_prop(napi_env env, napi_value obj, const char *key, napi_value v)
{
	napi_set_named_property(env, obj, key, v);
}

napi_value get_prop(napi_env env, napi_value obj, const char *key)
{
	napi_value v = NULL;
	if (napi_get_named_property(env, obj, key, &v) != napi_ok)
		return NULL;
	return v;
}

void export_fns(napi_env env, napi_value exports, struct addon *ad, const struct export_fn *fns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value f;
		if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, ad, &f) == napi_ok)
			napi_set_named_property(env, exports, fns[i].name, f);
	}
}
