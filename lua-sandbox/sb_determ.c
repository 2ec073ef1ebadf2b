/*
 * sb_determ.c — the deterministic replacements for Lua's nondeterministic
 * corners: pairs/next in canonical key order, tostring and string.format
 * without addresses, a stable table.sort, math.random from the ledger seed
 * (xoshiro256**), setmetatable without __gc/__mode, getmetatable that
 * hides the string metatable, a harmless collectgarbage, text-only load.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "sandbox.h"
#include "sha256.h"

/* ---- canonical key order ---- */

struct key {
	int		 cls;	/* 0 int, 1 float, 2 string, 3 boolean */
	lua_Integer	 i;
	lua_Number	 n;
	const char	*s;
	size_t		 len;
	int		 slot;	/* position in the raw key table */
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	switch (x->cls) {
	case 0:
		return x->i < y->i ? -1 : x->i > y->i;
	case 1:
		return x->n < y->n ? -1 : x->n > y->n;
	case 2:
		c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
		if (c != 0)
			return c;
		return x->len < y->len ? -1 : x->len > y->len;
	default:
		return x->i < y->i ? -1 : x->i > y->i;
	}
}

/* Pushes a sequence of t's keys (t at idx) in canonical order; returns n. */
static lua_Integer
sorted_keys(lua_State *L, int idx)
{
	struct key *keys;
	lua_Integer n = 0, i;
	uint64_t kbytes;
	int raw, sorted;

	idx = lua_absindex(L, idx);
	lua_newtable(L);
	raw = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		switch (lua_type(L, -1)) {
		case LUA_TNUMBER:
		case LUA_TSTRING:
		case LUA_TBOOLEAN:
			break;
		default:
			luaL_error(L, "pairs/next: a table with a %s key has "
			    "no deterministic order", luaL_typename(L, -1));
		}
		lua_pushvalue(L, -1);
		lua_rawseti(L, raw, ++n);
	}
	keys = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(*keys), 0);
	for (i = 1; i <= n; i++) {
		struct key *k = &keys[i - 1];

		lua_rawgeti(L, raw, i);
		memset(k, 0, sizeof(*k));
		k->slot = (int)i;
		if (lua_type(L, -1) == LUA_TNUMBER) {
			if (lua_isinteger(L, -1)) {
				k->cls = 0;
				k->i = lua_tointeger(L, -1);
			} else {
				k->cls = 1;
				k->n = lua_tonumber(L, -1);
			}
		} else if (lua_type(L, -1) == LUA_TSTRING) {
			k->cls = 2;
			k->s = lua_tolstring(L, -1, &k->len);	/* kept by raw */
		} else {
			k->cls = 3;
			k->i = lua_toboolean(L, -1);
		}
		lua_pop(L, 1);
	}
	for (i = 0, kbytes = 0; i < n; i++)
		kbytes += keys[i].len;
	sb_charge(L, sb_sort_cost((uint64_t)n, kbytes));
	qsort(keys, (size_t)n, sizeof(*keys), key_cmp);
	lua_createtable(L, (int)n, 0);
	sorted = lua_gettop(L);
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, raw, keys[i].slot);
		lua_rawseti(L, sorted, i + 1);
	}
	lua_replace(L, raw);
	lua_settop(L, raw);
	return n;
}

/* upvalues: 1 sorted keys, 2 position */
static int
pairs_iter(lua_State *L)
{
	lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));

	for (;;) {
		i++;
		if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) {
			lua_pushinteger(L, i - 1);
			lua_replace(L, lua_upvalueindex(2));
			return 1;
		}
		lua_pushvalue(L, -1);
		if (lua_rawget(L, 1) != LUA_TNIL)
			break;
		lua_pop(L, 2);
	}
	lua_pushinteger(L, i);
	lua_replace(L, lua_upvalueindex(2));
	return 2;
}

