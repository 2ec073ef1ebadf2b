/*
 * worker_commit.c — a worker's commit thread; the worker keeps one per
 * commit it may have in flight (two, or one: commits_in_flight; worker.c
 * hands each commit to the next in turn and collects them in order). The
 * main thread prepares a commit (signs it, appends the commit record),
 * stores its ticket and posts the thread's semaphore; this thread runs the fdatasync
 * (ledger_commit_fsync, which touches only the ticket) while the main
 * thread executes the next batch, stores the result, sets `done`
 * (release) and only then makes its eventfd readable. The main thread,
 * woken by the eventfd in its one epoll_wait (worker_poll.c) or finding
 * `done` set between two calls (worker.c), collects the result.
 *
 * The thread also times each fdatasync (committer_usec: worker.c learns
 * from the shortest how fast the disk flushes).
 *
 * No lock: a ticket and a result each have one writer, and the semaphore
 * (ticket) and `done` (result) publish them. With a mutex and two
 * condition variables (round 14), the thread posted its result with the
 * mutex held, so the main thread, woken by that eventfd_write, could block
 * on the mutex and be switched out a second time; and each time the thread
 * woke for a ticket, glibc's pthread_cond_wait took the mutex back marked
 * contended, so its unlock made a futex system call for nobody. Now the
 * thread makes one futex call per batch, the wait for its next ticket
 * (bench/README.md, round 15; daemon-syscalls.sh counts them).
 *
 * Because `done` is set before the eventfd is written, `done` is what
 * tells a result is there; the eventfd only wakes the loop. The main
 * thread can collect a result before its eventfd_write; that write then
 * arrives stale, and committer_event() or committer_result() (while it
 * waits) drops it.
 * One ticket at a time; the ledger itself is never touched here.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

struct committer {
	pthread_t		 thread;
	sem_t			 go;		/* posted: a ticket, or stop */
	int			 efd;		/* readable: result posted */
	/* written by the main thread before it posts `go` */
	struct ledger_ticket	 ticket;
	int			 stop;
	/* written by the thread: result, then done (release); the main
	 * thread reads result once it sees done (acquire) and clears done
	 * before it posts the next ticket */
	atomic_int		 done;
	int			 result;
	uint64_t		 usec;		/* how long it ran */
	/* main thread only */
	int			 busy;		/* submitted, result not collected */
};

/* Reset the eventfd (its count is 1 after each result). */
static void
drain(int fd)
{
	eventfd_t v;

	while (eventfd_read(fd, &v) != 0)
		if (errno != EINTR) {
			if (errno == EAGAIN)
				return;
			fatal("committer: eventfd_read");
		}
}

static void *
committer_run(void *arg)
{
	struct committer *c = arg;
	uint64_t t0;

	/* (best effort: its name in ps -L, top -H, perf and bench/wakes.sh) */
	(void)pthread_setname_np(pthread_self(), "vmsd-commit");
	for (;;) {
		while (sem_wait(&c->go) != 0)
			if (errno != EINTR)
				fatal("committer: sem_wait");
		if (c->stop)
			return NULL;
		t0 = mono_usec();
		c->result = ledger_commit_fsync(&c->ticket);
		c->usec = mono_usec() - t0;
		atomic_store_explicit(&c->done, 1, memory_order_release);
		if (eventfd_write(c->efd, 1) != 0)
			fatal("committer: eventfd_write");
	}
}

struct committer *
committer_start(char *err, size_t errlen)
{
	struct committer *c = xcalloc(1, sizeof(*c));
	int e;

	if ((c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		seterr(err, errlen, "commit thread: eventfd: %s",
		    strerror(errno));
		free(c);
		return NULL;
	}
	if (sem_init(&c->go, 0, 0) != 0) {
		seterr(err, errlen, "commit thread: sem_init: %s",
		    strerror(errno));
		(void)close(c->efd);
		free(c);
		return NULL;
	}
	if ((e = pthread_create(&c->thread, NULL, committer_run, c)) != 0) {
		seterr(err, errlen, "commit thread: %s", strerror(e));
		(void)sem_destroy(&c->go);
		(void)close(c->efd);
		free(c);
		return NULL;
	}
	return c;
}

void
committer_submit(struct committer *c, const struct ledger_ticket *t)
{
	if (c->busy)
		fatalx("committer: a commit is already in flight");
	c->ticket = *t;
	c->busy = 1;
	if (sem_post(&c->go) != 0)
		fatal("committer: sem_post");
}

/* Has the submitted fsync returned? Does not block, takes no lock. */
int
committer_done(struct committer *c)
{
	return c->busy &&
	    atomic_load_explicit(&c->done, memory_order_acquire);
}

int
committer_result(struct committer *c)
{
	struct pollfd p;

	if (!c->busy)
		fatalx("committer: no commit in flight");
	while (!atomic_load_explicit(&c->done, memory_order_acquire)) {
		p.fd = c->efd;
		p.events = POLLIN;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			fatal("committer: poll");
		/* readable with no result: a collected one's late write */
		if (!atomic_load_explicit(&c->done, memory_order_acquire))
			drain(c->efd);
	}
	c->busy = 0;
	atomic_store_explicit(&c->done, 0, memory_order_relaxed);
	/* (the thread may not have written the eventfd yet: then its
	 * write comes stale, for committer_event to drop) */
	drain(c->efd);
	return c->result;
}

uint64_t
committer_usec(const struct committer *c)
{
	return c->usec;
}

/*
 * The loop saw the eventfd readable: reset it, whether it tells of the
 * result in flight (serve() finds it by `done`, which the thread set
 * before it wrote) or of one already collected. Leaving it readable
 * until the result is collected made the loop spin: results are
 * collected oldest first, and when the younger of two fsyncs returned
 * first, each epoll_wait returned at once until the older one did
 * (bench/README.md, round 19).
 */
void
committer_event(struct committer *c)
{
	drain(c->efd);
}

/* Readable once the submitted fsync has returned (for poll()). */
int
committer_fd(const struct committer *c)
{
	return c->efd;
}

void
committer_stop(struct committer *c)
{
	if (c == NULL)
		return;
	if (c->busy)
		(void)committer_result(c);
	c->stop = 1;
	if (sem_post(&c->go) != 0)
		fatal("committer: sem_post");
	if (pthread_join(c->thread, NULL) != 0)
		log_warnx("committer: pthread_join failed");
	(void)sem_destroy(&c->go);
	(void)close(c->efd);
	free(c);
}
