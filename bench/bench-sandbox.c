/*
 * bench-sandbox.c — the contract engine without daemon or ledger: calls/s
 * of a trivial method (a fresh Lua state per call) and of the guest-list
 * RSVP through engine_call, replay entries/s of a 100k-entry guest-list
 * ledger held in memory (engine_replay), and heap per idle contract.
 *
 *   make build/bench/bench-sandbox && build/bench/bench-sandbox
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

#define REPLAY_N	100000

static char *
load(const char *name)
{
	char path[256], err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "examples/%s", name);
	if (read_file(path, 1 << 20, &buf, &len, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench-sandbox: %s (run from the repo root)\n",
		    err);
		exit(1);
	}
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	return (char *)buf;
}

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

static int
call(struct engine *e, const char *method, json_t *args, const char *who,
    char **entry, size_t *len)
{
	struct vms_caller c = { who, "peercred" };
	struct engine_result res;
	char err[VMS_ERRLEN], *ent;
	size_t l;

	if (engine_call(e, method, args, &c, 1000, &ent, &l, &res, err,
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

int
main(void)
{
	char *guest = load("guestlist.lua"), who[32], err[VMS_ERRLEN];
	struct engine *e, *r, *idle[100];
	json_t *args;
	uint64_t t0, t;
	char **ents;
	size_t *lens, i, n;
	struct mallinfo2 m0, m1;

	printf("reproduce: make build/bench/bench-sandbox && "
	    "build/bench/bench-sandbox\n");

	/* trivial method */
	e = deploy("return { noop = function() return 1 end }", NULL, NULL);
	args = json_array();
	t0 = mono_usec();
	for (n = 0; mono_usec() - t0 < 1000000; n++)
		call(e, "noop", args, "unix:a", NULL, NULL);
	t = mono_usec() - t0;
	printf("trivial method:        %8.0f calls/s  (%.1f us/call, fresh "
	    "Lua state each)\n", n * 1e6 / t, (double)t / n);
	json_decref(args);
	engine_free(e);

	/* guestlist RSVP */
	e = deploy(guest, NULL, NULL);
	args = json_pack("[s, b, s]", "Guest Name", 1, "see you there");
	t0 = mono_usec();
	for (n = 0; mono_usec() - t0 < 1000000; n++) {
		snprintf(who, sizeof(who), "unix:u%zu", n % 5000);
		call(e, "RSVP", args, who, NULL, NULL);
	}
	t = mono_usec() - t0;
	printf("guestlist RSVP:        %8.0f calls/s  (%.1f us/call)\n",
	    n * 1e6 / t, (double)t / n);
	engine_free(e);

	/* replay of a 100k-entry ledger */
	ents = xcalloc(REPLAY_N + 1, sizeof(*ents));
	lens = xcalloc(REPLAY_N + 1, sizeof(*lens));
	e = deploy(guest, &ents[0], &lens[0]);
	for (i = 1; i <= REPLAY_N; i++) {
		snprintf(who, sizeof(who), "unix:u%zu", i % 20000);
		call(e, "RSVP", args, who, &ents[i], &lens[i]);
	}
	if (engine_open((uint8_t *)ents[0], lens[0], &r, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "bench-sandbox: open: %s\n", err);
		return 1;
	}
	t0 = mono_usec();
	for (i = 0; i <= REPLAY_N; i++)
		if (engine_replay(r, (uint8_t *)ents[i], lens[i], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "bench-sandbox: replay %zu: %s\n", i,
			    err);
			return 1;
		}
	t = mono_usec() - t0;
	printf("replay (engine_replay): %7.0f entries/s over %d entries "
	    "(%.1f s)\n", (REPLAY_N + 1) * 1e6 / t, REPLAY_N + 1, t / 1e6);
	t0 = mono_usec();
	engine_free(r);
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
	engine_free(e);
	for (i = 0; i <= REPLAY_N; i++)
		free(ents[i]);
	free(ents);
	free(lens);
	json_decref(args);

	/* idle contracts: engines with no call running */
	m0 = mallinfo2();
	for (i = 0; i < 100; i++)
		idle[i] = deploy(guest, NULL, NULL);
	m1 = mallinfo2();
	printf("idle guestlist contract: %6.1f KiB heap each (engine, "
	    "bytecode, state; no Lua state is kept between calls)\n",
	    (double)(m1.uordblks - m0.uordblks) / 100 / 1024);
	for (i = 0; i < 100; i++)
		engine_free(idle[i]);
	free(guest);
	return 0;
}
