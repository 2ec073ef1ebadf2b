/*
 * engine.c — implements engine.h: deploy, call, opening a recorded
 * ledger, and the engine's accessors. Entries are built here (schema in
 * engine.h) and the sandbox (sandbox.c) runs Lua. The request checks
 * (engine_check.c), limits, replay and apply, snapshots and the state
 * views live in engine_*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "engine.h"
#include "engine_int.h"
#include "canon.h"
#include "sandbox.h"
#include "sha256.h"
#include "state.h"
#include "util.h"

/* ---- helpers ---- */

void
engine_result_clear(struct engine_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->value);
	free(r->error);
	r->value = NULL;
	r->error = NULL;
	r->ok = 0;
}

static void
sha256_hex(const void *p, size_t len, char out[65])
{
	uint8_t h[32];

	vms_sha256(p, len, h);
	hex_encode(h, 32, out);
}

void
eng_root_hex(const struct engine *e, char out[65])
{
	uint8_t r[32];

	state_root(e->state, r);
	hex_encode(r, 32, out);
}

static void
entry_seed(const struct engine *e, uint8_t out[32])
{
	struct vms_sha256 h;
	uint8_t be[8];
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(e->next >> (56 - 8 * i));
	vms_sha256_init(&h);
	vms_sha256_update(&h, "vms/seed/v1", 11);
	vms_sha256_update(&h, e->prev_leaf, 32);
	vms_sha256_update(&h, be, 8);
	vms_sha256_final(&h, out);
}

/*
 * What the call asked for, as part of Lua's string-hash seed (see
 * sb_rng_seed): SHA-256(method || NUL || canonical args), or of the code
 * for the deploy entry. A caller who can predict the ledger seed still
 * cannot choose arguments that collide under a seed they determine.
 */
static void
request_digest(const struct engine *e, const char *method,
    const char *argtext, size_t arglen, uint8_t out[32])
{
	struct vms_sha256 h;

	vms_sha256_init(&h);
	if (method == NULL) {
		vms_sha256_update(&h, e->code, e->codelen);
	} else {
		vms_sha256_update(&h, method, strlen(method) + 1);
		vms_sha256_update(&h, argtext, arglen);
	}
	vms_sha256_final(&h, out);
}

static struct engine *
engine_new(const char *contract, const char *code, size_t codelen,
    const struct vms_limits *lim)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->contract = xstrdup(contract);
	e->code = xmalloc(codelen + 1);
	memcpy(e->code, code, codelen);
	e->code[codelen] = '\0';
	e->codelen = codelen;
	sha256_hex(code, codelen, e->code_sha);
	e->limits = *lim;
	e->state = state_new();
	e->warm = sb_warm_new();
	e->nonces = eng_nonces_new();
	e->children = eng_children_new();
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	free(e->contract);
	free(e->code);
	free(e->bc);
	json_decref(e->methods);
	state_free(e->state);
	sb_warm_free(e->warm);
	free(e->origin);
	eng_nonces_free(e->nonces);
	eng_pins_free(e->pins);
	eng_children_free(e->children);
	json_decref(e->parent);
	json_decref(e->init_args);
	json_decref(e->pending);
	jbuf_free(&e->wbuf);
	jbuf_free(&e->ebuf);
	jbuf_free(&e->obuf);
	free(e);
}

void
engine_set_entry_source(struct engine *e, engine_entry_fn fn, void *arg)
{
	e->entry_fn = fn;
	e->entry_arg = arg;
}

void
engine_set_log(struct engine *e, engine_log_fn fn, void *arg)
{
	e->log_fn = fn;
	e->log_arg = arg;
}

void
engine_set_warm(struct engine *e, int on)
{
	sb_warm_enable(e->warm, on);
}

void
engine_warm_stats(const struct engine *e, struct engine_warm *s)
{
	sb_warm_stats(e->warm, s);
}

void
engine_set_origin(struct engine *e, const char *origin)
{
	free(e->origin);
	e->origin = origin ? xstrdup(origin) : NULL;
}

uint64_t
engine_last_nonce(const struct engine *e, const uint8_t key[32])
{
	return eng_nonce_get(e->nonces, key);
}

