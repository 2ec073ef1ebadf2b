/*
 * sb_json.c — the one mapping between JSON (jansson) and Lua values, used
 * for call arguments, results and System.json. JSON null <-> nil, arrays
 * <-> sequences 1..n, objects <-> string-keyed tables, integers <-> Lua
 * integers, reals <-> floats. An empty table encodes as {}. NaN/inf,
 * non-UTF-8 strings, mixed or non-string keys, functions and nesting past
 * SB_JSON_DEPTH are errors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lstate.h"	/* Lua's internals: sb_box_drop_all() */
#include "lgc.h"
#include "ltable.h"
#include "ltm.h"

#include "canon.h"
#include "sandbox.h"
#include "util.h"

int
sb_valid_utf8(const char *str, size_t n)
{
	return utf8_valid(str, n);
}

int
sb_push_json(lua_State *L, const json_t *v, int depth)
{
	size_t i, n;
	const char *k;
	json_t *x;

	if (depth > SB_JSON_DEPTH)
		return luaL_error(L, "JSON nesting deeper than %d",
		    SB_JSON_DEPTH);
	luaL_checkstack(L, 4, "JSON too deep");
	switch (json_typeof(v)) {
	case JSON_NULL:
		lua_pushnil(L);
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY:
		n = json_array_size(v);
		lua_createtable(L, n > 1000000 ? 0 : (int)n, 0);
		for (i = 0; i < n; i++) {
			sb_push_json(L, json_array_get(v, i), depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach((json_t *)v, k, x) {
			lua_pushstring(L, k);
			sb_push_json(L, x, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	}
	return 1;
}

struct skey {
	const char	*s;
	size_t		 len;
};

static int
skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * An object's keys in byte order: a few (most objects a contract encodes)
 * by insertion, in place, the rest by qsort; the keys of a table all
 * differ, so both make the same order.
 */
#define SMALL_KEYS	16

static void
skeys_sort(struct skey *k, size_t n)
{
	size_t i, j;
	struct skey t;

	if (n > SMALL_KEYS) {
		qsort(k, n, sizeof(*k), skey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		t = k[i];
		for (j = i; j > 0 && skey_cmp(&k[j - 1], &t) > 0; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

/*
 * Charge one JSON node built in host memory (jansson, outside the Lua
 * heap): SB_JSON_NODE bytes plus its string against the memory cap and an
 * instruction per node plus the string's scan. A DAG of shared tables is
 * expanded node by node, so this bounds it. 0, or -1 with the limit
 * recorded in ctx->limit_err (never raises: callers own jansson trees).
 */
int
sb_json_charge(lua_State *L, size_t bytes, char *err, size_t errlen)
{
	struct sb_ctx *ctx = sb_getctx(L);

	ctx->host += SB_JSON_NODE + bytes;
	ctx->cost += 1 + bytes / SB_ALLOC_UNIT;
	if (ctx->limit_err[0] == '\0' &&
	    ctx->mem + ctx->host > ctx->limits->memory)
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "limit exceeded: memory (%llu)",
		    (unsigned long long)ctx->limits->memory);
	if (ctx->limit_err[0] == '\0' &&
	    ctx->cost >= ctx->limits->instructions)
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "limit exceeded: instructions (%llu)",
		    (unsigned long long)ctx->limits->instructions);
	if (ctx->limit_err[0] != '\0') {
		seterr(err, errlen, "%s", ctx->limit_err);
		return -1;
	}
	return 0;
}

/*
 * The walk over a Lua value that both sb_to_json (a jansson tree) and
 * sb_to_canon (its canonical text, written straight into a buffer without
 * building the tree) take: the same Lua calls, charges and errors in the
 * same order, so the two differ only in what they produce. Exactly one of
 * out (the tree) and text is set. 0, or -1 with err.
 */
struct jwalk {
	json_t		*out;	/* tree mode: the value made */
	struct jbuf	*text;	/* text mode: the buffer written */
};

static int walk_value(lua_State *, int, int, struct jwalk *, char *,
    size_t);

/* A real as the canonical text writes it (jansson's own formatting). */
static int
text_real(struct jbuf *b, double d)
{
	json_t *r = json_real(d);
	int rc = r != NULL && jbuf_value(b, r) == 0 ? 0 : -1;

	json_decref(r);
	return rc;
}

static int
walk_table(lua_State *L, int idx, int depth, struct jwalk *w, char *err,
    size_t errlen)
{
	struct sb_ctx *ctx = sb_getctx(L);
	lua_Integer n = 0, maxi = 0;
	int nstr = 0, nother = 0;
	struct skey *keys, small[SMALL_KEYS];
	struct jwalk x = { NULL, w->text };
	json_t *out = NULL;
	lua_Integer i;
	uint64_t kbytes;

	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		n++;
		if (lua_type(L, -1) == LUA_TSTRING)
			nstr++;
		else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
			if (lua_tointeger(L, -1) > maxi)
				maxi = lua_tointeger(L, -1);
		} else
			nother++;
	}
	if (n == 0) {
		if (w->text != NULL)
			jbuf_lit(w->text, "{}");
		else
			w->out = json_object();
		return 0;
	}
	if (nstr == 0 && nother == 0 && maxi == n) {
		if (w->text != NULL)
			jbuf_lit(w->text, "[");
		else
			out = json_array();
		for (i = 1; i <= n; i++) {
			if (w->text != NULL && i > 1)
				jbuf_lit(w->text, ",");
			lua_rawgeti(L, idx, i);
			x.out = NULL;
			if (walk_value(L, -1, depth + 1, &x, err, errlen) == -1) {
				lua_pop(L, 1);
				json_decref(out);
				return -1;
			}
			lua_pop(L, 1);
			if (out != NULL)
				json_array_append_new(out, x.out);
		}
		if (w->text != NULL)
			jbuf_lit(w->text, "]");
		w->out = out;
		return 0;
	}
	if (nstr != n) {
		seterr(err, errlen, "cannot encode a table with non-string "
		    "keys (or a sequence with holes) as JSON");
		return -1;
	}
	/*
	 * Keys in canonical (byte) order, not lua_next's hash-seed order, so
	 * that the first bad value named by an error is the same everywhere
	 * (and the text is written in the canonical order). The strings stay
	 * alive in the table: nothing here runs Lua code.
	 */
	keys = n <= SMALL_KEYS ? small : xcalloc((size_t)n, sizeof(*keys));
	i = 0;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		keys[i].s = lua_tolstring(L, -1, &keys[i].len);
		i++;
	}
	for (i = 0, kbytes = 0; i < n; i++)
		kbytes += keys[i].len;
	ctx->cost += sb_sort_cost((uint64_t)n, kbytes);	/* sorting */
	if (sb_json_charge(L, 0, err, errlen) == -1)
		goto fail;
	skeys_sort(keys, (size_t)n);
	if (w->text != NULL)
		jbuf_lit(w->text, "{");
	else
		out = json_object();
	for (i = 0; i < n; i++) {
		if (memchr(keys[i].s, '\0', keys[i].len) != NULL ||
		    !sb_valid_utf8(keys[i].s, keys[i].len)) {
			seterr(err, errlen, "cannot encode a key that is not "
			    "UTF-8 text as JSON");
			goto fail;
		}
		if (sb_json_charge(L, keys[i].len, err, errlen) == -1)
			goto fail;
		if (w->text != NULL) {
			if (i > 0)
				jbuf_lit(w->text, ",");
			if (jbuf_str(w->text, keys[i].s, keys[i].len) != 0)
				goto fail;	/* (UTF-8: checked above) */
			jbuf_lit(w->text, ":");
		}
		lua_pushlstring(L, keys[i].s, keys[i].len);
		lua_rawget(L, idx);
		x.out = NULL;
		if (walk_value(L, -1, depth + 1, &x, err, errlen) == -1) {
			lua_pop(L, 1);
			goto fail;
		}
		lua_pop(L, 1);
		if (out != NULL)
			json_object_setn_new_nocheck(out, keys[i].s,
			    keys[i].len, x.out);
	}
	if (w->text != NULL)
		jbuf_lit(w->text, "}");
	if (keys != small)
		free(keys);
	w->out = out;
	return 0;
fail:
	if (keys != small)
		free(keys);
	json_decref(out);
	return -1;
}

static int
walk_value(lua_State *L, int idx, int depth, struct jwalk *w, char *err,
    size_t errlen)
{
	const char *s;
	size_t len;
	lua_Number d;
	lua_Integer n;

	idx = lua_absindex(L, idx);
	if (depth > SB_JSON_DEPTH) {
		seterr(err, errlen, "nesting deeper than %d (or a cycle)",
		    SB_JSON_DEPTH);
		return -1;
	}
	if (!lua_checkstack(L, 4)) {
		seterr(err, errlen, "out of stack");
		return -1;
	}
	if (sb_json_charge(L, lua_type(L, idx) == LUA_TSTRING ?
	    lua_rawlen(L, idx) : 0, err, errlen) == -1)
		return -1;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		if (w->text != NULL)
			jbuf_lit(w->text, "null");
		else
			w->out = json_null();
		return 0;
	case LUA_TBOOLEAN:
		if (w->text == NULL)
			w->out = json_boolean(lua_toboolean(L, idx));
		else if (lua_toboolean(L, idx))
			jbuf_lit(w->text, "true");
		else
			jbuf_lit(w->text, "false");
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			n = lua_tointeger(L, idx);
			if (w->text != NULL)
				jbuf_int(w->text, (long long)n);
			else
				w->out = json_integer((json_int_t)n);
			return 0;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d)) {
			seterr(err, errlen, "cannot encode NaN or infinity as "
			    "JSON");
			return -1;
		}
		if (w->text == NULL) {
			w->out = json_real(d);
			return 0;
		}
		if (text_real(w->text, d) == -1) {
			seterr(err, errlen, "cannot encode a number");
			return -1;
		}
		return 0;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (!sb_valid_utf8(s, len)) {
			seterr(err, errlen, "cannot encode a string that is "
			    "not valid UTF-8 as JSON");
			return -1;
		}
		/* every JSON reader of the ledger (and json.decode) refuses
		 * \u0000, as jansson does by default: never write one */
		if (memchr(s, '\0', len) != NULL) {
			seterr(err, errlen, "cannot encode a string with a NUL "
			    "byte as JSON (encode binary data, e.g. as hex)");
			return -1;
		}
		if (w->text == NULL)
			w->out = json_stringn(s, len);
		else if (jbuf_str(w->text, s, len) != 0) {
			seterr(err, errlen, "cannot encode a string that is "
			    "not valid UTF-8 as JSON");
			return -1;
		}
		return 0;
	case LUA_TTABLE:
		return walk_table(L, idx, depth, w, err, errlen);
	default:
		seterr(err, errlen, "cannot encode a %s as JSON",
		    luaL_typename(L, idx));
		return -1;
	}
}

