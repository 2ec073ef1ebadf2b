/*
 * engine_replay.c — the auditor's side of the engine: engine_replay
 * re-executes a recorded entry and names the first field that differs;
 * engine_apply applies recorded writes without running Lua (restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "engine.h"
#include "engine_int.h"
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
 * request that eng_request_check() accepts. Fills the caller and, for a call,
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
		if (eng_caller_check(c, why, sizeof(why)) == -1) {
			seterr(err, errlen, "entry 0: deploy refused: %s", why);
			return -1;
		}
		return 0;
	}
	*method = json_string_value(json_object_get(rec, "method"));
	*args = json_object_get(rec, "args");
	if (eng_request_check(e, *method, *args, c, why, sizeof(why)) == -1) {
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

	if ((rec = eng_parse_entry(buf, len, e->next, err, errlen)) == NULL)
		return -1;
	if (replay_check(e, rec, &c, &method, &args, err, errlen) == -1) {
		json_decref(rec);
		return -1;
	}
	t = json_object_get(rec, "time");
	r = eng_execute(e, method, args, &c, (uint64_t)json_integer_value(t), &rep,
	    &bytes, &blen, NULL, err, errlen);
	if (r != 0) {
		json_decref(rec);
		return -1;
	}
	if (blen == len && memcmp(bytes, buf, len) == 0) {
		eng_advance(e, buf, len);
		e->last_time = (uint64_t)json_integer_value(t);
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
	json_t *j, *w, *t;
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
	t = json_object_get(j, "time");
	if (json_is_integer(t) && json_integer_value(t) >= 0)
		e->last_time = (uint64_t)json_integer_value(t);
	json_decref(j);
	eng_advance(e, buf, len);
	return 0;
}