/*
 * The entry's canonical text (schema in engine.h), its keys in sorted
 * order: args, auth, caller, code, code_sha256, contract, contracts,
 * error, limits, method, methods, ok, oracles, parent, result, runtime,
 * signed, state, time, type, v, writes. restext is the result's canonical
 * text (ok calls), writes the ops' (sb_files.c), sig the signed request
 * (or NULL), oracles and ops the call's records and child contract ops
 * (empty arrays: not written). 0, or -1 when a string is not UTF-8.
 */
static int
write_entry(struct jbuf *b, const struct engine *e, const char *method,
    const char *argtext, size_t arglen, const struct vms_caller *c,
    const struct callsig *sig, uint64_t time_ms, int ok, const char *restext,
    size_t reslen, const char *error, const struct jbuf *writes,
    const json_t *oracles, const json_t *ops)
{
	const char *id = c ? c->id : NULL;
	const char *auth = c && c->auth ? c->auth : NULL;
	char root[65];
	int r = 0;

	if (auth == NULL)
		auth = id ? "debug" : "anonymous";
	eng_root_hex(e, root);
	jbuf_reset(b);
	if (method != NULL) {
		jbuf_lit(b, "{\"args\":");
		jbuf_raw(b, argtext, arglen);
		jbuf_lit(b, ",\"auth\":");
	} else if (e->init_args != NULL) {
		jbuf_lit(b, "{\"args\":");
		r |= jbuf_value(b, e->init_args);
		jbuf_lit(b, ",\"auth\":");
	} else
		jbuf_lit(b, "{\"auth\":");
	r |= jbuf_str(b, auth, strlen(auth));
	jbuf_lit(b, ",\"caller\":");
	if (id != NULL)
		r |= jbuf_str(b, id, strlen(id));
	else
		jbuf_lit(b, "null");
	if (method == NULL) {
		json_t *lim = limits_to_json(&e->limits);

		jbuf_lit(b, ",\"code\":");
		r |= jbuf_str(b, e->code, e->codelen);
		jbuf_lit(b, ",\"code_sha256\":");
		r |= jbuf_str(b, e->code_sha, strlen(e->code_sha));
		jbuf_lit(b, ",\"contract\":");
		r |= jbuf_str(b, e->contract, strlen(e->contract));
		jbuf_lit(b, ",\"limits\":");
		r |= jbuf_value(b, lim);
		json_decref(lim);
		jbuf_lit(b, ",\"methods\":");
		r |= jbuf_value(b, e->methods);
		if (e->parent != NULL) {
			jbuf_lit(b, ",\"parent\":");
			r |= jbuf_value(b, e->parent);
		}
		jbuf_lit(b, ",\"runtime\":");
		r |= jbuf_str(b, SB_RUNTIME, strlen(SB_RUNTIME));
	} else {
		if (ok && json_array_size(ops) > 0) {
			jbuf_lit(b, ",\"contracts\":");
			r |= jbuf_value(b, ops);
		}
		if (!ok) {
			jbuf_lit(b, ",\"error\":");
			r |= jbuf_str(b, error, strlen(error));
		}
		jbuf_lit(b, ",\"method\":");
		r |= jbuf_str(b, method, strlen(method));
		if (ok)
			jbuf_lit(b, ",\"ok\":true");
		else
			jbuf_lit(b, ",\"ok\":false");
		if (json_array_size(oracles) > 0) {
			jbuf_lit(b, ",\"oracles\":");
			r |= jbuf_value(b, oracles);
		}
		if (ok) {
			jbuf_lit(b, ",\"result\":");
			jbuf_raw(b, restext, reslen);
		}
	}
	if (sig != NULL) {
		json_t *sj = callsig_to_json(sig);

		jbuf_lit(b, ",\"signed\":");
		r |= sj != NULL ? jbuf_value(b, sj) : -1;
		json_decref(sj);
	}
	jbuf_lit(b, ",\"state\":\"");
	jbuf_raw(b, root, 64);
	jbuf_lit(b, "\",\"time\":");
	jbuf_int(b, (long long)time_ms);
	if (method != NULL)
		jbuf_lit(b, ",\"type\":\"call\",\"v\":1,\"writes\":[");
	else
		jbuf_lit(b, ",\"type\":\"deploy\",\"v\":1,\"writes\":[");
	jbuf_raw(b, writes->s ? writes->s : "", writes->len);
	jbuf_lit(b, "]}");
	return r == 0 ? 0 : -1;
}

