/*
 * test-nonce.c — signed calls in the engine (lua-sandbox/engine*.c): the
 * origin, nonce order and signature checks of engine_call_signed, the
 * last nonce per key across a snapshot (and an old VMSSNAP1 one), a
 * rebuild by engine_apply, and the same checks on replay (the audit),
 * where a forged, replayed or re-targeted entry fails, naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "engine.h"
#include "sbtest.h"
#include "test.h"
#include "util.h"

#define ORIGIN	"test.example/vmsd/test"

/* An in-memory ledger. */
struct lg {
	char	*e[64];
	size_t	 len[64];
	size_t	 n;
};

static void
lg_add(struct lg *l, char *entry, size_t len)
{
	l->e[l->n] = entry;
	l->len[l->n++] = len;
}

static void
lg_free(struct lg *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->e[i]);
	l->n = 0;
}

static void
key_of(uint8_t sk[64], int n)
{
	uint8_t seed[32], pk[32];

	memset(seed, n, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
}

static void
id_of(const uint8_t sk[64], char id[CALLSIG_ID_LEN + 1])
{
	callsig_caller_id(sk + 32, id);
}

/* Sign (method, args) with sk for origin and call; the entry goes to l. */
static enum engine_status
scall(struct engine *e, struct lg *l, const uint8_t sk[64], uint64_t nonce,
    const char *origin, const char *method, const char *args,
    struct callsig *keep, char *err, size_t errlen)
{
	struct engine_result res;
	struct callsig cs;
	json_t *a = json_loads(args, 0, NULL);
	enum engine_status st;
	char *entry = NULL;
	size_t len;

	if (callsig_sign(&cs, sk, nonce, origin, method, a, err,
	    errlen) != 0) {
		json_decref(a);
		return ENGINE_ERROR;
	}
	if (keep != NULL)
		*keep = cs;
	st = engine_call_signed(e, method, a, &cs, 5000 + engine_next_index(e),
	    &entry, &len, &res, err, errlen);
	engine_result_clear(&res);
	json_decref(a);
	if (st == ENGINE_OK && l != NULL)
		lg_add(l, entry, len);
	else
		free(entry);
	return st;
}

static struct engine *
deploy(struct lg *l)
{
	char *code = sbt_example("guestlist.lua"), *entry;
	size_t len;
	struct engine *e;

	if (code == NULL)
		return NULL;
	e = sbt_deploy_lim(code, NULL, "unix:root", &entry, &len);
	free(code);
	if (e != NULL) {
		lg_add(l, entry, len);
		engine_set_origin(e, ORIGIN);
	}
	return e;
}

TEST(nonce_order_per_key)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l);
	uint8_t a[64], b[64], *data;
	char err[VMS_ERRLEN], id[CALLSIG_ID_LEN + 1], path[128];
	const char *rsvp = "[\"Ann\",true,\"yes\"]";
	json_t *j;
	size_t len;

	if (e == NULL) { CHECK(0); return; }
	key_of(a, 1);
	key_of(b, 2);
	CHECK_EQ_INT(scall(e, &l, a, 10, ORIGIN, "RSVP", rsvp, NULL, err,
	    sizeof(err)), ENGINE_OK);
	CHECK_EQ_INT(engine_last_nonce(e, a + 32), 10);
	/* the same nonce, and a lower one, are refused and change nothing */
	CHECK_EQ_INT(scall(e, &l, a, 10, ORIGIN, "RSVP", rsvp, NULL, err,
	    sizeof(err)), ENGINE_STALE_NONCE);
	CHECK_CONTAINS(err, "nonce 10 is not greater than 10");
	CHECK_EQ_INT(scall(e, &l, a, 9, ORIGIN, "RSVP", rsvp, NULL, err,
	    sizeof(err)), ENGINE_STALE_NONCE);
	CHECK_EQ_INT(engine_next_index(e), 2);
	CHECK_EQ_INT(engine_last_nonce(e, a + 32), 10);
	/* another key has its own sequence */
	CHECK_EQ_INT(scall(e, &l, b, 1, ORIGIN, "RSVP", "[\"Bo\",false]", NULL,
	    err, sizeof(err)), ENGINE_OK);
	CHECK_EQ_INT(scall(e, &l, a, 11, ORIGIN, "RSVP", rsvp, NULL, err,
	    sizeof(err)), ENGINE_OK);
	CHECK_EQ_INT(engine_last_nonce(e, a + 32), 11);
	CHECK_EQ_INT(engine_last_nonce(e, b + 32), 1);
	CHECK_EQ_INT(l.n, 4);

	/* the entry: the key's id, auth ed25519, the signed request */
	id_of(a, id);
	j = json_loadb(l.e[1], l.len[1], 0, NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "caller")), id);
	CHECK_EQ_STR(json_string_value(json_object_get(j, "auth")), "ed25519");
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(j,
	    "signed"), "nonce")), 10);
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j,
	    "signed"), "origin")), ORIGIN);
	json_decref(j);
	/* the guest list wrote the file named by the caller id */
	snprintf(path, sizeof(path), "/rsvps/%s.json", id);
	CHECK_MSG(engine_read(e, path, &data, &len, err, sizeof(err)) == 0,
	    "%s", err);
	free(data);
	engine_free(e);
	lg_free(&l);
}

