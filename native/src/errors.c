// SPDX-License-Identifier: Apache-2.0
// Turns a negative errno from libbpf or a syscall into a JS error built by the
// factory that TypeScript injected (setErrorFactory). C never classifies errors.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "common.h"

napi_value throw_errno(napi_env env, struct addon *ad, const char *op, int err, const char *detail)
{
	if (err < 0)
		err = -err;
	napi_value factory = NULL;
	if (ad && ad->error_factory && napi_get_reference_value(env, ad->error_factory, &factory) == napi_ok && factory) {
		napi_value args[3], undef, result;
		args[0] = make_string(env, op);
		args[1] = make_int64(env, err);
		args[2] = detail ? make_string(env, detail) : make_string(env, NULL);
		napi_get_undefined(env, &undef);
		if (napi_call_function(env, undef, factory, 3, args, &result) == napi_ok) {
			napi_throw(env, result);
			return NULL;
		}
		return NULL; // the factory threw; that exception is pending
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "%s: %s", op, strerror(err));
	napi_throw_error(env, "MAXPRO_ERR_EBPF_SYSCALL", msg);
	return NULL;
}

napi_value throw_arg(napi_env env, const char *msg)
{
	napi_throw_type_error(env, "MAXPRO_ERR_INVALID_ARGUMENT", msg);
	return NULL;
}
