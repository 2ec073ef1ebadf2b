/*
 * test-times.c — entry times never decrease (#16 item 7): the engine
 * records a call at no earlier time than the entry before it whatever the
 * clock says (a clock stepped back), keeps that floor across
 * engine_apply and engine_set_last_time (restart from a snapshot), and
 * replay refuses an entry earlier than the one before it, naming both.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "util.h"
#include "test.h"

static const char code[] =
    "local M = {}\n"
    "function M.init() System.files.writeFile('/n', '0') end\n"
    "function M.inc()\n"
    "  local n = tonumber(System.files.readFile('/n')) + 1\n"
    "  System.files.writeFile('/n', tostring(n))\n"
    "  return n\n"
    "end\n"
    "function M.now() return System.time() end\n"
    "return M\n";

static const struct vms_caller who = { "unix:alice", "peercred" };

struct led {
	char	*e[8];
	size_t	 len[8];
	int	 n;
};

static long long
entry_time(const char *e, size_t len)
{
	json_t *j = json_loadb(e, len, 0, NULL);
	long long t = json_integer_value(json_object_get(j, "time"));

	json_decref(j);
	return t;
}

static int
call_at(struct engine *eng, struct led *l, const char *method, uint64_t t)
{
	struct engine_result res;
	json_t *args = json_array();
	char err[VMS_ERRLEN];
	enum engine_status st;

	st = engine_call(eng, method, args, &who, t, &l->e[l->n],
	    &l->len[l->n], &res, err, sizeof(err));
	json_decref(args);
	engine_result_clear(&res);
	if (st != ENGINE_OK)
		return -1;
	l->n++;
	return 0;
}

static void
led_free(struct led *l)
{
	while (l->n > 0)
		free(l->e[--l->n]);
}

TEST(clock_stepped_back_records_previous_time)
{
	struct engine *eng;
	struct led l = { { NULL }, { 0 }, 0 };
	char err[VMS_ERRLEN];

	CHECK(engine_deploy("c", code, strlen(code), NULL, &who, 5000, &eng,
	    &l.e[0], &l.len[0], err, sizeof(err)) == ENGINE_OK);
	l.n = 1;
	CHECK(call_at(eng, &l, "inc", 7000) == 0);
	CHECK(call_at(eng, &l, "now", 3000) == 0);	/* clock went back */
	CHECK(call_at(eng, &l, "inc", 8000) == 0);
	CHECK_EQ_INT(entry_time(l.e[1], l.len[1]), 7000);
	CHECK_EQ_INT(entry_time(l.e[2], l.len[2]), 7000);
	CHECK_CONTAINS(l.e[2], "\"result\":7000");	/* System.time() too */
	CHECK_EQ_INT(entry_time(l.e[3], l.len[3]), 8000);
	CHECK_EQ_INT(engine_last_time(eng), 8000);
	engine_free(eng);
	led_free(&l);
}

TEST(floor_survives_apply_and_snapshot)
{
	struct engine *eng, *e2;
	struct led l = { { NULL }, { 0 }, 0 };
	char err[VMS_ERRLEN];
	int i;

	CHECK(engine_deploy("c", code, strlen(code), NULL, &who, 5000, &eng,
	    &l.e[0], &l.len[0], err, sizeof(err)) == ENGINE_OK);
	l.n = 1;
	CHECK(call_at(eng, &l, "inc", 9000) == 0);
	engine_free(eng);
	/* restart by applying the recorded entries */
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &e2, err,
	    sizeof(err)) == 0);
	for (i = 0; i < l.n; i++)
		CHECK(engine_apply(e2, (uint8_t *)l.e[i], l.len[i], err,
		    sizeof(err)) == 0);
	CHECK_EQ_INT(engine_last_time(e2), 9000);
	CHECK(call_at(e2, &l, "inc", 100) == 0);
	CHECK_EQ_INT(entry_time(l.e[2], l.len[2]), 9000);
	/* restart from a snapshot: the daemon sets the floor from the
	 * snapshot's last entry */
	engine_set_last_time(e2, 12000);
	CHECK(call_at(e2, &l, "inc", 100) == 0);
	CHECK_EQ_INT(entry_time(l.e[3], l.len[3]), 12000);
	engine_free(e2);
	led_free(&l);
}

static char *
with_time(const char *e, size_t len, long long t, size_t *outlen)
{
	json_t *j = json_loadb(e, len, 0, NULL);
	char *s;

	json_object_set_new(j, "time", json_integer(t));
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	*outlen = strlen(s);
	return s;
}

TEST(replay_refuses_time_going_back)
{
	struct engine *eng, *r;
	struct led l = { { NULL }, { 0 }, 0 };
	char err[VMS_ERRLEN], *bad;
	size_t blen;
	int i;

	CHECK(engine_deploy("c", code, strlen(code), NULL, &who, 5000, &eng,
	    &l.e[0], &l.len[0], err, sizeof(err)) == ENGINE_OK);
	l.n = 1;
	CHECK(call_at(eng, &l, "inc", 6000) == 0);
	CHECK(call_at(eng, &l, "inc", 7000) == 0);
	CHECK(call_at(eng, &l, "inc", 7000) == 0);	/* equal is fine */
	engine_free(eng);

	/* honest: replays */
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &r, err,
	    sizeof(err)) == 0);
	for (i = 0; i < l.n; i++)
		CHECK_MSG(engine_replay(r, (uint8_t *)l.e[i], l.len[i], err,
		    sizeof(err)) == 0, "entry %d: %s", i, err);
	engine_free(r);

	/* entry 2 re-recorded at time 0 (inc does not read the clock: the
	 * rest of the entry replays byte for byte) */
	bad = with_time(l.e[2], l.len[2], 0, &blen);
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &r, err,
	    sizeof(err)) == 0);
	CHECK(engine_replay(r, (uint8_t *)l.e[0], l.len[0], err,
	    sizeof(err)) == 0);
	CHECK(engine_replay(r, (uint8_t *)l.e[1], l.len[1], err,
	    sizeof(err)) == 0);
	CHECK(engine_replay(r, (uint8_t *)bad, blen, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "entry 2: time 0 (1970-01-01T00:00:00.000Z) is "
	    "earlier than entry 1's 6000 (1970-01-01T00:00:06.000Z): entry "
	    "times never decrease");
	free(bad);
	engine_free(r);

	/* entry 2 in year 5138: entry 3 is the one that goes back */
	bad = with_time(l.e[2], l.len[2], 100000000000000LL, &blen);
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &r, err,
	    sizeof(err)) == 0);
	CHECK(engine_replay(r, (uint8_t *)l.e[0], l.len[0], err,
	    sizeof(err)) == 0);
	CHECK(engine_replay(r, (uint8_t *)l.e[1], l.len[1], err,
	    sizeof(err)) == 0);
	CHECK_MSG(engine_replay(r, (uint8_t *)bad, blen, err,
	    sizeof(err)) == 0, "%s", err);
	CHECK(engine_replay(r, (uint8_t *)l.e[3], l.len[3], err,
	    sizeof(err)) != 0);
	CHECK_CONTAINS(err, "entry 3: time 7000 (1970-01-01T00:00:07.000Z) is "
	    "earlier than entry 2's 100000000000000 (5138-11-16T09:46:40.000Z)");
	free(bad);
	engine_free(r);
	led_free(&l);
}

int
main(void)
{
	RUN(clock_stepped_back_records_previous_time);
	RUN(floor_survives_apply_and_snapshot);
	RUN(replay_refuses_time_going_back);
	return test_summary();
}
