// SPDX-License-Identifier: Apache-2.0
// Ring buffer reader. A dedicated thread waits on epoll with a timeout (the
// drain interval), so producers can submit with BPF_RB_NO_WAKEUP and only
// force a wakeup above a fill threshold. Each drain copies records into one
// of a fixed pool of batch buffers ([u32 len][u32 0][data, 8-byte aligned]...)
// and hands the buffer index to JS through a threadsafe function: one JS call
// and zero allocations per batch. JS must copy what it keeps before its
// callback returns; the buffer is then reused.
//
// The pool bounds the queue. When every buffer is queued to JS the thread
// either blocks (the kernel ring absorbs the burst and BPF counts reserve
// failures) or drops and counts, as TS chooses.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <bpf/libbpf.h>
#include "common.h"

#define READER_MAGIC 0x4d585052u /* "MXPR" */
#define ALIGN8(x) (((x) + 7u) & ~7u)
#define REC_HDR 8u

struct reader {
	uint32_t magic;
	struct addon *ad;
	struct ring_buffer *rb;
	int epfd;
	int evfd;
	pthread_t thread;
	bool thread_started;
	napi_threadsafe_function tsfn;
	napi_ref on_close;
	uint32_t interval_ms;
	bool block;

	uint32_t nbuf;
	size_t buf_size;
	uint8_t **bufs;
	napi_ref *ab_refs;
	uint32_t *used;
	uint32_t *count;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t *free_stack;
	uint32_t nfree;

	// Current batch: touched by the reader thread only.
	int64_t cur;

	// Stats, written by the thread with relaxed atomics.
	uint64_t records, batches, bytes, queue_drops, oversize_drops;
	uint32_t pending;

	int stopping; // close requested: drain once more, then exit
	int aborting; // env teardown: never wait for JS again
	bool closed;  // close() was called (handle is dead for JS)
	bool finalized;   // tsfn finalized: thread joined, ring freed
	bool handle_gone; // the JS handle was collected first
};

static void stat_add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

static void release_buf(struct reader *r, uint32_t idx)
{
	pthread_mutex_lock(&r->mu);
	r->free_stack[r->nfree++] = idx;
	r->pending--;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static bool acquire_buf(struct reader *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->nfree == 0 && r->block && !__atomic_load_n(&r->aborting, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->nfree == 0) {
		pthread_mutex_unlock(&r->mu);
		return false;
	}
	uint32_t idx = r->free_stack[--r->nfree];
	r->pending++;
	pthread_mutex_unlock(&r->mu);
	r->cur = idx;
	r->used[idx] = 0;
	r->count[idx] = 0;
	return true;
}

static void flush(struct reader *r)
{
	if (r->cur < 0)
		return;
	uint32_t idx = (uint32_t)r->cur;
	r->cur = -1;
	if (r->count[idx] == 0) {
		release_buf(r, idx);
		return;
	}
	stat_add(&r->batches, 1);
	if (napi_call_threadsafe_function(r->tsfn, (void *)(uintptr_t)(idx + 1), napi_tsfn_nonblocking) != napi_ok) {
		// Closing: the records in this batch can no longer reach JS.
		stat_add(&r->queue_drops, r->count[idx]);
		release_buf(r, idx);
	}
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct reader *r = ctx;
	size_t need = REC_HDR + ALIGN8(len);
	if (need > r->buf_size) {
		stat_add(&r->oversize_drops, 1);
		return 0;
	}
	if (r->cur >= 0 && r->used[r->cur] + need > r->buf_size)
		flush(r);
	if (r->cur < 0 && !acquire_buf(r)) {
		stat_add(&r->queue_drops, 1);
		return 0;
	}
	uint32_t idx = (uint32_t)r->cur;
	uint8_t *p = r->bufs[idx] + r->used[idx];
	uint32_t hdr[2] = { (uint32_t)len, 0 };
	memcpy(p, hdr, sizeof(hdr));
	memcpy(p + REC_HDR, data, len);
	r->used[idx] += (uint32_t)need;
	r->count[idx]++;
	stat_add(&r->records, 1);
	stat_add(&r->bytes, len);
	return 0;
}

static void *run(void *arg)
{
	struct reader *r = arg;
	struct epoll_event evs[2];
	while (!__atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(r->epfd, evs, 2, (int)r->interval_ms);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == r->evfd) {
				uint64_t v;
				if (read(r->evfd, &v, sizeof(v)) < 0) { /* nothing to clear */ }
			}
		}
		ring_buffer__consume(r->rb);
		flush(r);
	}
	// Final drain so that close() delivers everything already produced.
	ring_buffer__consume(r->rb);
	flush(r);
	napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
	return NULL;
}

// Runs on the main thread for each batch; env is NULL during teardown.
static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct reader *r = context;
	uint32_t idx = (uint32_t)((uintptr_t)data - 1);
	if (env && js_cb) {
		napi_value args[3], undef, ret;
		napi_create_uint32(env, idx, &args[0]);
		napi_create_uint32(env, r->used[idx], &args[1]);
		napi_create_uint32(env, r->count[idx], &args[2]);
		napi_get_undefined(env, &undef);
		napi_call_function(env, undef, js_cb, 3, args, &ret);
	}
	release_buf(r, idx);
}

