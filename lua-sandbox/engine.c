/*
 * engine.c — implements libvms/engine.h: limits, deploy, call, replay,
 * apply, snapshots and read-only views of a contract's state. Entries are
 * built here (schema in engine.h) and the sandbox (sandbox.c) runs Lua.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engine.h"
#include "proto.h"
#include "sandbox.h"
#include "state.h"
#include "util.h"

struct engine {
	char			*contract;
	char			*code;
	size_t			 codelen;
	char			 code_sha[65];
	struct vms_limits	 limits;
	json_t			*methods;
	char			*bc;
	size_t			 bclen;
	struct vms_state	*state;
	uint64_t		 next;
	merkle_hash		 prev_leaf;
	engine_entry_fn		 entry_fn;
	void			*entry_arg;
	engine_log_fn		 log_fn;
	void			*log_arg;
};

/* ---- limits ---- */

static const struct {
	const char	*name;
	size_t		 off;
	uint64_t	 dflt, min, max;
} limit_tab[] = {
#define L(n, d, lo, hi) { #n, offsetof(struct vms_limits, n), d, lo, hi }
	L(instructions, 10000000, 1000, 1ULL << 40),
	L(memory, 64ULL << 20, 1ULL << 20, 1ULL << 36),
	L(file_size, 32 << 10, 1, 1ULL << 30),
	L(state_size, 256ULL << 20, 1024, 1ULL << 40),
	L(args_size, 16 << 10, 16, 1ULL << 20),
	L(result_size, 16 << 10, 16, 1ULL << 20),
	L(depth, 200, 10, 10000),
	L(entry_size, 65535, 1024, 65535),
	L(history, 1000, 1, 1000000),
#undef L
};
#define NLIMITS (sizeof(limit_tab) / sizeof(limit_tab[0]))

static uint64_t *
limit_ptr(struct vms_limits *l, size_t i)
{
	return (uint64_t *)(void *)((char *)l + limit_tab[i].off);
}

void
limits_default(struct vms_limits *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < NLIMITS; i++)
		*limit_ptr(l, i) = limit_tab[i].dflt;
}

static int
limit_check(size_t i, uint64_t v, char *err, size_t errlen)
{
	if (v < limit_tab[i].min || v > limit_tab[i].max) {
		seterr(err, errlen, "limit %s must be between %llu and %llu",
		    limit_tab[i].name, (unsigned long long)limit_tab[i].min,
		    (unsigned long long)limit_tab[i].max);
		return -1;
	}
	return 0;
}

int
limits_set(struct vms_limits *l, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char *end;
	unsigned long long v;
	size_t i;

	if (eq == NULL) {
		seterr(err, errlen, "limit: expected key=value, got \"%s\"",
		    kv);
		return -1;
	}
	for (i = 0; i < NLIMITS; i++)
		if (strlen(limit_tab[i].name) == (size_t)(eq - kv) &&
		    strncmp(limit_tab[i].name, kv, (size_t)(eq - kv)) == 0)
			break;
	if (i == NLIMITS) {
		seterr(err, errlen, "unknown limit \"%.*s\"", (int)(eq - kv),
		    kv);
		return -1;
	}
	errno = 0;
	if (eq[1] < '0' || eq[1] > '9') {
		seterr(err, errlen, "limit %s: not a number", limit_tab[i].name);
		return -1;
	}
	v = strtoull(eq + 1, &end, 10);
	if (errno != 0) {
		seterr(err, errlen, "limit %s: out of range",
		    limit_tab[i].name);
		return -1;
	}
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0') {
		seterr(err, errlen, "limit %s: bad value \"%s\"",
		    limit_tab[i].name, eq + 1);
		return -1;
	}
	if (limit_check(i, v, err, errlen) == -1)
		return -1;
	*limit_ptr(l, i) = v;
	return 0;
}

json_t *
limits_to_json(const struct vms_limits *l)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < NLIMITS; i++)
		json_object_set_new(o, limit_tab[i].name, json_integer(
		    (json_int_t)*limit_ptr((struct vms_limits *)(uintptr_t)l,
		    i)));
	return o;
}

