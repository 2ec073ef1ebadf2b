/*
 * bench-sandbox.c — the contract engine without daemon or ledger: calls/s
 * and CPU per call of a trivial method and of the guest-list RSVP through
 * engine_call, replay entries/s of a 100k-entry guest-list ledger held in
 * memory (engine_replay), each with warm calls (the default) and cold
 * (engine_set_warm(e, 0): a state built per call) in the same run, and
 * heap per idle contract.
 *
 *   make build/bench/bench-sandbox && build/bench/bench-sandbox
 *   build/bench/bench-sandbox --profile N   N RSVPs, nothing printed
 *                                           (bench/profile.sh)
 */
#include <malloc.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "benchlib.h"
#include "util.h"

#define REPLAY_N	100000

static struct engine *
deploy(const char *code, char **entry, size_t *len)
{
	struct vms_caller c = { "unix:host", "peercred" };
	struct engine *e;
	char err[VMS_ERRLEN], *ent;
	size_t l;

	if (engine_deploy("bench", code, strlen(code), NULL, &c, 1, &e, &ent,
	    &l, err, sizeof(err)) != ENGINE_OK) {
		fprintf(stderr, "bench-sandbox: deploy: %s\n", err);
		exit(1);
	}
	if (entry != NULL) {
		*entry = ent;
		*len = l;
	} else
		free(ent);
	return e;
}

/*
 * engine_call, in a function of its own in any build: bench/profile.sh
 * counts what runs inside it (callgrind --toggle-collect='profiled_call*',
 * since link-time optimisation may rename it profiled_call.lto_priv.0).
 * engine_call itself has no symbol to toggle on there: it is inlined
 * into its callers.
 */
static __attribute__((noinline, noclone)) enum engine_status
profiled_call(struct engine *e, const char *method, json_t *args,
    const struct vms_caller *c, char **ent, size_t *len,
    struct engine_result *res, char *err, size_t errlen)
{
	return engine_call(e, method, args, c, 1000, ent, len, res, err,
	    errlen);
}

