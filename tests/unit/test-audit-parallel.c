/*
 * test-audit-parallel.c — check 4 on several threads (audit/audit-parallel.c)
 * gives the report one thread gives: the same verdict, the same failing
 * entry and reason for an entry the host signed but the contract never
 * wrote (early, or in a later thread's segment), the same check 5 verdict
 * on a state.snap that does not match, a time going back at the first
 * entry of a later thread's segment, and a source that hands a thread
 * other bytes than it hashed is an error, not a pass; signed calls, and one
 * the host replays in a later thread's segment, named as one thread names
 * it.
 */
#include <inttypes.h>

#include <sodium.h>

#include "audit.h"
#include "audit_int.h"	/* AUDIT_SKIP_COST */
#include "callsig.h"
#include "engine.h"
#include "ledger.h"
#include "note.h"
#include "test.h"
#include "util.h"

#define N	4500	/* entries: more than 2 threads x PARALLEL_MIN */
#define ORIGIN	"test.example/vmsd/g"

static const char guestlist[] =
    "local M = {}\n"
    "function M.init() System.files.mkdir('/rsvps') end\n"
    "function M.RSVP(name, coming)\n"
    "  System.files.writeFile('/rsvps/' .. System.caller.id .. '.json',\n"
    "    System.json.encode({ name = name, coming = coming }))\n"
    "  if name == 'history' then\n"
    "    return #System.files.history({start = 1, ['end'] = 3}) end\n"
    "end\n"
    "return M\n";

static char base[64];
/* build(): the entry whose recorded time is set back to 50 (0: none) */
static uint64_t time_back;
/* build(): every third call before sign_upto signed, by one of three keys
 * in turn, always with the same arguments; at replay_at (0: none), the
 * host replays the signed call of entry replay_of again */
static uint64_t sign_upto, replay_at, replay_of;
static uint8_t sks[3][64];

/* ent (malloc'd, *len) with its "time" value replaced by 50 */
static char *
set_time_50(char *ent, size_t *len)
{
	char *t = strstr(ent, "\"time\":"), *v, *out;
	size_t n;

	if (t == NULL)
		return ent;
	v = t + 7;
	for (n = 0; v[n] >= '0' && v[n] <= '9'; n++)
		;
	xasprintf(&out, "%.*s50%s", (int)(v - ent), ent, v + n);
	*len = strlen(out);
	free(ent);
	return out;
}

/* The host's ledger in memory, for System.files.history. */
static char *kept[N];
static size_t keptlen[N];

static int
kept_entry(void *arg, uint64_t i, uint8_t **buf, size_t *len)
{
	(void)arg;
	if (i >= N || kept[i] == NULL)
		return -1;
	*buf = xmalloc(keptlen[i]);
	memcpy(*buf, kept[i], keptlen[i]);
	*len = keptlen[i];
	return 0;
}

static void
keep(uint64_t i, const char *e, size_t len)
{
	free(kept[i]);
	kept[i] = xmalloc(len);
	memcpy(kept[i], e, len);
	keptlen[i] = len;
}

/* Entry replay_of again, with this entry's time and the state root (its
 * write changes nothing: the same key, the same arguments). */
static char *
replayed_entry(struct engine *e, uint64_t i, size_t *len)
{
	char *s = xstrndup(kept[replay_of], keptlen[replay_of]), *p, *out;
	uint8_t root[32];
	char hex[65], *q;

	engine_state_root(e, root);
	sodium_bin2hex(hex, sizeof(hex), root, sizeof(root));
	if ((p = strstr(s, "\"state\":\"")) != NULL)
		memcpy(p + 9, hex, 64);
	if ((p = strstr(s, "\"time\":")) == NULL) {
		*len = strlen(s);
		return s;
	}
	for (q = p + 7; *q >= '0' && *q <= '9'; q++)
		;
	xasprintf(&out, "%.*s\"time\":%" PRIu64 "%s", (int)(p - s), s,
	    100 + i, q);
	free(s);
	*len = strlen(out);
	return out;
}