/*
 * Run one entry (method NULL: deploy) and write it. The state is left in
 * the call's open transaction: the caller commits or rolls back. rp is
 * NULL when executing; replaying, it gives the recorded oracle answers
 * and receives why they did not fit (rp->why).
 * Returns 0 with *bytes (the entry: malloc'd when executing; replaying,
 * e->obuf's, kept for the next entry); 1 refused (err); -1 error.
 */
int
eng_execute(struct engine *e, const char *method, const json_t *args,
    const char *argtext, size_t arglen, const struct vms_caller *c,
    const struct callsig *sig, uint64_t time_ms, struct eng_replay *rp,
    char **bytes, size_t *blen, struct engine_result *res, char *err,
    size_t errlen)
{
	struct sb_ctx ctx;
	struct eng_call call;
	struct jbuf *writes = &e->wbuf, *out = &e->obuf;
	json_t *result = NULL;
	char *error = NULL, *restext = NULL;
	size_t reslen = 0;
	int ok, rc = -1;

	json_decref(e->pending);
	e->pending = NULL;
	memset(&ctx, 0, sizeof(ctx));
	memset(&call, 0, sizeof(call));
	call.e = e;
	call.method = method;
	call.caller = c;
	call.time_ms = time_ms;
	call.replaying = rp != NULL;
	call.recorded = rp ? rp->oracles : NULL;
	call.oracles = json_array();
	call.ops = json_array();
	if (rp != NULL)
		rp->why[0] = '\0';
	jbuf_reset(writes);
	jbuf_reset(out);
	ctx.writes = writes;
	ctx.enc = &e->ebuf;
	ctx.limits = &e->limits;
	ctx.state = e->state;
	ctx.contract = e->contract;
	ctx.caller_id = c ? c->id : NULL;
	ctx.caller_auth = c && c->auth ? c->auth :
	    (ctx.caller_id ? "debug" : "anonymous");
	ctx.time_ms = time_ms;
	ctx.index = e->next;
	entry_seed(e, ctx.seed);
	request_digest(e, method, argtext, arglen, ctx.reqhash);
	ctx.entry_fn = e->entry_fn;
	ctx.entry_arg = e->entry_arg;
	ctx.log_fn = e->log_fn;
	ctx.log_arg = e->log_arg;
	ctx.bc = e->bc;
	ctx.bclen = e->bclen;
	ctx.warm = e->warm;
	ctx.hostapi = &eng_host;
	ctx.host_arg = &call;

	state_begin(e->state);
	if (sb_run(&ctx, method, method ? args : e->init_args, &ok, &result,
	    &error, err, errlen) == -1) {
		state_rollback(e->state);
		json_decref(ctx.methods);
		goto done;
	}
	/* a replay that asked other oracles than the entry records */
	if (eng_oracle_done(&call) != 0) {
		state_rollback(e->state);
		json_decref(ctx.methods);
		if (rp != NULL)
			snprintf(rp->why, sizeof(rp->why), "%s", call.why);
		seterr(err, errlen, "%s", call.why);
		goto done;
	}
	if (ok && method != NULL) {
		restext = json_canonical(result, &reslen);
		if (restext == NULL || reslen > e->limits.result_size) {
			ok = 0;
			json_decref(result);
			result = NULL;
			xasprintf(&error, "limit exceeded: result_size (%llu)",
			    (unsigned long long)e->limits.result_size);
		}
	}
	/* the children it deploys are built now, or the call fails */
	if (ok && method != NULL && json_array_size(call.ops) > 0 &&
	    eng_children_build(&call, &error) != 0) {
		ok = 0;
		json_decref(result);
		result = NULL;
	}
	if (method == NULL) {
		if (!ok) {
			state_rollback(e->state);
			seterr(err, errlen, "init failed: %s", error);
			json_decref(ctx.methods);
			rc = 1;
			goto done;
		}
		json_decref(result);
		result = NULL;
		json_decref(e->methods);
		e->methods = ctx.methods;
		ctx.methods = NULL;
	}
	if (!ok) {
		state_rollback(e->state);
		state_begin(e->state);
		jbuf_reset(writes);
	}

	for (;;) {
		if (write_entry(out, e, method, argtext, arglen, c, sig,
		    time_ms, ok, restext, reslen, error, writes, call.oracles,
		    call.ops) == -1) {
			state_rollback(e->state);
			seterr(err, errlen, "cannot encode the entry");
			goto done;
		}
		if (out->len <= e->limits.entry_size)
			break;
		if (method == NULL || !ok) {
			state_rollback(e->state);
			seterr(err, errlen, "limit exceeded: entry_size (%llu): "
			    "the entry would be %zu bytes",
			    (unsigned long long)e->limits.entry_size, out->len);
			rc = 1;
			goto done;
		}
		/* turn it into a failed call entry without writes */
		ok = 0;
		json_decref(result);
		result = NULL;
		free(error);
		xasprintf(&error, "limit exceeded: entry_size (%llu)",
		    (unsigned long long)e->limits.entry_size);
		state_rollback(e->state);
		state_begin(e->state);
		jbuf_reset(writes);
	}
	if (ok && json_array_size(call.ops) > 0)
		e->pending = json_incref(call.ops);
	if (res != NULL) {
		res->ok = ok;
		res->value = ok ? json_incref(result) : NULL;
		res->error = ok ? NULL : xstrdup(error);
		res->contracts = ok ? json_array_size(call.ops) : 0;
	}
	*bytes = out->s;
	*blen = out->len;
	if (rp == NULL)		/* the caller's */
		jbuf_init(out);
	rc = 0;
done:
	json_decref(result);
	json_decref(call.oracles);
	json_decref(call.ops);
	free(error);
	free(restext);
	return rc;
}

