/*
 * sb_meter.c — instruction charges for the library C functions that can
 * loop without allocating (allocation is already charged by the heap
 * allocator): table.insert/remove (own metered versions of the shifts),
 * table.move and string.rep (charged up front from their arguments) and
 * the pattern functions string.find/match/gmatch/gsub (charged up front an
 * upper bound of the matcher's work, see pattern_cost() and match_cost(),
 * and of gsub's walks over its replacement). Every charge is
 * a pure function of the arguments, so execution and replay agree.
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "sandbox.h"

#define SB_SCAN_UNIT	16	/* subject bytes scanned per instruction */
#define SB_COST_MAX	(1e18)

static uint64_t
to_units(double d)
{
	if (!(d < SB_COST_MAX))
		return (uint64_t)SB_COST_MAX;
	return (uint64_t)d;
}

/* ---- table ---- */

/* table.insert(t, [pos,] v): the shift costs one instruction a slot. */
static int
sb_tinsert(lua_State *L)
{
	lua_Integer e, pos, i;

	luaL_checktype(L, 1, LUA_TTABLE);
	e = luaL_len(L, 1) + 1;		/* first empty element */
	switch (lua_gettop(L)) {
	case 2:
		pos = e;
		break;
	case 3:
		pos = luaL_checkinteger(L, 2);
		luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
		    "position out of bounds");
		for (i = e; i > pos; i--) {
			sb_charge(L, 1);
			lua_geti(L, 1, i - 1);
			lua_seti(L, 1, i);
		}
		break;
	default:
		return luaL_error(L, "wrong number of arguments to 'insert'");
	}
	lua_seti(L, 1, pos);
	return 0;
}

/* table.remove(t [, pos]) */
static int
sb_tremove(lua_State *L)
{
	lua_Integer size, pos;

	luaL_checktype(L, 1, LUA_TTABLE);
	size = luaL_len(L, 1);
	pos = luaL_optinteger(L, 2, size);
	if (pos != size)
		luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size,
		    2, "position out of bounds");
	lua_geti(L, 1, pos);
	for (; pos < size; pos++) {
		sb_charge(L, 1);
		lua_geti(L, 1, pos + 1);
		lua_seti(L, 1, pos);
	}
	lua_pushnil(L);
	lua_seti(L, 1, pos);
	return 1;
}

