/*
 * audit-rpc.c — an audit source that fetches bytes from vmsd: the
 * checkpoint, entries in pages (`log`), consistency proofs (`prove`) and
 * the host's state (`state`). It only moves bytes; audit.c checks
 * every one of them.
 *
 * It keeps the last PAGES_KEPT pages of entries it fetched, not every
 * entry: the audit reads them in order, and a replay reads an earlier one
 * now and then (System.files.history), fetched again if its page has gone
 * (audit.c checks it against the verified tree like any other). Until
 * round 19 it kept every entry, about 1.9 KiB each in vmsctl: 253 MiB for
 * a 100k-entry ledger, without end in `vmsctl audit --follow`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "client.h"
#include "proto.h"
#include "util.h"

#define AUDIT_PAGE	1000	/* entries a `log` request asks for */
#define PAGES_KEPT	4

/* Entries [first, first + n) as fetched from first, n at most AUDIT_PAGE:
 * fewer at the end of the ledger, or when the entries are large (a `log`
 * reply stops at about PROTO_PAGE_BYTES of them: max_bytes). An entry
 * past a page is fetched in a page of its own, from it. */
struct page {
	uint64_t		 first;
	size_t			 n;
	uint8_t			*bufs[AUDIT_PAGE];
	size_t			 lens[AUDIT_PAGE];
	uint64_t		 used;		/* when last read: LRU */
};

struct daemon_src {
	struct vms_client	*client;	/* borrowed */
	char			*name;
	char			*what;
	int			*transport_failed;
	struct page		 pages[PAGES_KEPT];	/* n 0: empty */
	uint64_t		 clock;
};

static int
rpc(struct daemon_src *d, enum proto_method_id id, json_t *params,
    json_t **res, char *err, size_t errlen)
{
	const char *method = proto_method_name(id);
	char e[VMS_ERRLEN];
	enum client_status st;

	st = client_call(d->client, method, params, res, NULL, e, sizeof(e));
	if (st == CLIENT_OK)
		return 0;
	if (st == CLIENT_FAILED)
		*d->transport_failed = 1;
	seterr(err, errlen, "%s: %s", method, e);
	return -1;
}

static int
d_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct daemon_src *d = ctx;
	json_t *res;
	const char *s;

	if (rpc(d, PM_CHECKPOINT, json_pack("{s:s}", "contract", d->name),
	    &res, err, errlen) != 0)
		return -1;
	if ((s = json_string_value(json_object_get(res, "note"))) == NULL) {
		seterr(err, errlen, "checkpoint: malformed reply");
		json_decref(res);
		return -1;
	}
	*note = xstrdup(s);
	json_decref(res);
	return 0;
}

static char *
d_vkey(void *ctx)
{
	struct daemon_src *d = ctx;
	char err[VMS_ERRLEN], *k = NULL;
	json_t *res;
	const char *s;

	if (rpc(d, PM_METHODS, json_pack("{s:s}", "contract", d->name), &res,
	    err, sizeof(err)) != 0)
		return NULL;
	if ((s = json_string_value(json_object_get(res, "vkey"))) != NULL)
		k = xstrdup(s);
	json_decref(res);
	return k;
}

static void
page_clear(struct page *pg)
{
	size_t i;

	for (i = 0; i < pg->n; i++)
		free(pg->bufs[i]);
	pg->n = 0;
}

/* Fetch the page of entries from `first` into pg (cleared first). */
static int
fetch_page(struct daemon_src *d, struct page *pg, uint64_t first, char *err,
    size_t errlen)
{
	json_t *res, *entries, *e;
	const char *b64;
	size_t i;

	page_clear(pg);
	pg->first = first;
	if (rpc(d, PM_LOG, json_pack("{s:s,s:I,s:I,s:I}", "contract",
	    d->name, "from", (json_int_t)first, "count",
	    (json_int_t)AUDIT_PAGE, "max_bytes",
	    (json_int_t)PROTO_PAGE_BYTES), &res, err, errlen) != 0)
		return -1;
	entries = json_object_get(res, "entries");
	if (!json_is_array(entries) || json_array_size(entries) > AUDIT_PAGE) {
		seterr(err, errlen, "log: malformed reply");
		json_decref(res);
		return -1;
	}
	json_array_foreach(entries, i, e) {
		json_t *idx = json_object_get(e, "index");

		b64 = json_string_value(json_object_get(e, "leaf"));
		if (!json_is_integer(idx) ||
		    (uint64_t)json_integer_value(idx) != first + i ||
		    b64 == NULL) {
			seterr(err, errlen, "log: reply entry %zu is not entry "
			    "%" PRIu64, i, first + i);
			json_decref(res);
			page_clear(pg);
			return -1;
		}
		if (b64_decode(b64, strlen(b64), &pg->bufs[i],
		    &pg->lens[i]) != 0) {
			seterr(err, errlen, "log: entry %" PRIu64 " is not "
			    "valid base64", first + i);
			json_decref(res);
			page_clear(pg);
			return -1;
		}
		pg->n = i + 1;
	}
	json_decref(res);
	return 0;
}

