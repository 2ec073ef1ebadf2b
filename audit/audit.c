/*
 * audit.c — the auditor's checks in order (see audit.h): signature, tree
 * hash and consistency, deploy entry (audit-deploy.c), replay, state
 * (audit-state.c); following a growing ledger. Trusts nothing from the
 * source: every hash is recomputed here and every entry re-executed. The
 * cross-checks against the signed checkpoint history are
 * audit-history.c's; the report is audit-report.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

/*
 * System.files.history during a replay: an earlier entry, read again from
 * the source, which must still be the entry the verified tree holds.
 */
static int
entry_source_cb(void *ctx, uint64_t index, uint8_t **buf, size_t *len)
{
	struct audit *a = ctx;
	const uint8_t *p;
	merkle_hash h;
	size_t l;
	char err[VMS_ERRLEN];

	if (index >= a->nleaves)
		return -1;
	if (a->src->entry(a->src->ctx, index, &p, &l, err, sizeof(err)) != FETCH_OK)
		return -1;
	merkle_leaf_hash(p, l, h);
	if (memcmp(h, a->leaves[index], MERKLE_HASH_LEN) != 0)
		return -1;
	*buf = xmalloc(l + 1);
	memcpy(*buf, p, l);
	(*buf)[l] = '\0';
	*len = l;
	return 0;
}

/* The audit's engine reads earlier entries through entry_source_cb. */
void
audit_engine_attach(struct audit *a)
{
	engine_set_entry_source(a->eng, entry_source_cb, a);
	/* Signed calls must name this verified origin (check 4). */
	engine_set_origin(a->eng, a->origin);
}

int
audit_check_time(const struct engine *e, uint64_t i, const uint8_t *buf,
    size_t len, char *reason, size_t rlen)
{
	uint64_t now = now_ms(), t = engine_last_time(e);
	char ts[32], ns[32], what[256];

	if (t <= now + AUDIT_CLOCK_SLACK_MS)
		return 0;
	utc_ms(t, ts, sizeof(ts));
	utc_ms(now, ns, sizeof(ns));
	audit_describe_entry(buf, len, what, sizeof(what));
	snprintf(reason, rlen, "(%s): entry %" PRIu64 ": time %" PRIu64 " (%s) "
	    "is later than this auditor's clock (%s) by more than a day",
	    what, i, t, ts, ns);
	return -1;
}

static void
push_leaf(struct audit *a, const merkle_hash h)
{
	if (a->nleaves == a->capleaves) {
		a->capleaves = a->capleaves ? a->capleaves * 2 : 1024;
		a->leaves = xrealloc(a->leaves, a->capleaves *
		    sizeof(merkle_hash));
	}
	memcpy(a->leaves[a->nleaves++], h, MERKLE_HASH_LEN);
	merkle_frontier_push(&a->fr, h);
}

/*
 * Hash and (if replay) replay entries [a->nleaves, upto). Records the
 * first replay or missing-entry failure in a->bad_*, keeps hashing after a
 * replay failure so the root can still be compared. Returns -1 on a
 * source error, else 0 with *got the number of entries the source
 * actually held (== upto when complete).
 */