int
limits_from_json(struct vms_limits *l, const json_t *o, char *err,
    size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;

	limits_default(l);
	if (!json_is_object(o)) {
		seterr(err, errlen, "limits must be an object");
		return -1;
	}
	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; i < NLIMITS; i++)
			if (strcmp(limit_tab[i].name, k) == 0)
				break;
		if (i == NLIMITS) {
			seterr(err, errlen, "unknown limit \"%s\"", k);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			seterr(err, errlen, "limit %s must be an integer", k);
			return -1;
		}
		if (limit_check(i, (uint64_t)json_integer_value(v), err,
		    errlen) == -1)
			return -1;
		*limit_ptr(l, i) = (uint64_t)json_integer_value(v);
	}
	return 0;
}

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

	crypto_hash_sha256(h, p, len);
	hex_encode(h, 32, out);
}

static void
root_hex(const struct engine *e, char out[65])
{
	uint8_t r[32];

	state_root(e->state, r);
	hex_encode(r, 32, out);
}

static void
entry_seed(const struct engine *e, uint8_t out[32])
{
	crypto_hash_sha256_state h;
	uint8_t be[8];
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(e->next >> (56 - 8 * i));
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)"vms/seed/v1", 11);
	crypto_hash_sha256_update(&h, e->prev_leaf, 32);
	crypto_hash_sha256_update(&h, be, 8);
	crypto_hash_sha256_final(&h, out);
}

/*
 * What the call asked for, as part of Lua's string-hash seed (see
 * sb_rng_seed): SHA-256(method || NUL || canonical args), or of the code
 * for the deploy entry. A caller who can predict the ledger seed still
 * cannot choose arguments that collide under a seed they determine.
 */
