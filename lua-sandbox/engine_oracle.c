/*
 * engine_oracle.c — System.oracle as the engine answers it (engine.h,
 * "ORACLES"; formats in oracle.h). Executing a call, each request goes to
 * the host (engine_set_oracle), whatever comes back — an answer, checked
 * and, for a keyed oracle, verified, or a failure — becomes a record of
 * the entry, and the contract sees what the record says. Replaying, the
 * host is never asked: the n-th request must be the n-th record's (name
 * and canonical args), a signed record must verify (and name the key the
 * auditor pinned, if any), and the contract sees the record. Either way
 * the record is what the contract saw, so the entry replays byte for byte.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsig.h"
#include "canon.h"
#include "engine_int.h"
#include "oracle.h"
#include "sandbox.h"
#include "util.h"

#define ORACLE_MAX_CALL	16	/* oracle requests per call */

/* Oracle keys the auditor pinned (engine_pin_oracle). */
struct eng_pin {
	char		 name[ORACLE_NAME_MAX + 1];
	uint8_t		 key[32];
	struct eng_pin	*next;
};

void
engine_set_oracle(struct engine *e, engine_oracle_fn fn, void *arg)
{
	e->oracle_fn = fn;
	e->oracle_arg = arg;
}

void
engine_pin_oracle(struct engine *e, const char *name, const uint8_t key[32])
{
	struct eng_pin *p = xcalloc(1, sizeof(*p));

	snprintf(p->name, sizeof(p->name), "%s", name);
	memcpy(p->key, key, 32);
	p->next = e->pins;
	e->pins = p;
}

void
eng_pins_free(struct eng_pin *p)
{
	struct eng_pin *n;

	for (; p != NULL; p = n) {
		n = p->next;
		free(p);
	}
}

/* A replay that does not match its entry: the call cannot go on. */
static int
mismatch(struct sb_ctx *ctx, struct eng_call *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
mismatch(struct sb_ctx *ctx, struct eng_call *c, const char *fmt, ...)
{
	va_list ap;

	if (c->why[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->why, sizeof(c->why), fmt, ap);
		va_end(ap);
	}
	if (ctx->limit_err[0] == '\0')
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "replay: %.120s", c->why);
	return -1;
}

/* The request this call makes now (canonical text, malloc'd). */
static char *
request_text(struct sb_ctx *ctx, struct eng_call *c, const char *name,
    const json_t *args, size_t *len)
{
	return oracle_request(name, args, c->caller ? c->caller->id : NULL,
	    c->e->contract, c->e->origin, ctx->index,
	    (uint64_t)json_array_size(c->oracles), c->time_ms, len);
}

/* Executing: ask the host; the record of what came back (NULL: cannot
 * be made). */
static json_t *
ask(struct sb_ctx *ctx, struct eng_call *c, const char *name,
    const json_t *args, const char *req, size_t reqlen)
{
	struct oracle_output out;
	char err[VMS_ERRLEN], why[VMS_ERRLEN], *ans, *clean;
	uint8_t *buf = NULL, key[32];
	size_t len = 0, anslen;
	int keyed = 0;
	json_t *rec;

	memset(&out, 0, sizeof(out));
	if (c->e->oracle_fn == NULL) {
		seterr(err, sizeof(err), "no oracles on this host");
		goto failed;
	}
	if (c->e->oracle_fn(c->e->oracle_arg, name, req, reqlen, &buf, &len,
	    key, &keyed, err, sizeof(err)) != 0)
		goto failed;
	if (oracle_output_parse(buf, len, &out, why, sizeof(why)) != 0) {
		seterr(err, sizeof(err), "bad answer: %s", why);
		goto failed;
	}
	free(buf);
	buf = NULL;
	if (out.error != NULL) {
		seterr(err, sizeof(err), "%s", out.error);
		goto failed;
	}
	if (keyed) {
		if (!out.has_sig) {
			seterr(err, sizeof(err), "bad answer: not signed (this "
			    "oracle's answers must carry \"sig\")");
			goto failed;
		}
		if ((ans = json_canonical(out.answer, &anslen)) == NULL) {
			seterr(err, sizeof(err), "bad answer: cannot encode");
			goto failed;
		}
		if (oracle_verify(key, out.sig, req, reqlen, ans, anslen, why,
		    sizeof(why)) != 0) {
			free(ans);
			seterr(err, sizeof(err), "bad answer: %s", why);
			goto failed;
		}
		free(ans);
	}
	rec = oracle_record_new(name, args, out.answer, NULL,
	    keyed ? key : NULL, keyed ? out.sig : NULL);
	oracle_output_clear(&out);
	return rec;
failed:
	free(buf);
	oracle_output_clear(&out);
	clean = oracle_clean_error(err, strlen(err));
	rec = oracle_record_new(name, args, NULL, clean, NULL, NULL);
	free(clean);
	return rec;
}