static int
process_entries(struct audit *a, uint64_t upto, uint64_t *got, int replay,
    char *err, size_t errlen)
{
	const uint8_t *buf;
	size_t len;
	merkle_hash h;
	char why[1024], what[256];
	uint64_t i, t0 = mono_usec();
	int rc, tty = a->progress;

	for (i = a->nleaves; i < upto; i++) {
		a->missing[0] = '\0';
		rc = a->src->entry(a->src->ctx, i, &buf, &len, a->missing,
		    sizeof(a->missing));
		if (rc == FETCH_ERROR) {
			seterr(err, errlen, "%s", a->missing);
			a->missing[0] = '\0';
			return -1;
		}
		if (rc == FETCH_END)
			break;
		a->missing[0] = '\0';
		/* The replay may read earlier entries from the source, which
		 * reuses its buffer: work on a copy. */
		if (a->ebufcap < len + 1) {
			a->ebufcap = len + 1;
			a->ebuf = xrealloc(a->ebuf, a->ebufcap);
		}
		memcpy(a->ebuf, buf, len);
		buf = a->ebuf;
		if (i > 0 && len > a->max_entry) {
			/* Refuse to hash or replay it, and fetch no more. */
			a->bad_index = i;
			a->bad_check = 2;
			a->stop = 1;
			snprintf(a->bad_reason, sizeof(a->bad_reason), "entry %"
			    PRIu64 " is %zu bytes, larger than the entry_size "
			    "limit %" PRIu64 " the deploy entry records", i,
			    len, a->max_entry);
			break;
		}
		merkle_leaf_hash(buf, len, h);
		push_leaf(a, h);
		if (!replay || a->bad_index != AUDIT_NO_INDEX)
			continue;
		if (engine_replay_leaf(a->eng, buf, len, h, why,
		    sizeof(why)) != 0) {
			audit_describe_entry(buf, len, what, sizeof(what));
			a->bad_index = i;
			a->bad_check = 4;
			snprintf(a->bad_reason, sizeof(a->bad_reason),
			    "(%s): %s", what, why);
			continue;
		}
		if (audit_check_time(a->eng, i, buf, len, a->bad_reason,
		    sizeof(a->bad_reason)) != 0) {
			a->bad_index = i;
			a->bad_check = 4;
			continue;
		}
		audit_check_snapshot(a);
		if (tty && (i & 8191) == 0 && mono_usec() - t0 > 500000) {
			const struct audit_fetch_stats *fs = a->src->stats ?
			    a->src->stats(a->src->ctx) : NULL;

			fprintf(stderr, "\r%s: verifying entry %" PRIu64
			    " of %" PRIu64 "…", a->name ? a->name : "",
			    i, upto);
			if (fs != NULL)
				fprintf(stderr, " (%" PRIu64 " MB in %" PRIu64
				    " requests)", fs->bytes >> 20, fs->requests);
		}
	}
	if (tty && mono_usec() - t0 > 500000)
		fprintf(stderr, "\r\033[K");
	*got = i;
	return 0;
}

static int
verify_note(struct audit *a, const char *note, struct checkpoint *cp,
    struct audit_report *r)
{
	char err[VMS_ERRLEN];
	size_t tl;

	if (note_verify(note, strlen(note), &a->key, 1, &tl, NULL, err,
	    sizeof(err)) != 0) {
		audit_fail(r, 1, AUDIT_NO_INDEX, "checkpoint signature does not "
		    "verify under %s: %s (forged or signed by another key)",
		    a->vkey, err);
		return -1;
	}
	if (checkpoint_parse(note, tl, cp, err, sizeof(err)) != 0) {
		audit_fail(r, 1, AUDIT_NO_INDEX, "bad checkpoint: %s", err);
		return -1;
	}
	if (strcmp(cp->origin, a->key.name) != 0) {
		audit_fail(r, 1, AUDIT_NO_INDEX, "checkpoint origin \"%s\" is not "
		    "the key's name \"%s\"", cp->origin, a->key.name);
		return -1;
	}
	if (a->name != NULL) {
		size_t on = strlen(cp->origin), nn = strlen(a->name);

		if (on < nn + 1 || strcmp(cp->origin + on - nn, a->name) != 0 ||
		    cp->origin[on - nn - 1] != '/') {
			audit_fail(r, 1, AUDIT_NO_INDEX, "checkpoint origin \"%s\" "
			    "does not name contract \"%s\"", cp->origin,
			    a->name);
			return -1;
		}
	}
	if (cp->size == 0) {
		audit_fail(r, 1, AUDIT_NO_INDEX, "checkpoint size 0: no deploy entry");
		return -1;
	}
	return 0;
}

/* The origin (first line) of a note, not verified: only to look up what
 * this auditor remembers for it. */
static int
note_origin(const char *note, char *out, size_t outlen)
{
	const char *nl = strchr(note, '\n');
	size_t n;

	if (nl == NULL || nl == note || (n = (size_t)(nl - note)) >= outlen)
		return -1;
	memcpy(out, note, n);
	out[n] = '\0';
	return 0;
}

