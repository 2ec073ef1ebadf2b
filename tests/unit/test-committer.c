/*
 * test-committer.c — a worker's commit thread (daemon/worker_commit.c),
 * as the worker's loop uses it: its eventfd in a level-triggered epoll
 * set, results collected oldest first. Once the loop has seen the eventfd
 * readable (committer_event), the set is quiet again even when the
 * result waits to be collected: before round 19 it stayed readable until
 * then, and the loop spun in epoll_wait whenever the younger of two
 * fsyncs returned first. `done`, not the eventfd, tells the result is
 * there. Linked against build/libdaemon.a.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "worker.h"

#include "test.h"

static char path[] = "/tmp/vms-test-committer.XXXXXX";
static int file = -1;

/* A ticket that only fdatasyncs the test's file (no signed head). */
static struct ledger_ticket
ticket(void)
{
	struct ledger_ticket t;

	memset(&t, 0, sizeof(t));
	t.fd = file;
	t.head_fd = -1;
	return t;
}

/* Wait (up to 10 s) for the submitted fsync to return, without
 * collecting it and without touching the eventfd. */
static int
wait_done(struct committer *c)
{
	int i;

	for (i = 0; i < 10000 && !committer_done(c); i++)
		(void)poll(NULL, 0, 1);
	return committer_done(c);
}

/* What a level-triggered epoll_wait that does not block finds. */
static int
ready(int ep)
{
	struct epoll_event ev[4];
	int n;

	while ((n = epoll_wait(ep, ev, 4, 0)) < 0 && errno == EINTR)
		;
	return n;
}

static int
epoll_of(int fd)
{
	struct epoll_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(ep);
		return -1;
	}
	return ep;
}

/* A result the loop saw but has not collected leaves the set quiet. */
TEST(event_quiets_uncollected_result)
{
	char err[256];
	struct committer *c = committer_start(err, sizeof(err));
	struct ledger_ticket t = ticket();
	int ep, i;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	ep = epoll_of(committer_fd(c));
	CHECK(ep >= 0);
	committer_submit(c, &t);
	CHECK(wait_done(c));
	/* the thread writes its eventfd just after `done` */
	for (i = 0; i < 10000 && ready(ep) == 0; i++)
		(void)poll(NULL, 0, 1);
	CHECK_EQ_INT(ready(ep), 1);
	committer_event(c);		/* the loop saw it */
	CHECK_EQ_INT(ready(ep), 0);	/* no spin (it was 1 before) */
	CHECK_EQ_INT(ready(ep), 0);
	CHECK(committer_done(c));	/* the result is still there */
	CHECK_EQ_INT(committer_result(c), 0);
	CHECK(!committer_done(c));
	CHECK_EQ_INT(ready(ep), 0);
	/* and the next result wakes the set again */
	committer_submit(c, &t);
	CHECK(wait_done(c));
	for (i = 0; i < 10000 && ready(ep) == 0; i++)
		(void)poll(NULL, 0, 1);
	CHECK_EQ_INT(ready(ep), 1);
	CHECK_EQ_INT(committer_result(c), 0);
	CHECK_EQ_INT(ready(ep), 0);
	close(ep);
	committer_stop(c);
}

/*
 * Two in flight, the younger collected only after the older: the loop
 * sees the younger's eventfd first, quiets it, then waits for the older
 * in the same set without spinning; both results are found by `done`.
 */
TEST(younger_first)
{
	char err[256];
	struct committer *old = committer_start(err, sizeof(err));
	struct committer *young = committer_start(err, sizeof(err));
	struct ledger_ticket t = ticket();
	struct epoll_event ev;
	int ep, i;

	CHECK(old != NULL && young != NULL);
	if (old == NULL || young == NULL)
		return;
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = old;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, committer_fd(old), &ev) == 0);
	ev.data.ptr = young;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, committer_fd(young), &ev) == 0);
	committer_submit(young, &t);
	CHECK(wait_done(young));
	for (i = 0; i < 10000 && ready(ep) == 0; i++)
		(void)poll(NULL, 0, 1);
	CHECK_EQ_INT(ready(ep), 1);
	committer_event(young);
	CHECK_EQ_INT(ready(ep), 0);	/* waiting for the older: quiet */
	committer_submit(old, &t);
	CHECK(wait_done(old));
	for (i = 0; i < 10000 && ready(ep) == 0; i++)
		(void)poll(NULL, 0, 1);
	CHECK(epoll_wait(ep, &ev, 1, 0) == 1 && ev.data.ptr == old);
	/* oldest first, as serve() collects */
	CHECK_EQ_INT(committer_result(old), 0);
	CHECK(committer_done(young));
	CHECK_EQ_INT(committer_result(young), 0);
	CHECK_EQ_INT(ready(ep), 0);
	close(ep);
	committer_stop(old);
	committer_stop(young);
}

/* A result collected before the thread wrote its eventfd: the late
 * write is dropped by the loop's committer_event, with nothing to
 * collect. */
TEST(late_write_dropped)
{
	char err[256];
	struct committer *c = committer_start(err, sizeof(err));
	struct ledger_ticket t = ticket();
	int ep, i, n;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	ep = epoll_of(committer_fd(c));
	CHECK(ep >= 0);
	for (n = 0; n < 50; n++) {
		committer_submit(c, &t);
		CHECK_EQ_INT(committer_result(c), 0);
		/* a late write may come: the loop drops it */
		for (i = 0; i < 3 && ready(ep) == 0; i++)
			(void)poll(NULL, 0, 1);
		if (ready(ep) > 0)
			committer_event(c);
		CHECK_EQ_INT(ready(ep), 0);
		CHECK(!committer_done(c));
	}
	close(ep);
	committer_stop(c);
}

int
main(void)
{
	file = mkstemp(path);
	if (file < 0 || write(file, "x", 1) != 1)
		return 1;
	RUN(event_quiets_uncollected_result);
	RUN(younger_first);
	RUN(late_write_dropped);
	(void)close(file);
	(void)unlink(path);
	return test_summary();
}
