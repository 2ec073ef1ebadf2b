/*
 * rpcmsg.c — one JSON-RPC 2.0 message from a front end (rpcmsg.h): a
 * request, or a batch of them, decoded once (proto.c) and dispatched
 * (methods.c); a batch's replies are gathered into one array.
 *
 * As the specification has it: a batch gets an array of the replies to
 * its requests that are not notifications, in the batch's order; a batch
 * of notifications only gets no reply at all; an empty array is one
 * -32600 error; an element that is not a request object (a bare 1) gets
 * its own -32600 in the array. A batch over max_batch requests is one
 * -32600 error, so that one message cannot flood the queues.
 *
 * The message is charged to its connection's memory budget (budget.c)
 * for its text and its decoded size until it is answered.
 *
 * A request's params go to a contract's worker as JSON text. When the
 * client wrote them compactly, that text is kept (req->ptext) and sent as
 * it is, instead of being encoded again from what jansson decoded: jansson
 * has checked it (valid JSON, UTF-8, no duplicate key at any depth), and
 * rpcmsg_params_span only finds where it lies.
 */
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "log.h"
#include "methods.h"
#include "proto.h"
#include "rpcmsg.h"
#include "rpcreq.h"
#include "util.h"
#include "vmsd.h"

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The bytes the scans below stop at: in a string (1), in a value (2). */
#define STOP_STR	1
#define STOP_VAL	2
static const unsigned char stop[256] = {
	['"'] = STOP_STR | STOP_VAL, ['\\'] = STOP_STR,
	['{'] = STOP_VAL, ['}'] = STOP_VAL, ['['] = STOP_VAL, [']'] = STOP_VAL,
	[','] = STOP_VAL, [' '] = STOP_VAL, ['\t'] = STOP_VAL,
	['\n'] = STOP_VAL, ['\r'] = STOP_VAL,
};

/* Past the string whose opening quote is at s[i]; len if unterminated. */
static size_t
skip_string(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		while (i < len && !(stop[(unsigned char)s[i]] & STOP_STR))
			i++;
		if (i >= len || s[i] == '"')
			break;
		i++;			/* the escaped byte */
	}
	return i < len ? i + 1 : len;
}

/*
 * Past the value starting at s[i] (no whitespace before it); *ws is set
 * if whitespace lies inside it. Only for text jansson accepted.
 */
