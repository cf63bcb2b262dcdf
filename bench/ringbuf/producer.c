// SPDX-License-Identifier: Apache-2.0
// Benchmark producer: waits for a line on stdin, then calls getppid(2) in a
// tight loop for the given seconds and prints how many calls it made.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	char line[16];
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	unsigned long long n = 0;
	double start = now(), end = start + secs, t = start;
	while (t < end) {
		for (int i = 0; i < 1000; i++)
			syscall(SYS_getppid);
		n += 1000;
		t = now();
	}
	printf("%llu %.6f\n", n, t - start);
	return 0;
}
