/*
 * receipt.c — receipts as C2SP tlog-proofs, their offline math, the entry
 * for humans, and a tlog-tiles log at a URL (receipt.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle.h"
#include "receipt.h"
#include "util.h"

int
receipt_from_json(const json_t *rc, struct tlog_proof *p, char *err,
    size_t errlen)
{
	const json_t *idx = json_object_get(rc, "index");
	const json_t *pr = json_object_get(rc, "proof"), *h;
	const char *note = json_string_value(json_object_get(rc, "checkpoint"));
	const char *entry = json_string_value(json_object_get(rc, "entry"));
	const char *s;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
	    note == NULL || !json_is_array(pr) ||
	    json_array_size(pr) > MERKLE_MAX_PROOF) {
		seterr(err, errlen, "the reply's receipt is malformed");
		return -1;
	}
	p->index = (uint64_t)json_integer_value(idx);
	json_array_foreach(pr, i, h) {
		if ((s = json_string_value(h)) == NULL || b64_decode_fixed(s,
		    strlen(s), p->proof[i], MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "the receipt's proof hash %zu is "
			    "malformed", i);
			return -1;
		}
	}
	p->nproof = json_array_size(pr);
	if (entry != NULL) {
		if (b64_decode(entry, strlen(entry), &p->extra,
		    &p->extralen) != 0) {
			seterr(err, errlen, "the receipt's entry is not base64");
			return -1;
		}
		p->has_extra = 1;
	}
	p->note = xstrdup(note);
	p->notelen = strlen(note);
	return 0;
}

int
receipt_check_math(const struct tlog_proof *p, const uint8_t *entry,
    size_t len, char *err, size_t errlen)
{
	struct checkpoint cp;
	const char *sep = strstr(p->note, "\n\n");
	merkle_hash leaf;
	char why[VMS_ERRLEN];

	if (sep == NULL || checkpoint_parse(p->note, (size_t)(sep - p->note) +
	    1, &cp, why, sizeof(why)) != 0) {
		seterr(err, errlen, "the receipt's checkpoint is malformed");
		return -1;
	}
	merkle_leaf_hash(entry, len, leaf);
	if (merkle_verify_inclusion(leaf, p->index, cp.size, p->proof,
	    p->nproof, cp.root) != 0) {
		seterr(err, errlen, "the inclusion proof does not lead from "
		    "entry %" PRIu64 " to the root of the checkpoint of size %"
		    PRIu64, p->index, cp.size);
		return -1;
	}
	return 0;
}

int
receipt_save(const char *path, const struct tlog_proof *p, char *err,
    size_t errlen)
{
	size_t len;
	char *text = tlog_proof_format(p, &len);
	int rc = write_file_atomic(path, text, len, 0644, err, errlen);

	free(text);
	return rc;
}

static char *
compact(const json_t *v)
{
	char *s;

	if (v == NULL)
		return xstrdup("-");
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	return s ? s : xstrdup("?");
}

static void
iso_time(const json_t *ms, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, len, "-");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ",
	    (int)(json_integer_value(ms) % 1000));
}

void
receipt_describe(FILE *f, const char *in, const uint8_t *entry, size_t len)
{
	json_t *e = json_loadb((const char *)entry, len, 0, NULL);
	const char *type, *method, *caller, *auth, *state;
	char when[64], *args, *res;

	if (!json_is_object(e)) {
		fprintf(f, "%san entry that is not a JSON object (%zu bytes)\n",
		    in, len);
		json_decref(e);
		return;
	}
	type = json_string_value(json_object_get(e, "type"));
	method = json_string_value(json_object_get(e, "method"));
	caller = json_string_value(json_object_get(e, "caller"));
	auth = json_string_value(json_object_get(e, "auth"));
	state = json_string_value(json_object_get(e, "state"));
	iso_time(json_object_get(e, "time"), when, sizeof(when));
	if (type != NULL && strcmp(type, "call") == 0) {
		args = compact(json_object_get(e, "args"));
		fprintf(f, "%scall:   %s %s\n", in, method ? method : "?",
		    args);
		free(args);
	} else
		fprintf(f, "%s%s:  contract %s, code sha256 %s\n", in,
		    type ? type : "entry",
		    json_string_value(json_object_get(e, "contract")) ?
		    json_string_value(json_object_get(e, "contract")) : "?",
		    json_string_value(json_object_get(e, "code_sha256")) ?
		    json_string_value(json_object_get(e, "code_sha256")) :
		    "?");
	fprintf(f, "%sby:     %s (%s) at %s\n", in, caller ? caller :
	    "anonymous", auth ? auth : "?", when);
	if (json_is_true(json_object_get(e, "ok"))) {
		res = compact(json_object_get(e, "result"));
		fprintf(f, "%sresult: %s\n", in, res);
		free(res);
	} else if (json_object_get(e, "error") != NULL) {
		res = compact(json_object_get(e, "error"));
		fprintf(f, "%serror:  %s\n", in, res);
		free(res);
	}
	fprintf(f, "%swrites: %zu, state root after: %s\n", in,
	    json_array_size(json_object_get(e, "writes")), state ? state : "?");
	json_decref(e);
}

json_t *
receipt_entry_json(const uint8_t *entry, size_t len)
{
	json_t *e = json_loadb((const char *)entry, len, 0, NULL);

	return e != NULL ? e : json_null();
}

int
remote_open(struct tlog_remote *r, const char *url, int timeout_ms,
    char *err, size_t errlen)
{
	struct httpc_opts o;
	size_t n;

	memset(r, 0, sizeof(*r));
	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms;
	o.cafile = getenv("VMS_CAFILE");
	r->url = xstrdup(url);
	n = strlen(r->url);
	while (n > 0 && r->url[n - 1] == '/')
		r->url[--n] = '\0';
	if (httpc_open(r->url, &o, &r->h, err, errlen) != 0) {
		free(r->url);
		r->url = NULL;
		return -1;
	}
	return 0;
}

void
remote_close(struct tlog_remote *r)
{
	if (r->h != NULL)
		httpc_close(r->h);
	free(r->url);
	memset(r, 0, sizeof(*r));
}

/* GET, once more on a new connection if the kept one was closed. */
static int
get(struct tlog_remote *r, const char *path, struct httpc_resp *resp,
    char *err, size_t errlen)
{
	if (httpc_request(r->h, "GET", path, NULL, NULL, 0, resp, err,
	    errlen) == 0 || httpc_request(r->h, "GET", path, NULL, NULL, 0,
	    resp, err, errlen) == 0)
		return 0;
	r->transport_failed = 1;
	return -1;
}

