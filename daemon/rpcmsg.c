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

/* One request (the message, or an element of a batch), decoded. */
static void
dispatch_one(struct rpcreq *req, json_t *m, int refuse)
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
		b->kids[i]->addr = b->addr;
	}
	/*
	 * Elements may complete at once (errors, ping) or later; the batch
	 * cannot complete before the last is dispatched, since each holds
	 * one count of kids_left until it completes. The parent may be
	 * orphaned meanwhile only by its front end, never from in here.
	 */
	for (i = 0; i < n; i++)
		dispatch_one(b->kids[i], json_array_get(arr, i), refuse);
}

void
rpcmsg_handle(struct rpcreq *req, const char *text, size_t len, int refuse)
{
	json_t *msg = NULL;
	char err[VMS_ERRLEN];
	size_t before = budget_json_live(), after;
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
	else
		dispatch_one(req, msg, refuse);
	json_decref(msg);
}
