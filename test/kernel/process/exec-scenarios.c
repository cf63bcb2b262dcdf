// SPDX-License-Identifier: Apache-2.0
/*
 * Exec scenario driver for the process probe's kernel test. For i in
 * [0, count) it forks a child that performs scenario i % KINDS and prints
 * "<i> <kind> <child pid>" per child:
 *   0 ok      execve /bin/true <token> a2
 *   1 enoent  execve /nonexistent/... <token>        (fails with ENOENT)
 *   2 eacces  execve <non-executable file> <token>   (fails with EACCES)
 *   3 long    execve /bin/true <token> + 300 long arguments (beyond the limits)
 *   4 thread  execve /bin/true <token> thr, called from a second thread
 *   5 failed-long   execve /nonexistent/... <token> + 300 long arguments (ENOENT, beyond the limits)
 *   6 execveat      execveat(dirfd of /nonexistent's parent, "maxpro-missing/<token>") (ENOENT)
 *   7 failed-thread execve /nonexistent/... <token> thr, from a second thread (ENOENT)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char token[128];
static char *noexec;
static char *longargv[400];
static char longbuf[300][48];

#define KINDS 8

static void *thread_exec(void *arg)
{
	(void)arg;
	char *argv[] = { "/bin/true", token, "thr", NULL };
	execve(argv[0], argv, (char *[]){ NULL });
	_exit(120);
}

/* Fails with ENOENT and returns: the thread ends, the child exits. */
static void *thread_exec_fail(void *arg)
{
	(void)arg;
	char path[192];
	snprintf(path, sizeof(path), "/nonexistent/maxpro/%s", token);
	char *argv[] = { path, token, "thr", NULL };
	execve(argv[0], argv, (char *[]){ NULL });
	return NULL;
}

static void long_args(const char *first)
{
	longargv[0] = (char *)first;
	longargv[1] = token;
	for (int k = 0; k < 300; k++) {
		snprintf(longbuf[k], sizeof(longbuf[k]), "arg%03d-%s", k, "abcdefghijklmnopqrstuvwxyz0123456789");
		longargv[k + 2] = longbuf[k];
	}
	longargv[302] = NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s <count> <token-prefix> <non-executable file>\n", argv[0]);
		return 2;
	}
	long count = atol(argv[1]);
	const char *prefix = argv[2];
	noexec = argv[3];
	char *envp[] = { NULL };

	for (long i = 0; i < count; i++) {
		int kind = i % KINDS;
		snprintf(token, sizeof(token), "%s-%ld", prefix, i);
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			switch (kind) {
			case 0: {
				char *a[] = { "/bin/true", token, "a2", NULL };
				execve(a[0], a, envp);
				_exit(121);
			}
			case 1: {
				char path[192];
				snprintf(path, sizeof(path), "/nonexistent/maxpro/%s", token);
				char *a[] = { path, token, NULL };
				execve(a[0], a, envp);
				_exit(127);
			}
			case 2: {
				char *a[] = { noexec, token, NULL };
				execve(a[0], a, envp);
				_exit(126);
			}
			case 3: {
				long_args("/bin/true");
				execve(longargv[0], longargv, envp);
				_exit(122);
			}
			case 4: {
				pthread_t t;
				if (pthread_create(&t, NULL, thread_exec, NULL))
					_exit(123);
				pthread_join(t, NULL);
				_exit(124);
			}
			case 5: {
				char path[192];
				snprintf(path, sizeof(path), "/nonexistent/maxpro/%s", token);
				long_args(path);
				execve(longargv[0], longargv, envp);
				_exit(127);
			}
			case 6: {
				char rel[192];
				snprintf(rel, sizeof(rel), "maxpro-missing/%s", token);
				char *a[] = { rel, token, "at", NULL };
				int dirfd = open("/", O_PATH | O_DIRECTORY);
				syscall(SYS_execveat, dirfd, rel, a, envp, 0);
				_exit(127);
			}
			default: {
				pthread_t t;
				if (pthread_create(&t, NULL, thread_exec_fail, NULL))
					_exit(123);
				pthread_join(t, NULL);
				_exit(127);
			}
			}
		}
		printf("%ld %d %d\n", i, kind, (int)pid);
		int status;
		waitpid(pid, &status, 0);
	}
	fflush(stdout);
	return 0;
}
