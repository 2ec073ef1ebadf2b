/*
 * audit.c — the auditor's checks in order (see audit.h): signature, tree
 * hash and consistency, deploy entry, replay, state; following a growing
 * ledger; the report. Trusts nothing from the source: every hash is
 * recomputed here and every entry re-executed. The cross-checks against
 * the signed checkpoint history are audit-history.c's.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

void
audit_fail(struct audit_report *r, int check, uint64_t index,
    const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	r->fail_check = check;
	r->fail_index = index;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* "deploy", "call RSVP by unix:bob" — for naming a failing entry. */
void
audit_describe_entry(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
	json_t *e, *caller;
	const char *type, *method;

	if ((e = json_loadb((const char *)buf, len, 0, NULL)) == NULL) {
		snprintf(out, outlen, "unparseable entry");
		return;
	}
	type = json_string_value(json_object_get(e, "type"));
	method = json_string_value(json_object_get(e, "method"));
	caller = json_object_get(e, "caller");
	if (type != NULL && strcmp(type, "call") == 0)
		snprintf(out, outlen, "call %s by %s", method ? method : "?",
		    json_is_string(caller) ? json_string_value(caller) :
		    "anonymous");
	else
		snprintf(out, outlen, "%s", type ? type : "entry of no type");
	json_decref(e);
}

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

/* Check 3: entry 0 is a well-formed deploy entry. */
static int
check_deploy(const uint8_t *buf, size_t len, const char *name,
    uint64_t *max_entry, char *why, size_t whylen)
{
	json_t *e, *v, *lim;
	const char *code, *sha, *type, *contract;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	struct vms_limits limits;
	char err[VMS_ERRLEN];
	int rc = -1;

	if ((e = json_loadb((const char *)buf, len, 0, NULL)) == NULL ||
	    !json_is_object(e)) {
		seterr(why, whylen, "entry 0 is not a JSON object");
		goto out;
	}
	type = json_string_value(json_object_get(e, "type"));
	if (type == NULL || strcmp(type, "deploy") != 0) {
		seterr(why, whylen, "entry 0 is not a deploy entry (type %s)",
		    type ? type : "missing");
		goto out;
	}
	v = json_object_get(e, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		seterr(why, whylen, "entry 0: unsupported entry version");
		goto out;
	}
	code = json_string_value(json_object_get(e, "code"));
	sha = json_string_value(json_object_get(e, "code_sha256"));
	if (code == NULL || sha == NULL) {
		seterr(why, whylen, "entry 0: code or code_sha256 missing");
		goto out;
	}
	crypto_hash_sha256(h, (const uint8_t *)code,
	    json_string_length(json_object_get(e, "code")));
	hex_encode(h, sizeof(h), hex);
	if (strcmp(hex, sha) != 0) {
		seterr(why, whylen, "entry 0: code_sha256 %s does not match "
		    "the code (sha256 %s)", sha, hex);
		goto out;
	}
	lim = json_object_get(e, "limits");
	if (!json_is_object(lim)) {
		seterr(why, whylen, "entry 0: limits not recorded");
		goto out;
	}
	limits_default(&limits);
	if (limits_from_json(&limits, lim, err, sizeof(err)) != 0) {
		seterr(why, whylen, "entry 0: bad limits: %s", err);
		goto out;
	}
	*max_entry = limits.entry_size < LEDGER_MAX_ENTRY ?
	    limits.entry_size : LEDGER_MAX_ENTRY;
	contract = json_string_value(json_object_get(e, "contract"));
	if (contract == NULL || (name != NULL && strcmp(contract, name) != 0)) {
		seterr(why, whylen, "entry 0 deploys contract \"%s\", not "
		    "\"%s\"", contract ? contract : "?", name ? name : "?");
		goto out;
	}
	rc = 0;
 out:
	json_decref(e);
	return rc;
}