/* For messages only: the contract name from an unverified note. */
static void
name_from_note(const char *note, struct audit_report *r)
{
	struct checkpoint cp;
	const char *sep = strstr(note, "\n\n"), *s;
	char err[VMS_ERRLEN];

	if (r->contract[0] != '\0' || sep == NULL ||
	    checkpoint_parse(note, (size_t)(sep - note) + 1, &cp, err,
	    sizeof(err)) != 0)
		return;
	s = strrchr(cp.origin, '/');
	snprintf(r->contract, sizeof(r->contract), "%s", s ? s + 1 : cp.origin);
}

/* Bring the verified state from a->size to the checkpoint cp (already
 * signature-checked). Returns 0 ok, 1 failure (r filled), -1 error. */
static int
extend(struct audit *a, const struct checkpoint *cp, struct audit_report *r,
    char *err, size_t errlen)
{
	merkle_hash root, proof[MERKLE_MAX_PROOF];
	uint64_t got, lo, hi, t0;
	size_t plen;
	int nthreads;

	if (cp->size < a->size) {
		audit_fail(r, 2, cp->size, "checkpoint size %" PRIu64 " is smaller "
		    "than the checkpoint of size %" PRIu64 " verified before: "
		    "the ledger was truncated or rolled back", cp->size,
		    a->size);
		return 1;
	}
	if (cp->size == a->size) {
		if (memcmp(cp->root, a->root, MERKLE_HASH_LEN) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "fork: a different tree was "
			    "signed at size %" PRIu64, cp->size);
			return 1;
		}
		return 0;
	}
	if (a->size > 0 && a->src->prove != NULL) {
		if (a->src->prove(a->src->ctx, a->size, cp->size, proof, &plen,
		    err, errlen) != 0)
			return -1;
		if (merkle_verify_consistency(a->size, cp->size, a->root,
		    cp->root, proof, plen) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "consistency proof from size "
			    "%" PRIu64 " to %" PRIu64 " does not verify: the "
			    "host rewrote history", a->size, cp->size);
			return 1;
		}
	}
	t0 = mono_usec();
	if ((nthreads = audit_parallel_threads(a, cp->size)) > 1) {
		/* hash everything, then replay the entries the source held on
		 * several threads (audit-parallel.c) */
		if (process_entries(a, cp->size, &got, 0, err, errlen) != 0 ||
		    (!a->stop && a->bad_index == AUDIT_NO_INDEX &&
		    audit_replay_parallel(a, got, nthreads, err,
		    errlen) != 0))
			return -1;
	} else if (process_entries(a, cp->size, &got, 1, err, errlen) != 0)
		return -1;
	r->replay_secs += (double)(mono_usec() - t0) / 1e6;
	if (a->used_threads > r->replay_threads)
		r->replay_threads = a->used_threads;
	if (a->stop) {
		audit_fail(r, a->bad_check, a->bad_index, "%s", a->bad_reason);
		return 1;
	}
	merkle_frontier_root(&a->fr, root);
	if (got == cp->size && memcmp(root, cp->root, MERKLE_HASH_LEN) != 0 &&
	    a->src->tile != NULL) {
		char why[1024];
		int t;

		/* A tiles source: its level-0 tiles may prove which served
		 * entry is not the signed one. */
		if ((t = audit_tiles_localise(a, cp, &lo, why, sizeof(why),
		    err, errlen)) < 0)
			return -1;
		if (t == 1) {
			audit_fail(r, 2, lo, "%s", why);
			return 1;
		}
	}
	if (got < cp->size || memcmp(root, cp->root, MERKLE_HASH_LEN) != 0) {
		char extra[640] = "";

		lo = audit_localise(a, &hi);
		if (got < cp->size)
			snprintf(extra, sizeof(extra), " (the ledger holds %"
			    PRIu64 " entries, the checkpoint covers %" PRIu64
			    ")", got, cp->size);
		if (lo != AUDIT_NO_INDEX) {
			audit_fail(r, 2, lo, "entries do not hash to the signed "
			    "checkpoint root%s; the signed history first "
			    "diverges in entries %" PRIu64 "..%" PRIu64 "%s%s",
			    extra, lo, hi, a->bad_index != AUDIT_NO_INDEX ?
			    "; replay: " : "", a->bad_index != AUDIT_NO_INDEX ?
			    a->bad_reason : "");
			if (hi == lo)
				r->fail_index = lo;
		} else if (a->bad_index != AUDIT_NO_INDEX) {
			audit_fail(r, 2, a->bad_index, "entries do not hash to the "
			    "signed checkpoint root%s; replay %s", extra,
			    a->bad_reason);
		} else if (got < cp->size) {
			audit_fail(r, 2, got, "entry %" PRIu64 " is missing%s%s%s",
			    got, extra, a->missing[0] ? ": " : "", a->missing);
		} else {
			audit_fail(r, 2, AUDIT_NO_INDEX, "entries do not hash to the "
			    "signed checkpoint root");
		}
		return 1;
	}
	if (a->bad_index != AUDIT_NO_INDEX) {
		audit_fail(r, a->bad_check, a->bad_index, "%s", a->bad_reason);
		if (a->bad_check == 4)
			snprintf(r->reason, sizeof(r->reason), "%s",
			    strstr(a->bad_reason, "): ") ?
			    strstr(a->bad_reason, "): ") + 3 : a->bad_reason);
		/* keep "(call X by Y)" in fail_what */
		if (a->bad_check == 4 && a->bad_reason[0] == '(') {
			const char *e = strstr(a->bad_reason, "): ");
			size_t n = e ? (size_t)(e - a->bad_reason - 1) : 0;

			if (n >= sizeof(r->fail_what))
				n = sizeof(r->fail_what) - 1;
			memcpy(r->fail_what, a->bad_reason + 1, n);
			r->fail_what[n] = '\0';
		}
		return 1;
	}
	a->size = cp->size;
	memcpy(a->root, cp->root, MERKLE_HASH_LEN);
	return 0;
}