static int
sb_pairs(lua_State *L)
{
	luaL_checkany(L, 1);
	if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
		lua_pushvalue(L, 1);
		lua_call(L, 1, 3);
		return 3;
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	sorted_keys(L, 1);
	lua_pushinteger(L, 0);
	lua_pushcclosure(L, pairs_iter, 2);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static const char next_cache_key = 'n';

/* next(t, k) in canonical order; the order is cached per table. */
static int
sb_next(lua_State *L)
{
	lua_Integer pos, i;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &next_cache_key);	/* 3 */
	if (lua_isnil(L, 2) || (lua_pushvalue(L, 1),
	    lua_rawget(L, 3) != LUA_TTABLE)) {
		lua_settop(L, 3);
		sorted_keys(L, 1);				/* 4 keys */
		lua_newtable(L);				/* 5 pos */
		for (i = 1; lua_rawgeti(L, 4, i) != LUA_TNIL; i++) {
			lua_pushinteger(L, i);
			lua_rawset(L, 5);
		}
		lua_pop(L, 1);
		lua_createtable(L, 2, 0);
		lua_pushvalue(L, 4);
		lua_rawseti(L, -2, 1);
		lua_pushvalue(L, 5);
		lua_rawseti(L, -2, 2);
		lua_pushvalue(L, 1);
		lua_pushvalue(L, -2);
		lua_rawset(L, 3);
		lua_replace(L, 4);
		lua_settop(L, 4);
	}
	/* 4: {keys, pos} */
	lua_rawgeti(L, 4, 1);					/* 5 */
	if (lua_isnil(L, 2))
		pos = 0;
	else {
		lua_rawgeti(L, 4, 2);
		lua_pushvalue(L, 2);
		if (lua_rawget(L, -2) != LUA_TNUMBER)
			return luaL_error(L, "invalid key to 'next'");
		pos = lua_tointeger(L, -1);
		lua_pop(L, 2);
	}
	for (i = pos + 1; ; i++) {
		if (lua_rawgeti(L, 5, i) == LUA_TNIL)
			return 1;
		lua_pushvalue(L, -1);
		if (lua_rawget(L, 1) != LUA_TNIL)
			return 2;
		lua_pop(L, 2);
	}
}

/* ---- tostring, format ---- */

/*
 * NaN prints with its sign bit ("-nan" for 0/0 on x86-64, "nan" on
 * arm64): wherever the sandbox formats a number it spells every NaN "nan".
 */
int
sb_isnan(lua_State *L, int idx)
{
	lua_Number n;

	if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx))
		return 0;
	n = lua_tonumber(L, idx);
	return n != n;
}

const char *
sb_tostring(lua_State *L, int idx, size_t *len)
{
	idx = lua_absindex(L, idx);
	if (luaL_callmeta(L, idx, "__tostring")) {
		if (!lua_isstring(L, -1))
			luaL_error(L, "'__tostring' must return a string");
		return lua_tolstring(L, -1, len);
	}
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (sb_isnan(L, idx)) {
			lua_pushliteral(L, "nan");
			return lua_tolstring(L, -1, len);
		}
		/* FALLTHROUGH */
	case LUA_TSTRING:
		lua_pushvalue(L, idx);
		return lua_tolstring(L, -1, len);
	case LUA_TBOOLEAN:
		lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
		break;
	case LUA_TNIL:
		lua_pushliteral(L, "nil");
		break;
	default:
		/* never an address: the type name only */
		lua_pushstring(L, luaL_typename(L, idx));
		break;
	}
	return lua_tolstring(L, -1, len);
}

static int
sb_tostring_fn(lua_State *L)
{
	size_t len;

	luaL_checkany(L, 1);
	sb_tostring(L, 1, &len);
	return 1;
}

