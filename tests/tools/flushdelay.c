/*
 * flushdelay.c — a test-only LD_PRELOAD library that makes fdatasync(2) a
 * flush of a chosen length, to put the worker's group commit
 * (daemon/worker.c, which decides by how long a flush runs) in front of a
 * fast or a slow disk at will: with FLUSHDELAY_US=N, each fdatasync
 * returns 0 after N µs and flushes nothing (the tests that use it need no
 * durability). Unset or empty: the real one. Used by
 * tests/integration/daemon-pipeline.sh; never installed.
 */
#include <sys/prctl.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
fdatasync(int fd)
{
	static int (*real)(int);
	const char *e = getenv("FLUSHDELAY_US");
	struct timespec ts;
	long us;
	int saved = errno;

	if (e == NULL || *e == '\0') {
		if (real == NULL && (real = (int (*)(int))dlsym(RTLD_NEXT,
		    "fdatasync")) == NULL) {
			errno = ENOSYS;
			return -1;
		}
		return real(fd);
	}
	us = strtol(e, NULL, 10);
	if (us > 0) {
		/* (the default 50 µs of slack would lengthen short ones) */
		(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = (us % 1000000) * 1000;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	errno = saved;
	return 0;
}
