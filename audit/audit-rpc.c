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
 *
 * It asks for the next page, of entries or of the state, as soon as a
 * page arrives (client_send, one request ahead): the worker reads and
 * encodes it while the audit replays or compares the one before, instead
 * of each waiting for the other. A request asked ahead that turns out
 * not to be the next one needed (the audit stopped, or read back) is
 * forgotten (client_forget).
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
	/* the one request asked ahead, if any: a `log` page from
	 * ahead_first, or a `state` page after ahead_after */
	int			 ahead;
	uint64_t		 reach;		/* the furthest page's end */
	enum proto_method_id	 ahead_method;
	uint64_t		 ahead_first;
	char			*ahead_after;
	json_int_t		 ahead_id;
};

/* 0, or -1 with err set (a lost connection: *transport_failed too). */
static int
rpc_status(struct daemon_src *d, enum proto_method_id id,
    enum client_status st, const char *e, char *err, size_t errlen)
{
	if (st == CLIENT_OK)
		return 0;
	if (st == CLIENT_FAILED)
		*d->transport_failed = 1;
	seterr(err, errlen, "%s: %s", proto_method_name(id), e);
	return -1;
}

static int
rpc(struct daemon_src *d, enum proto_method_id id, json_t *params,
    json_t **res, char *err, size_t errlen)
{
	char e[VMS_ERRLEN];

	return rpc_status(d, id, client_call(d->client, proto_method_name(id),
	    params, res, NULL, e, sizeof(e)), e, err, errlen);
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

static json_t *
log_params(const struct daemon_src *d, uint64_t first)
{
	return json_pack("{s:s,s:I,s:I,s:I}", "contract", d->name, "from",
	    (json_int_t)first, "count", (json_int_t)AUDIT_PAGE, "max_bytes",
	    (json_int_t)PROTO_PAGE_BYTES);
}

static void
forget_ahead(struct daemon_src *d)
{
	if (d->ahead)
		client_forget(d->client, d->ahead_id);
	d->ahead = 0;
	free(d->ahead_after);
	d->ahead_after = NULL;
}

/* Ask now for the page that params name (from `first`, or after
 * `after`), its reply to be read when the page is needed. A request
 * that cannot be sent is not: asked for again then, it fails there. */
static void
ask_ahead(struct daemon_src *d, enum proto_method_id id, json_t *params,
    uint64_t first, const char *after)
{
	char e[VMS_ERRLEN];

	forget_ahead(d);
	if (client_send(d->client, proto_method_name(id), params,
	    &d->ahead_id, e, sizeof(e)) != CLIENT_OK)
		return;
	d->ahead = 1;
	d->ahead_method = id;
	d->ahead_first = first;
	d->ahead_after = after != NULL ? xstrdup(after) : NULL;
}

/* The reply to the page request params (method id, from `first` or
 * after `after`): the one asked ahead if that is it, else asked now (and
 * the one asked ahead forgotten, unless keep). */
static int
page_rpc(struct daemon_src *d, enum proto_method_id id, json_t *params,
    uint64_t first, const char *after, int keep, json_t **res, char *err,
    size_t errlen)
{
	char e[VMS_ERRLEN];
	json_int_t rid = d->ahead_id;

	if (d->ahead && d->ahead_method == id && (id == PM_LOG ?
	    d->ahead_first == first : after != NULL &&
	    d->ahead_after != NULL && strcmp(after, d->ahead_after) == 0)) {
		d->ahead = 0;	/* claimed */
		forget_ahead(d);
		json_decref(params);
		return rpc_status(d, id, client_reply(d->client, rid, res,
		    NULL, e, sizeof(e)), e, err, errlen);
	}
	if (!keep)
		forget_ahead(d);
	return rpc(d, id, params, res, err, errlen);
}

/* Fetch the page of entries from `first` into pg (cleared first), and,
 * going forward, ask for the one after it if the ledger goes on (a page
 * read again for a replay's look back leaves the one asked ahead be). */
static int
fetch_page(struct daemon_src *d, struct page *pg, uint64_t first, char *err,
    size_t errlen)
{
	json_t *res, *entries, *e, *size;
	const char *b64;
	size_t i, n;
	int forward = first >= d->reach;

	page_clear(pg);
	pg->first = first;
	if (page_rpc(d, PM_LOG, log_params(d, first), first, NULL, !forward,
	    &res, err, errlen) != 0)
		return -1;
	entries = json_object_get(res, "entries");
	size = json_object_get(res, "size");
	if (!json_is_array(entries) || (n = json_array_size(entries)) >
	    AUDIT_PAGE) {
		seterr(err, errlen, "log: malformed reply");
		json_decref(res);
		return -1;
	}
	if (forward && n > 0)
		d->reach = first + n;
	if (forward && n > 0 && json_is_integer(size) &&
	    json_integer_value(size) > 0 &&
	    (uint64_t)json_integer_value(size) > first + n)
		ask_ahead(d, PM_LOG, log_params(d, first + n), first + n,
		    NULL);
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

static json_t *
state_params(const struct daemon_src *d, const char *after)
{
	json_t *p = json_pack("{s:s,s:i,s:i}", "contract", d->name, "limit",
	    STATE_PAGE, "max_bytes", PROTO_PAGE_BYTES);

	if (after != NULL)
		json_object_set_new(p, "after", json_string(after));
	return p;
}

static int
d_state_page(void *ctx, const char *after, json_t **out, char *err,
    size_t errlen)
{
	struct daemon_src *d = ctx;
	json_t *page = NULL, *files;
	const char *next, *first, *lastpath;
	size_t n;

	*out = NULL;
	if (page_rpc(d, PM_STATE, state_params(d, after), 0, after, 0, &page,
	    err, errlen) != 0)
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
	if (next != NULL)
		ask_ahead(d, PM_STATE, state_params(d, next), 0, next);
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
	forget_ahead(d);
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
