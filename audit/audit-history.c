/*
 * audit-history.c — the auditor's cross-checks against the ledger's signed
 * checkpoint history (every note the source offers: a directory's
 * `checkpoints` file and commit records): that each verifies and signs
 * exactly the tree of that many entries (else the host signed two
 * histories, or one beyond its newest checkpoint), and, when the entries
 * do not hash to the signed root, which signed stretch of entries first
 * diverges. The checks in order are audit.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

/* Narrow a root mismatch down using the signed checkpoint history. */
uint64_t
audit_localise(struct audit *a, uint64_t *hi)
{
	struct merkle_frontier fr;
	struct checkpoint cp;
	char **notes = NULL, err[VMS_ERRLEN];
	size_t n = 0, k, tl;
	uint64_t best = AUDIT_NO_INDEX, prev = 0, pushed = 0;
	merkle_hash root;

	*hi = AUDIT_NO_INDEX;
	if (a->src->history == NULL ||
	    a->src->history(a->src->ctx, &notes, &n) != 0)
		return AUDIT_NO_INDEX;
	merkle_frontier_init(&fr);
	/* The history is in signing order, i.e. increasing size. */
	for (k = 0; k < n; k++) {
		if (note_verify(notes[k], strlen(notes[k]), &a->key, 1, &tl,
		    NULL, err, sizeof(err)) != 0 ||
		    checkpoint_parse(notes[k], tl, &cp, err, sizeof(err)) != 0 ||
		    cp.size < prev || cp.size > a->nleaves || cp.size == 0)
			continue;
		while (pushed < cp.size)
			merkle_frontier_push(&fr, a->leaves[pushed++]);
		merkle_frontier_root(&fr, root);
		if (memcmp(root, cp.root, MERKLE_HASH_LEN) != 0) {
			best = prev;
			*hi = cp.size - 1;
			break;
		}
		prev = cp.size;
	}
	for (k = 0; k < n; k++)
		free(notes[k]);
	free(notes);
	return best;
}

struct hist_cp {
	uint64_t	size;
	merkle_hash	root;
};

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int
cmp_hist(const void *x, const void *y)
{
	const struct hist_cp *p = x, *q = y;

	return p->size < q->size ? -1 : p->size > q->size;
}

/* What one note of the history is (check_note). */
enum { H_OK, H_SAME, H_SIG, H_BAD, H_BEYOND };

/* notes[k] checked on its own: its signature (the costly part: one
 * Ed25519 verification each, tens of thousands in a large ledger's
 * history), its form and origin, its size; its size and root in *cp. */
static uint8_t
check_note(const struct audit *a, char *const *notes, size_t k,
    struct hist_cp *cp, char *err, size_t errlen)
{
	struct checkpoint c;
	size_t tl;

	if (k > 0 && strcmp(notes[k], notes[k - 1]) == 0)
		return H_SAME;
	if (note_verify(notes[k], strlen(notes[k]), &a->key, 1, &tl, NULL,
	    err, errlen) != 0)
		return H_SIG;
	if (checkpoint_parse(notes[k], tl, &c, err, errlen) != 0 ||
	    strcmp(c.origin, a->origin) != 0)
		return H_BAD;
	cp->size = c.size;
	memcpy(cp->root, c.root, MERKLE_HASH_LEN);
	return c.size > a->size ? H_BEYOND : H_OK;
}

/* The notes [from, to) of a history checked on a thread of their own. */
struct hist_part {
	const struct audit	*a;
	char *const		*notes;
	size_t			 from, to;
	uint8_t			*st;
	struct hist_cp		*cp;
};

static void *
check_part(void *arg)
{
	struct hist_part *p = arg;
	char err[VMS_ERRLEN];
	size_t k;

	for (k = p->from; k < p->to; k++)
		p->st[k] = check_note(p->a, p->notes, k, &p->cp[k], err,
		    sizeof(err));
	return NULL;
}

#define HIST_PER_THREAD	256	/* notes at least, for a thread of its own */

