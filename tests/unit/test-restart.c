/*
 * test-restart.c — the worker restart policy (daemon/restart.c): the
 * backoff doubles from 100 ms per recent crash up to 30 s, crashes outside
 * the window are forgotten, max crashes within the window fail the
 * contract, and an admin start forgets them.
 */
#include "restart.h"

#include "test.h"

TEST(backoff_doubles)
{
	struct restart r = { { 0 }, 0, 0 };
	uint64_t delay, t = 1000000;
	unsigned recent, i;
	static const uint64_t want[] = { 100, 200, 400, 800, 1600, 3200,
	    6400, 12800, 25600, 30000, 30000 };

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_EQ_INT(restart_crash(&r, t + i, 100, 60, &delay,
		    &recent), RESTART_AFTER);
		CHECK_EQ_INT(delay, want[i]);
		CHECK_EQ_INT(recent, i + 1);
	}
	CHECK_EQ_INT(r.restarts, sizeof(want) / sizeof(want[0]));
}

TEST(window_forgets_old_crashes)
{
	struct restart r = { { 0 }, 0, 0 };
	uint64_t delay;
	unsigned recent;

	CHECK_EQ_INT(restart_crash(&r, 1000, 3, 10, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(restart_crash(&r, 2000, 3, 10, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(delay, 200);
	/* 20 s later the first two are outside the 10 s window */
	CHECK_EQ_INT(restart_crash(&r, 22000, 3, 10, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(recent, 1);
	CHECK_EQ_INT(delay, 100);
}

TEST(too_many_fail)
{
	struct restart r = { { 0 }, 0, 0 };
	uint64_t delay;
	unsigned recent;

	CHECK_EQ_INT(restart_crash(&r, 10, 3, 60, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(restart_crash(&r, 20, 3, 60, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(restart_crash(&r, 30, 3, 60, &delay, &recent),
	    RESTART_FAILED);
	CHECK_EQ_INT(recent, 3);
	restart_forget(&r);
	CHECK_EQ_INT(restart_crash(&r, 40, 3, 60, &delay, &recent),
	    RESTART_AFTER);
	CHECK_EQ_INT(recent, 1);
	CHECK_EQ_INT(r.restarts, 4);	/* the count for info stays */
}

TEST(log_keeps_the_newest)
{
	struct restart r = { { 0 }, 0, 0 };
	uint64_t delay;
	unsigned recent, i;

	for (i = 0; i < RESTART_LOG + 10; i++)
		restart_crash(&r, 1000 * (uint64_t)i, 1000, 1000000, &delay,
		    &recent);
	CHECK_EQ_INT(r.ncrashes, RESTART_LOG);
	CHECK_EQ_INT(recent, RESTART_LOG);
	CHECK_EQ_INT(r.crashes[RESTART_LOG - 1], 1000 * (RESTART_LOG + 9));
}

int
main(void)
{
	RUN(backoff_doubles);
	RUN(window_forgets_old_crashes);
	RUN(too_many_fail);
	RUN(log_keeps_the_newest);
	return test_summary();
}
