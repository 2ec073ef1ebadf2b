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

static json_t *
table_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	struct sb_ctx *ctx = sb_getctx(L);
	lua_Integer n = 0, maxi = 0;
	int nstr = 0, nother = 0;
	struct skey *keys;
	json_t *out = NULL, *x;
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
	if (n == 0)
		return json_object();
	if (nstr == 0 && nother == 0 && maxi == n) {
		out = json_array();
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, i);
			x = sb_to_json(L, -1, depth + 1, err, errlen);
			lua_pop(L, 1);
			if (x == NULL) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, x);
		}
		return out;
	}
	if (nstr != n) {
		seterr(err, errlen, "cannot encode a table with non-string "
		    "keys (or a sequence with holes) as JSON");
		return NULL;
	}
	/*
	 * Keys in canonical (byte) order, not lua_next's hash-seed order, so
	 * that the first bad value named by an error is the same everywhere.
	 * The strings stay alive in the table: nothing here runs Lua code.
	 */
	keys = xcalloc((size_t)n, sizeof(*keys));
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
	qsort(keys, (size_t)n, sizeof(*keys), skey_cmp);
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
		lua_pushlstring(L, keys[i].s, keys[i].len);
		lua_rawget(L, idx);
		x = sb_to_json(L, -1, depth + 1, err, errlen);
		lua_pop(L, 1);
		if (x == NULL)
			goto fail;
		json_object_setn_new_nocheck(out, keys[i].s, keys[i].len, x);
	}
	free(keys);
	return out;
fail:
	free(keys);
	json_decref(out);
	return NULL;
}

/* Never raises a Lua error: returns NULL and fills err. */
json_t *
sb_to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	lua_Number d;

	idx = lua_absindex(L, idx);
	if (depth > SB_JSON_DEPTH) {
		seterr(err, errlen, "nesting deeper than %d (or a cycle)",
		    SB_JSON_DEPTH);
		return NULL;
	}
	if (!lua_checkstack(L, 4)) {
		seterr(err, errlen, "out of stack");
		return NULL;
	}
	if (sb_json_charge(L, lua_type(L, idx) == LUA_TSTRING ?
	    lua_rawlen(L, idx) : 0, err, errlen) == -1)
		return NULL;
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		d = lua_tonumber(L, idx);
		if (!isfinite(d)) {
			seterr(err, errlen, "cannot encode NaN or infinity as "
			    "JSON");
			return NULL;
		}
		return json_real(d);
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (!sb_valid_utf8(s, len)) {
			seterr(err, errlen, "cannot encode a string that is "
			    "not valid UTF-8 as JSON");
			return NULL;
		}
		/* every JSON reader of the ledger (and json.decode) refuses
		 * \u0000, as jansson does by default: never write one */
		if (memchr(s, '\0', len) != NULL) {
			seterr(err, errlen, "cannot encode a string with a NUL "
			    "byte as JSON (encode binary data, e.g. as hex)");
			return NULL;
		}
		return json_stringn(s, len);
	case LUA_TTABLE:
		return table_to_json(L, idx, depth, err, errlen);
	default:
		seterr(err, errlen, "cannot encode a %s as JSON",
		    luaL_typename(L, idx));
		return NULL;
	}
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
