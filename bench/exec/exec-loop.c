// SPDX-License-Identifier: Apache-2.0
/*
 * The exec storm: fork + execve("/bin/true", {"/bin/true", "a1", "a2"}) +
 * waitpid, `count` times. Prints "<count> <elapsed ns> <cpu ns>" measured
 * around the loop only, so process start-up is not part of the rate; cpu is
 * the user+system time of the loop and its children (where in-kernel probe
 * work is charged), which a busy machine disturbs less than the rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 10000;
	char *args[] = { "/bin/true", "a1", "a2", NULL };
	char *envp[] = { NULL };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execve(args[0], args, envp);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d failed\n", (int)pid);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	long long cpu_us = (long long)self.ru_utime.tv_sec * 1000000 + self.ru_utime.tv_usec +
			   (long long)self.ru_stime.tv_sec * 1000000 + self.ru_stime.tv_usec +
			   (long long)kids.ru_utime.tv_sec * 1000000 + kids.ru_utime.tv_usec +
			   (long long)kids.ru_stime.tv_sec * 1000000 + kids.ru_stime.tv_usec;
	printf("%ld %lld %lld\n", count, (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
	       cpu_us * 1000);
	return 0;
}
