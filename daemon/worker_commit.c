/*
 * worker_commit.c — the worker's commit thread. The main thread prepares a
 * commit (signs it, appends the commit record) and hands its ticket over;
 * this thread runs the fdatasync (ledger_commit_fsync, which touches only
 * the ticket) while the main thread executes the next batch, then posts
 * the result under the mutex, signals done_cv and makes its eventfd
 * readable, so that the main thread can wait in one poll() for the result
 * or for new requests, whichever comes first (worker.c). The main thread
 * collects the result and finishes the commit.
 * One ticket at a time; the ledger itself is never touched here.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

struct committer {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;		/* to the thread: job or stop */
	pthread_cond_t		 done_cv;	/* from it: result posted */
	int			 efd;		/* readable: result posted */
	/* under mtx */
	int			 job;		/* ticket submitted, not taken */
	int			 done;		/* result posted, not collected */
	int			 stop;
	struct ledger_ticket	 ticket;
	int			 result;
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
	struct ledger_ticket t;
	int r;

	for (;;) {
		if (pthread_mutex_lock(&c->mtx) != 0)
			fatalx("committer: mutex");
		while (!c->job && !c->stop)
			if (pthread_cond_wait(&c->cv, &c->mtx) != 0)
				fatalx("committer: cond_wait");
		if (!c->job) {
			(void)pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		t = c->ticket;
		c->job = 0;
		(void)pthread_mutex_unlock(&c->mtx);

		r = ledger_commit_fsync(&t);

		if (pthread_mutex_lock(&c->mtx) != 0)
			fatalx("committer: mutex");
		c->result = r;
		c->done = 1;
		/* (under the mutex: whoever collects the result finds the
		 * eventfd already written, and drains it) */
		if (eventfd_write(c->efd, 1) != 0)
			fatal("committer: eventfd_write");
		(void)pthread_mutex_unlock(&c->mtx);
		/* (after the unlock: a waiter woken with the mutex still held
		 * would block on it and be woken twice) */
		if (pthread_cond_signal(&c->done_cv) != 0)
			fatalx("committer: cond_signal");
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
	if ((e = pthread_mutex_init(&c->mtx, NULL)) != 0 ||
	    (e = pthread_cond_init(&c->cv, NULL)) != 0 ||
	    (e = pthread_cond_init(&c->done_cv, NULL)) != 0 ||
	    (e = pthread_create(&c->thread, NULL, committer_run, c)) != 0) {
		seterr(err, errlen, "commit thread: %s", strerror(e));
		(void)close(c->efd);
		free(c);
		return NULL;
	}
	return c;
}

void
committer_submit(struct committer *c, const struct ledger_ticket *t)
{
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("committer: mutex");
	if (c->busy)
		fatalx("committer: a commit is already in flight");
	c->ticket = *t;
	c->job = c->busy = 1;
	(void)pthread_mutex_unlock(&c->mtx);
	/* (after the unlock: woken with it held, the thread would block on
	 * the mutex, and this one be switched out twice for it) */
	if (pthread_cond_signal(&c->cv) != 0)
		fatalx("committer: cond_signal");
}

/* Has the submitted fsync returned? Does not block. */
int
committer_done(struct committer *c)
{
	int d;

	if (!c->busy)
		return 0;
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("committer: mutex");
	d = c->done;
	(void)pthread_mutex_unlock(&c->mtx);
	return d;
}

int
committer_result(struct committer *c)
{
	int r;

	if (!c->busy)
		fatalx("committer: no commit in flight");
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("committer: mutex");
	while (!c->done)
		if (pthread_cond_wait(&c->done_cv, &c->mtx) != 0)
			fatalx("committer: cond_wait");
	r = c->result;
	c->done = 0;
	c->busy = 0;
	drain(c->efd);
	(void)pthread_mutex_unlock(&c->mtx);
	return r;
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
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("committer: mutex");
	c->stop = 1;
	(void)pthread_cond_signal(&c->cv);
	(void)pthread_mutex_unlock(&c->mtx);
	if (pthread_join(c->thread, NULL) != 0)
		log_warnx("committer: pthread_join failed");
	(void)pthread_cond_destroy(&c->cv);
	(void)pthread_cond_destroy(&c->done_cv);
	(void)pthread_mutex_destroy(&c->mtx);
	(void)close(c->efd);
	free(c);
}