/* Fetch the source's latest checkpoint, verify its signature and bring the
 * verified state up to it. Returns 0 ok, 1 failure (r filled), -1 error. */
static int
advance(struct audit *a, struct audit_report *r, char *err, size_t errlen)
{
	struct checkpoint cp;
	char *note;
	int rc;

	if (a->src->checkpoint(a->src->ctx, &note, err, errlen) != 0)
		return -1;
	rc = verify_note(a, note, &cp, r);
	free(note);
	if (rc != 0)
		return 1;
	return extend(a, &cp, r, err, errlen);
}

static void
pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Check 5 through the source's live state (the daemon). The state must be
 * at the newest signed checkpoint: behind it is a failure; ahead of it,
 * the checkpoint is fetched again (the contract may have moved on, or a
 * commit may be in flight) a few times; a state still claiming an index
 * beyond every signed checkpoint is a failure, and so is a state that
 * could never be compared (the contract kept changing): check 5 is never
 * skipped silently.
 */
#define STATE_TRIES	8

static int
check_state(struct audit *a, struct audit_report *r, char *err,
    size_t errlen)
{
	json_t *page, *jidx;
	char why[1024];
	uint64_t idx = 0;
	int tries, rc = 0, compared = 0;

	for (tries = 0; tries < STATE_TRIES && !compared; tries++) {
		if (tries > 0)
			pause_ms(tries < 5 ? 10L << tries : 200);
		if (a->src->state_page(a->src->ctx, NULL, &page, err,
		    errlen) != 0)
			return -1;
		jidx = json_object_get(page, "index");
		if (!json_is_integer(jidx) || json_integer_value(jidx) < 0) {
			json_decref(page);
			audit_fail(r, 5, AUDIT_NO_INDEX, "the host's state has no "
			    "valid index");
			return 1;
		}
		idx = (uint64_t)json_integer_value(jidx);
		if (idx == a->size) {
			rc = audit_compare_live(a, page, why, sizeof(why), err,
			    errlen);
			json_decref(page);
			if (rc == -1)
				return -1;
			compared = rc != 2;	/* 2: moved on while read */
			continue;
		}
		json_decref(page);
		if (idx < a->size) {
			audit_fail(r, 5, idx, "the host's state is at index %" PRIu64
			    ", behind its own checkpoint %" PRIu64, idx,
			    a->size);
			return 1;
		}
		/* The contract moved on: verify up to its new checkpoint. */
		if ((rc = advance(a, r, err, errlen)) != 0)
			return rc;
	}
	if (!compared) {
		if (idx > a->size)
			audit_fail(r, 5, AUDIT_NO_INDEX, "host state claims index %"
			    PRIu64 " beyond its signed checkpoint %" PRIu64,
			    idx, a->size);
		else
			audit_fail(r, 5, AUDIT_NO_INDEX, "state not compared: the "
			    "contract kept changing (%d tries); audit again",
			    STATE_TRIES);
		return 1;
	}
	if (rc != 0) {
		audit_fail(r, 5, a->size - 1, "host state after entry %" PRIu64
		    " does not match the replay: %s", a->size - 1, why);
		return 1;
	}
	r->state_checked = 1;
	r->state_index = a->size;
	return 0;
}