/*
 * A ledger of N entries in base/NAME; the entry at forge (if any) is signed
 * with its result changed. snapdiff: state.snap is written by a second
 * engine whose call snapdiff was made with other arguments.
 */
static int
build(const char *name, uint64_t forge, uint64_t snapdiff, char *dir,
    size_t dlen)
{
	struct vms_caller root = { "unix:root", "peercred" };
	struct vms_caller who = { NULL, "peercred" };
	struct engine_result res;
	struct note_signer *s;
	struct ledger *l;
	struct engine *e, *e2 = NULL;
	char err[VMS_ERRLEN], key[128], snap[160], id[32], *ent, *p;
	uint64_t i, idx;
	size_t len;
	json_t *args;

	snprintf(dir, dlen, "%s/%s", base, name);
	snprintf(key, sizeof(key), "%s/%s.key", base, name);
	snprintf(snap, sizeof(snap), "%s/state.snap", dir);
	if (note_keyfile_create(key, err, sizeof(err)) != 0 ||
	    (s = note_signer_load(key, ORIGIN, err,
	    sizeof(err))) == NULL) {
		FAILF("key: %s", err);
		return -1;
	}
	if (engine_deploy("g", guestlist, strlen(guestlist), NULL, &root, 1,
	    &e, &ent, &len, err, sizeof(err)) != ENGINE_OK ||
	    ledger_create(dir, ORIGIN, s, &l, err,
	    sizeof(err)) != 0 || ledger_append(l, ent, len, &idx, err,
	    sizeof(err)) != 0) {
		FAILF("ledger: %s", err);
		return -1;
	}
	if (snapdiff && engine_open((uint8_t *)ent, len, &e2, err,
	    sizeof(err)) == 0) {
		engine_apply(e2, (uint8_t *)ent, len, err, sizeof(err));
		engine_set_entry_source(e2, kept_entry, NULL);
	}
	engine_set_entry_source(e, kept_entry, NULL);
	engine_set_origin(e, ORIGIN);
	keep(0, ent, len);
	free(ent);
	for (i = 1; i < N; i++) {
		snprintf(id, sizeof(id), "unix:u%" PRIu64, i % 700);
		who.id = id;
		args = json_pack("[s,b]", i % 1000 == 999 ? "history" : "n",
		    (int)(i & 1));
		if (i == replay_at) {
			ent = replayed_entry(e, i, &len);
			if (engine_apply(e, (uint8_t *)ent, len, err,
			    sizeof(err)) != 0) {
				FAILF("replayed call: %s", err);
				return -1;
			}
		} else if (i < sign_upto && i % 3 == 0) {
			struct callsig cs;

			/* key (i / 3) % 3, its nonces rising by 9 */
			json_decref(args);
			args = json_pack("[s,b]", "n", 1);
			if (callsig_sign(&cs, sks[(i / 3) % 3], i, ORIGIN,
			    "RSVP", args, err, sizeof(err)) != 0 ||
			    engine_call_signed(e, "RSVP", args, &cs, 100 + i,
			    &ent, &len, &res, err, sizeof(err)) != ENGINE_OK) {
				FAILF("signed call: %s", err);
				return -1;
			}
		} else if (engine_call(e, "RSVP", args, &who, 100 + i, &ent,
		    &len, &res, err, sizeof(err)) != ENGINE_OK) {
			FAILF("call: %s", err);
			return -1;
		}
		engine_result_clear(&res);
		if (e2 != NULL) {
			char *ent2;
			size_t len2;

			if (i == snapdiff) {
				json_decref(args);
				args = json_pack("[s,b]", "other", 1);
			}
			if (engine_call(e2, "RSVP", args, &who, 100 + i, &ent2,
			    &len2, &res, err, sizeof(err)) == ENGINE_OK) {
				free(ent2);
				engine_result_clear(&res);
			}
		}
		json_decref(args);
		if (i == forge && (p = strstr(ent, "\"result\":null")) != NULL)
			memcpy(p, "\"result\":7777", 13);
		if (time_back != 0 && i == time_back)
			ent = set_time_50(ent, &len);
		if (ledger_append(l, ent, len, &idx, err, sizeof(err)) != 0) {
			FAILF("append: %s", err);
			return -1;
		}
		keep(i, ent, len);
		free(ent);
		if (i % 500 == 0 && ledger_commit(l, err, sizeof(err)) != 0) {
			FAILF("commit: %s", err);
			return -1;
		}
	}
	if (ledger_commit(l, err, sizeof(err)) != 0)
		FAILF("commit: %s", err);
	if (engine_snapshot_save(e2 ? e2 : e, snap, err, sizeof(err)) != 0)
		FAILF("snapshot: %s", err);
	engine_free(e);
	engine_free(e2);
	ledger_close(l);
	note_signer_free(s);
	return 0;
}

