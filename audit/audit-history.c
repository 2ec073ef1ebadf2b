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
	struct checkpoint cp;
	struct hist_cp *h = NULL;
	char **notes = NULL, err[VMS_ERRLEN];
	size_t n = 0, k, nh = 0, tl;
	uint64_t pushed = 0;
	merkle_hash root;
	int rc = 0;

	if (a->src->history == NULL)
		return 0;
	if (a->src->history(a->src->ctx, &notes, &n) != 0) {
		audit_fail(r, 2, AUDIT_NO_INDEX, "cannot read the ledger's signed "
		    "checkpoint history");
		return 1;
	}
	qsort(notes, n, sizeof(char *), cmp_str);
	h = xcalloc(n + 1, sizeof(*h));
	for (k = 0; k < n && rc == 0; k++) {
		if (k > 0 && strcmp(notes[k], notes[k - 1]) == 0)
			continue;
		if (note_verify(notes[k], strlen(notes[k]), &a->key, 1, &tl,
		    NULL, err, sizeof(err)) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "a checkpoint in the ledger's "
			    "history does not verify under %s: %s", a->vkey,
			    err);
			rc = 1;
		} else if (checkpoint_parse(notes[k], tl, &cp, err,
		    sizeof(err)) != 0 || strcmp(cp.origin, a->origin) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "a signed checkpoint in the "
			    "ledger's history is malformed or names another "
			    "origin");
			rc = 1;
		} else if (cp.size > a->size) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "the host signed a checkpoint "
			    "of size %" PRIu64 ", beyond its newest checkpoint "
			    "%" PRIu64 ": the ledger was truncated or rolled "
			    "back", cp.size, a->size);
			rc = 1;
		} else {
			h[nh].size = cp.size;
			memcpy(h[nh++].root, cp.root, MERKLE_HASH_LEN);
		}
	}
	qsort(h, nh, sizeof(*h), cmp_hist);
	merkle_frontier_init(&fr);
	for (k = 0; k < nh && rc == 0; k++) {
		while (pushed < h[k].size)
			merkle_frontier_push(&fr, a->leaves[pushed++]);
		if (pushed == 0)
			merkle_empty_root(root);
		else
			merkle_frontier_root(&fr, root);
		if (memcmp(root, h[k].root, MERKLE_HASH_LEN) != 0) {
			audit_fail(r, 2, AUDIT_NO_INDEX, "two different trees signed "
			    "at size %" PRIu64 ": the ledger's history holds a "
			    "signed checkpoint whose root is not that of its "
			    "first %" PRIu64 " entries", h[k].size, h[k].size);
			rc = 1;
		}
	}
	for (k = 0; k < n; k++)
		free(notes[k]);
	free(notes);
	free(h);
	return rc;
}
