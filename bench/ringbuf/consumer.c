// SPDX-License-Identifier: Apache-2.0
// Baseline consumer for the ring-buffer benchmark: plain libbpf, the same
// object, ring size and timed drain as MaxPro's path, decoding one field.
// Usage: consumer <obj> <tgid> <tgid-offset> <syscall-offset> <ring-bytes> <interval-ms> <wakeup-offset>
// The forced-wakeup threshold is set to half the ring, as on MaxPro's path.
// Prints "ready" once attached; on SIGINT prints "<records> <cpu-ns> <lost>".
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

static volatile sig_atomic_t stop;
static unsigned long long records, seq_sum;

static void on_sig(int s) { (void)s; stop = 1; }

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len >= 40)
		seq_sum += *(unsigned long long *)((char *)data + 32);
	records++;
	return 0;
}

static long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: consumer <obj> <tgid> <tgid-off> <syscall-off> <ring-bytes> <interval-ms> <wakeup-off>\n");
		return 2;
	}
	unsigned int tgid = atoi(argv[2]);
	size_t tgid_off = atoi(argv[3]), sys_off = atoi(argv[4]);
	unsigned int ring = atoi(argv[5]);
	int interval = atoi(argv[6]);
	size_t wake_off = atoi(argv[7]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open: %s\n", strerror(errno));
		return 1;
	}
	struct bpf_map *m, *rodata = NULL;
	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);
		size_t l = strlen(n);
		if (l > 7 && strcmp(n + l - 7, ".rodata") == 0)
			rodata = m;
	}
	size_t sz = 0;
	const void *init = bpf_map__initial_value(rodata, &sz);
	char *copy = malloc(sz);
	memcpy(copy, init, sz);
	long long nr = 110;
	memcpy(copy + tgid_off, &tgid, 4);
	memcpy(copy + sys_off, &nr, 8);
	unsigned long long wake = ring / 2;
	memcpy(copy + wake_off, &wake, 8);
	bpf_map__set_initial_value(rodata, copy, sz);
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), ring);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	struct bpf_link *link = bpf_program__attach(bpf_object__find_program_by_name(obj, "ringbuf_bench__sys_enter"));
	if (!link) {
		fprintf(stderr, "attach failed\n");
		return 1;
	}
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_record, NULL, NULL);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	long long c0 = cpu_ns();
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		ring_buffer__poll(rb, interval);
		ring_buffer__consume(rb);
	}
	ring_buffer__consume(rb);
	long long c1 = cpu_ns();
	// Lost events: the probe's per-CPU drop counter, reason 0 (ring full).
	int ncpu = libbpf_num_possible_cpus();
	unsigned long long vals[512] = { 0 }, lost = 0;
	unsigned int k = 0;
	bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "drops")), &k, vals);
	for (int i = 0; i < ncpu && i < 512; i++)
		lost += vals[i];
	printf("%llu %lld %llu\n", records, c1 - c0, lost);
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}