TEST(origin_and_signature_refused)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l);
	uint8_t a[64];
	struct engine_result res;
	struct callsig cs;
	json_t *args;
	char err[VMS_ERRLEN], *entry = NULL;
	size_t len;

	if (e == NULL) { CHECK(0); return; }
	key_of(a, 1);
	CHECK_EQ_INT(scall(e, &l, a, 5, "test.example/vmsd/other", "RSVP",
	    "[\"x\",true]", NULL, err, sizeof(err)), ENGINE_WRONG_ORIGIN);
	CHECK_CONTAINS(err, "signed for origin \"test.example/vmsd/other\"");
	/* signed ["x",true], called with ["y",true] */
	args = json_loads("[\"x\",true]", 0, NULL);
	CHECK(callsig_sign(&cs, a, 6, ORIGIN, "RSVP", args, err,
	    sizeof(err)) == 0);
	json_decref(args);
	args = json_loads("[\"y\",true]", 0, NULL);
	CHECK_EQ_INT(engine_call_signed(e, "RSVP", args, &cs, 1, &entry, &len,
	    &res, err, sizeof(err)), ENGINE_BAD_SIGNATURE);
	CHECK_CONTAINS(err, "bad signature");
	CHECK(entry == NULL);
	/* a flipped signature bit */
	cs.sig[10] ^= 4;
	json_decref(args);
	args = json_loads("[\"x\",true]", 0, NULL);
	CHECK_EQ_INT(engine_call_signed(e, "RSVP", args, &cs, 1, &entry, &len,
	    &res, err, sizeof(err)), ENGINE_BAD_SIGNATURE);
	/* a private method is refused as such, signed or not */
	CHECK_EQ_INT(scall(e, &l, a, 7, ORIGIN, "init", "[]", NULL, err,
	    sizeof(err)), ENGINE_REFUSED);
	CHECK_EQ_INT(engine_next_index(e), 1);
	CHECK_EQ_INT(engine_last_nonce(e, a + 32), 0);
	/* no origin set: every signed call is refused */
	engine_set_origin(e, NULL);
	CHECK_EQ_INT(scall(e, &l, a, 8, ORIGIN, "RSVP", "[\"x\",true]", NULL,
	    err, sizeof(err)), ENGINE_WRONG_ORIGIN);
	json_decref(args);
	engine_free(e);
	lg_free(&l);
}

/* Calls by three keys; returns the engine, entries in l. */
static struct engine *
history(struct lg *l, uint8_t k[3][64])
{
	struct engine *e = deploy(l);
	char err[VMS_ERRLEN], args[64];
	int i;

	if (e == NULL)
		return NULL;
	for (i = 0; i < 3; i++)
		key_of(k[i], 10 + i);
	for (i = 0; i < 9; i++) {
		snprintf(args, sizeof(args), "[\"guest %d\",%s]", i,
		    i % 2 ? "true" : "false");
		if (scall(e, l, k[i % 3], 100 * (uint64_t)(i + 1), ORIGIN,
		    "RSVP", args, NULL, err, sizeof(err)) != ENGINE_OK) {
			printf("     call %d: %s\n", i, err);
			engine_free(e);
			return NULL;
		}
	}
	{	/* and one unsigned call in between */
		char *r = sbt_call_as(e, "unix:carol", "RSVP", "[\"c\",true]",
		    &l->e[l->n], &l->len[l->n]);

		l->n++;
		free(r);
	}
	return e;
}

static void
same_nonces(struct engine *x, struct engine *y, uint8_t k[3][64])
{
	int i;

	for (i = 0; i < 3; i++)
		CHECK_EQ_INT(engine_last_nonce(x, k[i] + 32),
		    engine_last_nonce(y, k[i] + 32));
	CHECK_EQ_INT(engine_last_nonce(y, k[2] + 32), 900);
}

