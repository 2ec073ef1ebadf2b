/*
 * engine_replay.c — the auditor's side of the engine: engine_replay
 * re-executes a recorded entry (reading only its request when it can) and
 * names the first field that differs; engine_apply applies recorded
 * writes without running Lua (restart).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsig.h"
#include "canon.h"
#include "engine.h"
#include "engine_int.h"
#include "fastjson.h"
#include "util.h"

/* ---- replay ---- */

static char *
short_json(const json_t *v)
{
	char *s;

	if (v == NULL)
		return xstrdup("(absent)");
	if ((s = json_canonical(v, NULL)) == NULL)
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
	    "code_sha256", "limits", "methods", "parent", "runtime", "method",
	    "args", "caller", "auth", "signed", "time", "oracles", "ok",
	    "error", "result", "contracts", "writes", "state", NULL };
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
 * request that eng_request_check() accepts (for a signed call: its origin,
 * nonce order and signature). Fills the caller, its signed request (*sigp:
 * sig, or NULL when the entry has none) and, for a call, the method and
 * args (borrowed from rec).
 */
static int
replay_check(const struct engine *e, json_t *rec, struct vms_caller *c,
    struct callsig *sig, const struct callsig **sigp, const char **method,
    json_t **args, char **argtext, size_t *arglen, char *err, size_t errlen)
{
	static const char *const call_keys[] = { "v", "type", "method", "args",
	    "caller", "auth", "signed", "time", "ok", "result", "error",
	    "writes", "state", "oracles", "contracts", NULL };
	static const char *const deploy_keys[] = { "v", "type", "contract",
	    "code", "code_sha256", "limits", "methods", "runtime", "caller",
	    "auth", "time", "writes", "state", "args", "parent", NULL };
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
	*sigp = NULL;
	if (c->auth == NULL) {
		seterr(err, errlen, "entry %llu: auth must be a string", idx);
		return -1;
	}
	if ((v = json_object_get(rec, "signed")) != NULL) {
		if (callsig_parse(v, sig, why, sizeof(why)) != 0) {
			seterr(err, errlen, "entry %llu: %s", idx, why);
			return -1;
		}
		*sigp = sig;
	}
	t = json_object_get(rec, "time");
	if (!json_is_integer(t) || json_integer_value(t) < 0) {
		seterr(err, errlen, "entry %llu: time must be a non-negative "
		    "integer", idx);
		return -1;
	}
	if (e->next > 0 && (uint64_t)json_integer_value(t) < e->last_time) {
		char was[32], now[32];

		utc_ms(e->last_time, was, sizeof(was));
		utc_ms((uint64_t)json_integer_value(t), now, sizeof(now));
		seterr(err, errlen, "entry %llu: time %lld (%s) is earlier than "
		    "entry %llu's %llu (%s): entry times never decrease", idx,
		    (long long)json_integer_value(t), now, idx - 1,
		    (unsigned long long)e->last_time, was);
		return -1;
	}
	if (e->next == 0) {
		if (eng_caller_check(c, *sigp, why, sizeof(why)) == -1) {
			seterr(err, errlen, "entry 0: deploy refused: %s", why);
			return -1;
		}
		if ((e->parent != NULL) != (strcmp(c->auth, "contract") == 0)) {
			seterr(err, errlen, "entry 0: auth \"contract\" comes "
			    "with a parent, and only with one");
			return -1;
		}
		if (e->parent != NULL) {
			char id[80];

			snprintf(id, sizeof(id), "contract:%s",
			    json_string_value(json_object_get(e->parent,
			    "contract")));
			if (c->id == NULL || strcmp(c->id, id) != 0) {
				seterr(err, errlen, "entry 0: a child's caller "
				    "is its parent, %s", id);
				return -1;
			}
		}
		return 0;
	}
	if ((v = json_object_get(rec, "oracles")) != NULL &&
	    (!json_is_array(v) || json_array_size(v) == 0)) {
		seterr(err, errlen, "entry %llu: oracles must be a non-empty "
		    "array", idx);
		return -1;
	}
	*method = json_string_value(json_object_get(rec, "method"));
	*args = json_object_get(rec, "args");
	if (eng_request_check(e, *method, *args, c, *sigp, argtext, arglen,
	    why, sizeof(why)) != 0) {
		seterr(err, errlen, "entry %llu: the engine refuses this "
		    "request: %s", idx, why);
		return -1;
	}
	return 0;
}

