/*
 * rpcreq.c — the life of one client request (rpcreq.h): creation by a
 * front end, the encoded reply, completion through the front end's
 * callback, and freeing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "canon.h"
#include "log.h"
#include "proto.h"
#include "rpcreq.h"
#include "util.h"

struct rpcreq *
rpcreq_new(void *owner, const struct conn_info *peer, rpcreq_done_fn fn)
{
	struct rpcreq *req = xcalloc(1, sizeof(*req));

	req->owner = owner;
	req->peer = peer;
	req->done_fn = fn;
	return req;
}

void
rpcreq_charge(struct rpcreq *req, size_t n)
{
	if (req->acct == NULL)
		return;
	budget_add(req->acct, n);
	req->charge += n;
}

void
rpcreq_uncharge(struct rpcreq *req)
{
	if (req->charge > 0 && req->acct != NULL)
		budget_sub(req->acct, req->charge);
	req->charge = 0;
}

void
rpcreq_free(struct rpcreq *req)
{
	size_t i;

	for (i = 0; i < req->nkids; i++)
		if (req->kids[i] != NULL)
			rpcreq_free(req->kids[i]);
	free(req->kids);
	json_decref(req->id);
	json_decref(req->params);
	free(req->ptext);
	free(req->reply);
	free(req->caller);
	free(req);
}

void
rpcreq_orphan(struct rpcreq *req)
{
	size_t i;

	if (req->done) {
		rpcreq_free(req);
		return;
	}
	rpcreq_uncharge(req);	/* the connection's account is closing */
	req->owner = NULL;
	req->peer = NULL;
	req->acct = NULL;
	req->addr = NULL;
	/* The elements of a batch keep completing to it, but their peer
	 * (the front end's connection) is gone too. */
	for (i = 0; i < req->nkids; i++)
		if (req->kids[i] != NULL) {
			req->kids[i]->peer = NULL;
			req->kids[i]->acct = NULL;
			req->kids[i]->addr = NULL;
		}
}

void
rpcreq_params_changed(struct rpcreq *req)
{
	free(req->ptext);
	req->ptext = NULL;
	req->ptextlen = 0;
}

const char *
rpcreq_who(const struct rpcreq *req)
{
	return req->peer != NULL && req->peer->ident != NULL ?
	    req->peer->ident : "admin";
}

static void
rpcreq_complete(struct rpcreq *req, char *line, size_t len)
{
	if (line == NULL && !req->notification) {
		/* Only if jansson could not encode: never leave a hole. */
		line = proto_error(req->id, RPC_INTERNAL_ERROR,
		    "internal error: cannot encode reply", NULL, &len);
		if (line == NULL)
			fatalx("cannot encode an error reply");
	}
	rpcreq_uncharge(req);
	if (req->owner == NULL) {
		free(line);
		rpcreq_free(req);
		return;
	}
	req->reply = line;
	req->replylen = len;
	req->done = 1;
	req->done_fn(req, req->owner);
}

void
rpcreq_reply_raw(struct rpcreq *req, char *reply, size_t len)
{
	if (reply == NULL)
		req->notification = 1;
	rpcreq_complete(req, reply, len);
}

void
rpcreq_result(struct rpcreq *req, json_t *result)
{
	size_t len = 0;
	char *line = proto_result(req->id, result, &len);

	rpcreq_complete(req, line, len);
}

void
rpcreq_error(struct rpcreq *req, int code, json_t *data, const char *fmt,
    ...)
{
	char msg[VMS_ERRLEN * 2];
	va_list ap;
	size_t len = 0;
	char *line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req->code = code;
	line = proto_error(req->id, code, msg, data, &len);
	rpcreq_complete(req, line, len);
}

void
rpcreq_error_obj(struct rpcreq *req, const json_t *e)
{
	json_t *code = json_object_get(e, "code");
	json_t *msg = json_object_get(e, "message");
	json_t *data = json_object_get(e, "data");

	rpcreq_error(req, json_is_integer(code) ?
	    (int)json_integer_value(code) : RPC_INTERNAL_ERROR,
	    data ? json_incref(data) : NULL, "%s", json_is_string(msg) ?
	    json_string_value(msg) : "internal error");
}

void
rpcreq_result_text(struct rpcreq *req, const char *result, size_t len)
{
	struct jbuf b = { NULL, 0, 0 };
	char idbuf[32], *id = NULL, *p;
	const char *ids = idbuf;

	if (req->id != NULL && json_is_integer(req->id)) {
		json_int_t v = json_integer_value(req->id);
		/* as unsigned: INT64_MIN too */
		unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
		    (unsigned long long)v;

		p = idbuf + sizeof(idbuf);
		*--p = '\0';
		do
			*--p = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			*--p = '-';
		ids = p;
	} else if (req->id == NULL || (ids = id = json_dumps(req->id,
	    JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		ids = "null";
	proto_reply_text(&b, ids, strlen(ids), 0, result, len);
	free(id);
	rpcreq_complete(req, b.s, b.len);
}

void
rpcreq_fail_list(struct rpcreq_list *l, unsigned *n, int code,
    const char *msg)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, req, qentry);
		if (n)
			(*n)--;
		rpcreq_error(req, code, NULL, "%s", msg);
	}
}