static int
request_digest(const struct engine *e, const char *method,
    const json_t *args, uint8_t out[32], char *err, size_t errlen)
{
	crypto_hash_sha256_state h;
	char *s;
	size_t len;

	crypto_hash_sha256_init(&h);
	if (method == NULL) {
		crypto_hash_sha256_update(&h, (const uint8_t *)e->code,
		    e->codelen);
	} else {
		if ((s = json_canonical(args, &len)) == NULL) {
			seterr(err, errlen, "cannot encode the arguments");
			return -1;
		}
		crypto_hash_sha256_update(&h, (const uint8_t *)method,
		    strlen(method) + 1);
		crypto_hash_sha256_update(&h, (const uint8_t *)s, len);
		free(s);
	}
	crypto_hash_sha256_final(&h, out);
	return 0;
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

static int	method_allowed(const struct engine *, const char *);

static int
caller_check(const struct vms_caller *c, char *err, size_t errlen)
{
	if (c == NULL)
		return 0;
	if (c->id != NULL && !sb_valid_utf8(c->id, strlen(c->id))) {
		seterr(err, errlen, "caller id is not UTF-8");
		return -1;
	}
	if (c->auth != NULL && strcmp(c->auth, "peercred") != 0 &&
	    strcmp(c->auth, "debug") != 0 && strcmp(c->auth, "anonymous") != 0) {
		seterr(err, errlen, "unknown auth \"%s\"", c->auth);
		return -1;
	}
	/* the shapes set_caller() can record: anonymous <=> no id */
	if (c->auth != NULL && (strcmp(c->auth, "anonymous") == 0) !=
	    (c->id == NULL)) {
		seterr(err, errlen, "auth \"%s\" %s a caller id", c->auth,
		    c->id == NULL ? "requires" : "cannot have");
		return -1;
	}
	return 0;
}

/*
 * The request checks engine_call() applies before executing anything;
 * engine_replay() applies the same ones to a recorded call, so a host
 * cannot record a request the engine would have refused. 0 or -1 (err).
 */
static int
request_check(const struct engine *e, const char *method, const json_t *args,
    const struct vms_caller *c, char *err, size_t errlen)
{
	char *s;
	size_t len;

	if (!method_allowed(e, method)) {
		seterr(err, errlen, "no such method: %s", method ? method :
		    "(null)");
		return -1;
	}
	if (!json_is_array(args)) {
		seterr(err, errlen, "args must be an array");
		return -1;
	}
	if (caller_check(c, err, errlen) == -1)
		return -1;
	if ((s = json_canonical(args, &len)) == NULL) {
		seterr(err, errlen, "args cannot be encoded");
		return -1;
	}
	free(s);
	if (len > e->limits.args_size) {
		seterr(err, errlen, "limit exceeded: args_size (%llu)",
		    (unsigned long long)e->limits.args_size);
		return -1;
	}
	return 0;
}

static void
set_caller(json_t *o, const struct vms_caller *c)
{
	const char *id = c ? c->id : NULL;
	const char *auth = c && c->auth ? c->auth : NULL;

	if (auth == NULL)
		auth = id ? "debug" : "anonymous";
	json_object_set_new(o, "caller", id ? json_string(id) : json_null());
	json_object_set_new(o, "auth", json_string(auth));
}

/*
 * Run one entry (method NULL: deploy) and build it. The state is left in
 * the call's open transaction: the caller commits or rolls back.
 * Returns 0 with *entry (json) and *bytes; 1 refused (err); -1 error.
 */
static int
execute(struct engine *e, const char *method, const json_t *args,
    const struct vms_caller *c, uint64_t time_ms, json_t **entryp,
    char **bytes, size_t *blen, struct engine_result *res, char *err,
    size_t errlen)
{
	struct sb_ctx ctx;
	json_t *entry, *result = NULL;
	char *error = NULL, root[65], *s;
	size_t len;
	int ok;

	memset(&ctx, 0, sizeof(ctx));
	ctx.writes = json_array();
	ctx.limits = &e->limits;
	ctx.state = e->state;
	ctx.contract = e->contract;
	ctx.caller_id = c ? c->id : NULL;
	ctx.caller_auth = c && c->auth ? c->auth :
	    (ctx.caller_id ? "debug" : "anonymous");
	ctx.time_ms = time_ms;
	ctx.index = e->next;
	entry_seed(e, ctx.seed);
	if (request_digest(e, method, args, ctx.reqhash, err, errlen) == -1) {
		json_decref(ctx.writes);
		return -1;
	}
	ctx.entry_fn = e->entry_fn;
	ctx.entry_arg = e->entry_arg;
	ctx.log_fn = e->log_fn;
	ctx.log_arg = e->log_arg;
	ctx.bc = e->bc;
	ctx.bclen = e->bclen;

	state_begin(e->state);
	if (sb_run(&ctx, method, args, &ok, &result, &error, err,
	    errlen) == -1) {
		state_rollback(e->state);
		json_decref(ctx.writes);
		json_decref(ctx.methods);
		return -1;
	}
	if (ok && method != NULL) {
		s = json_canonical(result, &len);
		if (s == NULL || len > e->limits.result_size) {
			ok = 0;
			json_decref(result);
			result = NULL;
			xasprintf(&error, "limit exceeded: result_size (%llu)",
			    (unsigned long long)e->limits.result_size);
		}
		free(s);
	}
	if (method == NULL) {
		if (!ok) {
			state_rollback(e->state);
			seterr(err, errlen, "init failed: %s", error);
			free(error);
			json_decref(ctx.writes);
			json_decref(ctx.methods);
			return 1;
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
		json_array_clear(ctx.writes);
	}

	for (;;) {
		entry = json_object();
		json_object_set_new(entry, "v", json_integer(1));
		if (method == NULL) {
			json_object_set_new(entry, "type", json_string("deploy"));
			json_object_set_new(entry, "contract",
			    json_string(e->contract));
			json_object_set_new(entry, "code",
			    json_stringn(e->code, e->codelen));
			json_object_set_new(entry, "code_sha256",
			    json_string(e->code_sha));
			json_object_set_new(entry, "limits",
			    limits_to_json(&e->limits));
			json_object_set(entry, "methods", e->methods);
			json_object_set_new(entry, "runtime",
			    json_string(SB_RUNTIME));
		} else {
			json_object_set_new(entry, "type", json_string("call"));
			json_object_set_new(entry, "method",
			    json_string(method));
			json_object_set(entry, "args", (json_t *)args);
			json_object_set_new(entry, "ok", json_boolean(ok));
			if (ok)
				json_object_set(entry, "result", result);
			else
				json_object_set_new(entry, "error",
				    json_string(error));
		}
		set_caller(entry, c);
		json_object_set_new(entry, "time",
		    json_integer((json_int_t)time_ms));
		json_object_set(entry, "writes", ctx.writes);
		root_hex(e, root);
		json_object_set_new(entry, "state", json_string(root));
		s = json_canonical(entry, &len);
		if (s == NULL) {
			json_decref(entry);
			seterr(err, errlen, "cannot encode the entry");
			goto fail;
		}
		if (len <= e->limits.entry_size)
			break;
		free(s);
		json_decref(entry);
		if (method == NULL || !ok) {
			seterr(err, errlen, "limit exceeded: entry_size (%llu): "
			    "the entry would be %zu bytes",
			    (unsigned long long)e->limits.entry_size, len);
			goto refused;
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
		json_array_clear(ctx.writes);
	}
	if (res != NULL) {
		res->ok = ok;
		res->value = ok ? json_incref(result) : NULL;
		res->error = ok ? NULL : xstrdup(error);
	}
	json_decref(result);
	free(error);
	json_decref(ctx.writes);
	*entryp = entry;
	*bytes = s;
	*blen = len;
	return 0;
refused:
	state_rollback(e->state);
	json_decref(result);
	free(error);
	json_decref(ctx.writes);
	return 1;
fail:
	state_rollback(e->state);
	json_decref(result);
	free(error);
	json_decref(ctx.writes);
	return -1;
}

static void
advance(struct engine *e, const void *bytes, size_t len)
{
	state_commit(e->state);
	merkle_leaf_hash(bytes, len, e->prev_leaf);
	e->next++;
}

/* ---- deploy, open ---- */

enum engine_status
engine_deploy(const char *contract, const char *code, size_t codelen,
    const struct vms_limits *lim, const struct vms_caller *c,
    uint64_t time_ms, struct engine **out, char **entry, size_t *entrylen,
    char *err, size_t errlen)
{
	struct vms_limits dl;
	struct engine *e;
	json_t *ej;
	int r;

	*out = NULL;
	*entry = NULL;
	if (lim == NULL) {
		limits_default(&dl);
		lim = &dl;
	}
	if (contract == NULL || !valid_contract_name(contract)) {
		seterr(err, errlen, "invalid contract name");
		return ENGINE_REFUSED;
	}
	if (caller_check(c, err, errlen) == -1)
		return ENGINE_REFUSED;
	e = engine_new(contract, code, codelen, lim);
	if (sb_compile(contract, code, codelen, &e->bc, &e->bclen, err,
	    errlen) == -1) {
		engine_free(e);
		return ENGINE_REFUSED;
	}
	r = execute(e, NULL, NULL, c, time_ms, &ej, entry, entrylen, NULL,
	    err, errlen);
	if (r != 0) {
		engine_free(e);
		return r == 1 ? ENGINE_REFUSED : ENGINE_ERROR;
	}
	json_decref(ej);
	advance(e, *entry, *entrylen);
	*out = e;
	return ENGINE_OK;
}

static json_t *
parse_entry(const uint8_t *buf, size_t len, uint64_t index, char *err,
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
	if ((j = parse_entry(entry0, len, 0, err, errlen)) == NULL)
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
	json_decref(j);
	*out = e;
	return 0;
}

/* ---- call ---- */

static int
method_allowed(const struct engine *e, const char *method)
{
	size_t i;

	if (method == NULL || method[0] == '_' || strcmp(method, "init") == 0)
		return 0;
	for (i = 0; i < json_array_size(e->methods); i++)
		if (strcmp(json_string_value(json_array_get(e->methods, i)),
		    method) == 0)
			return 1;
	return 0;
}

enum engine_status
engine_call(struct engine *e, const char *method, const json_t *args,
    const struct vms_caller *c, uint64_t time_ms, char **entry,
    size_t *entrylen, struct engine_result *res, char *err, size_t errlen)
{
	json_t *ej, *empty = NULL;
	int r;

	*entry = NULL;
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (args == NULL)
		args = empty = json_array();
	if (request_check(e, method, args, c, err, errlen) == -1) {
		json_decref(empty);
		return ENGINE_REFUSED;
	}
	r = execute(e, method, args, c, time_ms, &ej, entry, entrylen, res,
	    err, errlen);
	json_decref(empty);
	if (r != 0)
		return r == 1 ? ENGINE_REFUSED : ENGINE_ERROR;
	json_decref(ej);
	advance(e, *entry, *entrylen);
	return ENGINE_OK;
}

/* ---- replay ---- */

static char *
short_json(const json_t *v)
{
	char *s;

	if (v == NULL)
		return xstrdup("(absent)");
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(17));
	if (s == NULL)
		return xstrdup("?");
	if (strlen(s) > 120) {
		s[117] = '.';
		s[118] = '.';
		s[119] = '.';
		s[120] = '\0';
	}
	return s;
}

static void
explain_diff(const json_t *rec, const json_t *rep, char *err, size_t errlen)
{
	static const char *const order[] = { "v", "type", "contract", "code",
	    "code_sha256", "limits", "methods", "runtime", "method", "args",
	    "caller", "auth", "time", "ok", "error", "result", "writes",
	    "state", NULL };
	const char *k;
	json_t *v;
	char *a, *b;
	int i;

	for (i = 0; order[i] != NULL; i++) {
		const json_t *x = json_object_get(rec, order[i]);
		const json_t *y = json_object_get(rep, order[i]);

		if (x == NULL && y == NULL)
			continue;
		if (x != NULL && y != NULL && json_equal((json_t *)x,
		    (json_t *)y))
			continue;
		a = short_json(x);
		b = short_json(y);
		seterr(err, errlen, "%s differ%s: recorded %s replayed %s",
		    order[i], strcmp(order[i], "writes") == 0 ? "" : "s", a, b);
		free(a);
		free(b);
		return;
	}
	json_object_foreach((json_t *)rec, k, v)
		if (json_object_get(rep, k) == NULL) {
			seterr(err, errlen, "unexpected field \"%s\"", k);
			return;
		}
	seterr(err, errlen, "entry is not in canonical form");
}

/*
 * The shape of a recorded entry, before anything runs: only the fields
 * engine_call()/engine_deploy() write, with the types they write, and a
 * request that request_check() accepts. Fills the caller and, for a call,
 * the method and args (borrowed from rec).
 */
static int
replay_check(const struct engine *e, json_t *rec, struct vms_caller *c,
    const char **method, json_t **args, char *err, size_t errlen)
{
	static const char *const call_keys[] = { "v", "type", "method", "args",
	    "caller", "auth", "time", "ok", "result", "error", "writes",
	    "state", NULL };
	static const char *const deploy_keys[] = { "v", "type", "contract",
	    "code", "code_sha256", "limits", "methods", "runtime", "caller",
	    "auth", "time", "writes", "state", NULL };
	const char *const *keys = e->next == 0 ? deploy_keys : call_keys;
	unsigned long long idx = (unsigned long long)e->next;
	const char *type, *k;
	json_t *v, *caller, *t;
	char why[VMS_ERRLEN];
	size_t i;

	json_object_foreach(rec, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			seterr(err, errlen, "entry %llu: unexpected field "
			    "\"%s\"", idx, k);
			return -1;
		}
	}
	v = json_object_get(rec, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		seterr(err, errlen, "entry %llu: unknown version", idx);
		return -1;
	}
	type = json_string_value(json_object_get(rec, "type"));
	if (type == NULL || strcmp(type, e->next == 0 ? "deploy" : "call")) {
		seterr(err, errlen, "entry %llu is not a%s entry", idx,
		    e->next == 0 ? " deploy" : " call");
		return -1;
	}
	caller = json_object_get(rec, "caller");
	if (caller == NULL || (!json_is_null(caller) &&
	    !json_is_string(caller))) {
		seterr(err, errlen, "entry %llu: caller must be a string or "
		    "null", idx);
		return -1;
	}
	c->id = json_string_value(caller);
	c->auth = json_string_value(json_object_get(rec, "auth"));
	if (c->auth == NULL) {
		seterr(err, errlen, "entry %llu: auth must be a string", idx);
		return -1;
	}
	t = json_object_get(rec, "time");
	if (!json_is_integer(t) || json_integer_value(t) < 0) {
		seterr(err, errlen, "entry %llu: time must be a non-negative "
		    "integer", idx);
		return -1;
	}
	if (e->next == 0) {
		if (caller_check(c, why, sizeof(why)) == -1) {
			seterr(err, errlen, "entry 0: deploy refused: %s", why);
			return -1;
		}
		return 0;
	}
	*method = json_string_value(json_object_get(rec, "method"));
	*args = json_object_get(rec, "args");
	if (request_check(e, *method, *args, c, why, sizeof(why)) == -1) {
		seterr(err, errlen, "entry %llu: the engine refuses this "
		    "request: %s", idx, why);
		return -1;
	}
	return 0;
}

int
engine_replay(struct engine *e, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	struct vms_caller c;
	const char *method = NULL;
	json_t *rec, *rep, *args = NULL, *t;
	char *bytes;
	size_t blen;
	int r;

	if ((rec = parse_entry(buf, len, e->next, err, errlen)) == NULL)
		return -1;
	if (replay_check(e, rec, &c, &method, &args, err, errlen) == -1) {
		json_decref(rec);
		return -1;
	}
	t = json_object_get(rec, "time");
	r = execute(e, method, args, &c, (uint64_t)json_integer_value(t), &rep,
	    &bytes, &blen, NULL, err, errlen);
	if (r != 0) {
		json_decref(rec);
		return -1;
	}
	if (blen == len && memcmp(bytes, buf, len) == 0) {
		advance(e, buf, len);
		free(bytes);
		json_decref(rep);
		json_decref(rec);
		return 0;
	}
	state_rollback(e->state);
	explain_diff(rec, rep, err, errlen);
	free(bytes);
	json_decref(rep);
	json_decref(rec);
	return -1;
}

/* ---- apply ---- */

static int
apply_op(struct engine *e, const json_t *op, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	size_t plen = json_string_length(json_object_get(op, "path"));
	const json_t *d;
	uint8_t *data;
	size_t dlen;
	int r;

	if (name == NULL || path == NULL) {
		seterr(err, errlen, "bad op");
		return -1;
	}
	if (strcmp(name, "mkdir") == 0)
		return state_mkdir(e->state, path, plen, 0, err, errlen);
	if (strcmp(name, "unlink") == 0)
		return state_unlink(e->state, path, plen, err, errlen);
	if (strcmp(name, "rmdir") == 0)
		return state_rmdir(e->state, path, plen,
		    json_is_true(json_object_get(op, "recursive")), err, errlen);
	if (strcmp(name, "write") == 0) {
		d = json_object_get(op, "data");
		if (!json_is_string(d) || b64_decode(json_string_value(d),
		    json_string_length(d), &data, &dlen) == -1) {
			seterr(err, errlen, "bad base64 data");
			return -1;
		}
		r = state_write(e->state, path, plen, data, dlen, 0, 0, err,
		    errlen);
		free(data);
		return r;
	}
	seterr(err, errlen, "unknown op \"%s\"", name);
	return -1;
}

int
engine_apply(struct engine *e, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	char e2[VMS_ERRLEN], root[65];
	const char *type, *want;
	json_t *j, *w;
	size_t i;

	if ((j = parse_entry(buf, len, e->next, err, errlen)) == NULL)
		return -1;
	type = json_string_value(json_object_get(j, "type"));
	w = json_object_get(j, "writes");
	want = json_string_value(json_object_get(j, "state"));
	if (type == NULL || strcmp(type, e->next == 0 ? "deploy" : "call") != 0
	    || !json_is_array(w) || want == NULL) {
		seterr(err, errlen, "entry %llu: not a %s entry",
		    (unsigned long long)e->next, e->next == 0 ? "deploy" :
		    "call");
		json_decref(j);
		return -1;
	}
	state_begin(e->state);
	for (i = 0; i < json_array_size(w); i++)
		if (apply_op(e, json_array_get(w, i), e2, sizeof(e2)) == -1) {
			state_rollback(e->state);
			seterr(err, errlen, "entry %llu: write %zu: %s",
			    (unsigned long long)e->next, i, e2);
			json_decref(j);
			return -1;
		}
	root_hex(e, root);
	if (strcmp(root, want) != 0) {
		state_rollback(e->state);
		seterr(err, errlen, "state differs: recorded %s applied %s",
		    want, root);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	advance(e, buf, len);
	return 0;
}

/* ---- snapshots ---- */

#define SNAP_MAGIC "VMSSNAP1"

static void
put_be(uint8_t **p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
engine_snapshot_save(struct engine *e, const char *path, char *err,
    size_t errlen)
{
	const struct vms_node **v;
	size_t n, i, total;
	uint8_t *buf, *p, root[32];
	int r;

	v = state_all_sorted(e->state, &n);
	total = 8 + 8 + 32 + 32 + 8 + 32;
	for (i = 0; i < n; i++)
		total += 1 + 4 + v[i]->pathlen + 4 + v[i]->len;
	p = buf = xmalloc(total);
	memcpy(p, SNAP_MAGIC, 8);
	p += 8;
	put_be(&p, e->next, 8);
	memcpy(p, e->prev_leaf, 32);
	p += 32;
	state_root(e->state, root);
	memcpy(p, root, 32);
	p += 32;
	put_be(&p, n, 8);
	for (i = 0; i < n; i++) {
		*p++ = (uint8_t)v[i]->kind;
		put_be(&p, v[i]->pathlen, 4);
		memcpy(p, v[i]->path, v[i]->pathlen);
		p += v[i]->pathlen;
		put_be(&p, v[i]->len, 4);
		if (v[i]->len)
			memcpy(p, v[i]->data, v[i]->len);
		p += v[i]->len;
	}
	crypto_hash_sha256(p, buf, (size_t)(p - buf));
	free(v);
	r = write_file_atomic(path, buf, total, 0600, err, errlen);
	free(buf);
	return r;
}

int
engine_snapshot_load(struct engine *e, const char *path, char *err,
    size_t errlen)
{
	struct vms_state *st;
	uint8_t *buf, h[32], root[32];
	const uint8_t *p, *end;
	size_t len;
	uint64_t n, i, pl, dl;
	char e2[VMS_ERRLEN];

	if (read_file(path, (size_t)(e->limits.state_size * 2 + (1 << 20)),
	    &buf, &len, err, errlen) == -1)
		return -1;
	if (len < 120 || memcmp(buf, SNAP_MAGIC, 8) != 0) {
		free(buf);
		seterr(err, errlen, "%s: not a vmsd snapshot", path);
		return -1;
	}
	crypto_hash_sha256(h, buf, len - 32);
	if (memcmp(h, buf + len - 32, 32) != 0) {
		free(buf);
		seterr(err, errlen, "%s: snapshot checksum mismatch", path);
		return -1;
	}
	end = buf + len - 32;
	p = buf + 8 + 8 + 32 + 32;
	n = get_be(p, 8);
	p += 8;
	st = state_new();
	for (i = 0; i < n; i++) {
		int kind, r;

		if (end - p < 9)
			goto corrupt;
		kind = *p++;
		pl = get_be(p, 4);
		p += 4;
		if ((uint64_t)(end - p) < pl + 4)
			goto corrupt;
		dl = get_be(p + pl, 4);
		if ((uint64_t)(end - p) < pl + 4 + dl)
			goto corrupt;
		if (kind == 'd')
			r = state_mkdir(st, (const char *)p, pl, 0, e2,
			    sizeof(e2));
		else if (kind == 'f')
			r = state_write(st, (const char *)p, pl, p + pl + 4,
			    dl, 0, 0, e2, sizeof(e2));
		else
			goto corrupt;
		if (r == -1)
			goto corrupt;
		p += pl + 4 + dl;
	}
	if (p != end)
		goto corrupt;
	state_root(st, root);
	if (memcmp(root, buf + 48, 32) != 0)
		goto corrupt;
	state_free(e->state);
	e->state = st;
	e->next = get_be(buf + 8, 8);
	memcpy(e->prev_leaf, buf + 16, 32);
	free(buf);
	return 0;
corrupt:
	state_free(st);
	free(buf);
	seterr(err, errlen, "%s: snapshot is corrupt", path);
	return -1;
}

/* ---- views ---- */

uint64_t
engine_next_index(const struct engine *e)
{
	return e->next;
}

void
engine_state_root(const struct engine *e, merkle_hash out)
{
	state_root(e->state, out);
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

int
engine_read(const struct engine *e, const char *path, uint8_t **data,
    size_t *len, char *err, size_t errlen)
{
	const struct vms_node *n;

	if (state_path_check(path, strlen(path), err, errlen) == -1)
		return -1;
	if ((n = state_lookup(e->state, path, strlen(path))) == NULL) {
		seterr(err, errlen, "no such file: %s", path);
		return -1;
	}
	if (n->kind != 'f') {
		seterr(err, errlen, "is a directory: %s", path);
		return -1;
	}
	*data = xmalloc(n->len ? n->len : 1);
	if (n->len)
		memcpy(*data, n->data, n->len);
	*len = n->len;
	return 0;
}

static void
ls_dir(json_t *out, const struct vms_node *dir, size_t skip, int recursive)
{
	const struct vms_node **kids = state_sorted_kids(dir);
	size_t i;

	for (i = 0; i < dir->nkids; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name",
		    json_string(kids[i]->path + skip));
		json_object_set_new(o, "type", json_string(
		    kids[i]->kind == 'd' ? "dir" : "file"));
		json_object_set_new(o, "size",
		    json_integer((json_int_t)kids[i]->len));
		json_array_append_new(out, o);
		if (recursive && kids[i]->kind == 'd')
			ls_dir(out, kids[i], skip, 1);
	}
	free(kids);
}

json_t *
engine_ls(const struct engine *e, const char *path, int recursive,
    char *err, size_t errlen)
{
	const struct vms_node *n;
	size_t len = strlen(path);
	json_t *out;

	if (state_path_check(path, len, err, errlen) == -1)
		return NULL;
	if ((n = state_lookup(e->state, path, len)) == NULL) {
		seterr(err, errlen, "no such directory: %s", path);
		return NULL;
	}
	if (n->kind != 'd') {
		seterr(err, errlen, "not a directory: %s", path);
		return NULL;
	}
	out = json_array();
	ls_dir(out, n, len == 1 ? 1 : len + 1, recursive);
	return out;
}

json_t *
engine_state_dump(const struct engine *e)
{
	const struct vms_node **v;
	json_t *o = json_object(), *files = json_array();
	char hex[65];
	size_t n, i;

	root_hex(e, hex);
	json_object_set_new(o, "root", json_string(hex));
	v = state_all_sorted(e->state, &n);
	for (i = 0; i < n; i++) {
		json_t *f = json_object();

		json_object_set_new(f, "path", json_string(v[i]->path));
		json_object_set_new(f, "type", json_string(v[i]->kind == 'd' ?
		    "dir" : "file"));
		json_object_set_new(f, "size",
		    json_integer((json_int_t)v[i]->len));
		hex_encode(v[i]->sha, 32, hex);
		json_object_set_new(f, "sha256", json_string(hex));
		json_array_append_new(files, f);
	}
	free(v);
	json_object_set_new(o, "files", files);
	return o;
}
