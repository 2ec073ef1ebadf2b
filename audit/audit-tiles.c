/*
 * audit-tiles.c — an audit source over a C2SP tlog-tiles log at a URL
 * prefix: vmsd's /c/NAME/ or any static mirror of `vmsctl export` (nginx,
 * a CDN). It fetches the checkpoint, the entry bundles the audit asks for
 * (the partial bundle of the checkpoint's size at the right edge, falling
 * back to the full bundle if a mirror has replaced it) and, for the tile
 * check (audit-tilecheck.c), the hash tiles; `vkey` if the log offers one
 * (only for trust on first use). Only the tiles the checkpoint's size
 * needs are fetched, and a follow-up fetches only what is new. It moves
 * bytes; audit.c checks every one of them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "httpc.h"
#include "note.h"
#include "tile.h"
#include "util.h"

struct tiles_src {
	struct httpc		*h;
	char			*url;
	int			*transport_failed;
	uint64_t		 size;		/* the last checkpoint's */
	uint8_t			**bufs;		/* entries fetched so far */
	size_t			*lens;
	uint64_t		 n, cap;
	struct audit_fetch_stats stats;
};

/* GET path: 0 with *resp (any status), -1 with err (transport). */
static int
get(struct tiles_src *t, const char *path, struct httpc_resp *resp,
    char *err, size_t errlen)
{
	char why[VMS_ERRLEN];

	memset(resp, 0, sizeof(*resp));
	/* A GET may be sent again: once, on a new connection, when a
	 * server closed the kept-alive one just as the request went out. */
	if (httpc_request(t->h, "GET", path, NULL, NULL, 0, resp, why,
	    sizeof(why)) != 0 && httpc_request(t->h, "GET", path, NULL, NULL,
	    0, resp, why, sizeof(why)) != 0) {
		*t->transport_failed = 1;
		seterr(err, errlen, "GET %s%s: %s", t->url, path, why);
		return -1;
	}
	t->stats.requests++;
	t->stats.bytes += resp->len;
	return 0;
}

static int
s_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct tiles_src *t = ctx;
	struct httpc_resp r;
	uint64_t size;

	if (get(t, "/checkpoint", &r, err, errlen) != 0)
		return -1;
	if (r.status != 200) {
		seterr(err, errlen, "GET %s/checkpoint: HTTP %d (is %s the "
		    "log's prefix, such as http://HOST:PORT/c/NAME?)", t->url,
		    r.status, t->url);
		httpc_resp_free(&r);
		return -1;
	}
	if (r.len == 0 || strlen(r.body) != r.len) {
		seterr(err, errlen, "GET %s/checkpoint: empty or holds a NUL",
		    t->url);
		httpc_resp_free(&r);
		return -1;
	}
	/* The size picks the tiles to fetch; the audit verifies the note
	 * before it asks for any of them. */
	if (checkpoint_note_size(r.body, r.len, &size) == 0)
		t->size = size;
	*note = r.body;
	r.body = NULL;
	httpc_resp_free(&r);
	return 0;
}

static char *
s_vkey(void *ctx)
{
	struct tiles_src *t = ctx;
	struct httpc_resp r;
	char err[VMS_ERRLEN], *k = NULL;

	if (get(t, "/vkey", &r, err, sizeof(err)) != 0)
		return NULL;
	if (r.status == 200 && r.len > 0 && strlen(r.body) == r.len) {
		r.body[strcspn(r.body, "\n")] = '\0';
		k = xstrdup(r.body);
	}
	httpc_resp_free(&r);
	return k;
}

/*
 * Tile id (width as the checkpoint's size needs it) into *r. A partial
 * tile that is gone is looked for as the full tile (the spec lets a log
 * delete partial tiles once the full one exists); *full then says so.
 * FETCH_OK, FETCH_END (why: not served), FETCH_ERROR (err: transport).
 */
static enum audit_fetch
fetch_tile(struct tiles_src *t, const struct tile_id *id,
    struct httpc_resp *r, int *full, char *why, size_t whylen)
{
	char path[TILE_PATH_MAX + 1];
	struct tile_id f = *id;

	*full = 0;
	path[0] = '/';
	tile_path(id, path + 1, sizeof(path) - 1);
	if (get(t, path, r, why, whylen) != 0)
		return FETCH_ERROR;
	if (r->status == 404 && id->width < TILE_WIDTH) {
		httpc_resp_free(r);
		f.width = TILE_WIDTH;
		tile_path(&f, path + 1, sizeof(path) - 1);
		if (get(t, path, r, why, whylen) != 0)
			return FETCH_ERROR;
		*full = 1;
	}
	if (r->status != 200) {
		seterr(why, whylen, "GET %s%s: HTTP %d", t->url, path,
		    r->status);
		httpc_resp_free(r);
		return FETCH_END;
	}
	return FETCH_OK;
}

/* The next bundle: entries from t->n to the end of its tile (or of the
 * checkpoint's tree). */
