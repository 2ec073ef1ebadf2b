/*
 * audit-tiles.c — an audit source over a C2SP tlog-tiles log at a URL
 * prefix: vmsd's /c/NAME/ or any static mirror of `vmsctl export` (nginx,
 * a CDN), read through libvms/tlogc.c. It fetches the checkpoint, the
 * entry bundles the audit asks for (the partial bundle of the
 * checkpoint's size at the right edge) and, for the tile check
 * (audit-tilecheck.c), the hash tiles; `vkey` if the log offers one (only
 * for trust on first use). Only the tiles the checkpoint's size needs are
 * fetched, and a follow-up fetches only what is new. It moves bytes;
 * audit.c checks every one of them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "note.h"
#include "tile.h"
#include "tlogc.h"
#include "util.h"

struct tiles_src {
	struct tlogc		 c;
	int			*transport_failed;
	uint64_t		 size;		/* the last checkpoint's */
	uint8_t			**bufs;		/* entries fetched so far */
	size_t			*lens;
	uint64_t		 n, cap;
	struct audit_fetch_stats stats;
};

static enum audit_fetch
status(struct tiles_src *t, enum tlogc_status st)
{
	if (t->c.transport_failed)
		*t->transport_failed = 1;
	return st == TLOGC_OK ? FETCH_OK : st == TLOGC_ABSENT ? FETCH_END :
	    FETCH_ERROR;
}

static int
s_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct tiles_src *t = ctx;
	enum tlogc_status st;
	uint64_t size;
	char why[VMS_ERRLEN];

	if ((st = tlogc_checkpoint(&t->c, note, why, sizeof(why))) !=
	    TLOGC_OK) {
		(void)status(t, st);
		seterr(err, errlen, "%s%s", why, st == TLOGC_ABSENT ?
		    " (is the URL the log's prefix, such as "
		    "http://HOST:PORT/c/NAME?)" : "");
		return -1;
	}
	/* The size picks the tiles to fetch; the audit verifies the note
	 * before it asks for any of them. */
	if (checkpoint_note_size(*note, strlen(*note), &size) == 0)
		t->size = size;
	return 0;
}

static char *
s_vkey(void *ctx)
{
	struct tiles_src *t = ctx;
	char err[VMS_ERRLEN], *k = NULL;

	if (tlogc_text(&t->c, "vkey", &k, err, sizeof(err)) != TLOGC_OK)
		return NULL;
	return k;
}

/* The next bundle: entries from t->n to the end of its tile (or of the
 * checkpoint's tree). */
static enum audit_fetch
fetch_bundle(struct tiles_src *t, char *why, size_t whylen)
{
	struct tile_entry *e;
	struct tile_id id;
	enum tlogc_status st;
	uint8_t *body;
	uint64_t k;

	id.level = TILE_ENTRIES;
	id.index = t->n / TILE_WIDTH;
	id.width = tile_width(t->size, 0, id.index);
	if (id.width == 0)
		return FETCH_END;
	e = xcalloc(TILE_WIDTH, sizeof(*e));
	if ((st = tlogc_bundle(&t->c, &id, &body, e, why, whylen)) !=
	    TLOGC_OK) {
		free(e);
		return status(t, st);
	}
	for (k = t->n - id.index * TILE_WIDTH; k < id.width; k++) {
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
	free(body);
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
	enum tlogc_status st;

	st = tlogc_tile(&t->c, id, (uint8_t *)out, err, errlen);
	if (st == TLOGC_OK)
		t->stats.tiles++;
	return status(t, st);
}

static const struct audit_fetch_stats *
s_stats(void *ctx)
{
	struct tiles_src *t = ctx;

	t->stats.requests = t->c.requests;
	t->stats.bytes = t->c.bytes;
	return &t->stats;
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
	tlogc_close(&t->c);
	free(t);
}

int
audit_tiles_source(const char *url, int timeout_ms,
    struct audit_source **out, int *transport_failed, char *err,
    size_t errlen)
{
	struct audit_source *s;
	struct tiles_src *t;

	*out = NULL;
	t = xcalloc(1, sizeof(*t));
	if (tlogc_open(&t->c, url, timeout_ms, err, errlen) != 0) {
		free(t);
		return -1;
	}
	t->transport_failed = transport_failed;
	s = xcalloc(1, sizeof(*s));
	s->ctx = t;
	s->what = t->c.url;
	s->checkpoint = s_checkpoint;
	s->vkey = s_vkey;
	s->entry = s_entry;
	s->tile = s_tile;
	s->stats = s_stats;
	s->free = s_free;
	*out = s;
	return 0;
}
