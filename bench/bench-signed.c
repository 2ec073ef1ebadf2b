/*
 * bench-signed.c — what signed calls cost (libvms/callsig.c and the
 * engine's checks), without daemon or ledger: µs to sign and to verify one
 * guest-list RSVP, the guest-list RSVP through engine_call (peer
 * credentials) against engine_call_signed (origin, nonce, signature
 * checked, the signed request recorded), the replay of 20,000 entries of
 * each kind (what an audit pays), and the entry's bytes. Times are the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other work on a
 * shared machine does not count; a busy machine still slows them (caches).
 *
 *   make build/bench/bench-signed && build/bench/bench-signed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "engine.h"
#include "benchlib.h"
#include "util.h"

#define ORIGIN		"bench.example/vmsd/bench"
#define KEYS		500
#define REPLAY_N	20000

static struct engine *
deploy(const char *code, char **entry, size_t *len)
{
	struct vms_caller c = { "unix:host", "peercred" };
	struct engine *e;
	char err[VMS_ERRLEN];

	if (engine_deploy("bench", code, strlen(code), NULL, &c, 1, &e, entry,
	    len, err, sizeof(err)) != ENGINE_OK) {
		fprintf(stderr, "bench-signed: deploy: %s\n", err);
		exit(1);
	}
	engine_set_origin(e, ORIGIN);
	return e;
}

static uint8_t sk[KEYS][64];

/* CPU time of this thread, µs */
static uint64_t
cpu_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One call, signed by key k (nonce n) or by peer credentials (k < 0). */
static void
call(struct engine *e, int k, uint64_t n, const json_t *args, char **entry,
    size_t *len)
{
	struct vms_caller c;
	struct engine_result res;
	struct callsig cs;
	enum engine_status st;
	char err[VMS_ERRLEN], who[32], *ent;
	size_t l;

	if (k >= 0) {
		if (callsig_sign(&cs, sk[k], n, ORIGIN, "RSVP", args, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench-signed: sign: %s\n", err);
			exit(1);
		}
		st = engine_call_signed(e, "RSVP", args, &cs, 1000, &ent, &l,
		    &res, err, sizeof(err));
	} else {
		snprintf(who, sizeof(who), "unix:u%d", -k);
		c.id = who;
		c.auth = "peercred";
		st = engine_call(e, "RSVP", args, &c, 1000, &ent, &l, &res,
		    err, sizeof(err));
	}
	if (st != ENGINE_OK || !res.ok) {
		fprintf(stderr, "bench-signed: call: %s\n", res.error ?
		    res.error : err);
		exit(1);
	}
	engine_result_clear(&res);
	if (entry != NULL) {
		*entry = ent;
		*len = l;
	} else
		free(ent);
}

static double
replay(const char *e0, size_t l0, char **ents, size_t *lens, size_t n)
{
	struct engine *r;
	char err[VMS_ERRLEN];
	uint64_t t0 = cpu_usec();
	size_t i;

	if (engine_open((const uint8_t *)e0, l0, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-signed: open: %s\n", err);
		exit(1);
	}
	engine_set_origin(r, ORIGIN);
	if (engine_replay(r, (const uint8_t *)e0, l0, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-signed: replay of the deploy: %s\n", err);
		exit(1);
	}
	for (i = 0; i < n; i++)
		if (engine_replay(r, (const uint8_t *)ents[i], lens[i], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench-signed: replay %zu: %s\n", i,
			    err);
			exit(1);
		}
	engine_free(r);
	return (double)(cpu_usec() - t0);
}

int
main(void)
{
	char *guest = bench_load_example("guestlist.lua"), err[VMS_ERRLEN], *canon;
	struct engine *e;
	struct callsig cs;
	json_t *args;
	uint64_t t0, t, n, i;
	double tu, ts;
	char **ents[2], *e0[2];
	size_t *lens[2], l0[2], alen, bytes[2];
	int k, s;

	if (sodium_init() < 0)
		return 1;
	for (k = 0; k < KEYS; k++) {
		uint8_t pk[32];

		crypto_sign_keypair(pk, sk[k]);
	}
	printf("reproduce: make build/bench/bench-signed && "
	    "build/bench/bench-signed\n");
	args = json_pack("[s, b, s]", "Guest Name", 1, "see you there");
	canon = json_canonical(args, &alen);

	/* sign and verify alone */
	t0 = cpu_usec();
	for (n = 0; cpu_usec() - t0 < 1000000; n++)
		callsig_sign(&cs, sk[n % KEYS], n + 1, ORIGIN, "RSVP", args,
		    err, sizeof(err));
	t = cpu_usec() - t0;
	printf("sign (callsig_sign, canonical args + Ed25519):  %6.1f us\n",
	    (double)t / n);
	t0 = cpu_usec();
	for (n = 0; cpu_usec() - t0 < 1000000; n++)
		if (callsig_verify(&cs, "RSVP", canon, alen, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench-signed: verify: %s\n", err);
			return 1;
		}
	t = cpu_usec() - t0;
	printf("verify (callsig_verify, Ed25519):               %6.1f us\n",
	    (double)t / n);

	/* the engine: the same RSVP unsigned, then signed (signing not
	 * counted: it is the client's) */
	for (s = 0; s < 2; s++) {
		struct callsig pre[2000];
		uint64_t total = 0;

		e = deploy(guest, &e0[s], &l0[s]);
		for (n = 0; total < 1000000; n += 2000) {
			for (i = 0; s == 1 && i < 2000; i++)
				callsig_sign(&pre[i], sk[(n + i) % KEYS],
				    n + i + 1, ORIGIN, "RSVP", args, err,
				    sizeof(err));
			t0 = cpu_usec();
			for (i = 0; i < 2000; i++) {
				struct engine_result res;
				struct vms_caller c;
				char who[32], *ent;
				size_t l;
				enum engine_status st;

				if (s == 1)
					st = engine_call_signed(e, "RSVP", args,
					    &pre[i], 1000, &ent, &l, &res, err,
					    sizeof(err));
				else {
					snprintf(who, sizeof(who), "unix:u%d",
					    (int)((n + i) % KEYS));
					c.id = who;
					c.auth = "peercred";
					st = engine_call(e, "RSVP", args, &c,
					    1000, &ent, &l, &res, err,
					    sizeof(err));
				}
				if (st != ENGINE_OK) {
					fprintf(stderr, "bench-signed: %s\n",
					    err);
					return 1;
				}
				engine_result_clear(&res);
				bytes[s] = l;
				free(ent);
			}
			total += cpu_usec() - t0;
		}
		printf("guestlist RSVP, engine_call%s %6.1f us/call  (entry "
		    "%zu bytes)\n", s ? "_signed:" : ":       ",
		    (double)total / n, bytes[s]);
		engine_free(e);
	}

	/* replay (the audit's cost) */
	for (s = 0; s < 2; s++) {
		free(e0[s]);
		e = deploy(guest, &e0[s], &l0[s]);
		ents[s] = xcalloc(REPLAY_N, sizeof(char *));
		lens[s] = xcalloc(REPLAY_N, sizeof(size_t));
		for (i = 0; i < REPLAY_N; i++)
			call(e, s ? (int)(i % KEYS) : -(int)(i % KEYS) - 1,
			    i / KEYS + 1, args, &ents[s][i], &lens[s][i]);
		engine_free(e);
	}
	tu = replay(e0[0], l0[0], ents[0], lens[0], REPLAY_N);
	ts = replay(e0[1], l0[1], ents[1], lens[1], REPLAY_N);
	printf("replay of %d RSVPs: unsigned %.0f entries/s (%.1f us), signed "
	    "%.0f entries/s (%.1f us)\n", REPLAY_N, REPLAY_N * 1e6 / tu,
	    tu / REPLAY_N, REPLAY_N * 1e6 / ts, ts / REPLAY_N);
	for (s = 0; s < 2; s++) {
		for (i = 0; i < REPLAY_N; i++)
			free(ents[s][i]);
		free(ents[s]);
		free(lens[s]);
		free(e0[s]);
	}
	free(canon);
	json_decref(args);
	free(guest);
	return 0;
}
