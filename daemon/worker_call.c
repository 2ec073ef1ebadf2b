/*
 * worker_call.c — one request from vmsd, in the worker: execute a contract
 * call (append its entry to the open batch; the reply waits for the batch's
 * commit), or answer a read (ledger queries, files, state) from committed
 * state only. Replies are JSON lines queued in request order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsig.h"
#include "engine.h"
#include "ledger.h"
#include "ledgerq.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "worker.h"

/* The ledger size the client will see once this batch is committed. */
static uint64_t
reply_size(const struct worker *w)
{
	return w->ledger ? ledger_size(w->ledger) : 0;
}

void
worker_reply_result(struct worker *w, uint64_t id, json_t *result)
{
	char err[VMS_ERRLEN];

	if (wire_put_result(&w->out, id, reply_size(w), result, err,
	    sizeof(err)) != 0)
		wire_put_error(&w->out, id, reply_size(w), RPC_INTERNAL_ERROR,
		    err, NULL);
	json_decref(result);
}

void
worker_reply_error(struct worker *w, uint64_t id, int code, json_t *data,
    const char *msg)
{
	wire_put_error(&w->out, id, reply_size(w), code, msg, data);
	json_decref(data);
}

/* A signed call the engine refused: the error code and its data. */
static void
refuse_signed(struct worker *w, uint64_t id, enum engine_status st,
    const struct callsig *cs, const char *err)
{
	switch (st) {
	case ENGINE_WRONG_ORIGIN:
		worker_reply_error(w, id, RPC_WRONG_ORIGIN, json_pack("{s:s}",
		    "origin", ledger_origin(w->ledger)), err);
		break;
	case ENGINE_STALE_NONCE:
		worker_reply_error(w, id, RPC_STALE_NONCE, json_pack("{s:I}",
		    "last_nonce", (json_int_t)engine_last_nonce(w->engine,
		    cs->key)), err);
		break;
	default:
		worker_reply_error(w, id, RPC_BAD_SIGNATURE, NULL, err);
		break;
	}
}

/* The storage is full (err says how): this call is refused as no_space,
 * its entry and result dropped. */
static void
refuse_no_space(struct worker *w, uint64_t id, char *entry,
    struct engine_result *res, const char *err)
{
	free(entry);
	engine_result_clear(res);
	worker_storage_full(w, err);
	worker_reply_error(w, id, RPC_UNAVAILABLE, json_pack("{s:s}", "reason",
	    "no_space"), worker_no_space);
}