enum audit_verdict
audit_run(struct audit_source *src, const struct audit_opts *o,
    struct audit_report *r, struct audit **out, char *err, size_t errlen)
{
	struct audit *a;
	struct checkpoint cp;
	char *note = NULL, *claimed = NULL, why[1024], what[64];
	const uint8_t *e0;
	size_t e0len;
	merkle_hash root;
	const struct audit_trusted *trusted;
	struct audit_trusted tr;
	int rc, trusted_ok;

	memset(r, 0, sizeof(*r));
	r->replay_threads = 1;
	r->fail_index = AUDIT_NO_INDEX;
	if (out != NULL)
		*out = NULL;
	if (o->name != NULL)
		snprintf(r->contract, sizeof(r->contract), "%s", o->name);
	a = xcalloc(1, sizeof(*a));
	a->src = src;
	a->name = o->name ? xstrdup(o->name) : NULL;
	a->progress = o->progress;
	a->threads = o->threads;
	a->bad_index = AUDIT_NO_INDEX;
	a->max_entry = LEDGER_MAX_ENTRY;
	merkle_frontier_init(&a->fr);

	/* Check 1: the origin the note names selects what is remembered;
	 * then the key, then the signature. */
	if (src->checkpoint(src->ctx, &note, err, errlen) != 0) {
		rc = -1;
		goto done;
	}
	name_from_note(note, r);
	trusted = o->trusted;
	if (o->lookup != NULL) {
		char origin[NOTE_NAME_MAX + 1];
		int found = 0;

		if (note_origin(note, origin, sizeof(origin)) != 0) {
			audit_fail(r, 1, AUDIT_NO_INDEX, "bad checkpoint: no origin "
			    "line");
			rc = 1;
			goto done;
		}
		rc = o->lookup(o->lookup_arg, origin, &tr, &found, why,
		    sizeof(why));
		if (rc == AUDIT_ERROR) {
			seterr(err, errlen, "%s", why);
			goto done;
		}
		if (rc == AUDIT_FAIL) {
			name_from_note(note, r);
			audit_fail(r, 1, AUDIT_NO_INDEX, "%s", why);
			goto done;
		}
		trusted = found ? &tr : NULL;
	}
	claimed = src->vkey != NULL ? src->vkey(src->ctx) : NULL;
	if (o->pinned_vkey != NULL)
		a->vkey = xstrdup(o->pinned_vkey);
	else if (trusted != NULL) {
		if (claimed != NULL && strcmp(claimed, trusted->vkey) != 0) {
			audit_fail(r, 1, AUDIT_NO_INDEX, "key changed for %s (was %s, "
			    "now %s): refusing; use --key to accept a new key "
			    "explicitly", o->name ? o->name : r->contract,
			    trusted->vkey, claimed);
			rc = 1;
			goto done;
		}
		a->vkey = xstrdup(trusted->vkey);
	} else if (claimed != NULL) {
		a->vkey = xstrdup(claimed);	/* trust on first use */
		r->first_use = 1;
	} else {
		audit_fail(r, 1, AUDIT_NO_INDEX, "no verifier key: the source "
		    "offers none and none is pinned (use --key)");
		rc = 1;
		goto done;
	}
	if (note_vkey_parse(a->vkey, &a->key, why, sizeof(why)) != 0) {
		audit_fail(r, 1, AUDIT_NO_INDEX, "bad verifier key %s: %s", a->vkey,
		    why);
		rc = 1;
		goto done;
	}
	snprintf(r->vkey, sizeof(r->vkey), "%s", a->vkey);
	if (verify_note(a, note, &cp, r) != 0) {
		name_from_note(note, r);
		rc = 1;
		goto done;
	}
	snprintf(a->origin, sizeof(a->origin), "%s", cp.origin);
	snprintf(r->origin, sizeof(r->origin), "%s", cp.origin);
	if (r->contract[0] == '\0') {
		const char *s = strrchr(cp.origin, '/');

		snprintf(r->contract, sizeof(r->contract), "%s",
		    s ? s + 1 : cp.origin);
	}
	/* Only a checkpoint verified under this same key binds us. */
	trusted_ok = trusted != NULL && strcmp(trusted->vkey, a->vkey) == 0;
	if (trusted_ok && cp.size < trusted->size) {
		audit_fail(r, 2, cp.size, "checkpoint size %" PRIu64 " is smaller "
		    "than the checkpoint of size %" PRIu64 " verified before: "
		    "the ledger was truncated or rolled back", cp.size,
		    trusted->size);
		rc = 1;
		goto done;
	}

