// SPDX-License-Identifier: Apache-2.0
// Attach programs and own the resulting links. Every kind of attachment is
// one "link" handle with an idempotent destroy, so TS has one lifecycle.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "common.h"
#include "object.h"

#define LINK_MAGIC 0x4d58504cu /* "MXPL" */

enum link_kind { LK_LIBBPF, LK_TC, LK_SOCKFILTER };

struct mlink {
	uint32_t magic;
	enum link_kind kind;
	struct bpf_link *l;
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc;
	int sock_fd;
	struct addon *ad;
	bool destroyed;
};

static void link_free(struct mlink *k)
{
	if (k->destroyed)
		return;
	k->destroyed = true;
	switch (k->kind) {
	case LK_LIBBPF:
		bpf_link__destroy(k->l);
		k->l = NULL;
		break;
	case LK_TC:
		// The clsact qdisc is left in place: other programs may share it.
		k->tc.flags = k->tc.prog_fd = k->tc.prog_id = 0;
		bpf_tc_detach(&k->hook, &k->tc);
		break;
	case LK_SOCKFILTER: {
		int dummy = 0;
		setsockopt(k->sock_fd, SOL_SOCKET, SO_DETACH_BPF, &dummy, sizeof(dummy));
		break;
	}
	}
	if (k->ad)
		k->ad->links--;
}

static void link_finalize(napi_env env, void *data, void *hint)
{
	(void)env; (void)hint;
	link_free(data);
	free(data);
}

static napi_value wrap_link(napi_env env, struct addon *ad, struct mlink *k)
{
	k->magic = LINK_MAGIC;
	k->ad = ad;
	ad->links++;
	napi_value h;
	if (napi_create_external(env, k, link_finalize, NULL, &h) != napi_ok) {
		link_free(k);
		free(k);
		return throw_errno(env, ad, "attach", ENOMEM, NULL);
	}
	return h;
}

static napi_value wrap_libbpf_link(napi_env env, struct addon *ad, struct bpf_link *l, const char *op, const char *prog)
{
	if (!l)
		return throw_errno(env, ad, op, errno ? errno : EINVAL, prog);
	struct mlink *k = calloc(1, sizeof(*k));
	if (!k) {
		bpf_link__destroy(l);
		return throw_errno(env, ad, op, ENOMEM, prog);
	}
	k->kind = LK_LIBBPF;
	k->l = l;
	return wrap_link(env, ad, k);
}

#define PROG_ARGS(n)                                               \
	OBJ_PROG_ARGS(n);                                          \
	if (bpf_program__fd(p) < 0)                                \
		return throw_errno(env, ad, "attach", EBADF, "program is not loaded");

// attachTracepoint(obj, prog, category, name)
static napi_value attach_tracepoint(napi_env env, napi_callback_info info)
{
	PROG_ARGS(4);
	char cat[128], name[128];
	if (!get_string(env, argv[2], cat, sizeof(cat)) || !get_string(env, argv[3], name, sizeof(name)))
		return throw_arg(env, "tracepoint category and name must be strings");
	errno = 0;
	struct bpf_link *l = bpf_program__attach_tracepoint(p, cat, name);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_tracepoint", bpf_program__name(p));
}

// attachRawTracepoint(obj, prog, name)
static napi_value attach_raw_tracepoint(napi_env env, napi_callback_info info)
{
	PROG_ARGS(3);
	char name[128];
	if (!get_string(env, argv[2], name, sizeof(name)))
		return throw_arg(env, "raw tracepoint name must be a string");
	errno = 0;
	struct bpf_link *l = bpf_program__attach_raw_tracepoint(p, name);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_raw_tracepoint", bpf_program__name(p));
}

// attachTrace(obj, prog): tp_btf, fentry, fexit, fmod_ret (target from BTF at load).
static napi_value attach_trace(napi_env env, napi_callback_info info)
{
	PROG_ARGS(2);
	errno = 0;
	struct bpf_link *l = bpf_program__attach_trace(p);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_trace", bpf_program__name(p));
}

// attachAuto(obj, prog): attach as the SEC() name says.
static napi_value attach_auto(napi_env env, napi_callback_info info)
{
	PROG_ARGS(2);
	errno = 0;
	struct bpf_link *l = bpf_program__attach(p);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach", bpf_program__name(p));
}

// attachKprobe(obj, prog, func, retprobe)
static napi_value attach_kprobe(napi_env env, napi_callback_info info)
{
	PROG_ARGS(4);
	char fn[256];
	bool ret = false;
	if (!get_string(env, argv[2], fn, sizeof(fn)) || !get_bool(env, argv[3], &ret))
		return throw_arg(env, "kprobe needs a function name and a retprobe flag");
	errno = 0;
	struct bpf_link *l = bpf_program__attach_kprobe(p, ret, fn);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_kprobe", bpf_program__name(p));
}