TEST(snapshot_and_apply_keep_nonces)
{
	struct lg l = { .n = 0 };
	uint8_t k[3][64];
	struct engine *e = history(&l, k), *a;
	char err[VMS_ERRLEN], path[] = "/tmp/vms-nonce-XXXXXX";
	uint8_t *buf;
	size_t i, len;
	int fd;

	if (e == NULL) { CHECK(0); return; }
	fd = mkstemp(path);
	CHECK(fd != -1);
	close(fd);
	CHECK_MSG(engine_snapshot_save(e, path, err, sizeof(err)) == 0, "%s",
	    err);

	/* restart from the snapshot */
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
	    sizeof(err)) == 0);
	engine_set_origin(a, ORIGIN);
	CHECK_MSG(engine_snapshot_load(a, path, err, sizeof(err)) == 0, "%s",
	    err);
	same_nonces(e, a, k);
	/* the last accepted request of key 2, again: refused */
	CHECK_EQ_INT(scall(a, NULL, k[2], 900, ORIGIN, "RSVP",
	    "[\"guest 8\",false]", NULL, err, sizeof(err)), ENGINE_STALE_NONCE);
	/* and both engines continue to the same byte */
	{
		struct lg l1 = { .n = 0 }, l2 = { .n = 0 };

		CHECK_EQ_INT(scall(e, &l1, k[0], 1000, ORIGIN, "RSVP",
		    "[\"again\",true]", NULL, err, sizeof(err)), ENGINE_OK);
		CHECK_EQ_INT(scall(a, &l2, k[0], 1000, ORIGIN, "RSVP",
		    "[\"again\",true]", NULL, err, sizeof(err)), ENGINE_OK);
		CHECK(l1.n == 1 && l2.n == 1 && l1.len[0] == l2.len[0] &&
		    memcmp(l1.e[0], l2.e[0], l1.len[0]) == 0);
		lg_free(&l1);
		lg_free(&l2);
	}
	engine_free(a);

	/* rebuild from the ledger alone (no snapshot) */
	CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
	    sizeof(err)) == 0);
	engine_set_origin(a, ORIGIN);
	for (i = 0; i < l.n; i++)
		CHECK_MSG(engine_apply(a, (uint8_t *)l.e[i], l.len[i], err,
		    sizeof(err)) == 0, "apply %zu: %s", i, err);
	CHECK_EQ_INT(engine_last_nonce(a, k[0] + 32), 700);
	CHECK_EQ_INT(engine_last_nonce(a, k[1] + 32), 800);
	CHECK_EQ_INT(engine_last_nonce(a, k[2] + 32), 900);
	CHECK_EQ_INT(scall(a, NULL, k[1], 800, ORIGIN, "RSVP", "[\"z\",true]",
	    NULL, err, sizeof(err)), ENGINE_STALE_NONCE);
	engine_free(a);

	/* an old VMSSNAP1 snapshot: no key section, loads with no nonces */
	{
		struct engine *z;
		struct lg l0 = { .n = 0 };
		uint8_t *v1;
		size_t v1len;

		z = deploy(&l0);
		CHECK(z != NULL);
		if (z != NULL) {
			CHECK(engine_snapshot_save(z, path, err,
			    sizeof(err)) == 0);
			CHECK(read_file(path, 1 << 20, &buf, &len, err,
			    sizeof(err)) == 0);
			/* v3 ends with nkeys = 0 and nchildren = 0 (8 bytes
			 * each) and the sha256; v2 has no nchildren, v1 no
			 * nkeys either */
			engine_free(z);
			for (int ver = 1; ver <= 2; ver++) {
				size_t cut = ver == 1 ? 16 : 8;

				v1len = len - cut;
				v1 = xmalloc(v1len);
				memcpy(v1, buf, len - 32 - cut);
				memcpy(v1, ver == 1 ? "VMSSNAP1" : "VMSSNAP2",
				    8);
				crypto_hash_sha256(v1 + v1len - 32, v1,
				    v1len - 32);
				CHECK(write_file_atomic(path, v1, v1len, 0600,
				    err, sizeof(err)) == 0);
				CHECK(engine_open((uint8_t *)l0.e[0], l0.len[0],
				    &z, err, sizeof(err)) == 0);
				CHECK_MSG(engine_snapshot_load(z, path, err,
				    sizeof(err)) == 0, "v%d: %s", ver, err);
				CHECK_EQ_INT(engine_next_index(z), 1);
				engine_free(z);
				free(v1);
			}
			free(buf);
		}
		lg_free(&l0);
	}

	/* keys out of order in a (re-checksummed) snapshot: corrupt */
	CHECK(engine_snapshot_save(e, path, err, sizeof(err)) == 0);
	CHECK(read_file(path, 1 << 20, &buf, &len, err, sizeof(err)) == 0);
	{
		uint8_t tmp[40], *ks = buf + len - 32 - 3 * 40;

		/* 3 keys: swap the first two records */
		memcpy(tmp, ks, 40);
		memmove(ks, ks + 40, 40);
		memcpy(ks + 40, tmp, 40);
		crypto_hash_sha256(buf + len - 32, buf, len - 32);
		CHECK(write_file_atomic(path, buf, len, 0600, err,
		    sizeof(err)) == 0);
		CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
		    sizeof(err)) == 0);
		CHECK(engine_snapshot_load(a, path, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "snapshot is corrupt");
		engine_free(a);
	}
	free(buf);
	unlink(path);
	engine_free(e);
	lg_free(&l);
}

