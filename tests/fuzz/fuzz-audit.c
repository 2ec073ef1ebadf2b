/*
 * fuzz-audit.c — the audit engine (audit/audit.c, audit-history.c) fed by
 * a hostile audit source: a host that holds its contract's key and signs
 * whatever it likes (vms-contract(7): the audit trusts nothing else). The
 * source is built from the sectioned input (fuzz.h):
 *   @@e               an entry (repeatable), entries 0, 1, ...
 *   @@checkpoint      the latest checkpoint note, raw; or
 *   @@checkpoint-sign its text, signed with the fixed key; or
 *   @@checkpoint-at   N: the signed checkpoint of the first N entries;
 *                     default: the signed checkpoint of all of them
 *   @@vkey            the key the source claims (default the fixed key)
 *   @@tofu            pin nothing (trust the claimed key on first use);
 *                     default: the fixed key is pinned
 *   @@trusted-at      N: a checkpoint remembered from an earlier audit,
 *                     of the first N entries (@@trusted-root: 32 raw bytes
 *                     for its root instead)
 *   @@history-at N, @@history-sign TEXT, @@history NOTE   (repeatable)
 *                     the signed history; none: no history callback
 *   @@proof           raw hashes for every consistency proof; default:
 *                     correct proofs over the entries; @@no-prove: none
 *   @@state           the host's state dump (JSON) for check 5; its
 *                     "index" is clamped to the checkpoint's size (so the
 *                     audit does not wait for a contract that moves on)
 *   @@snap            a state.snap file; @@snap-sum: the body with its
 *                     SHA-256 trailer appended
 *   @@follow          call audit_follow_step after a passing audit
 * Invariants: a report is always produced; a failed audit names its
 * check (1..5); a passing one verified the checkpoint's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "fuzz.h"
#include "merkle.h"
#include "util.h"

#define MAXSEC	256

struct src {
	const struct fuzz_section *e[MAXSEC];
	uint64_t	 n;
	merkle_hash	 leaves[MAXSEC];
	char		*checkpoint;
	uint64_t	 cpsize;
	char		*vkey;
	char		*notes[MAXSEC];
	size_t		 nnotes;
	int		 has_history;
	const struct fuzz_section *proof;
	const struct fuzz_section *state;
};

/* The signed checkpoint of the first k entries. */
static char *
note_at(struct src *s, uint64_t k)
{
	merkle_hash root;

	if (k > s->n)
		k = s->n;
	if (k == 0)
		merkle_empty_root(root);
	else
		merkle_root(s->leaves, k, root);
	return fuzz_sign_checkpoint(k, root);
}

static int
cb_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct src *s = ctx;

	*note = xstrdup(s->checkpoint);
	return 0;
}

static char *
cb_vkey(void *ctx)
{
	struct src *s = ctx;

	return s->vkey ? xstrdup(s->vkey) : NULL;
}

static int
cb_entry(void *ctx, uint64_t i, const uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	struct src *s = ctx;

	if (i >= s->n) {
		seterr(err, errlen, "the fuzz source holds %llu entries",
		    (unsigned long long)s->n);
		return 1;
	}
	*buf = s->e[i]->data;
	*len = s->e[i]->len;
	return 0;
}

static int
leaf_range(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct src *s = ctx;

	if (start >= end || end > s->n)
		return -1;
	merkle_root(s->leaves + start, end - start, out);
	return 0;
}

static int
cb_prove(void *ctx, uint64_t old, uint64_t size, merkle_hash *proof,
    size_t *n, char *err, size_t errlen)
{
	struct src *s = ctx;
	size_t i;

	if (s->proof != NULL) {
		*n = s->proof->len / MERKLE_HASH_LEN;
		if (*n > MERKLE_MAX_PROOF)
			*n = MERKLE_MAX_PROOF;
		for (i = 0; i < *n; i++)
			memcpy(proof[i], s->proof->data + i * MERKLE_HASH_LEN,
			    MERKLE_HASH_LEN);
		return 0;
	}
	if (merkle_consistency_proof(leaf_range, s, old, size, proof,
	    n) != 0) {
		seterr(err, errlen, "no proof %llu -> %llu",
		    (unsigned long long)old, (unsigned long long)size);
		return -1;
	}
	return 0;
}

/* The section is every page: a "next" in it is asked for again and
 * gets the same files (audit-state.c must still end, at the first
 * difference). */
static int
cb_state_page(void *ctx, const char *after, json_t **dump, char *err,
    size_t errlen)
{
	struct src *s = ctx;
	json_t *idx;

	(void)after;
	*dump = json_loadb((const char *)s->state->data, s->state->len, 0,
	    NULL);
	if (*dump == NULL) {
		seterr(err, errlen, "state: not JSON");
		return -1;
	}
	idx = json_object_get(*dump, "index");
	if (json_is_integer(idx) && json_integer_value(idx) > 0 &&
	    (uint64_t)json_integer_value(idx) > s->cpsize)
		json_object_set_new(*dump, "index",
		    json_integer((json_int_t)s->cpsize));
	return 0;
}

static int
cb_history(void *ctx, char ***notes, size_t *n)
{
	struct src *s = ctx;
	size_t i;

	*notes = xcalloc(s->nnotes + 1, sizeof(char *));
	for (i = 0; i < s->nnotes; i++)
		(*notes)[i] = xstrdup(s->notes[i]);
	*n = s->nnotes;
	return 0;
}

