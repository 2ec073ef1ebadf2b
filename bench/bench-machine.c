/*
 * bench-machine.c — what the machine charges for the things vmsd's
 * figures depend on besides the disk (bench-ledger measures that): a
 * system call, waking a thread that sleeps (an eventfd ping-pong between
 * two threads, left to the scheduler, on one CPU, on two), and a fork of a
 * large heap followed by the parent's first write to each page (what a
 * snapshot writer, worker_snap.c, costs the worker that keeps serving).
 * Printed by `make bench`, so that every run's ratios come with the
 * costs they were measured under: on a VM these are far from bare metal's,
 * and they are what the 1-client latency and the relayed throughput spend
 * (bench/README.md, round 15). Runs in about 10 s.
 *
 *   make build/bench/bench-machine && build/bench/bench-machine
 */
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define ROUNDS		20000	/* wake-up round trips per setting */
#define HEAP_MIB	256	/* the forked heap */
#define BLOCK		200	/* its blocks' size (a state's files) */

/* (Not libvms's mono_usec: its whole microseconds are too coarse for a
 * round trip of 6 us.) */
static double
now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		bench_die("clock_gettime", strerror(errno));
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		bench_die("sched_setaffinity", strerror(errno));
}

struct pingpong {
	int	 ping, pong;	/* eventfds */
	int	 cpu;		/* the peer's, -1: any */
};

static void
ev_write(int fd)
{
	while (eventfd_write(fd, 1) != 0)
		if (errno != EINTR)
			bench_die("eventfd_write", strerror(errno));
}

static void
ev_read(int fd)
{
	eventfd_t v;

	while (eventfd_read(fd, &v) != 0)
		if (errno != EINTR)
			bench_die("eventfd_read", strerror(errno));
}

static void *
peer(void *arg)
{
	struct pingpong *pp = arg;
	int i;

	pin(pp->cpu);
	for (i = 0; i < ROUNDS; i++) {
		ev_read(pp->ping);
		ev_write(pp->pong);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Round trips ping → peer → pong, each thread asleep in between; p50 and
 * p90 in µs. The two threads on CPUs me and them (-1: any). */
static void
wakeups(const char *what, int me, int them)
{
	struct pingpong pp;
	pthread_t t;
	double *d, t0;
	int i, e;
	cpu_set_t all;

	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		bench_die("sched_getaffinity", strerror(errno));
	if ((pp.ping = eventfd(0, EFD_CLOEXEC)) == -1 ||
	    (pp.pong = eventfd(0, EFD_CLOEXEC)) == -1)
		bench_die("eventfd", strerror(errno));
	pp.cpu = them;
	if ((d = calloc(ROUNDS, sizeof(*d))) == NULL)
		bench_die("calloc", strerror(errno));
	pin(me);
	if ((e = pthread_create(&t, NULL, peer, &pp)) != 0)
		bench_die("pthread_create", strerror(e));
	for (i = 0; i < ROUNDS; i++) {
		t0 = now_us();
		ev_write(pp.ping);
		ev_read(pp.pong);
		d[i] = now_us() - t0;
	}
	if ((e = pthread_join(t, NULL)) != 0)
		bench_die("pthread_join", strerror(e));
	if (sched_setaffinity(0, sizeof(all), &all) != 0)
		bench_die("sched_setaffinity", strerror(errno));
	qsort(d, ROUNDS, sizeof(*d), cmp_double);
	printf("  wake-up round trip, %-22s p50 %6.1f us  p90 %6.1f us\n",
	    what, d[ROUNDS / 2], d[ROUNDS * 9 / 10]);
	free(d);
	(void)close(pp.ping);
	(void)close(pp.pong);
}

static void
syscall_cost(void)
{
	int i, n = 1000000;
	double t0 = now_us();

	for (i = 0; i < n; i++)
		(void)syscall(SYS_getppid);
	printf("  system call (getppid)                    %6.2f us\n",
	    (now_us() - t0) / n);
}

/* Write one byte of every page-th block: the first write to each page. */
static double
touch(char **v, size_t n, size_t step)
{
	size_t i;
	double t0 = now_us();

	for (i = 0; i < n; i += step)
		v[i][0]++;
	return now_us() - t0;
}

static void
fork_cost(void)
{
	size_t n = (size_t)HEAP_MIB * 1024 * 1024 / BLOCK, i, pages;
	size_t step = 4096 / BLOCK + 1;	/* blocks a page apart */
	char **v;
	double t0, tfork, tlive, tafter, tplain;
	pid_t pid;
	int st;

	if ((v = calloc(n, sizeof(*v))) == NULL)
		bench_die("calloc", strerror(errno));
	for (i = 0; i < n; i++) {
		if ((v[i] = malloc(BLOCK)) == NULL)
			bench_die("malloc", strerror(errno));
		memset(v[i], (int)i, BLOCK);
	}
	pages = (n + step - 1) / step;
	tplain = touch(v, n, step);
	t0 = now_us();
	if ((pid = fork()) == -1)
		bench_die("fork", strerror(errno));
	if (pid == 0) {
		(void)pause();	/* (until killed: the heap stays shared) */
		_exit(0);
	}
	tfork = now_us() - t0;
	tlive = touch(v, n, step);
	if (kill(pid, SIGKILL) != 0)
		bench_die("kill", strerror(errno));
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			bench_die("waitpid", strerror(errno));
	/* a child that exits at once: the parent's pages stay marked
	 * copy-on-write until each is written */
	if ((pid = fork()) == -1)
		bench_die("fork", strerror(errno));
	if (pid == 0)
		_exit(0);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			bench_die("waitpid", strerror(errno));
	tafter = touch(v, n, step);
	printf("  fork, %d MiB heap of %d-byte blocks       %6.1f ms\n",
	    HEAP_MIB, BLOCK, tfork / 1e3);
	printf("  then the parent's first write to a page  %6.1f us while "
	    "the child lives, %.1f after it exits, %.2f without a fork "
	    "(%zu pages)\n", tlive / (double)pages, tafter / (double)pages,
	    tplain / (double)pages, pages);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
main(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	syscall_cost();
	wakeups("left to the scheduler", -1, -1);
	wakeups("both on CPU 0", 0, 0);
	if (ncpu > 1)
		wakeups("on CPUs 0 and 1", 0, 1);
	fork_cost();
	return 0;
}