static enum audit_fetch
fetch_bundle(struct tiles_src *t, char *why, size_t whylen)
{
	struct tile_entry *e;
	struct httpc_resp r;
	struct tile_id id;
	char path[TILE_PATH_MAX];
	uint64_t first, k;
	unsigned w;
	int full;
	enum audit_fetch rc;

	id.level = TILE_ENTRIES;
	id.index = t->n / TILE_WIDTH;
	id.width = tile_width(t->size, 0, id.index);
	if (id.width == 0)
		return FETCH_END;
	first = id.index * TILE_WIDTH;
	if ((rc = fetch_tile(t, &id, &r, &full, why, whylen)) != FETCH_OK)
		return rc;
	w = full ? TILE_WIDTH : id.width;
	e = xcalloc(TILE_WIDTH, sizeof(*e));
	if (tile_bundle_parse((uint8_t *)r.body, r.len, w, e, why,
	    whylen) != 0) {
		char msg[VMS_ERRLEN];

		tile_path(&id, path, sizeof(path));
		snprintf(msg, sizeof(msg), "%s/%s is not a bundle of %u "
		    "entries: %s", t->url, path, w, why);
		seterr(why, whylen, "%s", msg);
		free(e);
		httpc_resp_free(&r);
		return FETCH_END;
	}
	for (k = t->n - first; k < id.width; k++) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 1024;
			t->bufs = xrealloc(t->bufs, t->cap * sizeof(*t->bufs));
			t->lens = xrealloc(t->lens, t->cap * sizeof(*t->lens));
		}
		t->bufs[t->n] = xmalloc(e[k].len + 1);
		memcpy(t->bufs[t->n], e[k].data, e[k].len);
		t->lens[t->n] = e[k].len;
		t->n++;
	}
	t->stats.bundles++;
	free(e);
	httpc_resp_free(&r);
	return FETCH_OK;
}

static enum audit_fetch
s_entry(void *ctx, uint64_t index, const uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct tiles_src *t = ctx;
	enum audit_fetch rc;
	uint64_t before;

	while (index >= t->n) {
		if (index >= t->size) {
			seterr(err, errlen, "beyond the checkpoint's %" PRIu64
			    " entries", t->size);
			return FETCH_END;
		}
		before = t->n;
		if ((rc = fetch_bundle(t, err, errlen)) != FETCH_OK)
			return rc;
		if (t->n == before)
			return FETCH_END;
	}
	*buf = t->bufs[index];
	*len = t->lens[index];
	return FETCH_OK;
}

static enum audit_fetch
s_tile(void *ctx, const struct tile_id *id, merkle_hash *out, char *err,
    size_t errlen)
{
	struct tiles_src *t = ctx;
	struct httpc_resp r;
	char path[TILE_PATH_MAX];
	enum audit_fetch rc;
	size_t want;
	int full;

	if ((rc = fetch_tile(t, id, &r, &full, err, errlen)) != FETCH_OK)
		return rc;
	want = (size_t)(full ? TILE_WIDTH : id->width) * MERKLE_HASH_LEN;
	if (r.len != want) {
		tile_path(id, path, sizeof(path));
		seterr(err, errlen, "%s/%s is %zu bytes, not %zu", t->url, path,
		    r.len, want);
		httpc_resp_free(&r);
		return FETCH_END;
	}
	memcpy(out, r.body, (size_t)id->width * MERKLE_HASH_LEN);
	t->stats.tiles++;
	httpc_resp_free(&r);
	return FETCH_OK;
}

static void
s_free(void *ctx)
{
	struct tiles_src *t = ctx;
	uint64_t i;

	for (i = 0; i < t->n; i++)
		free(t->bufs[i]);
	free(t->bufs);
	free(t->lens);
	httpc_close(t->h);
	free(t->url);
	free(t);
}

static const struct audit_fetch_stats *
s_stats(void *ctx)
{
	return &((struct tiles_src *)ctx)->stats;
}

int
audit_tiles_source(const char *url, int timeout_ms,
    struct audit_source **out, int *transport_failed, char *err,
    size_t errlen)
{
	struct audit_source *s;
	struct tiles_src *t;
	struct httpc_opts o;
	size_t n;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms;
	o.cafile = getenv("VMS_CAFILE");
	t = xcalloc(1, sizeof(*t));
	t->url = xstrdup(url);
	n = strlen(t->url);
	while (n > 0 && t->url[n - 1] == '/')
		t->url[--n] = '\0';
	t->transport_failed = transport_failed;
	if (httpc_open(t->url, &o, &t->h, err, errlen) != 0) {
		free(t->url);
		free(t);
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	s->ctx = t;
	s->what = t->url;
	s->checkpoint = s_checkpoint;
	s->vkey = s_vkey;
	s->entry = s_entry;
	s->tile = s_tile;
	s->stats = s_stats;
	s->free = s_free;
	*out = s;
	return 0;
}