	/* Check 3: the deploy entry, then open the engine on it. */
	why[0] = '\0';
	rc = src->entry(src->ctx, 0, &e0, &e0len, why, sizeof(why));
	if (rc == FETCH_ERROR) {
		seterr(err, errlen, "%s", why);
		goto done;
	}
	if (rc == FETCH_END) {
		audit_fail(r, 3, 0, "entry 0 is missing%s%s", why[0] ? ": " : "",
		    why);
		goto done;
	}
	/* The deploy entry must name the contract the signed origin names
	 * (its last path component), whether or not a name was asked for. */
	if (audit_check_deploy(e0, e0len, o->name ? o->name :
	    (strrchr(cp.origin, '/') ? strrchr(cp.origin, '/') + 1 :
	    cp.origin), &a->max_entry, why, sizeof(why)) != 0) {
		audit_fail(r, 3, 0, "%s", why);
		snprintf(r->fail_what, sizeof(r->fail_what), "deploy");
		rc = 1;
		goto done;
	}
	if (o->parent != NULL && audit_check_parent(e0, e0len, o->parent, why,
	    sizeof(why)) != 0) {
		audit_fail(r, 3, 0, "%s", why);
		snprintf(r->fail_what, sizeof(r->fail_what), "deploy");
		rc = 1;
		goto done;
	}
	if (engine_open(e0, e0len, &a->eng, why, sizeof(why)) != 0) {
		audit_fail(r, 3, 0, "cannot load the deploy entry: %s", why);
		snprintf(r->fail_what, sizeof(r->fail_what), "deploy");
		rc = 1;
		goto done;
	}
	audit_engine_attach(a);
	if (src->snapshot != NULL) {
		if (engine_open(e0, e0len, &a->snap, why, sizeof(why)) != 0 ||
		    engine_snapshot_load(a->snap, src->snapshot, why,
		    sizeof(why)) != 0) {
			audit_fail(r, 5, AUDIT_NO_INDEX, "%s: %s", src->snapshot, why);
			rc = 1;
			goto done;
		}
		a->snap_index = engine_next_index(a->snap);
		/* Past the signed checkpoint: nothing signed to compare it
		 * with. Failed below, once the entries are verified. */
		if (a->snap_index > cp.size)
			a->snap_done = 1;
	}

	/* Checks 2 and 4: hash and replay every entry. */
	if (trusted_ok && trusted->size > 0) {
		/* First hash up to the remembered size: the fork check. */
		struct checkpoint mid = cp;

		mid.size = trusted->size;
		memcpy(mid.root, trusted->root, MERKLE_HASH_LEN);
		rc = extend(a, &mid, r, err, errlen);
		if (rc == AUDIT_FAIL && r->fail_check == 2) {
			char *old = b64_encode(trusted->root,
			    MERKLE_HASH_LEN);

			snprintf(why, sizeof(why), "%.900s", r->reason);
			audit_fail(r, 2, r->fail_index, "fork: the ledger's first %"
			    PRIu64 " entries are not the history verified "
			    "before at checkpoint %" PRIu64 " (root %s): %.900s",
			    trusted->size, trusted->size, old, why);
			free(old);
		}
		if (rc != 0)
			goto done;
	}
	if ((rc = extend(a, &cp, r, err, errlen)) != 0)
		goto done;
	merkle_frontier_root(&a->fr, root);
	if ((rc = audit_check_history(a, r)) != 0)
		goto done;
	if ((rc = audit_check_tiles(a, r, err, errlen)) != 0)
		goto done;