void
eng_advance(struct engine *e, const void *bytes, size_t len)
{
	if (e->pending != NULL) {
		eng_children_apply(e->children, e->pending, e->next);
		json_decref(e->pending);
		e->pending = NULL;
	}
	state_commit(e->state);
	if (e->leaf_given != NULL)	/* engine_replay_leaf: the caller's */
		memcpy(e->prev_leaf, e->leaf_given, sizeof(e->prev_leaf));
	else
		merkle_leaf_hash(bytes, len, e->prev_leaf);
	e->next++;
}

void
eng_accept_signed(struct engine *e, const struct callsig *sig)
{
	if (sig != NULL)
		eng_nonce_set(e->nonces, sig->key, sig->nonce);
}

/* ---- deploy, open ---- */

int
eng_deploy(const char *contract, const char *code, size_t codelen,
    const struct vms_limits *lim, const struct vms_caller *c,
    uint64_t time_ms, const json_t *parent, const json_t *init_args,
    struct engine **out, char **entry, size_t *entrylen, char *err,
    size_t errlen)
{
	struct engine *e;
	int r;

	*out = NULL;
	*entry = NULL;
	if (contract == NULL || !valid_contract_name(contract)) {
		seterr(err, errlen, "invalid contract name");
		return 1;
	}
	if (eng_caller_check(c, NULL, err, errlen) == -1)
		return 1;
	/* auth "contract" <=> a child's deploy entry */
	if ((parent != NULL) != (c != NULL && c->auth != NULL &&
	    strcmp(c->auth, "contract") == 0)) {
		seterr(err, errlen, "auth \"contract\" is a child contract's "
		    "deploy entry's, and only its");
		return 1;
	}
	e = engine_new(contract, code, codelen, lim);
	if (parent != NULL) {
		e->parent = json_deep_copy(parent);
		e->init_args = init_args ? json_deep_copy(init_args) :
		    json_array();
	}
	if (sb_compile(contract, code, codelen, &e->bc, &e->bclen, err,
	    errlen) == -1) {
		engine_free(e);
		return 1;
	}
	r = eng_execute(e, NULL, NULL, NULL, 0, c, NULL, time_ms, NULL, entry,
	    entrylen, NULL, err, errlen);
	if (r != 0) {
		engine_free(e);
		return r;
	}
	eng_advance(e, *entry, *entrylen);
	e->last_time = time_ms;
	*out = e;
	return 0;
}