static void reader_free(napi_env env, struct reader *r)
{
	if (r->rb)
		ring_buffer__free(r->rb);
	r->rb = NULL;
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->evfd >= 0)
		close(r->evfd);
	r->epfd = r->evfd = -1;
	for (uint32_t i = 0; i < r->nbuf; i++)
		if (r->ab_refs && r->ab_refs[i] && env)
			napi_delete_reference(env, r->ab_refs[i]);
	free(r->ab_refs);
	r->ab_refs = NULL;
	free(r->bufs);
	free(r->used);
	free(r->count);
	free(r->free_stack);
	r->bufs = NULL;
	r->used = r->count = r->free_stack = NULL;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

// The tsfn is finalized after the thread released it (close) or at env
// teardown. Join the thread, free the ring, tell JS the reader is closed.
static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	struct reader *r = data;
	__atomic_store_n(&r->aborting, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	uint64_t one = 1;
	if (write(r->evfd, &one, sizeof(one)) < 0) { /* thread wakes on its timeout */ }
	if (r->thread_started)
		pthread_join(r->thread, NULL);
	r->thread_started = false;
	napi_value cb = NULL;
	if (env && r->on_close && napi_get_reference_value(env, r->on_close, &cb) == napi_ok && cb) {
		napi_value undef, ret;
		napi_get_undefined(env, &undef);
		napi_call_function(env, undef, cb, 0, NULL, &ret);
	}
	if (env && r->on_close)
		napi_delete_reference(env, r->on_close);
	r->on_close = NULL;
	if (r->ad)
		r->ad->readers--;
	reader_free(env, r);
	r->finalized = true;
	if (r->handle_gone)
		free(r);
}

static void handle_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	struct reader *r = data;
	if (r->finalized) {
		free(r);
		return;
	}
	// Collected without close(): stop the thread; tsfn_finalize frees.
	r->handle_gone = true;
	__atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(r->evfd, &one, sizeof(one)) < 0) { /* wakes on timeout */ }
}

static void ab_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	free(data);
}

// ringbufOpen(mapFd, onBatch(idx, bytes, count), onClose(), { intervalMs, batchBytes, batches, block })
//   -> { handle, buffers: ArrayBuffer[] }
static napi_value ringbuf_open(napi_env env, napi_callback_info info)
{
	ARGS(4);
	int64_t fd;
	uint32_t interval = 10, batch_bytes = 1 << 20, nbuf = 4;
	bool block = true;
	if (!get_int64(env, argv[0], &fd) || fd < 0)
		return throw_arg(env, "ring buffer map fd must be a non-negative integer");
	napi_value v;
	if ((v = get_prop(env, argv[3], "intervalMs")) && !is_nullish(env, v)) get_uint32(env, v, &interval);
	if ((v = get_prop(env, argv[3], "batchBytes")) && !is_nullish(env, v)) get_uint32(env, v, &batch_bytes);
	if ((v = get_prop(env, argv[3], "batches")) && !is_nullish(env, v)) get_uint32(env, v, &nbuf);
	if ((v = get_prop(env, argv[3], "block")) && !is_nullish(env, v)) get_bool(env, v, &block);
	if (nbuf < 2 || batch_bytes < 4096 || interval < 1)
		return throw_arg(env, "ring buffer reader needs batches >= 2, batchBytes >= 4096, intervalMs >= 1");

	struct reader *r = calloc(1, sizeof(*r));
	if (!r)
		return throw_errno(env, ad, "ringbufOpen", ENOMEM, NULL);
	r->magic = READER_MAGIC;
	r->ad = ad;
	r->epfd = r->evfd = -1;
	r->cur = -1;
	r->interval_ms = interval;
	r->block = block;
	r->nbuf = nbuf;
	r->buf_size = batch_bytes;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->bufs = calloc(nbuf, sizeof(*r->bufs));
	r->ab_refs = calloc(nbuf, sizeof(*r->ab_refs));
	r->used = calloc(nbuf, sizeof(uint32_t));
	r->count = calloc(nbuf, sizeof(uint32_t));
	r->free_stack = calloc(nbuf, sizeof(uint32_t));
	int err = 0;
	const char *op = "ringbufOpen";
	if (!r->bufs || !r->ab_refs || !r->used || !r->count || !r->free_stack) {
		err = ENOMEM;
		goto fail;
	}
	r->rb = ring_buffer__new((int)fd, on_record, r, NULL);
	if (!r->rb) {
		err = errno;
		op = "ring_buffer__new";
		goto fail;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->epfd < 0 || r->evfd < 0) {
		err = errno;
		op = "epoll_create1/eventfd";
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	ev.data.fd = ring_buffer__epoll_fd(r->rb);
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev)) {
		err = errno;
		op = "epoll_ctl";
		goto fail;
	}
	ev.data.fd = r->evfd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &ev)) {
		err = errno;
		op = "epoll_ctl";
		goto fail;
	}
	napi_value buffers;
	CHECK(env, napi_create_array_with_length(env, nbuf, &buffers));
	for (uint32_t i = 0; i < nbuf; i++) {
		void *mem = NULL;
		if (posix_memalign(&mem, 64, batch_bytes)) {
			err = ENOMEM;
			goto fail;
		}
		memset(mem, 0, batch_bytes); // fault the pages in now, not on the hot path
		napi_value ab;
		if (napi_create_external_arraybuffer(env, mem, batch_bytes, ab_finalize, NULL, &ab) != napi_ok) {
			free(mem);
			err = ENOMEM;
			goto fail;
		}
		r->bufs[i] = mem;
		napi_create_reference(env, ab, 1, &r->ab_refs[i]);
		napi_set_element(env, buffers, i, ab);
		r->free_stack[r->nfree++] = i;
	}
	napi_value name, handle;
	napi_create_string_utf8(env, "maxpro:ringbuf", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, r, tsfn_finalize, r, call_js, &r->tsfn) != napi_ok) {
		err = EINVAL;
		op = "napi_create_threadsafe_function";
		goto fail;
	}
	napi_create_reference(env, argv[2], 1, &r->on_close);
	ad->readers++;
	if (pthread_create(&r->thread, NULL, run, r)) {
		err = errno ? errno : EAGAIN;
		// Finalizes through tsfn_finalize, which frees the ring.
		napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
		return throw_errno(env, ad, "pthread_create", err, NULL);
	}
	r->thread_started = true;
	napi_value res;
	CHECK(env, napi_create_external(env, r, handle_finalize, NULL, &handle));
	CHECK(env, napi_create_object(env, &res));
	set_prop(env, res, "handle", handle);
	set_prop(env, res, "buffers", buffers);
	return res;