/* upvalue 1: the real string.format */
static int
sb_format(lua_State *L)
{
	size_t flen, i;
	const char *fmt = luaL_checklstring(L, 1, &flen);
	int n = lua_gettop(L), a;
	size_t len;

	for (i = 0; i < flen; i++) {
		if (fmt[i] != '%')
			continue;
		i++;
		if (i < flen && fmt[i] == '%')
			continue;
		while (i < flen && strchr("-+ #0123456789.", fmt[i]) != NULL)
			i++;
		if (i < flen && fmt[i] == 'p')
			return luaL_error(L, "string.format: '%%p' is not "
			    "available (it prints addresses)");
	}
	for (a = 2; a <= n; a++) {
		int t = lua_type(L, a);

		if (t == LUA_TTABLE || t == LUA_TFUNCTION ||
		    t == LUA_TTHREAD || t == LUA_TUSERDATA ||
		    t == LUA_TLIGHTUSERDATA) {
			sb_tostring(L, a, &len);
			lua_replace(L, a);
		} else if (sb_isnan(L, a)) {
			lua_pushnumber(L, copysign(lua_tonumber(L, a), 1.0));
			lua_replace(L, a);
		}
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, 1);
	return 1;
}

/* table.concat(t [, sep [, i [, j]]]), with NaN spelled "nan". */
static int
sb_tconcat(lua_State *L)
{
	luaL_Buffer b;
	lua_Integer i, last;
	const char *sep;
	size_t lsep;

	luaL_checktype(L, 1, LUA_TTABLE);
	sep = luaL_optlstring(L, 2, "", &lsep);
	i = luaL_optinteger(L, 3, 1);
	last = luaL_opt(L, luaL_checkinteger, 4, luaL_len(L, 1));
	luaL_buffinit(L, &b);
	for (; i <= last; i++) {
		sb_charge(L, 1);
		lua_geti(L, 1, i);
		if (!lua_isstring(L, -1))
			return luaL_error(L, "invalid value (at index %I) in "
			    "table for 'concat'", (LUAI_UACINT)i);
		if (sb_isnan(L, -1)) {
			lua_pop(L, 1);
			lua_pushliteral(L, "nan");
		}
		luaL_addvalue(&b);
		if (i == last)
			break;		/* (i + 1 may overflow) */
		luaL_addlstring(&b, sep, lsep);
	}
	luaL_pushresult(&b);
	return 1;
}

/* ---- stable sort ---- */

static int
sort_less(lua_State *L, int cmp, int a, int b)
{
	int r;

	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (cmp) {
		lua_pushvalue(L, 2);
		lua_pushvalue(L, a);
		lua_pushvalue(L, b);
		lua_call(L, 2, 1);
		r = lua_toboolean(L, -1);
		lua_pop(L, 1);
		return r;
	}
	sb_charge(L, 1);
	return lua_compare(L, a, b, LUA_OPLT);
}

static int
sb_sort(lua_State *L)
{
	lua_Integer n, w, lo, i, j, k, mid, hi;
	int cmp, src, dst;

	luaL_checktype(L, 1, LUA_TTABLE);
	cmp = !lua_isnoneornil(L, 2);
	if (cmp)
		luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_settop(L, 2);
	n = (lua_Integer)lua_rawlen(L, 1);
	if (n < 2)
		return 0;
	if (n >= INT_MAX)
		return luaL_error(L, "table.sort: array too big");
	lua_createtable(L, (int)n, 0);
	src = 3;
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i);
		lua_rawseti(L, src, i);
	}
	lua_createtable(L, (int)n, 0);
	dst = 4;
	/* bottom-up merge sort: stable and independent of any seed */
	for (w = 1; w < n; w *= 2) {
		for (lo = 1; lo <= n; lo += 2 * w) {
			mid = lo + w - 1 < n ? lo + w - 1 : n;
			hi = lo + 2 * w - 1 < n ? lo + 2 * w - 1 : n;
			i = lo;
			j = mid + 1;
			for (k = lo; k <= hi; k++) {
				int takej = 0;

				if (i <= mid && j <= hi) {
					lua_rawgeti(L, src, j);
					lua_rawgeti(L, src, i);
					takej = sort_less(L, cmp, -2, -1);
					lua_pop(L, 2);
				} else if (i > mid)
					takej = 1;
				lua_rawgeti(L, src, takej ? j++ : i++);
				lua_rawseti(L, dst, k);
			}
		}
		lua_pushvalue(L, src);
		lua_pushvalue(L, dst);
		lua_replace(L, src);
		lua_replace(L, dst);
	}
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, src, i);
		lua_rawseti(L, 1, i);
	}
	return 0;
}