enum engine_status
engine_deploy(const char *contract, const char *code, size_t codelen,
    const struct vms_limits *lim, const struct vms_caller *c,
    uint64_t time_ms, struct engine **out, char **entry, size_t *entrylen,
    char *err, size_t errlen)
{
	struct vms_limits dl;
	int r;

	if (lim == NULL) {
		limits_default(&dl);
		lim = &dl;
	}
	r = eng_deploy(contract, code, codelen, lim, c, time_ms, NULL, NULL,
	    out, entry, entrylen, err, errlen);
	return r == 0 ? ENGINE_OK : r == 1 ? ENGINE_REFUSED : ENGINE_ERROR;
}

json_t *
eng_parse_entry(const uint8_t *buf, size_t len, uint64_t index, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &jerr);

	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		seterr(err, errlen, "entry %llu is not a JSON object",
		    (unsigned long long)index);
		return NULL;
	}
	if (json_integer_value(json_object_get(j, "v")) != 1) {
		json_decref(j);
		seterr(err, errlen, "entry %llu: unknown version",
		    (unsigned long long)index);
		return NULL;
	}
	return j;
}

/* A child's deploy entry: its parent link and init's args. */
static int
open_child(struct engine *e, const json_t *j, char *err, size_t errlen)
{
	const json_t *p = json_object_get(j, "parent");
	const json_t *a = json_object_get(j, "args");
	const json_t *idx;

	if (p == NULL && a == NULL)
		return 0;
	idx = json_object_get(p, "index");
	if (!json_is_object(p) || json_object_size(p) != 3 ||
	    !json_is_string(json_object_get(p, "contract")) ||
	    !json_is_string(json_object_get(p, "origin")) ||
	    !json_is_integer(idx) || json_integer_value(idx) < 1 ||
	    !json_is_array(a)) {
		seterr(err, errlen, "entry 0: a child's deploy entry needs "
		    "\"parent\" ({contract, index, origin}) and \"args\"");
		return -1;
	}
	e->parent = json_deep_copy(p);
	e->init_args = json_deep_copy(a);
	return 0;
}

