/*
 * worker_poll.c — the worker's one wait. A single epoll set holds all the
 * loop waits for: vmsd's socket, the commit thread's eventfd, a snapshot
 * writer's pipe, the attach channel and each attached connection (those
 * two registered by worker_conn.c). One epoll_wait tells which are ready,
 * blocking or not; vmsd's socket is read only when it is. Before, a
 * poll() of the first three and the connections' epoll, an epoll_wait of
 * the connections, then a read of vmsd's socket that found it empty made
 * three system calls where one does, several times per call at one
 * client (bench/README.md, round 14).
 *
 * Each descriptor's epoll data is its tag: the address of a marker below,
 * NULL for the attach channel, else its struct wconn.
 *
 * Busy polling (busy_poll, vmsd.conf(5)). A client that calls in a loop
 * sends its next request a few tens of µs after the reply to its last.
 * When the worker has flushed that call itself (a lone call, worker.c's
 * commit_start) and sleeps in epoll_wait for the next, its CPU goes idle;
 * on a host whose idle CPUs halt, waking it takes ~30 µs, and the call
 * then runs on cold caches (at one client, the worker's CPU a call was
 * 2.5x its CPU at 32 clients: bench/README.md, round 23). So once the
 * worker has flushed POLL_LONE_RUN lone calls in a row itself (worker.c's
 * commit_start: one client, calling in a loop), the first wait after each
 * such flush polls instead: epoll_wait without blocking, a pause
 * instruction between two looks, for up to busy_poll µs; then it sleeps.
 * A poll that finds nothing (a client slower than busy_poll) stops
 * polling until such a first wait ends within busy_poll µs again: a
 * client that calls now and then costs one dry poll, not one a call.
 * With more clients the worker seldom waits, and waking at the first
 * request makes smaller batches: polling before every wait cost 8
 * clients 15-20 % of their calls/s. With sched_yield() between the looks
 * instead of a pause, one client's p99 went from 0.51 to 0.66 ms (8
 * alternating pairs; with the pause 0.48 to 0.45). bench/README.md,
 * round 25.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define WPOLL_EVENTS	64	/* per epoll_wait; the rest stay ready */

/* Between two looks of a poll: the CPU's hint that this is a spin. */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* One epoll_wait that does not block. */
static int
look(struct worker *w, struct epoll_event *ev)
{
	int n;

	while ((n = epoll_wait(w->ep, ev, WPOLL_EVENTS, 0)) < 0)
		if (errno != EINTR)
			fatal("epoll_wait");
	return n;
}

/*
 * Poll, for up to busy_poll µs, a wait limited to *usec µs and *ms ms
 * (each if 0 or more): the events found; 0 if a limit ran out first (the
 * wait is over); else -1, with the limits left for the sleep that
 * follows.
 */
static int
busy_poll(struct worker *w, struct epoll_event *ev, int64_t *usec, int *ms)
{
	uint64_t t0 = mono_usec(), lim = w->busy_poll, el;
	int n;

	if (*usec >= 0 && (uint64_t)*usec < lim)
		lim = (uint64_t)*usec;
	if (*ms >= 0 && (uint64_t)*ms * 1000 < lim)
		lim = (uint64_t)*ms * 1000;
	w->npolled++;
	for (;;) {
		if ((n = look(w, ev)) > 0) {
			w->npoll_met++;
			return n;
		}
		if ((el = mono_usec() - t0) >= lim)
			break;
		cpu_relax();
	}
	w->poll_dry = 1;
	if ((*usec >= 0 && (uint64_t)*usec <= el) ||
	    (*ms >= 0 && (uint64_t)*ms * 1000 <= el))
		return 0;
	if (*usec >= 0)
		*usec -= (int64_t)el;
	if (*ms >= 0)
		*ms -= (int)(el / 1000);
	return -1;
}

/*
 * One blocking epoll_wait, at most `usec` long if that is 0 or more, else
 * as long as the attached connections' timeouts (`ms`) allow. A limit in
 * µs (worker.c's wait for a flush to start beside the one in flight, a
 * few hundred) takes epoll_pwait2; on a kernel without it (before 5.11),
 * epoll_wait with the limit rounded up to a millisecond.
 */
static int
sleep_events(struct worker *w, struct epoll_event *ev, int64_t usec, int ms)
{
	static int no_pwait2;
	struct timespec ts;
	int n;

	if (usec >= 0 && (ms < 0 || (int64_t)ms * 1000 > usec)) {
		if (!no_pwait2) {
			ts.tv_sec = (time_t)(usec / 1000000);
			ts.tv_nsec = (long)(usec % 1000000) * 1000;
			while ((n = epoll_pwait2(w->ep, ev, WPOLL_EVENTS, &ts,
			    NULL)) < 0 && errno == EINTR)
				;
			if (n >= 0)
				return n;
			if (errno != ENOSYS)
				fatal("epoll_pwait2");
			no_pwait2 = 1;
		}
		ms = (int)((usec + 999) / 1000);
	}
	while ((n = epoll_wait(w->ep, ev, WPOLL_EVENTS, ms)) < 0)
		if (errno != EINTR)
			fatal("epoll_wait");
	return n;
}