// attachUprobe(obj, prog, binaryPath, funcName | null, offset, pid, retprobe)
static napi_value attach_uprobe(napi_env env, napi_callback_info info)
{
	PROG_ARGS(7);
	char *path = get_string_alloc(env, argv[2]);
	char *func = is_nullish(env, argv[3]) ? NULL : get_string_alloc(env, argv[3]);
	int64_t off = 0, pid = -1;
	bool ret = false;
	if (!path || !get_int64(env, argv[4], &off) || !get_int64(env, argv[5], &pid) || !get_bool(env, argv[6], &ret)) {
		free(path);
		free(func);
		return throw_arg(env, "uprobe needs path, function or offset, pid and retprobe flag");
	}
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .func_name = func);
	errno = 0;
	struct bpf_link *l = bpf_program__attach_uprobe_opts(p, (pid_t)pid, path, (size_t)off, &opts);
	free(path);
	free(func);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_uprobe_opts", bpf_program__name(p));
}

// attachPerfEvent(obj, prog, { type, config, sampleFreq, samplePeriod, pid, cpu })
// perf_event_open is issued here; libbpf's link owns and closes the perf fd.
static napi_value attach_perf_event(napi_env env, napi_callback_info info)
{
	PROG_ARGS(3);
	int64_t type = 0, config = 0, freq = 0, period = 0, pid = -1, cpu = -1;
	napi_value a = argv[2];
	napi_value v;
	if ((v = get_prop(env, a, "type")) && !is_nullish(env, v)) get_int64(env, v, &type);
	if ((v = get_prop(env, a, "config")) && !is_nullish(env, v)) get_int64(env, v, &config);
	if ((v = get_prop(env, a, "sampleFreq")) && !is_nullish(env, v)) get_int64(env, v, &freq);
	if ((v = get_prop(env, a, "samplePeriod")) && !is_nullish(env, v)) get_int64(env, v, &period);
	if ((v = get_prop(env, a, "pid")) && !is_nullish(env, v)) get_int64(env, v, &pid);
	if ((v = get_prop(env, a, "cpu")) && !is_nullish(env, v)) get_int64(env, v, &cpu);
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (uint32_t)type;
	attr.config = (uint64_t)config;
	if (freq > 0) {
		attr.freq = 1;
		attr.sample_freq = (uint64_t)freq;
	} else {
		attr.sample_period = (uint64_t)(period > 0 ? period : 1);
	}
	int pfd = (int)syscall(__NR_perf_event_open, &attr, (pid_t)pid, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return throw_errno(env, ad, "perf_event_open", errno, bpf_program__name(p));
	errno = 0;
	struct bpf_link *l = bpf_program__attach_perf_event(p, pfd);
	if (!l) {
		int err = errno;
		close(pfd);
		return throw_errno(env, ad, "bpf_program__attach_perf_event", err, bpf_program__name(p));
	}
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_perf_event", bpf_program__name(p));
}

// attachXdp(obj, prog, ifindex)
static napi_value attach_xdp(napi_env env, napi_callback_info info)
{
	PROG_ARGS(3);
	uint32_t ifindex;
	if (!get_uint32(env, argv[2], &ifindex))
		return throw_arg(env, "ifindex must be a uint32");
	errno = 0;
	struct bpf_link *l = bpf_program__attach_xdp(p, (int)ifindex);
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_xdp", bpf_program__name(p));
}

// attachCgroup(obj, prog, cgroupPath)
static napi_value attach_cgroup(napi_env env, napi_callback_info info)
{
	PROG_ARGS(3);
	char *path = get_string_alloc(env, argv[2]);
	if (!path)
		return throw_arg(env, "cgroup path must be a string");
	int cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (cfd < 0)
		return throw_errno(env, ad, "open cgroup", errno, bpf_program__name(p));
	errno = 0;
	struct bpf_link *l = bpf_program__attach_cgroup(p, cfd);
	int err = errno;
	close(cfd); // the link holds its own reference to the cgroup
	errno = err;
	return wrap_libbpf_link(env, ad, l, "bpf_program__attach_cgroup", bpf_program__name(p));
}

// attachTc(obj, prog, ifindex, ingress, handle, priority): clsact filter.
static napi_value attach_tc(napi_env env, napi_callback_info info)
{
	PROG_ARGS(6);
	uint32_t ifindex, handle, prio;
	bool ingress;
	if (!get_uint32(env, argv[2], &ifindex) || !get_bool(env, argv[3], &ingress) ||
	    !get_uint32(env, argv[4], &handle) || !get_uint32(env, argv[5], &prio))
		return throw_arg(env, "tc needs ifindex, direction, handle and priority");
	struct mlink *k = calloc(1, sizeof(*k));
	if (!k)
		return throw_errno(env, ad, "bpf_tc_attach", ENOMEM, NULL);
	k->kind = LK_TC;
	k->hook.sz = sizeof(k->hook);
	k->hook.ifindex = (int)ifindex;
	k->hook.attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
	int err = bpf_tc_hook_create(&k->hook);
	if (err && err != -EEXIST) {
		free(k);
		return throw_errno(env, ad, "bpf_tc_hook_create", err, bpf_program__name(p));
	}
	k->tc.sz = sizeof(k->tc);
	k->tc.handle = handle;
	k->tc.priority = prio;
	k->tc.prog_fd = bpf_program__fd(p);
	err = bpf_tc_attach(&k->hook, &k->tc);
	if (err) {
		free(k);
		return throw_errno(env, ad, "bpf_tc_attach", err, bpf_program__name(p));
	}
	return wrap_link(env, ad, k);
}

// attachSocketFilter(obj, prog, sockFd)
static napi_value attach_socket_filter(napi_env env, napi_callback_info info)
{
	PROG_ARGS(3);
	int64_t sfd;
	if (!get_int64(env, argv[2], &sfd))
		return throw_arg(env, "socket fd must be an integer");
	int pfd = bpf_program__fd(p);
	if (setsockopt((int)sfd, SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof(pfd)))
		return throw_errno(env, ad, "setsockopt SO_ATTACH_BPF", errno, bpf_program__name(p));
	struct mlink *k = calloc(1, sizeof(*k));
	if (!k)
		return throw_errno(env, ad, "attachSocketFilter", ENOMEM, NULL);
	k->kind = LK_SOCKFILTER;
	k->sock_fd = (int)sfd;
	return wrap_link(env, ad, k);
}

static struct mlink *link_from(napi_env env, napi_value v)
{
	struct mlink *k = NULL;
	if (napi_get_value_external(env, v, (void **)&k) != napi_ok || !k || k->magic != LINK_MAGIC) {
		throw_arg(env, "expected a link handle");
		return NULL;
	}
	return k;
}

// linkDestroy(link): idempotent.
static napi_value link_destroy(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct mlink *k = link_from(env, argv[0]);
	if (k)
		link_free(k);
	return NULL;
}

// linkPin(link, path)
static napi_value link_pin(napi_env env, napi_callback_info info)
{
	ARGS(2);
	struct mlink *k = link_from(env, argv[0]);
	if (!k)
		return NULL;
	if (k->destroyed || k->kind != LK_LIBBPF)
		return throw_errno(env, ad, "bpf_link__pin", EINVAL, "only live bpf links can be pinned");
	char *path = get_string_alloc(env, argv[1]);
	if (!path)
		return throw_arg(env, "pin path must be a string");
	int err = bpf_link__pin(k->l, path);
	free(path);
	if (err)
		return throw_errno(env, ad, "bpf_link__pin", err, NULL);
	return NULL;
}

// linkUnpin(link)
static napi_value link_unpin(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct mlink *k = link_from(env, argv[0]);
	if (!k)
		return NULL;
	if (k->destroyed || k->kind != LK_LIBBPF)
		return throw_errno(env, ad, "bpf_link__unpin", EINVAL, "only live bpf links can be unpinned");
	int err = bpf_link__unpin(k->l);
	if (err)
		return throw_errno(env, ad, "bpf_link__unpin", err, NULL);
	return NULL;
}

// linkOpenPinned(path): a link pinned by an earlier process. Destroying the
// handle closes it; the pin stays until linkUnpin.
static napi_value link_open_pinned(napi_env env, napi_callback_info info)
{
	ARGS(1);
	char *path = get_string_alloc(env, argv[0]);
	if (!path)
		return throw_arg(env, "pin path must be a string");
	errno = 0;
	struct bpf_link *l = bpf_link__open(path);
	int err = errno;
	free(path);
	errno = err;
	return wrap_libbpf_link(env, ad, l, "bpf_link__open", NULL);
}

// linkDisconnect(link): after an orderly shutdown with pinned links, keep the
// attachment alive when the handle is destroyed.
static napi_value link_disconnect(napi_env env, napi_callback_info info)
{
	ARGS(1);
	struct mlink *k = link_from(env, argv[0]);
	if (!k)
		return NULL;
	if (!k->destroyed && k->kind == LK_LIBBPF)
		bpf_link__disconnect(k->l);
	return NULL;
}

void link_register(napi_env env, napi_value exports, struct addon *ad)
{
	static const struct export_fn fns[] = {
		{ "attachTracepoint", attach_tracepoint },
		{ "attachRawTracepoint", attach_raw_tracepoint },
		{ "attachTrace", attach_trace },
		{ "attachAuto", attach_auto },
		{ "attachKprobe", attach_kprobe },
		{ "attachUprobe", attach_uprobe },
		{ "attachPerfEvent", attach_perf_event },
		{ "attachXdp", attach_xdp },
		{ "attachCgroup", attach_cgroup },
		{ "attachTc", attach_tc },
		{ "attachSocketFilter", attach_socket_filter },
		{ "linkDestroy", link_destroy },
		{ "linkPin", link_pin },
		{ "linkUnpin", link_unpin },
		{ "linkDisconnect", link_disconnect },
		{ "linkOpenPinned", link_open_pinned },
	};
	export_fns(env, exports, ad, fns, sizeof(fns) / sizeof(fns[0]));
}