int
engine_open(const uint8_t *entry0, size_t len, struct engine **out,
    char *err, size_t errlen)
{
	struct vms_limits lim;
	struct engine *e;
	const char *contract, *code, *sha, *rt;
	char computed[65];
	json_t *j, *m;
	size_t i;

	*out = NULL;
	if ((j = eng_parse_entry(entry0, len, 0, err, errlen)) == NULL)
		return -1;
	rt = json_string_value(json_object_get(j, "runtime"));
	if (rt == NULL || strcmp(rt, SB_RUNTIME) != 0) {
		seterr(err, errlen, "entry 0: runtime %s%.64s%s is not this "
		    "build's \"%s\": it cannot replay the ledger exactly",
		    rt ? "\"" : "", rt ? rt : "(none recorded)", rt ? "\"" : "",
		    SB_RUNTIME);
		json_decref(j);
		return -1;
	}
	contract = json_string_value(json_object_get(j, "contract"));
	code = json_string_value(json_object_get(j, "code"));
	sha = json_string_value(json_object_get(j, "code_sha256"));
	m = json_object_get(j, "methods");
	if (strcmp(json_string_value(json_object_get(j, "type")) ?
	    json_string_value(json_object_get(j, "type")) : "", "deploy") != 0 ||
	    contract == NULL || code == NULL || sha == NULL ||
	    !json_is_array(m)) {
		seterr(err, errlen, "entry 0 is not a deploy entry");
		json_decref(j);
		return -1;
	}
	for (i = 0; i < json_array_size(m); i++)
		if (!json_is_string(json_array_get(m, i))) {
			seterr(err, errlen, "entry 0: bad methods");
			json_decref(j);
			return -1;
		}
	sha256_hex(code, json_string_length(json_object_get(j, "code")),
	    computed);
	if (strcmp(sha, computed) != 0) {
		seterr(err, errlen, "code_sha256 differs: recorded %s computed "
		    "%s", sha, computed);
		json_decref(j);
		return -1;
	}
	if (limits_from_json(&lim, json_object_get(j, "limits"), err,
	    errlen) == -1 || !valid_contract_name(contract)) {
		if (!valid_contract_name(contract))
			seterr(err, errlen, "entry 0: invalid contract name");
		json_decref(j);
		return -1;
	}
	e = engine_new(contract, code,
	    json_string_length(json_object_get(j, "code")), &lim);
	if (sb_compile(contract, e->code, e->codelen, &e->bc, &e->bclen,
	    err, errlen) == -1) {
		engine_free(e);
		json_decref(j);
		return -1;
	}
	e->methods = json_deep_copy(m);
	if (open_child(e, j, err, errlen) != 0) {
		engine_free(e);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	*out = e;
	return 0;
}

/* ---- call ---- */

static enum engine_status
call(struct engine *e, const char *method, const json_t *args,
    const struct vms_caller *c, const struct callsig *sig, uint64_t time_ms,
    char **entry, size_t *entrylen, struct engine_result *res, char *err,
    size_t errlen)
{
	json_t *empty = NULL;
	char *argtext;
	size_t arglen;
	int r;

	*entry = NULL;
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (args == NULL)
		args = empty = json_array();
	if ((r = eng_request_check(e, method, args, c, sig, &argtext,
	    &arglen, err, errlen)) != 0) {
		json_decref(empty);
		return (enum engine_status)r;
	}
	/* A clock stepped back records the previous entry's time again:
	 * entry times never decrease (the audit checks it). */
	if (time_ms < e->last_time)
		time_ms = e->last_time;
	r = eng_execute(e, method, args, argtext, arglen, c, sig, time_ms,
	    NULL, entry, entrylen, res, err, errlen);
	json_decref(empty);
	free(argtext);
	if (r != 0)
		return r == 1 ? ENGINE_REFUSED : ENGINE_ERROR;
	eng_advance(e, *entry, *entrylen);
	e->last_time = time_ms;
	eng_accept_signed(e, sig);
	return ENGINE_OK;
}

enum engine_status
engine_call(struct engine *e, const char *method, const json_t *args,
    const struct vms_caller *c, uint64_t time_ms, char **entry,
    size_t *entrylen, struct engine_result *res, char *err, size_t errlen)
{
	return call(e, method, args, c, NULL, time_ms, entry, entrylen, res,
	    err, errlen);
}

enum engine_status
engine_call_signed(struct engine *e, const char *method, const json_t *args,
    const struct callsig *sig, uint64_t time_ms, char **entry,
    size_t *entrylen, struct engine_result *res, char *err, size_t errlen)
{
	char id[CALLSIG_ID_LEN + 1];
	struct vms_caller c;

	callsig_caller_id(sig->key, id);
	c.id = id;
	c.auth = CALLSIG_AUTH;
	return call(e, method, args, &c, sig, time_ms, entry, entrylen, res,
	    err, errlen);
}

/* ---- views ---- */

uint64_t
engine_next_index(const struct engine *e)
{
	return e->next;
}

uint64_t
engine_last_time(const struct engine *e)
{
	return e->last_time;
}

void
engine_set_last_time(struct engine *e, uint64_t time_ms)
{
	e->last_time = time_ms;
}

void
engine_state_root(const struct engine *e, merkle_hash out)
{
	state_root(e->state, out);
}

void
engine_last_leaf(const struct engine *e, merkle_hash out)
{
	memcpy(out, e->prev_leaf, sizeof(e->prev_leaf));
}

const char *
engine_contract(const struct engine *e)
{
	return e->contract;
}

const struct vms_limits *
engine_limits(const struct engine *e)
{
	return &e->limits;
}

json_t *
engine_methods(const struct engine *e)
{
	return e->methods ? json_deep_copy(e->methods) : json_array();
}
