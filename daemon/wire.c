/*
 * wire.c — the worker wire's encoders and decoders (see wire.h for the
 * messages). Encoders write every key in its fixed place; decoders check
 * the same places, so the two cannot drift apart unnoticed
 * (tests/unit/test-wire.c round-trips every message).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fastjson.h"
#include "util.h"
#include "wire.h"
#include "wire_int.h"

void
wire_add_str(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

/*
 * Append v's JSON text (jansson's compact text with 17 digits for reals
 * and keys in their objects' order, written by canon.c's
 * encoder: jansson's dumper records every object and array it enters in a
 * table keyed by its address printed with snprintf, a third of a worker's
 * time serving a log page); on failure roll back to mark and return -1.
 */
int
wire_add_json(struct jbuf *b, const json_t *v, size_t mark, const char *what,
    char *err, size_t errlen)
{
	if (v != NULL && jbuf_value_ordered(b, v) == 0)
		return 0;
	b->len = mark;
	seterr(err, errlen, "cannot encode the %s (not valid UTF-8?)", what);
	return -1;
}

/* A JSON string, or null for NULL. */
int
wire_add_jstr(struct jbuf *b, const char *s, size_t mark, const char *what,
    char *err, size_t errlen)
{
	const unsigned char *p;
	json_t *j;
	int rc;

	if (s == NULL) {
		wire_add_str(b, "null");
		return 0;
	}
	/* Printable ASCII but " and \ (method names, callers, auth) is its
	 * own JSON text between quotes: no encoder needed. */
	for (p = (const unsigned char *)s; *p >= 0x20 && *p < 0x7f &&
	    *p != '"' && *p != '\\'; p++)
		;
	if (*p == '\0') {
		jbuf_raw(b, "\"", 1);
		jbuf_raw(b, s, (size_t)(p - (const unsigned char *)s));
		jbuf_raw(b, "\"", 1);
		return 0;
	}
	j = json_string(s);
	rc = wire_add_json(b, j, mark, what, err, errlen);
	json_decref(j);
	return rc;
}