/* Every note's check, on up to a->threads threads (the first failure is
 * then found in order, as on one). */
static void
check_notes(const struct audit *a, char *const *notes, size_t n,
    uint8_t *st, struct hist_cp *cp)
{
	struct hist_part part[AUDIT_MAX_THREADS];
	size_t t = a->threads > 1 ? (size_t)a->threads : 1, k;

	if (t > AUDIT_MAX_THREADS)
		t = AUDIT_MAX_THREADS;
	if (t > n / HIST_PER_THREAD)
		t = n / HIST_PER_THREAD > 0 ? n / HIST_PER_THREAD : 1;
	for (k = 0; k < t; k++) {
		part[k].a = a;
		part[k].notes = notes;
		part[k].from = n * k / t;
		part[k].to = n * (k + 1) / t;
		part[k].st = st;
		part[k].cp = cp;
	}
	audit_on_threads(check_part, part, sizeof(part[0]), (int)t);
}

/*
 * Check 2 on the source's signed history (all leaves are known): every
 * note must verify under the key, name the same origin, lie within the
 * newest checkpoint and sign the root of exactly that many entries.
 * Returns 0 ok, 1 failure (r filled).
 */
int
audit_check_history(struct audit *a, struct audit_report *r)
{
	struct merkle_frontier fr;
	struct hist_cp *cp;
	char **notes = NULL, err[VMS_ERRLEN];
	size_t n = 0, k, nh = 0;
	uint64_t pushed = 0;
	merkle_hash root;
	uint8_t *st;
	int rc = 0;

	if (a->src->history == NULL)
		return 0;
	if (a->src->history(a->src->ctx, &notes, &n) != 0) {
		audit_fail(r, 2, AUDIT_NO_INDEX, "cannot read the ledger's signed "
		    "checkpoint history");
		return 1;
	}
	qsort(notes, n, sizeof(char *), cmp_str);
	cp = xcalloc(n + 1, sizeof(*cp));
	st = xcalloc(n + 1, 1);
	check_notes(a, notes, n, st, cp);
	for (k = 0; k < n && rc == 0; k++) {
		switch (st[k]) {
		case H_SAME:
			break;
		case H_SIG:	/* (again, for its error) */
			check_note(a, notes, k, &cp[k], err, sizeof(err));
			audit_fail(r, 2, AUDIT_NO_INDEX, "a checkpoint in the "
			    "ledger's history does not verify under %s: %s",
			    a->vkey, err);
			rc = 1;
			break;
		case H_BAD:
			audit_fail(r, 2, AUDIT_NO_INDEX, "a signed checkpoint in the "
			    "ledger's history is malformed or names another "
			    "origin");
			rc = 1;
			break;
		case H_BEYOND:
			audit_fail(r, 2, AUDIT_NO_INDEX, "the host signed a checkpoint "
			    "of size %" PRIu64 ", beyond its newest checkpoint "
			    "%" PRIu64 ": the ledger was truncated or rolled "
			    "back", cp[k].size, a->size);
			rc = 1;
			break;
		default:	/* kept, at the front (nh <= k) */
			cp[nh++] = cp[k];
		}
	}
	qsort(cp, nh, sizeof(*cp), cmp_hist);
	merkle_frontier_init(&fr);
	for (k = 0; k < nh && rc == 0; k++) {
		while (pushed < cp[k].size)
			merkle_frontier_push(&fr, a->leaves[pushed++]);
		if (pushed == 0)
			merkle_empty_root(root);
		else
			merkle_frontier_root(&fr, root);
		if (memcmp(root, cp[k].root, MERKLE_HASH_LEN) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "two different trees signed "
			    "at size %" PRIu64 ": the ledger's history holds a "
			    "signed checkpoint whose root is not that of its "
			    "first %" PRIu64 " entries", cp[k].size, cp[k].size);
			rc = 1;
		}
	}
	for (k = 0; k < n; k++)
		free(notes[k]);
	free(notes);
	free(cp);
	free(st);
	return rc;
}
