/*
 * sb_protect.c — the functions through which Lua code can catch errors or
 * switch stacks, rewritten so that none of them can swallow a limit:
 * pcall, xpcall (its handler is metered too), coroutine.create/resume/
 * wrap/close (every thread gets the hook, and an exhausted limit is
 * re-raised in the resumer), and a rawset that keeps globals strict.
 */
#include <string.h>

#include <lauxlib.h>

#include "sandbox.h"

static int
co_create(lua_State *L)
{
	lua_State *co;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	/*
	 * A thread starts with a fresh count-hook counter and its unspent
	 * remainder (< hookcount instructions) is never reported: charge
	 * that upper bound up front, so coroutines cannot run uncounted.
	 */
	sb_charge(L, sb_getctx(L)->hookcount);
	co = lua_newthread(L);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	sb_sethook(co, sb_getctx(L));
	return 1;
}

/* upvalues: 1 the coroutine, 2 our coroutine.resume */
static int
co_wrap_call(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(2));
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_rotate(L, 1, 2);
	lua_call(L, n + 1, LUA_MULTRET);
	if (!lua_toboolean(L, 1)) {
		lua_settop(L, 2);
		return lua_error(L);
	}
	return lua_gettop(L) - 1;
}

/* upvalue 1: our coroutine.resume */
static int
co_wrap(lua_State *L)
{
	co_create(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, co_wrap_call, 2);
	return 1;
}

/*
 * Is the error on top a memory error? Raised (status), or carried as
 * Lua's message by coroutine.resume. Lua itself turns error("not enough
 * memory") into LUA_ERRMEM, so either is only believed when the allocator
 * did refuse and nothing was allocated since: a contract's own error with
 * that text stays an ordinary error.
 */
static int
is_memerr(lua_State *L, int status)
{
	if (!sb_getctx(L)->memfail)
		return 0;
	return status == LUA_ERRMEM || (lua_type(L, -1) == LUA_TSTRING &&
	    strcmp(lua_tostring(L, -1), "not enough memory") == 0);
}

static int
rethrow_limits(lua_State *L, int status)
{
	struct sb_ctx *ctx = sb_getctx(L);

	if (ctx->limit_err[0] == '\0' && is_memerr(L, status))
		return sb_limit(L, "limit exceeded: memory (%llu)",
		    (unsigned long long)ctx->limits->memory);
	if (ctx->limit_err[0] != '\0')
		return sb_limit(L, "%s", ctx->limit_err);
	return 0;
}

static int
co_resume(lua_State *L)
{
	int n = lua_gettop(L);

	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	if (lua_toboolean(L, 1) == 0 && lua_gettop(L) >= 2) {
		lua_pushvalue(L, 2);
		rethrow_limits(L, LUA_ERRRUN);
		lua_pop(L, 1);
	}
	return lua_gettop(L);
}

/*
 * A coroutine killed by a limit (an error raised by the hook) keeps Lua's
 * hooks disabled; closing it would run its pending __close handlers (e.g.
 * a generic for's closing value) outside the budget. Once a limit is hit
 * nothing more runs. upvalue 1: the real coroutine.close.
 */
static int
co_close(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	if (ctx->limit_err[0] != '\0')
		return sb_limit(L, "%s", ctx->limit_err);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
		rethrow_limits(L, LUA_ERRRUN);
		if (lua_type(L, -1) == LUA_TSTRING) {
			luaL_where(L, 1);	/* where the contract called us */
			lua_insert(L, -2);
			lua_concat(L, 2);
		}
		return lua_error(L);
	}
	return lua_gettop(L);
}

/* Strict globals also hold for rawset. upvalue 1: the real rawset. */
static int
sb_rawset(lua_State *L)
{
	lua_pushglobaltable(L);
	if (lua_rawequal(L, 1, -1))
		return luaL_error(L, "rawset: cannot create or change globals "
		    "(contracts keep state in System.files, not in globals)");
	lua_pop(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

int
sb_rethrow_limits(lua_State *L, int status)
{
	return rethrow_limits(L, status);
}

static int
finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	if (status != LUA_OK && status != LUA_YIELD) {
		rethrow_limits(L, status);
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int
sb_pcall(lua_State *L)
{
	int status;

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0,
	    finish_pcall);
	return finish_pcall(L, status, 0);
}

/*
 * xpcall's message handler, wrapped: an error raised by the hook leaves
 * hooks disabled while the handler runs, so the contract's handler must
 * never run once a limit was hit (it could loop forever unmetered).
 */
static int
xpcall_handler(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	if (ctx->limit_err[0] != '\0') {
		lua_pushstring(L, ctx->limit_err);
		return 1;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

static int
sb_xpcall(lua_State *L)
{
	int status, n = lua_gettop(L);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, xpcall_handler, 1);
	lua_replace(L, 2);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
	return finish_pcall(L, status, 2);
}

/*
 * Install the protected-call and coroutine functions over the base
 * library's in the global table (at index 1).
 */
void
sb_open_protect(lua_State *L)
{
	lua_pushcfunction(L, sb_pcall);
	lua_setfield(L, 1, "pcall");
	lua_pushcfunction(L, sb_xpcall);
	lua_setfield(L, 1, "xpcall");
	lua_getglobal(L, "coroutine");
	lua_pushcfunction(L, co_create);
	lua_setfield(L, -2, "create");
	lua_getfield(L, -1, "resume");
	lua_pushcclosure(L, co_resume, 1);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "resume");
	lua_pushcclosure(L, co_wrap, 1);
	lua_setfield(L, -2, "wrap");
	lua_getfield(L, -1, "close");
	lua_pushcclosure(L, co_close, 1);
	lua_setfield(L, -2, "close");
	lua_pop(L, 1);
	lua_getfield(L, 1, "rawset");
	lua_pushcclosure(L, sb_rawset, 1);
	lua_setfield(L, 1, "rawset");
}
