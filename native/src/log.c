// SPDX-License-Identifier: Apache-2.0
// libbpf's print callback is process-wide by libbpf's API, so this file holds
// the addon's only global: the JS log sink (a threadsafe function) and the
// minimum level TS asked for. Lines captured during a load (thread-local) are
// also returned with the load result, so a failure carries libbpf's reasons.
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "common.h"

#define LINE_MAX_BYTES 1024
#define CAPTURE_MAX_BYTES (256 * 1024)

static pthread_mutex_t sink_mu = PTHREAD_MUTEX_INITIALIZER;
static napi_threadsafe_function sink;
static int sink_min_level = LIBBPF_WARN;

struct capture {
	char *buf;
	size_t len;
	size_t cap;
};
static __thread struct capture *cap;

struct line {
	int level;
	char text[LINE_MAX_BYTES];
};

static void capture_append(const char *s)
{
	size_t n = strlen(s);
	if (!cap || cap->len + n + 1 > CAPTURE_MAX_BYTES)
		return;
	if (cap->len + n + 1 > cap->cap) {
		size_t nc = cap->cap ? cap->cap * 2 : 4096;
		while (nc < cap->len + n + 1)
			nc *= 2;
		char *nb = realloc(cap->buf, nc);
		if (!nb)
			return;
		cap->buf = nb;
		cap->cap = nc;
	}
	memcpy(cap->buf + cap->len, s, n + 1);
	cap->len += n;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char text[LINE_MAX_BYTES];
	vsnprintf(text, sizeof(text), fmt, args);
	if (level <= LIBBPF_INFO)
		capture_append(text);
	pthread_mutex_lock(&sink_mu);
	if (sink && (int)level <= sink_min_level) {
		struct line *l = malloc(sizeof(*l));
		if (l) {
			l->level = level;
			memcpy(l->text, text, sizeof(text));
			if (napi_call_threadsafe_function(sink, l, napi_tsfn_nonblocking) != napi_ok)
				free(l);
		}
	}
	pthread_mutex_unlock(&sink_mu);
	return 0;
}

void log_capture_begin(void)
{
	cap = calloc(1, sizeof(*cap));
}

char *log_capture_end(void)
{
	if (!cap)
		return NULL;
	char *s = cap->buf;
	free(cap);
	cap = NULL;
	return s;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)context;
	struct line *l = data;
	if (env && js_cb) {
		napi_value args[2], undef, ret;
		static const char *names[] = { "warn", "info", "debug" };
		args[0] = make_string(env, l->level >= 0 && l->level <= 2 ? names[l->level] : "debug");
		size_t n = strlen(l->text);
		while (n && l->text[n - 1] == '\n')
			l->text[--n] = 0;
		args[1] = make_string(env, l->text);
		napi_get_undefined(env, &undef);
		napi_call_function(env, undef, js_cb, 2, args, &ret);
	}
	free(l);
}

// data: the finalized function's slot. A replaced handler is finalized after its
// successor is installed, so only the function it was clears the sink.
static void sink_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	napi_threadsafe_function *self = data;
	pthread_mutex_lock(&sink_mu);
	if (self && sink == *self)
		sink = NULL;
	pthread_mutex_unlock(&sink_mu);
	free(self);
}

// setLogHandler(fn | null, minLevel: 'warn' | 'info' | 'debug')
static napi_value set_log_handler(napi_env env, napi_callback_info info)
{
	ARGS(2);
	char lvl[16] = "warn";
	get_string(env, argv[1], lvl, sizeof(lvl));
	pthread_mutex_lock(&sink_mu);
	napi_threadsafe_function old = sink;
	sink = NULL;
	sink_min_level = strcmp(lvl, "debug") == 0 ? LIBBPF_DEBUG : strcmp(lvl, "info") == 0 ? LIBBPF_INFO : LIBBPF_WARN;
	pthread_mutex_unlock(&sink_mu);
	if (old)
		napi_release_threadsafe_function(old, napi_tsfn_abort);
	if (is_nullish(env, argv[0]))
		return NULL;
	napi_value name;
	napi_threadsafe_function fn;
	napi_create_string_utf8(env, "maxpro:libbpf-log", NAPI_AUTO_LENGTH, &name);
	napi_threadsafe_function *slot = calloc(1, sizeof(*slot));
	if (!slot)
		return throw_errno(env, ad, "setLogHandler", ENOMEM, NULL);
	if (napi_create_threadsafe_function(env, argv[0], NULL, name, 1024, 1, slot, sink_finalize, NULL, call_js, &fn) != napi_ok) {
		free(slot);
		return throw_errno(env, ad, "setLogHandler", ENOMEM, "threadsafe function");
	}
	*slot = fn;
	// Log lines must never keep the process alive.
	napi_unref_threadsafe_function(env, fn);
	pthread_mutex_lock(&sink_mu);
	sink = fn;
	pthread_mutex_unlock(&sink_mu);
	return NULL;
}

void log_register(napi_env env, napi_value exports, struct addon *ad)
{
	libbpf_set_print(print_fn);
	static const struct export_fn fns[] = {
		{ "setLogHandler", set_log_handler },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