/* Check 3 for a child: its entry 0 is the one its parent recorded. */
static int
check_parent(const uint8_t *buf, size_t len, const struct audit_parent *p,
    char *why, size_t whylen)
{
	json_t *e = json_loadb((const char *)buf, len, 0, NULL), *link;
	char want[65], got[65];
	merkle_hash h;
	int rc = -1;

	link = json_object_get(e, "parent");
	if (!json_is_object(link) || !json_is_string(json_object_get(link,
	    "contract")) || !json_is_string(json_object_get(link, "origin")) ||
	    !json_is_integer(json_object_get(link, "index"))) {
		seterr(why, whylen, "entry 0 names no parent, but %s made "
		    "this contract at its entry %" PRIu64, p->contract,
		    p->index);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(link, "contract")),
	    p->contract) != 0 || strcmp(json_string_value(json_object_get(
	    link, "origin")), p->origin) != 0 ||
	    (uint64_t)json_integer_value(json_object_get(link, "index")) !=
	    p->index) {
		seterr(why, whylen, "entry 0 names its parent %.64s (%.128s) "
		    "entry %" JSON_INTEGER_FORMAT ", not %s (%s) entry %" PRIu64
		    " which made it", json_string_value(json_object_get(link,
		    "contract")), json_string_value(json_object_get(link,
		    "origin")), json_integer_value(json_object_get(link,
		    "index")), p->contract, p->origin, p->index);
		goto out;
	}
	merkle_leaf_hash(buf, len, h);
	if (memcmp(h, p->entry, MERKLE_HASH_LEN) != 0) {
		hex_encode(p->entry, MERKLE_HASH_LEN, want);
		hex_encode(h, MERKLE_HASH_LEN, got);
		seterr(why, whylen, "entry 0 is not the one %s recorded at its "
		    "entry %" PRIu64 " (leaf hash %.16s…, recorded %.16s…)",
		    p->contract, p->index, got, want);
		goto out;
	}
	rc = 0;
out:
	json_decref(e);
	return rc;
}

/*
 * Compare two state dumps {"root","files":[{path,type,size,sha256}]}.
 * Returns 0 if equal, else -1 naming the first differing path.
 */
static int
compare_dumps(const json_t *host, const json_t *mine, char *why, size_t whylen)
{
	const json_t *hf = json_object_get(host, "files");
	const json_t *mf = json_object_get(mine, "files");
	const char *hr = json_string_value(json_object_get(host, "root"));
	const char *mr = json_string_value(json_object_get(mine, "root"));
	size_t i = 0, j = 0, nh, nm;

	if (!json_is_array(hf) || !json_is_array(mf) || hr == NULL) {
		seterr(why, whylen, "the host's state dump is malformed");
		return -1;
	}
	nh = json_array_size(hf);
	nm = json_array_size(mf);
	while (i < nh || j < nm) {
		const json_t *a = json_array_get(hf, i), *b = json_array_get(mf, j);
		const char *pa = a ? json_string_value(json_object_get(a, "path")) : NULL;
		const char *pb = b ? json_string_value(json_object_get(b, "path")) : NULL;
		int c;

		if (a != NULL && pa == NULL) {
			seterr(why, whylen, "the host's state dump is malformed");
			return -1;
		}
		if (pa == NULL)
			c = 1;
		else if (pb == NULL)
			c = -1;
		else
			c = strcmp(pa, pb);
		if (c < 0) {
			seterr(why, whylen, "state differs at %s: present on "
			    "the host, absent in the replay", pa);
			return -1;
		}
		if (c > 0) {
			seterr(why, whylen, "state differs at %s: absent on "
			    "the host, present in the replay", pb);
			return -1;
		}
		if (!json_equal(json_object_get(a, "type"),
		    json_object_get(b, "type")) ||
		    !json_equal(json_object_get(a, "size"),
		    json_object_get(b, "size")) ||
		    !json_equal(json_object_get(a, "sha256"),
		    json_object_get(b, "sha256"))) {
			const char *ha = json_string_value(json_object_get(a,
			    "sha256"));
			const char *hb = json_string_value(json_object_get(b,
			    "sha256"));

			seterr(why, whylen, "state differs at %s: host has "
			    "sha256 %.16s… (%" JSON_INTEGER_FORMAT " bytes), "
			    "replay has %.16s… (%" JSON_INTEGER_FORMAT
			    " bytes)", pa, ha ? ha : "-",
			    json_integer_value(json_object_get(a, "size")),
			    hb ? hb : "-",
			    json_integer_value(json_object_get(b, "size")));
			return -1;
		}
		i++;
		j++;
	}
	if (mr != NULL && strcmp(hr, mr) != 0) {
		seterr(why, whylen, "state root differs: host %s, replay %s",
		    hr, mr);
		return -1;
	}
	return 0;
}