/* Never raises a Lua error: returns NULL and fills err. */
json_t *
sb_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	struct jwalk w = { NULL, NULL };

	if (walk_value(L, idx, depth, &w, err, errlen) == -1)
		return NULL;
	if (w.out == NULL)
		seterr(err, errlen, "out of memory");
	return w.out;
}

int
sb_to_canon(lua_State *L, int idx, struct jbuf *text, char *err,
    size_t errlen)
{
	struct jwalk w = { NULL, text };

	jbuf_reset(text);
	return walk_value(L, idx, 0, &w, err, errlen);
}

static int
box_gc(lua_State *L)
{
	struct sb_box *p = lua_touserdata(L, 1);

	json_decref(p->json);
	free(p->str);
	p->json = NULL;
	p->str = NULL;
	return 0;
}

/*
 * Push a box (initially NULL) that owns a jansson value until the state is
 * closed, so a Lua error raised while it is in use cannot leak it.
 */
struct sb_box *
sb_box_json(lua_State *L)
{
	struct sb_box *p = lua_newuserdatauv(L, sizeof(*p), 0);

	p->json = NULL;
	p->str = NULL;
	if (luaL_newmetatable(L, "vms.jsonbox")) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return p;
}

/* Free what the boxes on one of Lua's finalizer lists still own. */
static void
drop_list(global_State *g, GCObject *o)
{
	const TValue *gc;
	Udata *u;

	for (; o != NULL; o = o->next) {
		if (o->tt != LUA_VUSERDATA)
			continue;
		u = gco2u(o);
		if (u->metatable == NULL || u->len != sizeof(struct sb_box))
			continue;
		gc = luaH_getshortstr(u->metatable, g->tmname[TM_GC]);
		if (ttislcf(gc) && fvalue(gc) == box_gc) {
			struct sb_box *p = (struct sb_box *)(void *)getudatamem(u);

			json_decref(p->json);
			free(p->str);
			p->json = NULL;
			p->str = NULL;
		}
	}
}

/*
 * The state is about to be dropped without lua_close() (its memory goes
 * with the arena): release what its boxes own. Only boxes have __gc (a
 * contract's setmetatable refuses it), and objects with a __gc wait on
 * Lua's 'finobj' list (or 'tobefnz', between a collection and the call
 * of their finalizer).
 */
void
sb_box_drop_all(lua_State *L)
{
	global_State *g = G(L);

	drop_list(g, g->finobj);
	drop_list(g, g->tobefnz);
}