static enum audit_fetch
d_entry(void *ctx, uint64_t index, const uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct daemon_src *d = ctx;
	struct page *pg = NULL;
	size_t k;

	for (k = 0; k < PAGES_KEPT; k++)
		if (d->pages[k].n > 0 && index >= d->pages[k].first &&
		    index - d->pages[k].first < d->pages[k].n) {
			pg = &d->pages[k];
			break;
		}
	if (pg == NULL) {
		pg = &d->pages[0];	/* the least recently read slot */
		for (k = 1; k < PAGES_KEPT; k++)
			if (d->pages[k].used < pg->used)
				pg = &d->pages[k];
		if (fetch_page(d, pg, index, err, errlen) != 0)
			return FETCH_ERROR;
		if (pg->n == 0)
			return FETCH_END;
	}
	pg->used = ++d->clock;
	*buf = pg->bufs[index - pg->first];
	*len = pg->lens[index - pg->first];
	return FETCH_OK;
}

static int
d_prove(void *ctx, uint64_t old, uint64_t size, merkle_hash *proof,
    size_t *n, char *err, size_t errlen)
{
	struct daemon_src *d = ctx;
	json_t *res, *p, *h;
	const char *s;
	size_t i;

	if (rpc(d, PM_PROVE, json_pack("{s:s,s:I,s:I}", "contract", d->name,
	    "old", (json_int_t)old, "size", (json_int_t)size), &res, err,
	    errlen) != 0)
		return -1;
	p = json_object_get(res, "proof");
	if (!json_is_array(p) || json_array_size(p) > MERKLE_MAX_PROOF) {
		seterr(err, errlen, "prove: malformed reply");
		json_decref(res);
		return -1;
	}
	json_array_foreach(p, i, h) {
		if ((s = json_string_value(h)) == NULL ||
		    b64_decode_fixed(s, strlen(s), proof[i],
		    MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "prove: hash %zu is malformed", i);
			json_decref(res);
			return -1;
		}
	}
	*n = json_array_size(p);
	json_decref(res);
	return 0;
}

/*
 * A page of the host's state, STATE_PAGE files and PROTO_PAGE_BYTES at
 * most (one reply of a large state would pass vmsd's memory_budget; a
 * host that ignores "limit" answers with one page). Its files come after
 * `after`, and its "next", if any, names its own last path: anything
 * else is a malformed reply. (The files' order within the page, and their
 * fields, are audit-state.c's to check: any disorder is a difference.)
 */
#define STATE_PAGE	5000

static int
d_state_page(void *ctx, const char *after, json_t **out, char *err,
    size_t errlen)
{
	struct daemon_src *d = ctx;
	json_t *page = NULL, *files, *p;
	const char *next, *first, *lastpath;
	size_t n;

	*out = NULL;
	p = json_pack("{s:s,s:i,s:i}", "contract", d->name, "limit",
	    STATE_PAGE, "max_bytes", PROTO_PAGE_BYTES);
	if (after != NULL)
		json_object_set_new(p, "after", json_string(after));
	if (rpc(d, PM_STATE, p, &page, err, errlen) != 0)
		return -1;
	files = json_object_get(page, "files");
	next = json_string_value(json_object_get(page, "next"));
	n = json_array_size(files);
	first = n > 0 ? json_string_value(json_object_get(
	    json_array_get(files, 0), "path")) : NULL;
	lastpath = n > 0 ? json_string_value(json_object_get(
	    json_array_get(files, n - 1), "path")) : NULL;
	if (!json_is_integer(json_object_get(page, "index")) ||
	    !json_is_array(files) ||
	    (json_object_get(page, "next") != NULL && (next == NULL ||
	    lastpath == NULL || strcmp(next, lastpath) != 0)) ||
	    (after != NULL && n > 0 && (first == NULL ||
	    strcmp(first, after) <= 0))) {
		json_decref(page);
		seterr(err, errlen, "state: malformed reply");
		return -1;
	}
	*out = page;
	return 0;
}

static void
d_free(void *ctx)
{
	struct daemon_src *d = ctx;
	size_t k;

	for (k = 0; k < PAGES_KEPT; k++)
		page_clear(&d->pages[k]);
	free(d->name);
	free(d->what);
	free(d);
}

struct audit_source *
audit_rpc_source(struct vms_client *c, const char *name,
    int *transport_failed)
{
	struct audit_source *s = xcalloc(1, sizeof(*s));
	struct daemon_src *d = xcalloc(1, sizeof(*d));

	d->client = c;
	d->name = xstrdup(name);
	xasprintf(&d->what, "contract %s", name);
	d->transport_failed = transport_failed;
	s->ctx = d;
	s->what = d->what;
	s->checkpoint = d_checkpoint;
	s->vkey = d_vkey;
	s->entry = d_entry;
	s->prove = d_prove;
	s->state_page = d_state_page;
	s->free = d_free;
	return s;
}