static int
call(struct engine *e, const char *method, json_t *args, const char *who,
    char **entry, size_t *len)
{
	struct vms_caller c = { who, "peercred" };
	struct engine_result res;
	char err[VMS_ERRLEN], *ent;
	size_t l;

	if (profiled_call(e, method, args, &c, &ent, &l, &res, err,
	    sizeof(err)) != ENGINE_OK || !res.ok) {
		fprintf(stderr, "bench-sandbox: call: %s\n", res.error ?
		    res.error : err);
		exit(1);
	}
	engine_result_clear(&res);
	if (entry != NULL) {
		*entry = ent;
		*len = l;
	} else
		free(ent);
	return 0;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls of one method for about a second; prints calls/s and CPU/call. */
static void
calls(const char *what, const char *code, const char *method, json_t *args,
    int warm, int ncallers)
{
	struct engine *e = deploy(code, NULL, NULL);
	char who[32];
	uint64_t t0, t;
	double c0, c;
	size_t n;

	engine_set_warm(e, warm);
	t0 = mono_usec();
	c0 = cpu_now();
	for (n = 0; mono_usec() - t0 < 1000000; n++) {
		snprintf(who, sizeof(who), "unix:u%zu", n % (size_t)ncallers);
		call(e, method, args, who, NULL, NULL);
	}
	t = mono_usec() - t0;
	c = cpu_now() - c0;
	printf("%-15s %s: %7.0f calls/s  (%5.1f us/call, CPU %5.1f us/call)\n",
	    what, warm ? "warm" : "cold", n * 1e6 / t, (double)t / n,
	    c * 1e6 / n);
	engine_free(e);
}

static void
replay(char **ents, size_t *lens, int warm, const char *what)
{
	char err[VMS_ERRLEN];
	struct engine *r;
	uint64_t t0, t;
	double c0, c;
	size_t i;

	if (engine_open((uint8_t *)ents[0], lens[0], &r, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "bench-sandbox: open: %s\n", err);
		exit(1);
	}
	engine_set_warm(r, warm);
	t0 = mono_usec();
	c0 = cpu_now();
	for (i = 0; i <= REPLAY_N; i++)
		if (engine_replay(r, (uint8_t *)ents[i], lens[i], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "bench-sandbox: replay %zu: %s\n", i,
			    err);
			exit(1);
		}
	t = mono_usec() - t0;
	c = cpu_now() - c0;
	printf("%-15s %s: %7.0f entries/s over %d entries (%.1f s; CPU %.1f "
	    "us/entry)\n", what, warm ? "warm" : "cold",
	    (REPLAY_N + 1) * 1e6 / t, REPLAY_N + 1, t / 1e6,
	    c * 1e6 / (REPLAY_N + 1));
	engine_free(r);
}

/* bench/profile.sh: n RSVPs of 5000 callers (callgrind counts them). */
static int
profile(int n)
{
	char *guest = bench_load_example("guestlist.lua"), who[32];
	struct engine *e = deploy(guest, NULL, NULL);
	json_t *args = json_pack("[s, b, s]", "Guest Name", 1, "see you there");
	int i;

	for (i = 0; i < n; i++) {
		snprintf(who, sizeof(who), "unix:u%d", i % 5000);
		call(e, "RSVP", args, who, NULL, NULL);
	}
	json_decref(args);
	engine_free(e);
	free(guest);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char trivial[] =
	    "return { noop = function() return 1 end }";
	char *guest, who[32], err[VMS_ERRLEN];
	struct engine *e, *r, *idle[100];
	struct engine_warm st;
	json_t *args, *none;
	uint64_t t0, t;
	char **ents;
	size_t *lens, i;
	struct mallinfo2 m0, m1;

	if (argc == 3 && strcmp(argv[1], "--profile") == 0)
		return profile(atoi(argv[2]));
	guest = bench_load_example("guestlist.lua");
	printf("reproduce: make build/bench/bench-sandbox && "
	    "build/bench/bench-sandbox\n");

	none = json_array();
	args = json_pack("[s, b, s]", "Guest Name", 1, "see you there");
	calls("trivial method", trivial, "noop", none, 1, 100);
	calls("trivial method", trivial, "noop", none, 0, 100);
	calls("guestlist RSVP", guest, "RSVP", args, 1, 5000);
	calls("guestlist RSVP", guest, "RSVP", args, 0, 5000);

	/* replay of a 100k-entry ledger */
	ents = xcalloc(REPLAY_N + 1, sizeof(*ents));
	lens = xcalloc(REPLAY_N + 1, sizeof(*lens));
	e = deploy(guest, &ents[0], &lens[0]);
	for (i = 1; i <= REPLAY_N; i++) {
		snprintf(who, sizeof(who), "unix:u%zu", i % 20000);
		call(e, "RSVP", args, who, &ents[i], &lens[i]);
	}
	replay(ents, lens, 1, "replay");
	replay(ents, lens, 0, "replay");
	t0 = mono_usec();
	engine_free(e);
	if (engine_open((uint8_t *)ents[0], lens[0], &r, err,
	    sizeof(err)) == -1)
		return 1;
	for (i = 0; i <= REPLAY_N; i++)
		if (engine_apply(r, (uint8_t *)ents[i], lens[i], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "bench-sandbox: apply %zu: %s\n", i,
			    err);
			return 1;
		}
	t = mono_usec() - t0;
	printf("apply (engine_apply):  %8.0f entries/s (restart without Lua)\n",
	    (REPLAY_N + 1) * 1e6 / t);
	engine_free(r);
	for (i = 0; i <= REPLAY_N; i++)
		free(ents[i]);
	free(ents);
	free(lens);

	/* idle contracts: engines with no call running */
	m0 = mallinfo2();
	for (i = 0; i < 100; i++)
		idle[i] = deploy(guest, NULL, NULL);
	m1 = mallinfo2();
	printf("idle guestlist contract: %6.1f KiB heap each (engine, "
	    "bytecode, state; deployed, no call yet)\n",
	    (double)(m1.uordblks - m0.uordblks) / 100 / 1024);
	m0 = mallinfo2();
	for (i = 0; i < 100; i++)
		call(idle[i], "RSVP", args, "unix:someone", NULL, NULL);
	m1 = mallinfo2();
	engine_warm_stats(idle[0], &st);
	printf("  after one call:        +%5.1f KiB each (the warm template of "
	    "the caller's shape: %zu bytes)\n",
	    (double)(m1.uordblks - m0.uordblks) / 100 / 1024, st.bytes);
	for (i = 0; i < 100; i++)
		engine_free(idle[i]);
	json_decref(args);
	json_decref(none);
	free(guest);
	return 0;
}
