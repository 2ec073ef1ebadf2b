/*
 * audit-state.c — check 5: the state the replay reached against the
 * host's, file by file (path, type, size, SHA-256) and by state root: the
 * state the host serves at the end, a page at a time beside the replay's
 * files in the same order (the host's is never held whole, the replay's
 * not as text), and the host's state.snap (a ledger directory's) once
 * the replay reaches its index.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "util.h"

#define SNAP_PAGE	5000	/* a snapshot's files read at a time */

/*
 * The host's side of a comparison, in path order: the page of files in
 * hand (engine_state_page()'s text) and where the next comes from: the
 * source (the live state, every page at one index) or a snapshot engine.
 */
struct side {
	json_t		*page;		/* owned */
	size_t		 i, n;
	char		*next;		/* the page's "next"; NULL: the last */
	struct audit	*a;		/* the live state: a->src */
	const struct engine *eng;	/* else a snapshot's */
	json_int_t	 index;		/* the live state's first page's */
	int		 moved;		/* a later page had another */
};

/* Make page (a new reference) the side's page in hand. */
static void
side_take(struct side *s, json_t *page)
{
	const char *nx = json_string_value(json_object_get(page, "next"));

	json_decref(s->page);
	free(s->next);
	s->page = page;
	s->i = 0;
	s->n = json_array_size(json_object_get(page, "files"));
	s->next = nx != NULL && s->n > 0 ? xstrdup(nx) : NULL;
}

/* The side's file in hand (*f NULL: none left), its next page fetched
 * when this one is done. -1: the source failed (err), or its page is at
 * another index (s->moved). */
static int
side_file(struct side *s, const json_t **f, char *err, size_t errlen)
{
	json_t *p;

	while (s->i == s->n) {
		if (s->next == NULL) {
			*f = NULL;
			return 0;
		}
		if (s->eng != NULL)
			p = engine_state_page(s->eng, s->next, SNAP_PAGE, 0);
		else {
			if (s->a->src->state_page(s->a->src->ctx, s->next, &p,
			    err, errlen) != 0)
				return -1;
			if (!json_is_integer(json_object_get(p, "index")) ||
			    json_integer_value(json_object_get(p, "index")) !=
			    s->index) {
				json_decref(p);
				s->moved = 1;
				return -1;
			}
		}
		side_take(s, p);
	}
	*f = json_array_get(json_object_get(s->page, "files"), s->i);
	return 0;
}

/*
 * The host's files (side h, from its first page: root hr) against the
 * replay's (eng) in path order, to the first that differs (path, type,
 * size, SHA-256), then the roots. 0 if the same, 1 if not (why names the
 * first difference), -1 if the host's side could not be read.
 */
static int
compare_files(struct side *h, const char *hr, const struct engine *eng,
    char *why, size_t whylen, char *err, size_t errlen)
{
	struct engine_file *mf;
	merkle_hash root;
	char hex[2 * MERKLE_HASH_LEN + 1], mr[2 * MERKLE_HASH_LEN + 1];
	size_t j = 0, nm;
	int rc = 1;

	mf = engine_state_files(eng, &nm);
	for (;;) {
		const struct engine_file *b = j < nm ? &mf[j] : NULL;
		const json_t *a, *sz;
		const char *pa, *ha, *ty;
		int c;

		if (side_file(h, &a, err, errlen) != 0) {
			rc = -1;
			goto out;
		}
		if (a == NULL && b == NULL)
			break;
		pa = a ? json_string_value(json_object_get(a, "path")) : NULL;
		if (a != NULL && pa == NULL) {
			seterr(why, whylen, "the host's state dump is malformed");
			goto out;
		}
		c = pa == NULL ? 1 : b == NULL ? -1 : strcmp(pa, b->path);
		if (c < 0) {
			seterr(why, whylen, "state differs at %s: present on "
			    "the host, absent in the replay", pa);
			goto out;
		}
		if (c > 0) {
			seterr(why, whylen, "state differs at %s: absent on "
			    "the host, present in the replay", b->path);
			goto out;
		}
		ty = json_string_value(json_object_get(a, "type"));
		sz = json_object_get(a, "size");
		ha = json_string_value(json_object_get(a, "sha256"));
		hex_encode(b->sha256, 32, hex);
		if (ty == NULL || strcmp(ty, b->dir ? "dir" : "file") != 0 ||
		    !json_is_integer(sz) || json_integer_value(sz) < 0 ||
		    (uint64_t)json_integer_value(sz) != b->size ||
		    ha == NULL || strcmp(ha, hex) != 0) {
			seterr(why, whylen, "state differs at %s: host has "
			    "sha256 %.16s… (%" JSON_INTEGER_FORMAT " bytes), "
			    "replay has %.16s… (%" PRIu64 " bytes)", pa,
			    ha ? ha : "-", json_integer_value(sz), hex,
			    b->size);
			goto out;
		}
		h->i++;
		j++;
	}
	engine_state_root(eng, root);
	hex_encode(root, MERKLE_HASH_LEN, mr);
	if (strcmp(hr, mr) != 0) {
		seterr(why, whylen, "state root differs: host %s, replay %s",
		    hr, mr);
		goto out;
	}
	rc = 0;
out:
	free(mf);
	return rc;
}