/*
 * The loop's wait: a look if it must not block; else a sleep, limited to
 * `usec` µs if that is 0 or more and to the attached connections'
 * timeouts, polled first if it is the first after the flush of a run of
 * lone calls (above).
 */
static int
wait_events(struct worker *w, struct epoll_event *ev, int block,
    int64_t usec)
{
	int n, ms, first;
	uint64_t t0 = 0;

	if (!block)
		return look(w, ev);
	ms = wconns_timeout(w);
	first = w->poll_armed && w->busy_poll > 0;
	w->poll_armed = 0;
	if (first) {
		t0 = mono_usec();
		if (!w->poll_dry && (n = busy_poll(w, ev, &usec, &ms)) >= 0)
			return n;
	}
	n = sleep_events(w, ev, usec, ms);
	/* the client is quick again: poll after its next call */
	if (first && n > 0 && mono_usec() - t0 < w->busy_poll)
		w->poll_dry = 0;
	return n;
}

static char tag_vmsd, tag_snap;
/* one per commit thread, so that only the one that returned is read */
static char tag_commit[WORKER_INFLIGHT];

static void
ctl(struct worker *w, int op, int fd, void *tag)
{
	struct epoll_event ev;

	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	if (epoll_ctl(w->ep, op, fd, &ev) != 0)
		fatal("epoll_ctl");
}

void
wpoll_init(struct worker *w)
{
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	ctl(w, EPOLL_CTL_ADD, w->fd, &tag_vmsd);
}

void
wpoll_commits(struct worker *w, unsigned k, int efd)
{
	if (k >= WORKER_INFLIGHT)
		fatalx("wpoll_commits: commit thread %u of %d", k,
		    WORKER_INFLIGHT);
	ctl(w, EPOLL_CTL_ADD, efd, &tag_commit[k]);
}

/* The commit thread a tag is of, or -1. */
static int
commit_tag(const void *tag)
{
	int k;

	for (k = 0; k < WORKER_INFLIGHT; k++)
		if (tag == &tag_commit[k])
			return k;
	return -1;
}

void
wpoll_snapshot(struct worker *w, int fd, int on)
{
	ctl(w, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &tag_snap);
}

void
wpoll_close(struct worker *w)
{
	if (w->ep >= 0)
		(void)close(w->ep);
	w->ep = -1;
}

/* One read from vmsd. 1 if input was read. */
static int
read_vmsd(struct worker *w)
{
	ssize_t n;

	for (;;) {
		if (w->incap - w->inlen < 65536) {
			w->incap = w->incap ? w->incap * 2 : 131072;
			w->in = xrealloc(w->in, w->incap);
		}
		n = recv(w->fd, w->in + w->inlen, w->incap - w->inlen,
		    MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			fatal("worker %s: read from vmsd", w->name);
		}
		if (n == 0) {
			/* (at EOF it stays readable: out of the set) */
			w->eof = 1;
			ctl(w, EPOLL_CTL_DEL, w->fd, NULL);
			return 0;
		}
		w->inlen += (size_t)n;
		return 1;
	}
}

/*
 * Read what is available, from vmsd and from the attached connections;
 * block only if asked, until input arrives, a snapshot being written
 * ends (to reap it), the commit in flight returns (serve() acknowledges
 * it), an attached connection's deadline passes or w->beside_wait µs
 * have (if set: serve()'s, for one wait). 1 if input was read, 0 on EOF
 * or nothing.
 *
 * A look that would not block, made before any request has run since a
 * wait that blocked, is skipped (w->fresh): that wait has just taken
 * what was ready, and another system call would almost always find
 * nothing (at one client it did so on every call, twice before the
 * flush with serve()'s and the group commit's looks: bench/README.md,
 * round 16). Nothing is left waiting by it: the loop never blocks but in
 * an epoll_wait, which sees whatever is still ready.
 */
int
worker_read_more(struct worker *w, int block)
{
	struct epoll_event ev[WPOLL_EVENTS];
	int n, i, k, got = 0, vmsd = 0, snap = 0;
	void *tag;

	if (!block && w->fresh)
		return 0;
	w->fresh = block;
	n = wait_events(w, ev, block, w->beside_wait);
	w->beside_wait = -1;
	for (i = 0; i < n; i++) {
		tag = ev[i].data.ptr;
		if (tag == &tag_vmsd)
			vmsd = 1;
		else if (tag == &tag_snap)
			snap = 1;
		else if ((k = commit_tag(tag)) >= 0)
			committer_event(w->com[k]);	/* (serve() collects) */
		else
			got |= wconns_event(w, tag, ev[i].events);
	}
	if (snap)
		worker_snapshot_check(w);
	wconns_after(w);
	if (vmsd && !w->eof)
		got |= read_vmsd(w);
	wconns_tell(w, 0);
	return got;
}

void
worker_read_waiting(struct worker *w)
{
	while (!w->eof && worker_read_more(w, 0))
		;
}