/* The old way: parse everything, check, execute, explain a difference. */
static int
replay_full(struct engine *e, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	struct vms_caller c;
	struct callsig sig;
	struct eng_replay rp;
	const struct callsig *sp = NULL;
	const char *method = NULL;
	json_t *rec, *rep, *args = NULL, *t;
	char *bytes, *argtext = NULL;	/* bytes: the engine's */
	size_t blen, arglen = 0;
	int r;

	if ((rec = eng_parse_entry(buf, len, e->next, err, errlen)) == NULL)
		return -1;
	if (replay_check(e, rec, &c, &sig, &sp, &method, &args, &argtext,
	    &arglen, err,
	    errlen) == -1) {
		json_decref(rec);
		return -1;
	}
	t = json_object_get(rec, "time");
	rp.oracles = json_object_get(rec, "oracles");
	r = eng_execute(e, method, args, argtext, arglen, &c, sp,
	    (uint64_t)json_integer_value(t), &rp, &bytes, &blen, NULL, err,
	    errlen);
	free(argtext);
	if (r != 0) {
		if (rp.why[0] != '\0')
			seterr(err, errlen, "%s", rp.why);
		json_decref(rec);
		return -1;
	}
	if (blen == len && memcmp(bytes, buf, len) == 0) {
		eng_advance(e, buf, len);
		e->last_time = (uint64_t)json_integer_value(t);
		eng_accept_signed(e, sp);
		json_decref(rec);
		return 0;
	}
	state_rollback(e->state);
	rep = json_loadb(bytes, blen, 0, NULL);
	explain_diff(rec, rep, err, errlen);
	json_decref(rep);
	json_decref(rec);
	return -1;
}

/* ---- the fast way for call entries ---- */

/*
 * A recorded call entry must come out of the engine byte for byte, so
 * only the request in it needs reading: the skim below finds the
 * top-level values of a canonical entry (no spaces, plain keys, each
 * once, only call_keys) without parsing the result or the writes, and
 * gives up (returns -1) on anything else. What it reads is checked as
 * replay_check() checks it; whatever it got wrong would make the entry
 * the engine writes differ from the recorded one. On any failure the
 * full parse runs instead, so errors are worded as before.
 */
struct skim {
	const char	*args, *auth, *caller, *method, *time, *sig;
	size_t		 argslen, authlen, callerlen, methodlen, timelen,
			 siglen;
};

/* End of the JSON value at p (not past end), or NULL. */
static const char *
skip_value(const char *p, const char *end)
{
	int depth = 0, instr = 0;

	for (; p < end; p++) {
		if (instr) {
			/* (the string's plain bytes in a tight loop) */
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (p == end)
				break;
			if (*p == '\\')
				p++;
			else if (*p == '"') {
				instr = 0;
				if (depth == 0)
					return p + 1;
			}
			continue;
		}
		switch (*p) {
		case '"':
			instr = 1;
			break;
		case '[':
		case '{':
			depth++;
			break;
		case ']':
		case '}':
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		case ' ': case '\t': case '\n': case '\r':
			return NULL;	/* canonical entries have none */
		}
	}
	return depth == 0 && !instr ? p : NULL;
}

static int
skim_entry(const char *p, size_t len, struct skim *k)
{
#define K(s)	{ s, sizeof(s) - 1 }
	static const struct { const char *s; size_t len; } keys[] = {
	    K("args"), K("auth"), K("caller"), K("error"), K("method"),
	    K("ok"), K("result"), K("state"), K("time"), K("type"), K("v"),
	    K("writes"), K("signed"), { NULL, 0 } };
#undef K
	const char *end = p + len, *key, *v, *ve;
	int seen = 0, i, typeok = 0, vok = 0;
	size_t kl;

	memset(k, 0, sizeof(*k));
	if (len < 2 || *p != '{' || end[-1] != '}')
		return -1;
	p++;
	end--;
	while (p < end) {
		if (*p != '"')
			return -1;
		key = ++p;
		while (p < end && *p != '"' && *p != '\\')
			p++;
		if (p >= end || *p != '"' || p + 1 >= end || p[1] != ':')
			return -1;
		kl = (size_t)(p - key);
		v = p + 2;
		if ((ve = skip_value(v, end)) == NULL || ve == v)
			return -1;
		for (i = 0; keys[i].s != NULL; i++)
			if (keys[i].len == kl && memcmp(keys[i].s, key, kl) == 0)
				break;
		if (keys[i].s == NULL || (seen & (1 << i)))
			return -1;
		seen |= 1 << i;
#define TAKE(f) do { k->f = v; k->f##len = (size_t)(ve - v); } while (0)
		if (i == 0)
			TAKE(args);
		else if (i == 1)
			TAKE(auth);
		else if (i == 2)
			TAKE(caller);
		else if (i == 4)
			TAKE(method);
		else if (i == 8)
			TAKE(time);
		else if (i == 9)
			typeok = ve - v == 6 && memcmp(v, "\"call\"", 6) == 0;
		else if (i == 10)
			vok = ve - v == 1 && *v == '1';
		else if (i == 12)
			TAKE(sig);
#undef TAKE
		p = ve;
		if (p < end && *p++ != ',')
			return -1;
	}
	return typeok && vok && k->args && k->auth && k->caller &&
	    k->method && k->time ? 0 : -1;
}