/* table.move(a1, f, e, t [, a2]): e - f + 1 moves. upvalue 1: the real. */
static int
sb_tmove(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2);
	lua_Integer e = luaL_checkinteger(L, 3);

	if (e >= f)
		sb_charge(L, (uint64_t)((lua_Unsigned)e - (lua_Unsigned)f) + 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* ---- string ---- */

/*
 * string.rep(s, n [, sep]): n copies. The heap allocator charges the
 * result's bytes; n copies of nothing allocate nothing, so they are
 * charged as iterations. upvalue 1: the real one.
 */
static int
sb_rep(lua_State *L)
{
	size_t l, lsep = 0;
	lua_Integer n;

	luaL_checklstring(L, 1, &l);
	n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n > 0 && l + lsep == 0)
		sb_charge(L, (uint64_t)n / 8 + 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* Skip one single-character class at p (not a quantifier); NULL if bad. */
static const char *
class_end(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '%')
		return p + 2 <= end ? p + 2 : NULL;
	if (*p == '[') {
		p++;
		if (p < end && *p == '^')
			p++;
		do {	/* the first ']' is literal */
			if (p >= end)
				return NULL;
			if (*p == '%' && p + 1 < end)
				p++;
			p++;
		} while (p < end && *p != ']');
		return p < end ? p + 1 : NULL;
	}
	return p + 1;
}

/*
 * An upper bound of the steps of Lua's backtracking matcher for pattern
 * pat on a subject of n bytes, all start positions included. From one
 * start position, each of the k items that can backtrack (x*, x+, x-
 * followed by more pattern, %b, back references %1-%9) tries at most
 * n + 1 lengths and their lengths sum to at most n: at most C(n + k, k)
 * combinations, doubled by every x?. A repetition that ends the pattern
 * never backtracks (its first try succeeds). Unanchored patterns try
 * n + 1 starts. The bound is charged, never the actual work, so the cost
 * is the same on every host; malformed patterns are charged linearly and
 * left to Lua's own error.
 */
static double
pattern_cost(const char *pat, size_t plen, size_t n)
{
	const char *p = pat, *end = pat + plen, *q, *r;
	double combos = 1, starts = (double)n + 1;
	unsigned k = 0, i;

	if (p < end && *p == '^') {
		starts = 1;
		p++;
	}
	while (p < end) {
		if (*p == '(' || *p == ')') {
			p++;
			continue;
		}
		if (*p == '$' && p + 1 == end)
			break;
		if (*p == '%' && p + 1 < end && p[1] == 'b') {
			if (end - p < 4)
				break;
			k++;
			p += 4;
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] == 'f') {
			if ((q = class_end(p + 2, end)) == NULL)
				break;
			p = q;
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
			k++;
			p += 2;
			continue;
		}
		if ((q = class_end(p, end)) == NULL)
			break;
		if (q < end && (*q == '*' || *q == '+' || *q == '-')) {
			for (r = q + 1; r < end && *r == ')'; r++)
				;
			if (r < end)
				k++;	/* more pattern follows: backtracks */
			p = q + 1;
		} else if (q < end && *q == '?') {
			combos *= 2;
			p = q + 1;
		} else
			p = q;
	}
	for (i = 1; i <= k && combos < SB_COST_MAX; i++)
		combos = combos * ((double)n + i) / i;
	return starts * combos * ((double)plen / 8 + 1);
}

static int
has_specials(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr("^$*+?.([%-", p[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Charge a pattern function: a linear scan of the subject, plus the
 * matcher's bound. A plain search (find's plain flag, or a pattern without
 * specials: lmemfind) and the matcher on a literal still compare the
 * pattern at every start: (n + 1) starts of up to plen bytes each.
 */
static double
match_cost(lua_State *L, int plain_arg)
{
	size_t n, plen;
	const char *pat;
	double cost;

	luaL_checklstring(L, 1, &n);
	pat = luaL_checklstring(L, 2, &plen);
	cost = (double)(n + plen) / SB_SCAN_UNIT + 1;
	if ((plain_arg && lua_toboolean(L, 4)) || !has_specials(pat, plen))
		cost += ((double)n + 1) * ((double)plen + 1) / SB_SCAN_UNIT;
	else
		cost += pattern_cost(pat, plen, n) / SB_SCAN_UNIT;
	return cost;
}

static void
charge_match(lua_State *L, int plain_arg)
{
	sb_charge(L, to_units(match_cost(L, plain_arg)));
}

/*
 * Call the real library function (upvalue 1) with this function's
 * arguments. Called from C, its own errors would lose the contract's
 * position: they get it back (callbacks into Lua code, which carry their
 * own, are only possible for gsub with a function or table replacement,
 * and gmatch's iterator, which the contract calls directly).
 */
static int
call_real_at(lua_State *L, int reposition)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
		sb_rethrow_limits(L, LUA_ERRRUN);
		if (reposition && lua_type(L, -1) == LUA_TSTRING) {
			luaL_where(L, 1);
			lua_insert(L, -2);
			lua_concat(L, 2);
		}
		return lua_error(L);
	}
	return lua_gettop(L);
}

static int
call_real(lua_State *L)
{
	return call_real_at(L, 1);
}

static int
sb_find(lua_State *L)
{
	charge_match(L, 1);
	return call_real(L);
}

static int
sb_match(lua_State *L)
{
	charge_match(L, 0);
	return call_real(L);
}

/*
 * gsub with a string replacement walks the replacement at every match:
 * at most n + 1 matches (or max_n) of lrepl bytes each, charged up front
 * like the matcher.
 */
