/*
 * audit-state.c — check 5: the state the replay reached against the
 * host's, file by file (path, type, size, SHA-256) and by state root: the
 * state the host serves at the end, a page at a time beside the replay's
 * own pages (neither is held whole), and the host's state.snap (a ledger
 * directory's) once the replay reaches its index.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "util.h"

#define MINE_PAGE	5000	/* the replay's files read at a time */

/*
 * One side of a comparison of two states, in path order: the page in
 * hand and where the next one comes from (the host's source, or the
 * replay's engine).
 */
struct side {
	json_t		*page;		/* owned */
	size_t		 i, n;
	char		*next;		/* the page's "next"; NULL: the last */
	struct audit	*a;		/* the host's pages: a->src */
	const struct engine *eng;	/* else the replay's */
	json_int_t	 index;		/* the host's first page's */
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

static void
side_free(struct side *s)
{
	json_decref(s->page);
	free(s->next);
}

/* The side's file in hand (*f NULL: none left), its next page fetched
 * when this one is done. -1: the host's source failed (err), or its
 * page is at another index (s->moved). */
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
			p = engine_state_page(s->eng, s->next, MINE_PAGE, 0);
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
 * Walk both sides in path order to the first file that differs (path,
 * type, size, SHA-256), then compare the roots hr and mr. 0 if equal, 1
 * if not (why names the first difference), -1 if a side could not be
 * read (side_file).
 */
static int
compare_sides(struct side *h, struct side *m, const char *hr, const char *mr,
    char *why, size_t whylen, char *err, size_t errlen)
{
	for (;;) {
		const json_t *a, *b;
		const char *pa, *pb;
		int c;

		if (side_file(h, &a, err, errlen) != 0 ||
		    side_file(m, &b, err, errlen) != 0)
			return -1;
		if (a == NULL && b == NULL)
			break;
		pa = a ? json_string_value(json_object_get(a, "path")) : NULL;
		pb = b ? json_string_value(json_object_get(b, "path")) : NULL;
		if (a != NULL && pa == NULL) {
			seterr(why, whylen, "the host's state dump is malformed");
			return 1;
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
			return 1;
		}
		if (c > 0) {
			seterr(why, whylen, "state differs at %s: absent on "
			    "the host, present in the replay", pb);
			return 1;
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
			return 1;
		}
		h->i++;
		m->i++;
	}
	if (mr != NULL && strcmp(hr, mr) != 0) {
		seterr(why, whylen, "state root differs: host %s, replay %s",
		    hr, mr);
		return 1;
	}
	return 0;
}

/*
 * Compare two state dumps {"root","files":[{path,type,size,sha256}]}.
 * Returns 0 if equal, else -1 naming the first differing path.
 */
int
audit_compare_dumps(const json_t *host, const json_t *mine, char *why,
    size_t whylen)
{
	struct side h = { 0 }, m = { 0 };
	const char *hr = json_string_value(json_object_get(host, "root"));
	const char *mr = json_string_value(json_object_get(mine, "root"));
	char err[8];
	int rc;

	if (!json_is_array(json_object_get(host, "files")) ||
	    !json_is_array(json_object_get(mine, "files")) || hr == NULL) {
		seterr(why, whylen, "the host's state dump is malformed");
		return -1;
	}
	/* (whole dumps: no "next" is followed) */
	h.page = json_incref((json_t *)host);
	h.n = json_array_size(json_object_get(host, "files"));
	m.page = json_incref((json_t *)mine);
	m.n = json_array_size(json_object_get(mine, "files"));
	rc = compare_sides(&h, &m, hr, mr, why, whylen, err, sizeof(err));
	side_free(&h);
	side_free(&m);
	return rc == 0 ? 0 : -1;
}

int
audit_compare_live(struct audit *a, json_t *first, char *why, size_t whylen,
    char *err, size_t errlen)
{
	struct side h = { 0 }, m = { 0 };
	const char *r = json_string_value(json_object_get(first, "root"));
	char *hr, *mr;
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
	m.eng = a->eng;
	side_take(&m, engine_state_page(a->eng, NULL, MINE_PAGE, 0));
	mr = xstrdup(json_string_value(json_object_get(m.page, "root")));
	rc = compare_sides(&h, &m, hr, mr, why, whylen, err, errlen);
	if (rc == -1 && h.moved)
		rc = 2;
	side_free(&h);
	side_free(&m);
	free(hr);
	free(mr);
	return rc;
}

/* The replayed state of eng against the host's snapshot: 0 if they are
 * the same, else -1 (why says where they differ). */
int
audit_compare_snapshot(const struct audit *a, const struct engine *eng,
    char *why, size_t whylen)
{
	json_t *h, *m;
	merkle_hash hr, mr;
	int rc = 0;

	/* The same files and the same root: equal (the common case, at a
	 * lookup per file); else the dumps name the first difference. */
	engine_state_root(a->snap, hr);
	engine_state_root(eng, mr);
	if (memcmp(hr, mr, sizeof(hr)) == 0 && engine_state_same(a->snap, eng))
		return 0;
	h = engine_state_dump(a->snap);
	m = engine_state_dump(eng);
	if (h == NULL || m == NULL) {
		seterr(why, whylen, "cannot dump the state");
		rc = -1;
	} else if (audit_compare_dumps(h, m, why, whylen) != 0)
		rc = -1;
	json_decref(h);
	json_decref(m);
	return rc;
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