static int
audit_dir(const char *dir, int threads, struct audit_report *r)
{
	struct audit_source *src;
	struct audit_opts o;
	char err[VMS_ERRLEN];
	int rc;

	if (audit_dir_source(dir, &src, err, sizeof(err)) != 0) {
		FAILF("source: %s", err);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.threads = threads;
	rc = audit_run(src, &o, r, NULL, err, sizeof(err));
	if (rc < 0)
		snprintf(r->reason, sizeof(r->reason), "ERROR %s", err);
	audit_source_free(src);
	return rc;
}

/* One thread and two agree on everything a report says. */
static void
same_reports(const char *dir, int want_rc)
{
	struct audit_report one, par;
	int rc1, rc2;

	rc1 = audit_dir(dir, 1, &one);
	rc2 = audit_dir(dir, 2, &par);
	CHECK_EQ_INT(rc1, want_rc);
	CHECK_EQ_INT(rc2, want_rc);
	CHECK_EQ_INT(one.ok, par.ok);
	CHECK_EQ_INT(one.size, par.size);
	CHECK_EQ_INT(one.fail_check, par.fail_check);
	CHECK_EQ_INT((long long)one.fail_index, (long long)par.fail_index);
	CHECK_EQ_STR(one.reason, par.reason);
	CHECK_EQ_STR(one.fail_what, par.fail_what);
	CHECK_EQ_INT(one.state_checked, par.state_checked);
	CHECK(memcmp(one.root, par.root, sizeof(one.root)) == 0);
	printf("     %s: %s (one thread %.2f s, two %.2f s)\n",
	    strrchr(dir, '/') + 1, one.ok ? "OK" : one.reason,
	    one.replay_secs, par.replay_secs);
}

/* A failing ledger: one thread and two name entry index, for why. */
static void
fails_at(const char *dir, uint64_t index, const char *why)
{
	struct audit_report one, par;

	same_reports(dir, 1);
	if (audit_dir(dir, 2, &par) == 1 && audit_dir(dir, 1, &one) == 1) {
		CHECK_EQ_INT((long long)par.fail_index, (long long)index);
		CHECK_CONTAINS(par.reason, why);
	}
}

TEST(honest)
{
	char dir[128];

	if (build("honest", 0, 0, dir, sizeof(dir)) == 0)
		same_reports(dir, 0);
}

TEST(forged_late)
{
	char dir[128];

	/* in the second thread's segment */
	if (build("late", N - 300, 0, dir, sizeof(dir)) == 0)
		same_reports(dir, 1);
}

TEST(forged_early)
{
	char dir[128];

	if (build("early", 17, 0, dir, sizeof(dir)) == 0)
		same_reports(dir, 1);
}

TEST(snapshot_differs)
{
	char dir[128];

	/* (a caller whose file no later call rewrites) */
	if (build("snap", 0, N - 50, dir, sizeof(dir)) == 0)
		same_reports(dir, 1);
}

/*
 * Signed calls on both sides of the segments' boundary: the report is one
 * thread's. And a signed call the host replays in the second thread's
 * segment, by a key that signed nothing else there: that thread knows the
 * key's last nonce only because skipping to its segment raised it as a
 * replay would, and names the entry as one thread does.
 */
TEST(signed_calls)
{
	char dir[128];
	int k;

	for (k = 0; k < 3; k++) {
		uint8_t seed[32], pk[32];

		memset(seed, 'a' + k, sizeof(seed));
		crypto_sign_seed_keypair(pk, sks[k], seed);
	}
	sign_upto = N;
	if (build("signed", 0, 0, dir, sizeof(dir)) == 0)
		same_reports(dir, 0);
	sign_upto = 2000;	/* the second segment starts past 2,400 */
	replay_of = 1500;
	replay_at = N - 200;
	if (build("replayed", 0, 0, dir, sizeof(dir)) == 0)
		fails_at(dir, replay_at, "nonce");
	sign_upto = replay_at = replay_of = 0;
}

/*
 * The second thread's segment starts where audit-parallel.c's cut() puts
 * it for 2 threads over entries [1, N): 1 + t with (1 - S) (1 + t) + t =
 * N (skipping costs S = AUDIT_SKIP_COST of replaying). Its first entry
 * goes back in time: caught there as by one thread, though that thread
 * reached the entry before by skipping, not replaying.
 */
TEST(time_back_at_segment_start)
{
	char dir[128];
	uint64_t start = (uint64_t)(1 + ((double)N - (1 - AUDIT_SKIP_COST)) /
	    (2 - AUDIT_SKIP_COST));

	time_back = start;
	if (build("timeback", 0, 0, dir, sizeof(dir)) == 0)
		fails_at(dir, start, "entry times never decrease");
	time_back = 0;
}

/* A source that gives a thread other bytes than the ones it hashed. */
struct liar {
	struct audit_source	*real;
	int			 lies;
};

static int
liar_copy(void *ctx, uint64_t i, struct audit_copybuf *cb, size_t *off,
    size_t *len, char *err, size_t errlen)
{
	struct liar *l = ctx;
	int r = l->real->entry_copy(l->real->ctx, i, cb, off, len, err,
	    errlen);

	if (r == 0 && i == N - 100 && *len > 40) {
		cb->buf[*off + *len - 3] ^= 1;	/* in the state hex */
		l->lies++;
	}
	return r;
}

static int
liar_entry(void *ctx, uint64_t i, const uint8_t **b, size_t *n, char *err,
    size_t errlen)
{
	struct liar *l = ctx;

	return l->real->entry(l->real->ctx, i, b, n, err, errlen);
}

static int
liar_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct liar *l = ctx;

	return l->real->checkpoint(l->real->ctx, note, err, errlen);
}