void
worker_call(struct worker *w, uint64_t id, json_t *params,
    const struct vms_caller *caller)
{
	const char *method = json_string_value(json_object_get(params,
	    "method"));
	json_t *args = json_object_get(params, "args");
	json_t *sig = json_object_get(params, "signed");
	struct engine_result res;
	struct receipt_hole *h;
	struct callsig cs;
	enum engine_status st;
	char err[VMS_ERRLEN], *entry = NULL;
	size_t len = 0;
	uint64_t index;
	merkle_hash leaf;
	int e;

	if (method == NULL || !json_is_array(args)) {
		worker_reply_error(w, id, RPC_INVALID_PARAMS, NULL,
		    "parameters \"method\" (string) and \"args\" (array) "
		    "are required");
		return;
	}
	memset(&res, 0, sizeof(res));
	if (sig != NULL) {
		/* vmsd checked its shape and took the caller from its key */
		if (callsig_parse(sig, &cs, err, sizeof(err)) != 0) {
			worker_reply_error(w, id, RPC_BAD_SIGNATURE, NULL, err);
			return;
		}
		st = engine_call_signed(w->engine, method, args, &cs,
		    now_ms(), &entry, &len, &res, err, sizeof(err));
	} else
		st = engine_call(w->engine, method, args, caller, now_ms(),
		    &entry, &len, &res, err, sizeof(err));
	if (st == ENGINE_REFUSED) {
		worker_reply_error(w, id, RPC_NO_CONTRACT_METHOD, NULL, err);
		engine_result_clear(&res);
		return;
	}
	if (st == ENGINE_BAD_SIGNATURE || st == ENGINE_WRONG_ORIGIN ||
	    st == ENGINE_STALE_NONCE) {
		refuse_signed(w, id, st, &cs, err);
		engine_result_clear(&res);
		return;
	}
	if (st != ENGINE_OK) {
		log_warnx("call %s failed inside the engine: %s", method, err);
		worker_reply_error(w, id, RPC_INTERNAL_ERROR, NULL, err);
		engine_result_clear(&res);
		free(entry);
		w->must_exit = 1;
		return;
	}
	engine_last_leaf(w->engine, leaf);
	if (ledger_append_leaf(w->ledger, entry, len, leaf, &index, err,
	    sizeof(err)) != 0) {
		if (!worker_storage_errno(ledger_errno(w->ledger)))
			fatalx("append failed, batch not acknowledged: %s",
			    err);
		refuse_no_space(w, id, entry, &res, err);
		return;
	}
	w->dirty = 1;
	if (res.contracts > 0 && (e = worker_children_intent(w, index, err,
	    sizeof(err))) != 0) {
		if (!worker_storage_errno(e))
			fatalx("children of entry %llu: %s; batch not committed",
			    (unsigned long long)index, err);
		/* the disk is full: this entry goes with the open batch */
		refuse_no_space(w, id, entry, &res, err);
		return;
	}
	/* The reply waits for the batch's checkpoint: its receipt (or, if
	 * the storage fills first, the error saying it was not recorded). */
	if (w->nholes == w->capholes) {
		w->capholes = w->capholes ? w->capholes * 2 : 64;
		w->holes = xrealloc(w->holes, w->capholes * sizeof(*w->holes));
	}
	h = &w->holes[w->nholes++];
	memset(h, 0, sizeof(*h));
	h->at = w->out.len;
	h->id = id;
	h->size = reply_size(w);
	h->index = index;
	if (res.ok)
		h->value = json_incref(res.value ? res.value : json_null());
	else {
		h->code = RPC_CONTRACT_ERROR;
		h->message = xstrdup(res.error ? res.error : "error");
	}
	if (json_is_true(json_object_get(params, "entry"))) {
		h->entry = (uint8_t *)entry;
		h->entrylen = len;
		entry = NULL;
	}
	free(entry);
	engine_result_clear(&res);
}

/* ls entries name files relative to the directory; add the full path. */
static void
add_paths(json_t *entries, const char *dir)
{
	size_t i, dl = strlen(dir);
	const char *name;
	json_t *e;
	char *full;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	json_array_foreach(entries, i, e) {
		name = json_string_value(json_object_get(e, "name"));
		if (name == NULL || json_object_get(e, "path") != NULL)
			continue;
		xasprintf(&full, "%.*s/%s", dl == 1 ? 0 : (int)dl, dir, name);
		json_object_set_new(e, "path", json_string(full));
		free(full);
	}
}

/*
 * The most entries one `ls` or `state` reply lists. A whole dump of a
 * state of 871k files took the worker 3.7 s and 760 MB while it built it
 * (its peak RSS 350 MB -> 1.1 GB), every call to the contract waiting,
 * for a reply of 117 MB that vmsd then dropped (over memory_budget,
 * closing the connection), and anyone allowed to read could ask again.
 * Longer listings are refused (a `state` page's limit is cut to it):
 * read them in `state` pages (limit, after) or a directory at a time.
 */
#define LIST_MAX	100000