/* Replay l from entry 0 under origin; index of the failure or -1. */
static long
replay(const struct lg *l, const char *origin, char *err, size_t errlen)
{
	struct engine *a;
	size_t i;
	long bad = -1;

	if (engine_open((uint8_t *)l->e[0], l->len[0], &a, err, errlen) != 0)
		return 0;
	engine_set_origin(a, origin);
	for (i = 0; i < l->n; i++)
		if (engine_replay(a, (uint8_t *)l->e[i], l->len[i], err,
		    errlen) != 0) {
			bad = (long)i;
			break;
		}
	engine_free(a);
	return bad;
}

/* Entry i with its "signed" member changed by fn, re-encoded. */
static void
edit_signed(struct lg *l, size_t i, const char *key, json_t *v)
{
	json_t *j = json_loadb(l->e[i], l->len[i], 0, NULL);

	json_object_set_new(json_object_get(j, "signed"), key, v);
	free(l->e[i]);
	l->e[i] = json_canonical(j, &l->len[i]);
	json_decref(j);
}

TEST(replay_checks_every_signature)
{
	struct lg l = { .n = 0 };
	uint8_t k[3][64];
	struct engine *e = history(&l, k);
	char err[VMS_ERRLEN], *sig, *saved;
	size_t savedlen;
	json_t *j;

	if (e == NULL) { CHECK(0); return; }
	engine_free(e);
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), -1);
	/* another origin: the first signed entry fails */
	CHECK_EQ_INT(replay(&l, "test.example/vmsd/copy", err, sizeof(err)), 1);
	CHECK_CONTAINS(err, "signed for origin");

	/* an altered signature */
	saved = xstrndup(l.e[4], l.len[4]);
	savedlen = l.len[4];
	j = json_loadb(l.e[4], l.len[4], 0, NULL);
	sig = xstrdup(json_string_value(json_object_get(json_object_get(j,
	    "signed"), "sig")));
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	edit_signed(&l, 4, "sig", json_string(sig));
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), 4);
	CHECK_CONTAINS(err, "entry 4: the engine refuses this request: bad "
	    "signature");
	free(sig);
	json_decref(j);
	free(l.e[4]);
	l.e[4] = saved;
	l.len[4] = savedlen;
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), -1);

	/* the host replays entry 1's request as entry 4 (at a time after
	 * entry 3's: times may not go back) */
	saved = l.e[4];
	savedlen = l.len[4];
	j = json_loadb(l.e[1], l.len[1], 0, NULL);
	json_object_set_new(j, "time", json_integer(999999));
	l.e[4] = json_canonical(j, &l.len[4]);
	json_decref(j);
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), 4);
	CHECK_CONTAINS(err, "not greater than");
	free(l.e[4]);
	l.e[4] = saved;
	l.len[4] = savedlen;

	/* a signed request recorded under another auth, or without one */
	saved = xstrndup(l.e[2], l.len[2]);
	savedlen = l.len[2];
	j = json_loadb(l.e[2], l.len[2], 0, NULL);
	json_object_set_new(j, "auth", json_string("peercred"));
	free(l.e[2]);
	l.e[2] = json_canonical(j, &l.len[2]);
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), 2);
	CHECK_CONTAINS(err, "a signed request needs auth");
	json_object_set_new(j, "auth", json_string("ed25519"));
	json_object_del(j, "signed");
	free(l.e[2]);
	l.e[2] = json_canonical(j, &l.len[2]);
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), 2);
	CHECK_CONTAINS(err, "needs a signed request");
	json_decref(j);
	free(l.e[2]);
	l.e[2] = saved;
	l.len[2] = savedlen;
	/* the nonce raised (signature no longer verifies) */
	edit_signed(&l, 2, "nonce", json_integer(250));
	CHECK_EQ_INT(replay(&l, ORIGIN, err, sizeof(err)), 2);
	CHECK_CONTAINS(err, "bad signature");
	lg_free(&l);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(nonce_order_per_key);
	RUN(origin_and_signature_refused);
	RUN(snapshot_and_apply_keep_nonces);
	RUN(replay_checks_every_signature);
	return test_summary();
}