static const struct fuzz_section *
find(const struct fuzz_section *sec, size_t n, const char *name)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (strcmp(sec[i - 1].name, name) == 0)
			return &sec[i - 1];
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_section sec[MAXSEC];
	static struct src s;
	struct audit_source as;
	struct audit_opts o;
	struct audit_report r;
	struct audit_trusted tr;
	struct checkpoint cp;
	struct audit *a = NULL;
	const struct fuzz_section *x;
	char err[VMS_ERRLEN], *text, *snap = NULL;
	size_t ns, i;
	int rc, grew;

	fuzz_init();
	memset(&s, 0, sizeof(s));
	ns = fuzz_sections(data, size, sec, MAXSEC);
	for (i = 0; i < ns; i++) {
		if (strcmp(sec[i].name, "e") == 0) {
			s.e[s.n] = &sec[i];
			merkle_leaf_hash(sec[i].data, sec[i].len,
			    s.leaves[s.n]);
			s.n++;
		}
	}
	for (i = 0; i < ns && s.nnotes < MAXSEC; i++) {
		char *note = NULL;

		if (strcmp(sec[i].name, "history-at") == 0)
			note = note_at(&s, fuzz_u64(&sec[i]));
		else if (strcmp(sec[i].name, "history-sign") == 0) {
			text = fuzz_strdup(&sec[i]);
			note = fuzz_sign(text, sec[i].len);
			free(text);
		} else if (strcmp(sec[i].name, "history") == 0)
			note = fuzz_strdup(&sec[i]);
		else
			continue;
		s.has_history = 1;
		if (note != NULL)
			s.notes[s.nnotes++] = note;
	}
	if ((x = find(sec, ns, "checkpoint")) != NULL)
		s.checkpoint = fuzz_strdup(x);
	else if ((x = find(sec, ns, "checkpoint-sign")) != NULL) {
		text = fuzz_strdup(x);
		s.checkpoint = fuzz_sign(text, x->len);
		free(text);
	} else if ((x = find(sec, ns, "checkpoint-at")) != NULL)
		s.checkpoint = note_at(&s, fuzz_u64(x));
	if (s.checkpoint == NULL)
		s.checkpoint = note_at(&s, s.n);
	s.cpsize = UINT64_MAX;
	{
		const char *sep = strstr(s.checkpoint, "\n\n");

		if (sep != NULL && checkpoint_parse(s.checkpoint,
		    (size_t)(sep - s.checkpoint) + 1, &cp, err,
		    sizeof(err)) == 0)
			s.cpsize = cp.size;
	}
	s.vkey = (x = find(sec, ns, "vkey")) != NULL ? fuzz_strdup(x) :
	    xstrdup(fuzz_vkey());
	s.proof = find(sec, ns, "proof");
	s.state = find(sec, ns, "state");

	memset(&as, 0, sizeof(as));
	as.ctx = &s;
	as.what = "fuzz";
	as.checkpoint = cb_checkpoint;
	as.vkey = cb_vkey;
	as.entry = cb_entry;
	as.prove = find(sec, ns, "no-prove") ? NULL : cb_prove;
	as.state_page = s.state ? cb_state_page : NULL;
	as.history = s.has_history ? cb_history : NULL;
	if ((x = find(sec, ns, "snap")) != NULL ||
	    (x = find(sec, ns, "snap-sum")) != NULL) {
		const char *dir = fuzz_scratch();
		uint8_t *body = xmalloc(x->len + 32);

		memcpy(body, x->data, x->len);
		if (strcmp(x->name, "snap-sum") == 0)
			crypto_hash_sha256(body + x->len, x->data, x->len);
		fuzz_write(dir, "state.snap", body, x->len +
		    (strcmp(x->name, "snap-sum") == 0 ? 32 : 0));
		free(body);
		xasprintf(&snap, "%s/state.snap", dir);
		as.snapshot = snap;
	}

	memset(&o, 0, sizeof(o));
	if (find(sec, ns, "tofu") == NULL)
		o.pinned_vkey = fuzz_vkey();
	if ((x = find(sec, ns, "trusted-at")) != NULL) {
		uint64_t k = fuzz_u64(x);

		memset(&tr, 0, sizeof(tr));
		snprintf(tr.vkey, sizeof(tr.vkey), "%s", fuzz_vkey());
		tr.size = k > s.n ? s.n : k;
		if (tr.size == 0)
			merkle_empty_root(tr.root);
		else
			merkle_root(s.leaves, tr.size, tr.root);
		if ((x = find(sec, ns, "trusted-root")) != NULL &&
		    x->len >= MERKLE_HASH_LEN)
			memcpy(tr.root, x->data, MERKLE_HASH_LEN);
		o.trusted = &tr;
	}

	rc = audit_run(&as, &o, &r, &a, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE") != NULL) {
		char *line = audit_report_line(&r);

		fprintf(stderr, "audit: %d: %s%s%s\n", rc, line,
		    rc < 0 ? ": " : "", rc < 0 ? err : "");
		free(line);
	}
	if (rc == 1 && (r.ok || r.fail_check < 1 || r.fail_check > 5))
		fuzz_fail("failed audit with ok %d, check %d", r.ok,
		    r.fail_check);
	if (rc == 0) {
		if (!r.ok || r.size != s.cpsize)
			fuzz_fail("passing audit: ok %d, size %llu of %llu",
			    r.ok, (unsigned long long)r.size,
			    (unsigned long long)s.cpsize);
		if (a == NULL)
			fuzz_fail("passing audit without its state");
		if (find(sec, ns, "follow") != NULL)
			(void)audit_follow_step(a, &r, &grew, err,
			    sizeof(err));
		audit_free(a);
	}
	free(audit_report_line(&r));
	json_decref(audit_report_json(&r));

	for (i = 0; i < s.nnotes; i++)
		free(s.notes[i]);
	free(s.checkpoint);
	free(s.vkey);
	free(snap);
	return 0;
}