/* A JSON string span as a C string (malloc'd), or NULL. */
static char *
skim_string(const char *v, size_t n)
{
	json_t *j;
	char *s;

	if (n < 2 || v[0] != '"' || v[n - 1] != '"')
		return NULL;
	if (memchr(v, '\\', n) == NULL && utf8_valid(v + 1, n - 2) &&
	    memchr(v + 1, '\0', n - 2) == NULL)
		return xstrndup(v + 1, n - 2);
	if ((j = json_loadb(v, n, JSON_DECODE_ANY, NULL)) == NULL ||
	    !json_is_string(j) || strlen(json_string_value(j)) !=
	    json_string_length(j)) {
		json_decref(j);
		return NULL;
	}
	s = xstrdup(json_string_value(j));
	json_decref(j);
	return s;
}

/* A non-negative integer as canonical JSON spells it, or -1. */
static int
skim_uint(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 19 || (n > 1 && v[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > (uint64_t)INT64_MAX)
		return -1;
	*out = x;
	return 0;
}

static int
replay_fast(struct engine *e, const uint8_t *buf, size_t len)
{
	struct vms_caller c = { NULL, NULL };
	struct callsig sig;
	const struct callsig *sp = NULL;
	struct eng_replay rp;
	struct skim k;
	json_t *sj;
	int r;
	char *method = NULL, *id = NULL, *auth = NULL, *argtext = NULL;
	char *bytes = NULL, why[VMS_ERRLEN];	/* bytes: the engine's */
	size_t arglen, blen;
	uint64_t t;
	json_t *args = NULL;
	int rc = -1;

	/* (a time earlier than the previous entry's: the full way says so) */
	if (e->next == 0 || skim_entry((const char *)buf, len, &k) == -1 ||
	    skim_uint(k.time, k.timelen, &t) == -1 || t < e->last_time ||
	    (method = skim_string(k.method, k.methodlen)) == NULL ||
	    (auth = skim_string(k.auth, k.authlen)) == NULL)
		goto done;
	if (!(k.callerlen == 4 && memcmp(k.caller, "null", 4) == 0) &&
	    (id = skim_string(k.caller, k.callerlen)) == NULL)
		goto done;
	if ((args = fastjson_loadb(k.args, k.argslen, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		goto done;
	c.id = id;
	c.auth = auth;
	if (k.sig != NULL) {	/* a signed call: checked as replay_check */
		sj = fastjson_loadb(k.sig, k.siglen, JSON_REJECT_DUPLICATES,
		    NULL);
		r = sj == NULL ? -1 : callsig_parse(sj, &sig, why, sizeof(why));
		json_decref(sj);
		if (r != 0)
			goto done;
		sp = &sig;
	}
	if (eng_request_check(e, method, args, &c, sp, &argtext, &arglen,
	    why, sizeof(why)) != 0)
		goto done;
	/* no "oracles" in the skim's keys: none were asked */
	rp.oracles = NULL;
	if (eng_execute(e, method, args, argtext, arglen, &c, sp, t, &rp,
	    &bytes, &blen, NULL, why, sizeof(why)) != 0)
		goto done;
	if (blen == len && memcmp(bytes, buf, len) == 0) {
		eng_advance(e, buf, len);
		e->last_time = t;
		eng_accept_signed(e, sp);
		rc = 0;
	} else
		state_rollback(e->state);
done:
	free(argtext);
	json_decref(args);
	free(method);
	free(id);
	free(auth);
	return rc;
}

int
engine_replay(struct engine *e, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	if (replay_fast(e, buf, len) == 0)
		return 0;
	return replay_full(e, buf, len, err, errlen);
}

int
engine_replay_leaf(struct engine *e, const uint8_t *buf, size_t len,
    const uint8_t leaf[32], char *err, size_t errlen)
{
	int r;

	e->leaf_given = leaf;
	r = engine_replay(e, buf, len, err, errlen);
	e->leaf_given = NULL;
	return r;
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

/*
 * The spans of the top-level values named in keys[0..n) of an entry, found
 * in one pass without parsing them (vals[i] NULL: not there). -1 if the
 * entry is not a canonical object (engine_apply then parses it).
 */
static int
find_values(const char *p, size_t len, const char *const *keys, size_t n,
    const char **vals, size_t *vlens)
{
	const char *end = p + len, *k, *ve;
	size_t i, kl;

	for (i = 0; i < n; i++) {
		vals[i] = NULL;
		vlens[i] = 0;
	}
	if (len < 2 || *p != '{' || end[-1] != '}')
		return -1;
	for (p++, end--; p < end; ) {
		if (*p != '"')
			return -1;
		k = ++p;
		while (p < end && *p != '"' && *p != '\\')
			p++;
		if (p >= end || *p != '"' || p + 1 >= end || p[1] != ':')
			return -1;
		if ((ve = skip_value(p + 2, end)) == NULL)
			return -1;
		kl = (size_t)(p - k);
		for (i = 0; i < n; i++)
			if (strlen(keys[i]) == kl && memcmp(k, keys[i], kl) == 0) {
				vals[i] = p + 2;
				vlens[i] = (size_t)(ve - vals[i]);
			}
		p = ve;
		if (p < end && *p++ != ',')
			return -1;
	}
	return 0;
}

int
engine_skip(struct engine *e, const uint8_t *buf, size_t len,
    const uint8_t leaf[32], int check_root, char *err, size_t errlen)
{
	static const char *const keys[] = { "writes", "contracts", "signed" };
	const char *v[3];
	size_t vlen[3], i;
	char e2[VMS_ERRLEN];
	struct callsig sig;
	int r, hassig = 0;
	json_t *w, *sj;

	if (check_root || find_values((const char *)buf, len, keys, 3, v,
	    vlen) == -1 || v[0] == NULL)
		goto apply;
	/* the children it made or stopped, as engine_apply */
	json_decref(e->pending);
	e->pending = NULL;
	if (v[1] != NULL && (e->pending = fastjson_loadb(v[1], vlen[1], 0,
	    NULL)) == NULL)
		goto apply;
	/* a signed call raises its key's nonce, as engine_apply does */
	if (v[2] != NULL) {
		sj = fastjson_loadb(v[2], vlen[2], 0, NULL);
		r = sj == NULL ? -1 : callsig_parse(sj, &sig, e2, sizeof(e2));
		json_decref(sj);
		if (r != 0)
			goto apply;
		hassig = 1;
	}
	if ((w = fastjson_loadb(v[0], vlen[0], 0, NULL)) == NULL ||
	    !json_is_array(w)) {
		json_decref(w);
		goto apply;
	}
	state_defer_root(e->state);	/* until the root is next needed */
	for (i = 0; i < json_array_size(w); i++)
		if (apply_op(e, json_array_get(w, i), e2, sizeof(e2)) == -1) {
			seterr(err, errlen, "entry %llu: write %zu: %s",
			    (unsigned long long)e->next, i, e2);
			json_decref(w);
			return -1;
		}
	json_decref(w);
	e->leaf_given = leaf;
	eng_advance(e, buf, len);
	e->leaf_given = NULL;
	if (hassig)
		eng_accept_signed(e, &sig);
	return 0;
apply:
	e->leaf_given = leaf;
	r = engine_apply(e, buf, len, err, errlen);
	e->leaf_given = NULL;
	return r;
}

int
engine_apply(struct engine *e, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	char e2[VMS_ERRLEN], root[65];
	const char *type, *want;
	struct callsig sig;
	const struct callsig *sp = NULL;
	json_t *j, *w, *sj, *t;
	size_t i;

	if ((j = eng_parse_entry(buf, len, e->next, err, errlen)) == NULL)
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
	/* A signed entry raises its key's nonce (the ledger is the host's
	 * own: verified when it was executed, and by every audit). */
	if ((sj = json_object_get(j, "signed")) != NULL) {
		if (callsig_parse(sj, &sig, e2, sizeof(e2)) != 0) {
			seterr(err, errlen, "entry %llu: %s",
			    (unsigned long long)e->next, e2);
			json_decref(j);
			return -1;
		}
		sp = &sig;
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
	eng_root_hex(e, root);
	if (strcmp(root, want) != 0) {
		state_rollback(e->state);
		seterr(err, errlen, "state differs: recorded %s applied %s",
		    want, root);
		json_decref(j);
		return -1;
	}
	json_decref(e->pending);
	e->pending = json_incref(json_object_get(j, "contracts"));
	t = json_object_get(j, "time");
	if (json_is_integer(t) && json_integer_value(t) >= 0)
		e->last_time = (uint64_t)json_integer_value(t);
	json_decref(j);
	eng_advance(e, buf, len);
	eng_accept_signed(e, sp);
	return 0;
}
