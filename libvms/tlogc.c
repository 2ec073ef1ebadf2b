/*
 * tlogc.c — a client of a C2SP tlog-tiles log over HTTP (tlogc.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "merkle.h"
#include "tlogc.h"
#include "util.h"

int
tlogc_open(struct tlogc *c, const char *url, int timeout_ms, char *err,
    size_t errlen)
{
	struct httpc_opts o;
	size_t n;

	memset(c, 0, sizeof(*c));
	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms;
	o.cafile = getenv("VMS_CAFILE");
	c->url = xstrdup(url);
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if (httpc_open(c->url, &o, &c->h, err, errlen) != 0) {
		free(c->url);
		c->url = NULL;
		return -1;
	}
	return 0;
}

void
tlogc_close(struct tlogc *c)
{
	if (c->h != NULL)
		httpc_close(c->h);
	free(c->url);
	memset(c, 0, sizeof(*c));
}

static enum tlogc_status
get(struct tlogc *c, const char *path, struct httpc_resp *r, char *err,
    size_t errlen)
{
	char why[VMS_ERRLEN];

	if (httpc_request(c->h, "GET", path, NULL, NULL, 0, r, why,
	    sizeof(why)) != 0 && httpc_request(c->h, "GET", path, NULL, NULL,
	    0, r, why, sizeof(why)) != 0) {
		c->transport_failed = 1;
		seterr(err, errlen, "%s", why);
		return TLOGC_ERROR;
	}
	c->requests++;
	c->bytes += r->len;
	if (r->status != 200) {
		seterr(err, errlen, "GET %s%s: HTTP %d", c->url, path,
		    r->status);
		httpc_resp_free(r);
		return TLOGC_ABSENT;
	}
	return TLOGC_OK;
}

enum tlogc_status
tlogc_checkpoint(struct tlogc *c, char **note, char *err, size_t errlen)
{
	struct httpc_resp r;
	enum tlogc_status st;

	if ((st = get(c, "/checkpoint", &r, err, errlen)) != TLOGC_OK)
		return st;
	if (r.len == 0 || strlen(r.body) != r.len) {
		seterr(err, errlen, "GET %s/checkpoint: empty or holds a NUL",
		    c->url);
		httpc_resp_free(&r);
		return TLOGC_ABSENT;
	}
	*note = r.body;
	r.body = NULL;
	httpc_resp_free(&r);
	return TLOGC_OK;
}

enum tlogc_status
tlogc_text(struct tlogc *c, const char *name, char **line, char *err,
    size_t errlen)
{
	struct httpc_resp r;
	enum tlogc_status st;
	char path[256];

	snprintf(path, sizeof(path), "/%s", name);
	if ((st = get(c, path, &r, err, errlen)) != TLOGC_OK)
		return st;
	if (r.len == 0 || strlen(r.body) != r.len) {
		httpc_resp_free(&r);
		seterr(err, errlen, "GET %s%s: empty or holds a NUL", c->url,
		    path);
		return TLOGC_ABSENT;
	}
	r.body[strcspn(r.body, "\n")] = '\0';
	*line = r.body;
	r.body = NULL;
	httpc_resp_free(&r);
	return TLOGC_OK;
}

/* The tile's bytes; *width: id->width, or 256 if read from the full one. */
static enum tlogc_status
get_tile(struct tlogc *c, const struct tile_id *id, struct httpc_resp *r,
    unsigned *width, char *err, size_t errlen)
{
	char path[TILE_PATH_MAX + 1];
	struct tile_id f = *id;
	enum tlogc_status st;

	path[0] = '/';
	tile_path(id, path + 1, sizeof(path) - 1);
	*width = id->width;
	st = get(c, path, r, err, errlen);
	if (st != TLOGC_ABSENT || id->width >= TILE_WIDTH)
		return st;
	f.width = TILE_WIDTH;
	tile_path(&f, path + 1, sizeof(path) - 1);
	*width = TILE_WIDTH;
	if (get(c, path, r, err, errlen) == TLOGC_OK)
		return TLOGC_OK;
	/* report the partial tile the checkpoint needs */
	tile_path(id, path + 1, sizeof(path) - 1);
	seterr(err, errlen, "GET %s%s: not served (nor its full tile)",
	    c->url, path);
	return c->transport_failed ? TLOGC_ERROR : TLOGC_ABSENT;
}

enum tlogc_status
tlogc_tile(struct tlogc *c, const struct tile_id *id, uint8_t *out,
    char *err, size_t errlen)
{
	struct httpc_resp r;
	enum tlogc_status st;
	char path[TILE_PATH_MAX];
	unsigned w;

	if ((st = get_tile(c, id, &r, &w, err, errlen)) != TLOGC_OK)
		return st;
	if (r.len != (size_t)w * MERKLE_HASH_LEN) {
		tile_path(id, path, sizeof(path));
		seterr(err, errlen, "%s/%s is %zu bytes, not %zu", c->url, path,
		    r.len, (size_t)w * MERKLE_HASH_LEN);
		httpc_resp_free(&r);
		return TLOGC_ABSENT;
	}
	memcpy(out, r.body, (size_t)id->width * MERKLE_HASH_LEN);
	httpc_resp_free(&r);
	return TLOGC_OK;
}

int
tlogc_fetch_tile(void *ctx, const struct tile_id *id, uint8_t *out,
    char *err, size_t errlen)
{
	return tlogc_tile(ctx, id, out, err, errlen) == TLOGC_OK ? 0 : -1;
}

enum tlogc_status
tlogc_bundle(struct tlogc *c, const struct tile_id *id, uint8_t **body,
    struct tile_entry *e, char *err, size_t errlen)
{
	struct httpc_resp r;
	enum tlogc_status st;
	char path[TILE_PATH_MAX], why[VMS_ERRLEN];
	unsigned w;

	*body = NULL;
	if ((st = get_tile(c, id, &r, &w, err, errlen)) != TLOGC_OK)
		return st;
	if (tile_bundle_parse((uint8_t *)r.body, r.len, w, e, why,
	    sizeof(why)) != 0) {
		tile_path(id, path, sizeof(path));
		seterr(err, errlen, "%s/%s is not a bundle of %u entries: %s",
		    c->url, path, w, why);
		httpc_resp_free(&r);
		return TLOGC_ABSENT;
	}
	*body = (uint8_t *)r.body;
	r.body = NULL;
	httpc_resp_free(&r);
	return TLOGC_OK;
}