int
audit_compare_live(struct audit *a, json_t *first, char *why, size_t whylen,
    char *err, size_t errlen)
{
	struct side h = { 0 };
	const char *r = json_string_value(json_object_get(first, "root"));
	char *hr;
	int rc;

	if (!json_is_array(json_object_get(first, "files")) || r == NULL ||
	    !json_is_integer(json_object_get(first, "index"))) {
		seterr(why, whylen, "the host's state dump is malformed");
		return 1;
	}
	hr = xstrdup(r);
	h.a = a;
	h.index = json_integer_value(json_object_get(first, "index"));
	side_take(&h, json_incref(first));
	rc = compare_files(&h, hr, a->eng, why, whylen, err, errlen);
	if (rc == -1 && h.moved)
		rc = 2;
	json_decref(h.page);
	free(h.next);
	free(hr);
	return rc;
}

/* The replayed state of eng against the host's snapshot: 0 if they are
 * the same, else -1 (why says where they differ). */
int
audit_compare_snapshot(const struct audit *a, const struct engine *eng,
    char *why, size_t whylen)
{
	struct side h = { 0 };
	merkle_hash hr, mr;
	char hex[2 * MERKLE_HASH_LEN + 1], err[8];
	int rc;

	/* The same files and the same root: equal (the common case, at a
	 * lookup per file); else walk both to the first difference. */
	engine_state_root(a->snap, hr);
	engine_state_root(eng, mr);
	if (memcmp(hr, mr, sizeof(hr)) == 0 && engine_state_same(a->snap, eng))
		return 0;
	hex_encode(hr, MERKLE_HASH_LEN, hex);
	h.eng = a->snap;
	side_take(&h, engine_state_page(a->snap, NULL, SNAP_PAGE, 0));
	rc = compare_files(&h, hex, eng, why, whylen, err, sizeof(err));
	json_decref(h.page);
	free(h.next);
	return rc == 0 ? 0 : -1;
}

/* Check 5 against a snapshot engine loaded from the source's state.snap. */
void
audit_check_snapshot(struct audit *a)
{
	char why[1024];

	if (a->snap == NULL || a->snap_done || a->bad_index != AUDIT_NO_INDEX)
		return;
	if (engine_next_index(a->eng) != a->snap_index)
		return;
	if (audit_compare_snapshot(a, a->eng, why, sizeof(why)) != 0) {
		a->bad_index = a->snap_index ? a->snap_index - 1 : 0;
		a->bad_check = 5;
		snprintf(a->bad_reason, sizeof(a->bad_reason), "state.snap "
		    "(host state after entry %" PRIu64 ") does not match the "
		    "replay: %s", a->bad_index, why);
	}
	a->snap_done = 1;
}