	/* Check 5. The host's state may not be ahead of what it signed:
	 * as through the daemon, such a state is a failure, never a note. */
	if (a->snap != NULL && a->snap_index > a->size) {
		audit_fail(r, 5, AUDIT_NO_INDEX, "state.snap claims index %" PRIu64
		    " beyond the signed checkpoint %" PRIu64 ": the host's "
		    "state holds entries its ledger does not sign (ledger "
		    "truncated or rolled back, or the directory changed while "
		    "it was read)", a->snap_index, a->size);
		rc = 1;
		goto done;
	}
	if (a->snap != NULL && !a->snap_done) {
		audit_fail(r, 5, AUDIT_NO_INDEX, "state.snap at index %" PRIu64
		    " was never compared", a->snap_index);
		rc = 1;
		goto done;
	}
	if (a->snap != NULL) {
		r->state_checked = 1;
		r->state_index = a->snap_index;
	}
	if (src->state_page != NULL &&
	    (rc = check_state(a, r, err, errlen)) != 0)
		goto done;
	audit_report_success(a, r);
	if (!r->state_checked && o->parent != NULL && o->parent->stopped)
		snprintf(r->note, sizeof(r->note), "stopped by %s: no live "
		    "state to compare", o->parent->contract);
	rc = 0;
 done:
	if (r->contract[0] == '\0')
		snprintf(r->contract, sizeof(r->contract), "%s", src->what);
	if (rc == AUDIT_FAIL && r->fail_index != AUDIT_NO_INDEX &&
	    r->fail_what[0] == '\0' && r->fail_index < a->nleaves &&
	    src->entry(src->ctx, r->fail_index, &e0, &e0len, why,
	    sizeof(why)) == FETCH_OK) {
		audit_describe_entry(e0, e0len, what, sizeof(what));
		snprintf(r->fail_what, sizeof(r->fail_what), "%s", what);
	}
	if (rc == AUDIT_FAIL)
		r->size = a->size;
	free(note);
	free(claimed);
	if (rc == 0 && out != NULL)
		*out = a;
	else
		audit_free(a);
	return rc;
}

enum audit_verdict
audit_follow_step(struct audit *a, struct audit_report *r, int *grew,
    char *err, size_t errlen)
{
	uint64_t before = a->size;
	int rc;

	*grew = 0;
	r->ok = 0;
	r->fail_index = AUDIT_NO_INDEX;
	r->fail_what[0] = '\0';
	r->replay_secs = 0;
	r->replay_threads = 1;
	a->used_threads = 0;
	if ((rc = advance(a, r, err, errlen)) != 0)
		return rc;
	if ((rc = audit_check_tiles(a, r, err, errlen)) != 0)
		return rc;
	*grew = a->size > before;
	if (*grew && a->src->state_page != NULL &&
	    (rc = check_state(a, r, err, errlen)) != 0)
		return rc;
	audit_report_success(a, r);
	return 0;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->eng != NULL)
		engine_free(a->eng);
	if (a->snap != NULL)
		engine_free(a->snap);
	audit_tiles_free(a);
	free(a->leaves);
	free(a->ebuf);
	free(a->vkey);
	free(a->name);
	free(a);
}

json_t *
audit_children(const struct audit *a)
{
	return a->eng != NULL ? engine_children(a->eng) : json_array();
}

const char *
audit_origin(const struct audit *a)
{
	return a->origin;
}

void
audit_source_free(struct audit_source *s)
{
	if (s == NULL)
		return;
	if (s->free != NULL)
		s->free(s->ctx);
	free(s);
}