fail:
	reader_free(env, r);
	free(r);
	return throw_errno(env, ad, op, err, NULL);
}

static struct reader *reader_from(napi_env env, napi_value v)
{
	struct reader *r = NULL;
	if (napi_get_value_external(env, v, (void **)&r) != napi_ok || !r || r->magic != READER_MAGIC) {
		throw_arg(env, "expected a ring buffer reader handle");
		return NULL;
	}
	return r;
}

// ringbufClose(handle): idempotent; the thread drains once more, then onClose fires.
static napi_value ringbuf_close(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct reader *r = reader_from(env, argv[0]);
	if (!r || r->closed || r->finalized)
		return NULL;
	r->closed = true;
	__atomic_store_n(&r->stopping, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(r->evfd, &one, sizeof(one)) < 0) { /* wakes on timeout */ }
	return NULL;
}

// ringbufFlush(handle): drain now instead of at the next interval.
static napi_value ringbuf_flush(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct reader *r = reader_from(env, argv[0]);
	if (!r || r->closed || r->finalized)
		return NULL;
	uint64_t one = 1;
	if (write(r->evfd, &one, sizeof(one)) < 0) { /* wakes on timeout */ }
	return NULL;
}

// ringbufRef(handle, ref): whether the reader keeps the event loop alive.
static napi_value ringbuf_ref(napi_env env, napi_callback_info info)
{
	ARGS(2);
	struct reader *r = reader_from(env, argv[0]);
	bool on;
	if (!r || r->finalized || !get_bool(env, argv[1], &on))
		return NULL;
	if (on)
		napi_ref_threadsafe_function(env, r->tsfn);
	else
		napi_unref_threadsafe_function(env, r->tsfn);
	return NULL;
}

// ringbufStats(handle) -> { records, batches, bytes, queueDrops, oversizeDrops, pending }
static napi_value ringbuf_stats(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct reader *r = reader_from(env, argv[0]);
	if (!r)
		return NULL;
	napi_value s;
	CHECK(env, napi_create_object(env, &s));
	set_prop(env, s, "records", make_int64(env, (int64_t)__atomic_load_n(&r->records, __ATOMIC_RELAXED)));
	set_prop(env, s, "batches", make_int64(env, (int64_t)__atomic_load_n(&r->batches, __ATOMIC_RELAXED)));
	set_prop(env, s, "bytes", make_int64(env, (int64_t)__atomic_load_n(&r->bytes, __ATOMIC_RELAXED)));
	set_prop(env, s, "queueDrops", make_int64(env, (int64_t)__atomic_load_n(&r->queue_drops, __ATOMIC_RELAXED)));
	set_prop(env, s, "oversizeDrops", make_int64(env, (int64_t)__atomic_load_n(&r->oversize_drops, __ATOMIC_RELAXED)));
	return s;
}

void ringbuf_register(napi_env env, napi_value exports, struct addon *ad)
{
	static const struct export_fn fns[] = {
		{ "ringbufOpen", ringbuf_open },
		{ "ringbufClose", ringbuf_close },
		{ "ringbufFlush", ringbuf_flush },
		{ "ringbufRef", ringbuf_ref },
		{ "ringbufStats", ringbuf_stats },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