/* The replayed state of eng against the host's snapshot: 0 if they are
 * the same, else -1 (why says where they differ). */
int
audit_compare_snapshot(const struct audit *a, const struct engine *eng,
    char *why, size_t whylen)
{
	json_t *h = engine_state_dump(a->snap), *m = engine_state_dump(eng);
	int rc = 0;

	if (h == NULL || m == NULL) {
		seterr(why, whylen, "cannot dump the state");
		rc = -1;
	} else if (compare_dumps(h, m, why, whylen) != 0)
		rc = -1;
	json_decref(h);
	json_decref(m);
	return rc;
}

/* Check 5 against a snapshot engine loaded from the source's state.snap. */
static void
check_snapshot(struct audit *a)
{
	char why[1024];

	if (a->snap == NULL || a->snap_done || a->bad_index != AUDIT_NO_INDEX)
		return;
	if (engine_next_index(a->eng) != a->snap_index)
		return;
	if (audit_compare_snapshot(a, a->eng, why, sizeof(why)) != 0) {
		a->bad_index = a->snap_index ? a->snap_index - 1 : 0;
		a->bad_check = 5;
		if (strcmp(why, "cannot dump the state") == 0)
			snprintf(a->bad_reason, sizeof(a->bad_reason), "%s",
			    why);
		else
			snprintf(a->bad_reason, sizeof(a->bad_reason),
			    "state.snap (host state after entry %" PRIu64 ") "
			    "does not match the replay: %s", a->bad_index, why);
	}
	a->snap_done = 1;
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
		if (engine_replay(a->eng, buf, len, why, sizeof(why)) != 0) {
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
		check_snapshot(a);
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

/* Replay on several threads? Only worth it for many entries. */
#define PARALLEL_MIN	2048	/* entries per thread */

static int
parallel(const struct audit *a, uint64_t upto)
{
	return a->threads > 1 && a->src->entry_copy != NULL &&
	    a->bad_index == AUDIT_NO_INDEX && a->eng != NULL &&
	    engine_next_index(a->eng) == a->nleaves &&
	    upto > a->nleaves && upto - a->nleaves >= PARALLEL_MIN *
	    (uint64_t)a->threads;
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
	if (parallel(a, cp->size)) {
		/* hash everything, then replay the entries the source held on
		 * several threads (audit-parallel.c) */
		if (process_entries(a, cp->size, &got, 0, err, errlen) != 0 ||
		    (!a->stop && a->bad_index == AUDIT_NO_INDEX &&
		    audit_replay_parallel(a, got, a->threads, err,
		    errlen) != 0))
			return -1;
	} else if (process_entries(a, cp->size, &got, 1, err, errlen) != 0)
		return -1;
	r->replay_secs += (double)(mono_usec() - t0) / 1e6;
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
	json_t *dump = NULL, *mine, *jidx;
	char why[1024];
	uint64_t idx = 0;
	int tries, rc;

	for (tries = 0; tries < STATE_TRIES; tries++) {
		if (tries > 0)
			pause_ms(tries < 5 ? 10L << tries : 200);
		if (a->src->state(a->src->ctx, &dump, err, errlen) != 0)
			return -1;
		jidx = json_object_get(dump, "index");
		if (!json_is_integer(jidx) || json_integer_value(jidx) < 0) {
			json_decref(dump);
			audit_fail(r, 5, AUDIT_NO_INDEX, "the host's state has no "
			    "valid index");
			return 1;
		}
		idx = (uint64_t)json_integer_value(jidx);
		if (idx == a->size)
			break;
		json_decref(dump);
		dump = NULL;
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
	if (dump == NULL) {
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
	mine = engine_state_dump(a->eng);
	rc = compare_dumps(dump, mine, why, sizeof(why));
	json_decref(mine);
	json_decref(dump);
	if (rc != 0) {
		audit_fail(r, 5, a->size - 1, "host state after entry %" PRIu64
		    " does not match the replay: %s", a->size - 1, why);
		return 1;
	}
	r->state_checked = 1;
	r->state_index = a->size;
	return 0;
}

static void
report_success(struct audit *a, struct audit_report *r)
{
	r->ok = 1;
	r->fail_check = 0;
	r->fail_index = AUDIT_NO_INDEX;
	r->size = a->size;
	memcpy(r->root, a->root, MERKLE_HASH_LEN);
	snprintf(r->vkey, sizeof(r->vkey), "%s", a->vkey);
	snprintf(r->origin, sizeof(r->origin), "%s", a->origin);
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
	if (check_deploy(e0, e0len, o->name ? o->name :
	    (strrchr(cp.origin, '/') ? strrchr(cp.origin, '/') + 1 :
	    cp.origin), &a->max_entry, why, sizeof(why)) != 0) {
		audit_fail(r, 3, 0, "%s", why);
		snprintf(r->fail_what, sizeof(r->fail_what), "deploy");
		rc = 1;
		goto done;
	}
	if (o->parent != NULL && check_parent(e0, e0len, o->parent, why,
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
	if (src->state != NULL &&
	    (rc = check_state(a, r, err, errlen)) != 0)
		goto done;
	report_success(a, r);
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
	if ((rc = advance(a, r, err, errlen)) != 0)
		return rc;
	if ((rc = audit_check_tiles(a, r, err, errlen)) != 0)
		return rc;
	*grew = a->size > before;
	if (*grew && a->src->state != NULL &&
	    (rc = check_state(a, r, err, errlen)) != 0)
		return rc;
	report_success(a, r);
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

char *
audit_report_line(const struct audit_report *r)
{
	char *s, idx[64] = "", what[300] = "", extra[300] = "";

	if (r->ok) {
		if (r->state_checked)
			snprintf(extra, sizeof(extra), ", state matches");
		if (r->note[0] != '\0')
			snprintf(extra, sizeof(extra), " (%s)", r->note);
		xasprintf(&s, "%s: OK — %" PRIu64 " entries, checkpoint %"
		    PRIu64 " verified, replayed in %.2f s%s%s%s%s", r->contract,
		    r->size, r->size, r->replay_secs, extra,
		    r->first_use ? "; first use: key of origin " : "",
		    r->first_use ? r->origin : "",
		    r->first_use ? " now trusted" : "");
		return s;
	}
	if (r->fail_index != AUDIT_NO_INDEX)
		snprintf(idx, sizeof(idx), " at entry %" PRIu64, r->fail_index);
	if (r->fail_what[0] != '\0')
		snprintf(what, sizeof(what), " (%s)", r->fail_what);
	xasprintf(&s, "%s: FAIL%s%s: %s", r->contract, idx, what, r->reason);
	return s;
}

json_t *
audit_report_json(const struct audit_report *r)
{
	char root[MERKLE_HASH_LEN * 2 + 1];
	json_t *o = json_object();

	json_object_set_new(o, "contract", json_string(r->contract));
	json_object_set_new(o, "ok", json_boolean(r->ok));
	json_object_set_new(o, "origin", json_string(r->origin));
	json_object_set_new(o, "first_use", json_boolean(r->first_use));
	json_object_set_new(o, "vkey", json_string(r->vkey));
	json_object_set_new(o, "entries", json_integer((json_int_t)r->size));
	if (r->ok) {
		hex_encode(r->root, MERKLE_HASH_LEN, root);
		json_object_set_new(o, "checkpoint",
		    json_integer((json_int_t)r->size));
		json_object_set_new(o, "root", json_string(root));
	}
	json_object_set_new(o, "replay_seconds", json_real(r->replay_secs));
	json_object_set_new(o, "state_checked",
	    json_boolean(r->state_checked));
	if (!r->ok) {
		json_object_set_new(o, "check", json_integer(r->fail_check));
		json_object_set_new(o, "entry", r->fail_index == AUDIT_NO_INDEX ?
		    json_null() : json_integer((json_int_t)r->fail_index));
		json_object_set_new(o, "what", r->fail_what[0] ?
		    json_string(r->fail_what) : json_null());
		json_object_set_new(o, "error", json_string(r->reason));
	}
	if (r->note[0] != '\0')
		json_object_set_new(o, "note", json_string(r->note));
	return o;
}