/* A request up to its params' value. */
static int
request_head(struct jbuf *b, uint64_t id, const char *method,
    const char *caller, const char *auth, char *err, size_t errlen)
{
	size_t mark = b->len;

	wire_add_str(b, "{\"id\":");
	jbuf_uint(b, id);
	wire_add_str(b, ",\"method\":");
	if (wire_add_jstr(b, method, mark, "method", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"caller\":");
	if (wire_add_jstr(b, caller, mark, "caller", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"auth\":");
	if (wire_add_jstr(b, auth ? auth : "anonymous", mark, "auth", err,
	    errlen) != 0)
		return -1;
	wire_add_str(b, ",\"params\":");
	return 0;
}

int
wire_put_request(struct jbuf *b, uint64_t id, const char *method,
    const char *caller, const char *auth, const json_t *params, char *err,
    size_t errlen)
{
	size_t mark = b->len;

	if (request_head(b, id, method, caller, auth, err, errlen) != 0)
		return -1;
	if (!json_is_object(params)) {
		b->len = mark;
		seterr(err, errlen, "request params must be an object");
		return -1;
	}
	if (wire_add_json(b, params, mark, "params", err, errlen) != 0)
		return -1;
	wire_add_str(b, "}\n");
	return 0;
}

int
wire_put_request_text(struct jbuf *b, uint64_t id, const char *method,
    const char *caller, const char *auth, const char *params, size_t len,
    char *err, size_t errlen)
{
	/* What keeps the framing: one object, no newline in it. */
	if (len < 2 || params[0] != '{' || params[len - 1] != '}' ||
	    memchr(params, '\n', len) != NULL) {
		seterr(err, errlen, "request params must be an object on one "
		    "line");
		return -1;
	}
	if (request_head(b, id, method, caller, auth, err, errlen) != 0)
		return -1;
	jbuf_raw(b, params, len);
	wire_add_str(b, "}\n");
	return 0;
}

int
wire_put_ready(struct jbuf *b, uint64_t size, const char *vkey,
    const char *origin, const json_t *methods, char *err, size_t errlen)
{
	size_t mark = b->len;

	wire_add_str(b, "{\"ready\":");
	jbuf_uint(b, WIRE_VERSION);
	wire_add_str(b, ",\"size\":");
	jbuf_uint(b, size);
	wire_add_str(b, ",\"vkey\":");
	if (wire_add_jstr(b, vkey ? vkey : "", mark, "vkey", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"origin\":");
	if (wire_add_jstr(b, origin ? origin : "", mark, "origin", err,
	    errlen) != 0)
		return -1;
	wire_add_str(b, ",\"methods\":");
	if (!json_is_array(methods)) {
		b->len = mark;
		seterr(err, errlen, "ready: methods must be an array");
		return -1;
	}
	if (wire_add_json(b, methods, mark, "methods", err, errlen) != 0)
		return -1;
	wire_add_str(b, "}\n");
	return 0;
}

int
wire_put_child(struct jbuf *b, const char *op, const char *name,
    uint64_t size, const char *vkey, const char *origin, char *err,
    size_t errlen)
{
	size_t mark = b->len;

	wire_add_str(b, "{\"child\":");
	if (wire_add_jstr(b, op, mark, "child", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"name\":");
	if (wire_add_jstr(b, name, mark, "name", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"size\":");
	jbuf_uint(b, size);
	wire_add_str(b, ",\"vkey\":");
	if (wire_add_jstr(b, vkey ? vkey : "", mark, "vkey", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"origin\":");
	if (wire_add_jstr(b, origin ? origin : "", mark, "origin", err,
	    errlen) != 0)
		return -1;
	wire_add_str(b, "}\n");
	return 0;
}

static void
reply_head(struct jbuf *b, uint64_t id, uint64_t size, const char *key)
{
	wire_add_str(b, "{\"id\":");
	jbuf_uint(b, id);
	wire_add_str(b, ",\"size\":");
	jbuf_uint(b, size);
	wire_add_str(b, key);
}

int
wire_put_result(struct jbuf *b, uint64_t id, uint64_t size,
    const json_t *result, char *err, size_t errlen)
{
	size_t mark = b->len;

	reply_head(b, id, size, ",\"result\":");
	if (wire_add_json(b, result ? result : json_null(), mark, "result", err,
	    errlen) != 0)
		return -1;
	wire_add_str(b, "}\n");
	return 0;
}

void
wire_put_error(struct jbuf *b, uint64_t id, uint64_t size, int code,
    const char *message, const json_t *data)
{
	char num[16], e[64];

	reply_head(b, id, size, ",\"error\":{\"code\":");
	snprintf(num, sizeof(num), "%d", code);
	wire_add_str(b, num);
	wire_add_str(b, ",\"message\":");
	if (wire_add_jstr(b, message ? message : "error", b->len, "message", e,
	    sizeof(e)) != 0)
		wire_add_str(b, "\"(error message is not valid UTF-8)\"");
	if (data != NULL) {
		size_t dmark = b->len;

		wire_add_str(b, ",\"data\":");
		if (wire_add_json(b, data, dmark, "data", e, sizeof(e)) != 0)
			b->len = dmark;		/* data is optional */
	}
	wire_add_str(b, "}}\n");
}

void
wire_put_result_text(struct jbuf *b, uint64_t id, uint64_t size,
    const char *json, size_t len)
{
	reply_head(b, id, size, ",\"result\":");
	jbuf_raw(b, json, len);
	wire_add_str(b, "}\n");
}

void
wire_put_error_text(struct jbuf *b, uint64_t id, uint64_t size, int code,
    const char *message, const char *data, size_t len)
{
	char num[16], e[64];

	reply_head(b, id, size, ",\"error\":{\"code\":");
	snprintf(num, sizeof(num), "%d", code);
	wire_add_str(b, num);
	wire_add_str(b, ",\"message\":");
	if (wire_add_jstr(b, message ? message : "error", b->len, "message", e,
	    sizeof(e)) != 0)
		wire_add_str(b, "\"(error message is not valid UTF-8)\"");
	wire_add_str(b, ",\"data\":");
	jbuf_raw(b, data, len);
	wire_add_str(b, "}}\n");
}

void
wire_put_refused(struct jbuf *b, const char *reason)
{
	char e[64];

	wire_add_str(b, "{\"refused\":");
	if (wire_add_jstr(b, reason ? reason : "refused", b->len, "refused", e,
	    sizeof(e)) != 0)
		wire_add_str(b, "\"(the reason is not valid UTF-8)\"");
	wire_add_str(b, "}\n");
}

void
wire_put_attached(struct jbuf *b, uint64_t count, uint64_t size)
{
	wire_add_str(b, "{\"attached\":");
	jbuf_uint(b, count);
	wire_add_str(b, ",\"size\":");
	jbuf_uint(b, size);
	wire_add_str(b, "}\n");
}

/* ---- decoding ---- */

int
wire_bad(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[VMS_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(err, errlen, "wire: %s", msg);
	return -1;
}

/* The object's keys are exactly keys[0..n) in that order (optional ones,
 * flagged by a leading '?', may be absent). */
int
wire_keys_are(const json_t *o, const char *const *keys, size_t n,
    const char *what, char *err, size_t errlen)
{
	void *it = json_object_iter((json_t *)o);
	size_t i = 0;
	const char *k, *want;

	for (; it != NULL; it = json_object_iter_next((json_t *)o, it)) {
		k = json_object_iter_key(it);
		for (;;) {
			if (i == n)
				return wire_bad(err, errlen, "%s: unexpected "
				    "key \"%s\"", what, k);
			want = keys[i++];
			if (want[0] != '?')
				break;
			if (strcmp(want + 1, k) == 0)
				goto next;
		}
		if (strcmp(want, k) != 0)
			return wire_bad(err, errlen, "%s: key \"%s\" where "
			    "\"%s\" belongs", what, k, want);
next:		;
	}
	for (; i < n; i++)
		if (keys[i][0] != '?')
			return wire_bad(err, errlen, "%s: key \"%s\" missing",
			    what, keys[i]);
	return 0;
}

int
wire_get_uint(const json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

json_t *
wire_load(const char *p, size_t n, const char *what, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v = fastjson_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL)
		wire_bad(err, errlen, "%s: %s", what, jerr.text);
	else if (!json_is_object(v)) {
		json_decref(v);
		v = NULL;
		wire_bad(err, errlen, "%s: not a JSON object", what);
	}
	return v;
}

int
wire_decode_request(const char *line, size_t len, struct wire_request *r,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "id", "method", "caller",
	    "auth", "params" };
	json_t *m, *caller;

	memset(r, 0, sizeof(*r));
	if ((m = wire_load(line, len, "request", err, errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 5, "request", err, errlen) != 0)
		goto fail;
	caller = json_object_get(m, "caller");
	r->method = json_string_value(json_object_get(m, "method"));
	r->auth = json_string_value(json_object_get(m, "auth"));
	r->caller = json_string_value(caller);
	r->params = json_object_get(m, "params");
	if (wire_get_uint(m, "id", &r->id) != 0 || r->method == NULL ||
	    r->auth == NULL || (r->caller == NULL && !json_is_null(caller)) ||
	    !json_is_object(r->params)) {
		wire_bad(err, errlen, "request: a key has the wrong type");
		goto fail;
	}
	r->msg = m;
	return 0;
fail:
	json_decref(m);
	memset(r, 0, sizeof(*r));
	return -1;
}

/* A decimal uint64 at *s: no sign, no leading zero, at most 19 digits. */
static int
scan_uint(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	if (p < end && *p == '0') {
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9' && p - *s < 19)
			*v = *v * 10 + (uint64_t)(*p++ - '0');
	}
	if (p == *s || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	*s = p;
	return 0;
}

static int
scan_lit(const char **s, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *s) < n || memcmp(*s, lit, n) != 0)
		return -1;
	*s += n;
	return 0;
}

static int
decode_ready(const char *line, size_t len, struct wire_reply *r, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "ready", "size", "vkey", "origin",
	    "methods" };
	json_t *m;
	uint64_t v;
	size_t i;
	json_t *x;

	if ((m = wire_load(line, len, "ready", err, errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 5, "ready", err, errlen) != 0)
		goto fail;
	r->vkey = json_string_value(json_object_get(m, "vkey"));
	r->origin = json_string_value(json_object_get(m, "origin"));
	r->methods = json_object_get(m, "methods");
	if (wire_get_uint(m, "ready", &v) != 0 || wire_get_uint(m, "size",
	    &r->size) != 0 || r->vkey == NULL || r->origin == NULL ||
	    !json_is_array(r->methods)) {
		wire_bad(err, errlen, "ready: a key has the wrong type");
		goto fail;
	}
	json_array_foreach(r->methods, i, x)
		if (!json_is_string(x)) {
			wire_bad(err, errlen, "ready: a method name is not a "
			    "string");
			goto fail;
		}
	if (v != WIRE_VERSION) {
		wire_bad(err, errlen, "the worker speaks wire version %" PRIu64
		    ", vmsd %d", v, WIRE_VERSION);
		goto fail;
	}
	r->kind = WIRE_READY;
	r->msg = m;
	return 0;
fail:
	json_decref(m);
	return -1;
}

static int
decode_child(const char *line, size_t len, struct wire_reply *r, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "child", "name", "size", "vkey",
	    "origin" };
	json_t *m;

	if ((m = wire_load(line, len, "child", err, errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 5, "child", err, errlen) != 0)
		goto fail;
	r->child = json_string_value(json_object_get(m, "child"));
	r->name = json_string_value(json_object_get(m, "name"));
	r->vkey = json_string_value(json_object_get(m, "vkey"));
	r->origin = json_string_value(json_object_get(m, "origin"));
	if (r->child == NULL || r->name == NULL || r->vkey == NULL ||
	    r->origin == NULL || wire_get_uint(m, "size", &r->size) != 0) {
		wire_bad(err, errlen, "child: a key has the wrong type");
		goto fail;
	}
	if (strcmp(r->child, "deploy") != 0 && strcmp(r->child, "stop") != 0) {
		wire_bad(err, errlen, "child: unknown operation");
		goto fail;
	}
	r->kind = WIRE_CHILD;
	r->msg = m;
	return 0;
fail:
	json_decref(m);
	r->child = r->name = r->vkey = r->origin = NULL;
	return -1;
}

static int
decode_refused(const char *line, size_t len, struct wire_reply *r,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "refused" };
	json_t *m;

	if ((m = wire_load(line, len, "refused", err, errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 1, "refused", err, errlen) != 0) {
		json_decref(m);
		return -1;
	}
	if ((r->reason = json_string_value(json_object_get(m,
	    "refused"))) == NULL) {
		json_decref(m);
		return wire_bad(err, errlen, "refused: the reason must be a "
		    "string");
	}
	r->kind = WIRE_REFUSED;
	r->msg = m;
	return 0;
}

static int
decode_error(const char *s, const char *end, struct wire_reply *r, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "code", "message", "?data" };
	json_t *e, *code;

	if ((e = wire_load(s, (size_t)(end - s), "error", err, errlen)) == NULL)
		return -1;
	code = json_object_get(e, "code");
	if (wire_keys_are(e, keys, 3, "error", err, errlen) != 0) {
		json_decref(e);
		return -1;
	}
	if (!json_is_integer(code) || json_integer_value(code) < INT32_MIN ||
	    json_integer_value(code) > INT32_MAX ||
	    !json_is_string(json_object_get(e, "message"))) {
		json_decref(e);
		return wire_bad(err, errlen, "error: code must be an integer "
		    "and message a string");
	}
	r->kind = WIRE_ERROR;
	r->msg = e;
	return 0;
}

static int decode_attached(const char *, const char *, struct wire_reply *,
    char *, size_t);

enum { SPLIT_OK, SPLIT_HEAD, SPLIT_TRUNCATED, SPLIT_NEITHER };

/*
 * A result or error line, s..end without its newline:
 * {"id":N,"size":N,"result":V} or "error":V, and V's text in place (not
 * parsed). SPLIT_OK, or what is wrong with it.
 */
static int
split_reply(const char *s, const char *end, uint64_t *id, uint64_t *size,
    int *is_error, const char **v, size_t *vlen)
{
	if (scan_lit(&s, end, "{\"id\":") != 0 || scan_uint(&s, end, id) != 0 ||
	    scan_lit(&s, end, ",\"size\":") != 0 ||
	    scan_uint(&s, end, size) != 0)
		return SPLIT_HEAD;
	if (end - s < 2 || end[-1] != '}')
		return SPLIT_TRUNCATED;
	if (scan_lit(&s, end, ",\"result\":") == 0)
		*is_error = 0;
	else if (scan_lit(&s, end, ",\"error\":") == 0)
		*is_error = 1;
	else
		return SPLIT_NEITHER;
	*v = s;
	*vlen = (size_t)(end - 1 - s);
	return SPLIT_OK;
}

int
wire_decode_reply(const char *line, size_t len, struct wire_reply *r,
    char *err, size_t errlen)
{
	const char *s = line, *end = line + len, *v;
	size_t vlen;
	int is_error;

	memset(r, 0, sizeof(*r));
	if (errlen > 0)
		err[0] = '\0';
	while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (scan_lit(&s, end, "{\"ready\":") == 0)
		return decode_ready(line, (size_t)(end - line), r, err, errlen);
	if (scan_lit(&s, end, "{\"child\":") == 0)
		return decode_child(line, (size_t)(end - line), r, err, errlen);
	if (scan_lit(&s, end, "{\"refused\":") == 0)
		return decode_refused(line, (size_t)(end - line), r, err,
		    errlen);
	if (scan_lit(&s, end, "{\"attached\":") == 0)
		return decode_attached(s, end, r, err, errlen);
	switch (split_reply(line, end, &r->id, &r->size, &is_error, &v,
	    &vlen)) {
	case SPLIT_HEAD:
		return wire_bad(err, errlen, "not a ready, refused, child, "
		    "attached, result or error message: %.60s", line);
	case SPLIT_TRUNCATED:
		return wire_bad(err, errlen, "reply %" PRIu64 " is truncated",
		    r->id);
	case SPLIT_NEITHER:
		return wire_bad(err, errlen, "reply %" PRIu64 ": neither "
		    "result nor error after id and size", r->id);
	}
	if (is_error)
		return decode_error(v, v + vlen, r, err, errlen);
	if (vlen == 0)
		return wire_bad(err, errlen, "reply %" PRIu64 ": empty result",
		    r->id);
	r->kind = WIRE_RESULT;
	r->result = v;
	r->resultlen = vlen;
	return 0;
}

static int
decode_attached(const char *s, const char *end, struct wire_reply *r,
    char *err, size_t errlen)
{
	if (scan_uint(&s, end, &r->id) != 0 ||
	    scan_lit(&s, end, ",\"size\":") != 0 ||
	    scan_uint(&s, end, &r->size) != 0 || scan_lit(&s, end, "}") != 0 ||
	    s != end)
		return wire_bad(err, errlen, "attached: not {\"attached\":N,"
		    "\"size\":N}");
	r->kind = WIRE_ATTACHED;
	return 0;
}

int
wire_split_reply(const char *line, size_t len, uint64_t *id, int *is_error,
    const char **value, size_t *valuelen)
{
	const char *end = line + len;
	uint64_t size;

	while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (split_reply(line, end, id, &size, is_error, value,
	    valuelen) != SPLIT_OK || *valuelen == 0)
		return -1;
	return 0;
}

void
wire_request_clear(struct wire_request *r)
{
	json_decref(r->msg);
	memset(r, 0, sizeof(*r));
}

void
wire_reply_clear(struct wire_reply *r)
{
	json_decref(r->msg);
	memset(r, 0, sizeof(*r));
}