static int
sb_gsub(lua_State *L)
{
	int t = lua_type(L, 3);
	double cost = match_cost(L, 0), matches;
	size_t n, lrepl;

	if (t == LUA_TSTRING || t == LUA_TNUMBER) {
		luaL_checklstring(L, 1, &n);
		luaL_checklstring(L, 3, &lrepl);
		matches = (double)n + 1;
		if (lua_type(L, 4) == LUA_TNUMBER && lua_isinteger(L, 4) &&
		    lua_tointeger(L, 4) >= 0 &&
		    (double)lua_tointeger(L, 4) < matches)
			matches = (double)lua_tointeger(L, 4);
		cost += matches * (double)lrepl / 64;
	}
	sb_charge(L, to_units(cost));
	return call_real_at(L, t == LUA_TSTRING || t == LUA_TNUMBER);
}

/*
 * Functions whose work is linear in their string arguments without
 * allocating in proportion (utf8.len, tonumber, string.packsize, ...):
 * one instruction per 16 bytes of them, so repeated scans of a large
 * string are charged.
 */
static int
sb_scan(lua_State *L)
{
	int i, n = lua_gettop(L);
	uint64_t bytes = 0;

	for (i = 1; i <= n; i++)
		if (lua_type(L, i) == LUA_TSTRING)
			bytes += lua_rawlen(L, i);
	sb_charge(L, bytes / SB_SCAN_UNIT + 1);
	return call_real(L);
}

/*
 * Wrap t[name] (t at tidx) with f, which gets the original as upvalue 1,
 * and name the original in the private package.loaded["_G"] (see
 * open_env()) that luaL_argerror() searches, so that its argument errors
 * still say "bad argument #1 to 'name'".
 */
void
sb_wrap(lua_State *L, int tidx, const char *name, lua_CFunction f)
{
	int top;

	tidx = lua_absindex(L, tidx);
	lua_getfield(L, tidx, name);
	top = lua_gettop(L);
	if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE) ==
	    LUA_TTABLE && lua_getfield(L, -1, LUA_GNAME) == LUA_TTABLE) {
		lua_pushvalue(L, top);
		lua_setfield(L, -2, name);
	}
	lua_settop(L, top);
	lua_pushcclosure(L, f, 1);
	lua_setfield(L, tidx, name);
}

/* Install into the global table at index 1. */
void
sb_open_meter(lua_State *L)
{
	static const char *const str_scan[] = { "byte", "pack", "packsize",
	    "unpack", NULL };
	static const char *const utf8_scan[] = { "len", "offset", "codepoint",
	    NULL };
	int i;

	sb_wrap(L, 1, "tonumber", sb_scan);
	lua_getfield(L, 1, "table");
	lua_pushcfunction(L, sb_tinsert);
	lua_setfield(L, -2, "insert");
	lua_pushcfunction(L, sb_tremove);
	lua_setfield(L, -2, "remove");
	sb_wrap(L, lua_gettop(L), "move", sb_tmove);
	lua_pop(L, 1);
	lua_getfield(L, 1, "string");
	sb_wrap(L, lua_gettop(L), "rep", sb_rep);
	sb_wrap(L, lua_gettop(L), "find", sb_find);
	sb_wrap(L, lua_gettop(L), "match", sb_match);
	sb_wrap(L, lua_gettop(L), "gmatch", sb_match);
	sb_wrap(L, lua_gettop(L), "gsub", sb_gsub);
	for (i = 0; str_scan[i] != NULL; i++)
		sb_wrap(L, lua_gettop(L), str_scan[i], sb_scan);
	lua_pop(L, 1);
	lua_getfield(L, 1, "utf8");
	for (i = 0; utf8_scan[i] != NULL; i++)
		sb_wrap(L, lua_gettop(L), utf8_scan[i], sb_scan);
	lua_pop(L, 1);
}