/* ---- random ---- */

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
sb_rng_seed(struct sb_ctx *ctx)
{
	struct vms_sha256 h;
	uint8_t d[VMS_SHA256_LEN];
	int i, j;

	for (i = 0; i < 4; i++) {
		ctx->rng[i] = 0;
		for (j = 7; j >= 0; j--)
			ctx->rng[i] = (ctx->rng[i] << 8) | ctx->seed[8 * i + j];
	}
	if ((ctx->rng[0] | ctx->rng[1] | ctx->rng[2] | ctx->rng[3]) == 0)
		ctx->rng[0] = 1;
	/* Lua's string-hash seed (vms_luauser.h): its own domain, so it
	 * says nothing about the generator's state; bound to the request,
	 * so no caller can pick arguments that collide under it */
	vms_sha256_init(&h);
	vms_sha256_update(&h, "vms/lua-strseed/v1", 18);
	vms_sha256_update(&h, ctx->seed, sizeof(ctx->seed));
	vms_sha256_update(&h, ctx->reqhash, sizeof(ctx->reqhash));
	vms_sha256_final(&h, d);
	ctx->strseed = (unsigned int)d[0] << 24 | (unsigned int)d[1] << 16 |
	    (unsigned int)d[2] << 8 | (unsigned int)d[3];
	ctx->numseed = 0;
	for (i = 4; i < 12; i++)
		ctx->numseed = ctx->numseed << 8 | d[i];
}

/* xoshiro256** */
uint64_t
sb_rng_next(struct sb_ctx *ctx)
{
	uint64_t *s = ctx->rng;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static int
sb_random(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	uint64_t r = sb_rng_next(ctx), lim, mask;
	lua_Integer low, up;

	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, (lua_Number)(r >> 11) * 0x1.0p-53);
		return 1;
	case 1:
		low = 1;
		up = luaL_checkinteger(L, 1);
		if (up == 0) {
			lua_pushinteger(L, (lua_Integer)r);
			return 1;
		}
		break;
	case 2:
		low = luaL_checkinteger(L, 1);
		up = luaL_checkinteger(L, 2);
		break;
	default:
		return luaL_error(L, "wrong number of arguments");
	}
	luaL_argcheck(L, low <= up, 1, "interval is empty");
	lim = (uint64_t)up - (uint64_t)low;
	mask = lim;
	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	mask |= mask >> 16;
	mask |= mask >> 32;
	while ((r & mask) > lim)
		r = sb_rng_next(ctx);
	lua_pushinteger(L, (lua_Integer)((r & mask) + (uint64_t)low));
	return 1;
}

static int
sb_randomseed(lua_State *L)
{
	return luaL_error(L, "math.randomseed is not available (the seed "
	    "comes from the ledger)");
}

/* ---- metatables, gc, load ---- */

/* upvalue 1: the real setmetatable */
static int
sb_setmetatable(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_type(L, 2) == LUA_TTABLE) {
		/* raw, as the collector reads them */
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc is not "
			    "allowed (finalizers run at nondeterministic "
			    "times)");
		lua_pushliteral(L, "__mode");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __mode is not "
			    "allowed (weak tables depend on the garbage "
			    "collector)");
		lua_pop(L, 2);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_call(L, 2, 1);
	/* __mode added later is caught before any collection */
	if (lua_type(L, 2) == LUA_TTABLE)
		sb_register_mt(L, 2);
	return 1;
}