static char *
liar_vkey(void *ctx)
{
	struct liar *l = ctx;

	return l->real->vkey(l->real->ctx);
}

TEST(source_changes_bytes)
{
	struct audit_source *real, fake;
	struct audit_report r;
	struct audit_opts o;
	struct liar l;
	char dir[128], err[VMS_ERRLEN];

	snprintf(dir, sizeof(dir), "%s/honest", base);
	if (audit_dir_source(dir, &real, err, sizeof(err)) != 0) {
		FAILF("source: %s", err);
		return;
	}
	memset(&fake, 0, sizeof(fake));
	l.real = real;
	l.lies = 0;
	fake.ctx = &l;
	fake.what = "liar";
	fake.checkpoint = liar_checkpoint;
	fake.vkey = liar_vkey;
	fake.entry = liar_entry;
	fake.entry_copy = liar_copy;
	memset(&o, 0, sizeof(o));
	o.threads = 2;
	CHECK_EQ_INT(audit_run(&fake, &o, &r, NULL, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "changed during the audit");
	CHECK(l.lies > 0);
	audit_source_free(real);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(base, sizeof(base), "/tmp/vms-test-auditpar.XXXXXX");
	if (mkdtemp(base) == NULL)
		return 1;
	RUN(honest);
	RUN(forged_late);
	RUN(forged_early);
	RUN(snapshot_differs);
	RUN(time_back_at_segment_start);
	RUN(signed_calls);
	RUN(source_changes_bytes);
	if (getenv("VMS_TEST_KEEP") == NULL)
		rm_rf(base);
	return test_summary();
}
