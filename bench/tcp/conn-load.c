// SPDX-License-Identifier: Apache-2.0
/*
 * Loopback TCP connection load: N client threads connect to a listener on
 * 127.0.0.1 (or ::1) and close with SO_LINGER {1, 0}, so each connection
 * ends with an RST instead of TIME_WAIT and the ephemeral port search never
 * limits the rate. One thread accepts and closes. Runs for a fixed time and
 * prints one line: `connections=<n> seconds=<s> errors=<e> cpu=<user+sys s>`.
 * The CPU time includes the loopback softirq work done in its threads.
 *
 * usage: conn-load <clients> <seconds> [4|6]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_ulong conns, errors;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static int family;

static void *client(void *arg)
{
	(void)arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned long n = 0, e = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int fd = socket(family, SOCK_STREAM, 0);
		if (fd < 0) { e++; continue; }
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0)
			n++;
		else
			e++;
		close(fd);
	}
	atomic_fetch_add(&conns, n);
	atomic_fetch_add(&errors, e);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (atomic_load(&stop))
				break;
			continue;
		}
		close(fd);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <clients> <seconds> [4|6]\n", argv[0]);
		return 2;
	}
	int clients = atoi(argv[1]);
	double seconds = atof(argv[2]);
	family = argc > 3 && atoi(argv[3]) == 6 ? AF_INET6 : AF_INET;
	if (clients < 1 || clients > 64 || seconds <= 0) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}

	int lfd = socket(family, SOCK_STREAM, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&addr;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addrlen = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		addrlen = sizeof(*a);
	}
	if (bind(lfd, (struct sockaddr *)&addr, addrlen) || listen(lfd, 4096)) {
		perror("bind/listen");
		return 1;
	}
	getsockname(lfd, (struct sockaddr *)&addr, &addrlen);

	pthread_t acc, cl[64];
	pthread_create(&acc, NULL, acceptor, &lfd);
	double t0 = now();
	for (int i = 0; i < clients; i++)
		pthread_create(&cl[i], NULL, client, NULL);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < clients; i++)
		pthread_join(cl[i], NULL);
	double t1 = now();
	shutdown(lfd, SHUT_RDWR);
	pthread_join(acc, NULL);
	close(lfd);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("connections=%lu seconds=%.3f errors=%lu cpu=%.3f\n", atomic_load(&conns), t1 - t0, atomic_load(&errors), cpu);
	return 0;
}