/* upvalue 1: the real getmetatable */
static int
sb_getmetatable(lua_State *L)
{
	luaL_checkany(L, 1);
	if (lua_type(L, 1) == LUA_TSTRING) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int
sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");

	if (strcmp(opt, "collect") == 0) {
		lua_pushinteger(L, 0);
		return 1;
	}
	if (strcmp(opt, "step") == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	return luaL_error(L, "collectgarbage: option '%s' is not available "
	    "in a contract", opt);
}

static int
sb_load(lua_State *L)
{
	size_t len;
	const char *s, *name, *mode;
	int r;

	if (lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "load: only source strings can be loaded");
	s = lua_tolstring(L, 1, &len);
	name = luaL_optstring(L, 2, s);
	mode = luaL_optstring(L, 3, "t");
	if (strchr(mode, 't') == NULL) {
		luaL_pushfail(L);
		lua_pushliteral(L, "load: only text chunks are allowed");
		return 2;
	}
	/*
	 * Lua's code generator is quadratic on some sources (long chains of
	 * "a or a or ...": luaK_concat walks the jump list): chunks are
	 * capped like a contract's code, and charged a quadratic bound.
	 */
	if (len > SB_MAX_CODE) {
		luaL_pushfail(L);
		lua_pushfstring(L, "load: chunk is %I bytes, more than %d",
		    (lua_Integer)len, SB_MAX_CODE);
		return 2;
	}
	sb_charge(L, len / SB_ALLOC_UNIT + (uint64_t)len * len / 65536);
	if (sb_has_close(s, len)) {
		luaL_pushfail(L);
		lua_pushliteral(L, "load: to-be-closed variables (<close>) are "
		    "not allowed");
		return 2;
	}
	if ((r = luaL_loadbufferx(L, s, len, name, "t")) != LUA_OK) {
		/* the memory limit is not a syntax error to return */
		if (r == LUA_ERRMEM)
			sb_rethrow_limits(L, r);
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2;
	}
	if (!lua_isnone(L, 4)) {
		lua_pushvalue(L, 4);
		if (lua_setupvalue(L, -2, 1) == NULL)
			lua_pop(L, 1);
	}
	return 1;
}

/* Install into the global table at index 1. */
void
sb_open_determ(lua_State *L)
{
	lua_pushcfunction(L, sb_pairs);
	lua_setfield(L, 1, "pairs");
	lua_pushcfunction(L, sb_next);
	lua_setfield(L, 1, "next");
	lua_pushcfunction(L, sb_tostring_fn);
	lua_setfield(L, 1, "tostring");
	lua_pushcfunction(L, sb_collectgarbage);
	lua_setfield(L, 1, "collectgarbage");
	lua_pushcfunction(L, sb_load);
	lua_setfield(L, 1, "load");
	sb_wrap(L, 1, "setmetatable", sb_setmetatable);
	sb_wrap(L, 1, "getmetatable", sb_getmetatable);

	lua_getfield(L, 1, "string");
	sb_wrap(L, lua_gettop(L), "format", sb_format);
	lua_pop(L, 1);
	lua_getfield(L, 1, "table");
	lua_pushcfunction(L, sb_sort);
	lua_setfield(L, -2, "sort");
	lua_pushcfunction(L, sb_tconcat);
	lua_setfield(L, -2, "concat");
	lua_pop(L, 1);
	lua_getfield(L, 1, "math");
	lua_pushcfunction(L, sb_random);
	lua_setfield(L, -2, "random");
	lua_pushcfunction(L, sb_randomseed);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);

	/* next's order cache: weak keys, internal, never visible */
	lua_newtable(L);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "k");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &next_cache_key);

	/* the string metatable is not the contract's to change */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}