/* Replaying: the next record, which must be this request's. */
static const json_t *
recorded(struct sb_ctx *ctx, struct eng_call *c, const char *name,
    const json_t *args, const char *req, size_t reqlen)
{
	struct oracle_record r;
	const json_t *rec;
	struct eng_pin *p;
	char why[VMS_ERRLEN], *a, *b, *ans;
	size_t n = c->used, anslen;
	int same;

	rec = json_array_get(c->recorded, n);
	if (rec == NULL) {
		mismatch(ctx, c, "oracle request %zu (%s) has no recorded "
		    "answer: the entry records %zu", n, name,
		    json_array_size(c->recorded));
		return NULL;
	}
	if (oracle_record_parse(rec, &r, why, sizeof(why)) != 0) {
		mismatch(ctx, c, "oracle record %zu: %s", n, why);
		return NULL;
	}
	a = json_canonical(args, NULL);
	b = json_canonical(r.args, NULL);
	same = a != NULL && b != NULL && strcmp(a, b) == 0 &&
	    strcmp(r.name, name) == 0;
	if (!same) {
		mismatch(ctx, c, "oracle request %zu differs: the contract "
		    "asks %s%.200s, the entry records an answer to %s%.200s",
		    n, name, a ? a : "?", r.name, b ? b : "?");
		free(a);
		free(b);
		return NULL;
	}
	free(a);
	free(b);
	for (p = c->e->pins; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0 && r.answer != NULL &&
		    (!r.has_key || memcmp(p->key, r.key, 32) != 0)) {
			mismatch(ctx, c, "oracle answer %zu (%s) is %s, not by "
			    "the pinned key", n, name, r.has_key ?
			    "signed by another key" : "unsigned");
			return NULL;
		}
	if (r.has_key) {
		if ((ans = json_canonical(r.answer, &anslen)) == NULL) {
			mismatch(ctx, c, "oracle answer %zu (%s) cannot be "
			    "encoded", n, name);
			return NULL;
		}
		same = oracle_verify(r.key, r.sig, req, reqlen, ans, anslen,
		    why, sizeof(why)) == 0;
		free(ans);
		if (!same) {
			mismatch(ctx, c, "oracle answer %zu (%s): %s", n, name,
			    why);
			return NULL;
		}
	}
	c->used++;
	return rec;
}

static int
host_oracle(struct sb_ctx *ctx, const char *name, const json_t *args,
    const json_t **answer, const char **key, size_t *reclen, char *msg,
    size_t msglen)
{
	struct eng_call *c = ctx->host_arg;
	const json_t *rec;
	json_t *made = NULL;
	char *req, *text;
	size_t reqlen;

	if (c->method == NULL) {
		seterr(msg, msglen, "System.oracle: not available in init");
		return 1;
	}
	if (!oracle_valid_name(name)) {
		seterr(msg, msglen, "System.oracle: bad oracle name");
		return 1;
	}
	if (json_array_size(c->oracles) >= ORACLE_MAX_CALL) {
		seterr(msg, msglen, "System.oracle: more than %d requests in "
		    "one call", ORACLE_MAX_CALL);
		return 1;
	}
	if ((req = request_text(ctx, c, name, args, &reqlen)) == NULL) {
		seterr(msg, msglen, "System.oracle: cannot encode the request");
		return 1;
	}
	if (c->replaying)
		rec = recorded(ctx, c, name, args, req, reqlen);
	else
		rec = made = ask(ctx, c, name, args, req, reqlen);
	free(req);
	if (rec == NULL) {
		if (c->replaying)
			return -1;
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "System.oracle: cannot make the record");
		return -1;
	}
	/* the record is the entry's, and its size the charge */
	if ((text = json_canonical(rec, reclen)) == NULL) {
		json_decref(made);
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "System.oracle: cannot encode the record");
		return -1;
	}
	free(text);
	json_array_append(c->oracles, (json_t *)(uintptr_t)rec);
	json_decref(made);
	rec = json_array_get(c->oracles, json_array_size(c->oracles) - 1);
	*key = json_string_value(json_object_get(rec, "key"));
	if ((*answer = json_object_get(rec, "answer")) == NULL) {
		seterr(msg, msglen, "oracle %s: %s", name,
		    json_string_value(json_object_get(rec, "error")));
		return 1;
	}
	return 0;
}

int
eng_oracle_done(struct eng_call *c)
{
	size_t n = json_array_size(c->recorded);

	if (!c->replaying || c->used == n || c->why[0] != '\0')
		return c->why[0] == '\0' ? 0 : -1;
	snprintf(c->why, sizeof(c->why), "the entry records %zu oracle "
	    "answers, the contract asked for %zu", n, c->used);
	return -1;
}

const struct sb_host eng_host = {
	host_oracle,
	eng_host_deploy,
	eng_host_stop,
	eng_host_list
};