static void
do_files(struct worker *w, enum proto_method_id method, uint64_t id,
    json_t *params)
{
	const char *path;
	char err[VMS_ERRLEN], *b;
	uint8_t *data;
	size_t len, n, limit;
	json_t *r;
	int rec = 0;

	if (method == PM_READ) {
		path = json_string_value(json_object_get(params, "path"));
		if (path == NULL) {
			worker_reply_error(w, id, RPC_INVALID_PARAMS, NULL,
			    "missing parameter \"path\"");
			return;
		}
		if (engine_read(w->engine, path, &data, &len, err,
		    sizeof(err)) != 0) {
			worker_reply_error(w, id, RPC_NOT_FOUND, NULL, err);
			return;
		}
		b = b64_encode(data, len);
		worker_reply_result(w, id, json_pack("{s:s,s:s,s:I}", "path", path,
		    "data", b, "size", (json_int_t)len));
		free(b);
		free(data);
	} else if (method == PM_LS) {
		path = json_string_value(json_object_get(params, "path"));
		rec = json_is_true(json_object_get(params, "recursive"));
		if ((n = engine_ls_count(w->engine, path ? path : "/",
		    rec)) > LIST_MAX) {
			snprintf(err, sizeof(err), "%s holds %zu entries%s, "
			    "more than one reply lists (%d): list a directory "
			    "below it, or read the state in pages (state's "
			    "limit and after)", path ? path : "/", n, rec ?
			    " below it" : "", LIST_MAX);
			worker_reply_error(w, id, RPC_INVALID_PARAMS, NULL, err);
			return;
		}
		r = engine_ls(w->engine, path ? path : "/", rec, err,
		    sizeof(err));
		if (r == NULL) {
			worker_reply_error(w, id, RPC_NOT_FOUND, NULL, err);
			return;
		}
		if (json_is_array(r))
			add_paths(r, path ? path : "/");
		if (!json_is_object(r))
			r = json_pack("{s:o}", "entries", r);
		worker_reply_result(w, id, r);
	} else {
		/* (proto_check_params made after a string, limit and
		 * max_bytes uints) */
		limit = (size_t)json_integer_value(json_object_get(params,
		    "limit"));
		if (limit == 0 && (n = engine_state_count(w->engine)) >
		    LIST_MAX) {
			snprintf(err, sizeof(err), "the state holds %zu files "
			    "and directories, more than one reply lists (%d): "
			    "read it in pages (limit and after)", n, LIST_MAX);
			worker_reply_error(w, id, RPC_INVALID_PARAMS, NULL, err);
			return;
		}
		if (limit > LIST_MAX)
			limit = LIST_MAX;
		r = engine_state_page(w->engine, json_string_value(
		    json_object_get(params, "after")), limit,
		    (size_t)json_integer_value(json_object_get(params,
		    "max_bytes")));
		if (r == NULL) {
			worker_reply_error(w, id, RPC_INTERNAL_ERROR, NULL,
			    "cannot dump the state");
			return;
		}
		json_object_set_new(r, "index",
		    json_integer((json_int_t)engine_next_index(w->engine)));
		worker_reply_result(w, id, r);
	}
}

void
worker_handle(struct worker *w, const char *line, size_t len)
{
	const struct proto_method *m;
	struct wire_request rq;
	struct vms_caller caller;
	json_t *r;
	char err[VMS_ERRLEN];
	int code;

	if (wire_decode_request(line, len, &rq, err, sizeof(err)) != 0)
		fatalx("bad message from vmsd: %s", err);
	caller.id = rq.caller;
	caller.auth = rq.auth;
	if ((m = proto_method_find(rq.method)) == NULL ||
	    !(m->flags & PM_CONTRACT) || m->id == PM_ATTACH) {
		worker_reply_error(w, rq.id, RPC_METHOD_NOT_FOUND, NULL,
		    "method not found");
		wire_request_clear(&rq);
		return;
	}
	if (m->id == PM_CALL) {
		worker_call(w, rq.id, rq.params, &caller);
		wire_request_clear(&rq);
		return;
	}
	/* Reads see only what is committed: finish the batch first. */
	worker_drain(w);
	if (m->flags & PM_LEDGER) {
		code = ledgerq(w->ledger, w->name, m->id, rq.params, &r, err,
		    sizeof(err));
		if (code != 0)
			worker_reply_error(w, rq.id, code, NULL, err);
		else
			worker_reply_result(w, rq.id, r);
	} else
		do_files(w, m->id, rq.id, rq.params);
	wire_request_clear(&rq);
}