static size_t
skip_value(const char *s, size_t len, size_t i, int *ws)
{
	size_t depth = 0;

	while (i < len) {
		char c;

		while (i < len && !(stop[(unsigned char)s[i]] & STOP_VAL))
			i++;
		if (i >= len)
			break;
		c = s[i];
		if (c == '"') {
			i = skip_string(s, len, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;	/* the end of a scalar */
			if (--depth == 0)
				return i + 1;
		} else if (c == ',' && depth == 0)
			return i;
		else if (is_ws(c)) {
			if (depth == 0)
				return i;
			*ws = 1;
		}
		i++;
	}
	return i;
}

/*
 * Where the value of the message's key "params" lies in its text, which
 * jansson has decoded into an object (so the key occurs at most once),
 * if it is written without whitespace (it then fits in a wire line as it
 * is); NULL if not, or if the key is written with escapes.
 */
const char *
rpcmsg_params_span(const char *s, size_t len, size_t *plen)
{
	size_t i = 0, k, kend, v, end;
	int ws;

	while (i < len && is_ws(s[i]))
		i++;
	if (i >= len || s[i] != '{')
		return NULL;
	for (i++;;) {
		while (i < len && is_ws(s[i]))
			i++;
		if (i >= len || s[i] != '"')
			return NULL;		/* {} */
		k = i;
		i = kend = skip_string(s, len, i);
		while (i < len && is_ws(s[i]))
			i++;
		if (i >= len || s[i] != ':')
			return NULL;
		for (i++; i < len && is_ws(s[i]); i++)
			;
		v = i;
		ws = 0;
		end = skip_value(s, len, i, &ws);
		if (kend - k == 8 && memcmp(s + k, "\"params\"", 8) == 0) {
			if (ws || end <= v || s[v] != '{' || s[end - 1] != '}')
				return NULL;
			*plen = end - v;
			return s + v;
		}
		for (i = end; i < len && is_ws(s[i]); i++)
			;
		if (i >= len || s[i] != ',')
			return NULL;
		i++;
	}
}

/* One request (the message, or an element of a batch), decoded; ptext:
 * its params' text (rpcmsg_params_span), or NULL. */
static void
dispatch_one(struct rpcreq *req, json_t *m, const char *ptext,
    size_t ptextlen, int refuse)
{
	json_t *params = NULL, *id = NULL;
	const char *method = NULL;
	char err[VMS_ERRLEN];
	int code;

	code = proto_check_request(m, &method, &params, &id, err, sizeof(err));
	if (id != NULL)
		req->id = json_incref(id);
	if (code != 0) {
		rpcreq_error(req, code, NULL, "%s", err);
		return;
	}
	if (json_object_get(m, "id") == NULL)
		req->notification = 1;
	if (ptext != NULL) {
		req->ptext = xmalloc(ptextlen);
		memcpy(req->ptext, ptext, ptextlen);
		req->ptextlen = ptextlen;
	}
	if (refuse || vmsd_shutting_down)
		rpcreq_error(req, RPC_UNAVAILABLE, NULL,
		    "vmsd is shutting down");
	else
		methods_dispatch(req, method, params);
}

/* Every element answered: the array of their replies (or none). */
static void
batch_finish(struct rpcreq *b)
{
	struct rpcreq *k;
	size_t i, n = 2, len;
	char *out, *p;

	for (i = 0; i < b->nkids; i++) {
		k = b->kids[i];
		if (!k->notification && k->reply != NULL)
			n += k->replylen + 1;
	}
	p = out = xmalloc(n + 1);
	*p++ = '[';
	for (i = 0; i < b->nkids; i++) {
		k = b->kids[i];
		if (k->notification || k->reply == NULL)
			continue;
		len = k->replylen;
		while (len > 0 && k->reply[len - 1] == '\n')
			len--;
		if (p - out > 1)
			*p++ = ',';
		memcpy(p, k->reply, len);
		p += len;
	}
	if (p - out == 1) {
		/* notifications only: nothing is answered */
		free(out);
		rpcreq_reply_raw(b, NULL, 0);
		return;
	}
	*p++ = ']';
	*p++ = '\n';
	*p = '\0';
	rpcreq_reply_raw(b, out, (size_t)(p - out));
}

static void
kid_done(struct rpcreq *kid, void *owner)
{
	struct rpcreq *b = owner;

	if (--b->kids_left == 0)
		batch_finish(b);
}

static void
dispatch_batch(struct rpcreq *b, json_t *arr, int refuse)
{
	size_t i, n = json_array_size(arr);

	if (n == 0) {
		rpcreq_error(b, RPC_INVALID_REQUEST, NULL,
		    "invalid request: empty batch");
		return;
	}
	if (n > vmsd_conf->max_batch) {
		rpcreq_error(b, RPC_INVALID_REQUEST, NULL, "invalid request: "
		    "batch of %zu requests, over max_batch (%u)", n,
		    vmsd_conf->max_batch);
		return;
	}
	b->kids = xcalloc(n, sizeof(*b->kids));
	b->nkids = n;
	b->kids_left = n;
	for (i = 0; i < n; i++) {
		b->kids[i] = rpcreq_new(b, b->peer, kid_done);
		b->kids[i]->parent = b;
		b->kids[i]->addr = b->addr;
	}
	/*
	 * Elements may complete at once (errors, ping) or later; the batch
	 * cannot complete before the last is dispatched, since each holds
	 * one count of kids_left until it completes. The parent may be
	 * orphaned meanwhile only by its front end, never from in here.
	 */
	for (i = 0; i < n; i++)
		dispatch_one(b->kids[i], json_array_get(arr, i), NULL, 0,
		    refuse);
}

void
rpcmsg_handle(struct rpcreq *req, const char *text, size_t len, int refuse)
{
	json_t *msg = NULL;
	char err[VMS_ERRLEN];
	const char *ptext;
	size_t before = budget_json_live(), after, ptextlen = 0;
	int code;

	if ((code = proto_parse_message(text, len, &msg, err,
	    sizeof(err))) != 0) {
		rpcreq_error(req, code, NULL, "%s", err);
		return;
	}
	/* What the request holds until answered: its text (the front end's
	 * buffer) and its decoded form, measured. */
	after = budget_json_live();
	rpcreq_charge(req, len + (after > before ? after - before : 0));
	if (json_is_array(msg))
		dispatch_batch(req, msg, refuse);
	else {
		ptext = json_is_object(msg) ? rpcmsg_params_span(text, len,
		    &ptextlen) : NULL;
		dispatch_one(req, msg, ptext, ptextlen, refuse);
	}
	json_decref(msg);
}