int
remote_checkpoint(struct tlog_remote *r, char **note, char *err,
    size_t errlen)
{
	struct httpc_resp resp;

	if (get(r, "/checkpoint", &resp, err, errlen) != 0)
		return -1;
	if (resp.status != 200 || resp.len == 0 ||
	    strlen(resp.body) != resp.len) {
		seterr(err, errlen, "GET %s/checkpoint: HTTP %d%s", r->url,
		    resp.status, resp.status == 200 ? " (empty or binary)" :
		    "");
		httpc_resp_free(&resp);
		return -1;
	}
	*note = resp.body;
	resp.body = NULL;
	httpc_resp_free(&resp);
	return 0;
}

/* Tile id's bytes (width as asked; from the full tile if the partial one
 * is gone), malloc'd into *body. */
static int
get_tile(struct tlog_remote *r, const struct tile_id *id,
    struct httpc_resp *resp, unsigned *got_width, char *err, size_t errlen)
{
	char path[TILE_PATH_MAX + 1];
	struct tile_id f = *id;

	path[0] = '/';
	tile_path(id, path + 1, sizeof(path) - 1);
	*got_width = id->width;
	if (get(r, path, resp, err, errlen) != 0)
		return -1;
	if (resp->status == 404 && id->width < TILE_WIDTH) {
		httpc_resp_free(resp);
		f.width = TILE_WIDTH;
		tile_path(&f, path + 1, sizeof(path) - 1);
		if (get(r, path, resp, err, errlen) != 0)
			return -1;
		*got_width = TILE_WIDTH;
	}
	if (resp->status != 200) {
		seterr(err, errlen, "GET %s%s: HTTP %d", r->url, path,
		    resp->status);
		httpc_resp_free(resp);
		return -1;
	}
	return 0;
}

int
remote_fetch_tile(void *ctx, const struct tile_id *id, uint8_t *out,
    char *err, size_t errlen)
{
	struct tlog_remote *r = ctx;
	struct httpc_resp resp;
	unsigned w;

	if (get_tile(r, id, &resp, &w, err, errlen) != 0)
		return -1;
	if (resp.len != (size_t)w * MERKLE_HASH_LEN) {
		seterr(err, errlen, "%s: tile %d/%" PRIu64 " is %zu bytes, not "
		    "%u", r->url, id->level, id->index, resp.len,
		    w * MERKLE_HASH_LEN);
		httpc_resp_free(&resp);
		return -1;
	}
	memcpy(out, resp.body, (size_t)id->width * MERKLE_HASH_LEN);
	httpc_resp_free(&resp);
	return 0;
}

int
remote_entry(struct tlog_remote *r, uint64_t size, uint64_t index,
    uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct tile_entry *e;
	struct httpc_resp resp;
	struct tile_id id;
	unsigned w;
	uint64_t k = index % TILE_WIDTH;

	id.level = TILE_ENTRIES;
	id.index = index / TILE_WIDTH;
	id.width = tile_width(size, 0, id.index);
	if (index >= size || id.width == 0) {
		seterr(err, errlen, "no entry %" PRIu64 " in a tree of %" PRIu64,
		    index, size);
		return -1;
	}
	if (get_tile(r, &id, &resp, &w, err, errlen) != 0)
		return -1;
	e = xcalloc(TILE_WIDTH, sizeof(*e));
	if (tile_bundle_parse((uint8_t *)resp.body, resp.len, w, e, err,
	    errlen) != 0) {
		free(e);
		httpc_resp_free(&resp);
		return -1;
	}
	*buf = xmalloc(e[k].len + 1);
	memcpy(*buf, e[k].data, e[k].len);
	*len = e[k].len;
	free(e);
	httpc_resp_free(&resp);
	return 0;
}
