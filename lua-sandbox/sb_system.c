/*
 * sb_system.c — the System global (minus System.files, see sb_files.c):
 * caller, contract, time, random, log (and print), json. Every table the
 * contract sees is a read-only proxy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "canon.h"
#include "sandbox.h"
#include "util.h"

#define SB_LOG_MAX	4096	/* bytes per line */
#define SB_LOG_CALL	65536	/* bytes per call */
#define SB_LOG_CALL_STR	"65536"

static int
ro_newindex(lua_State *L)
{
	return luaL_error(L, "System is read-only");
}

void
sb_readonly(lua_State *L)
{
	lua_newtable(L);			/* proxy */
	lua_createtable(L, 0, 3);		/* its metatable */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_replace(L, -2);
}

static int
sys_time(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)sb_getctx(L)->time_ms);
	return 1;
}

static int
sys_random(lua_State *L)
{
	uint64_t r = sb_rng_next(sb_getctx(L));

	lua_pushnumber(L, (lua_Number)(r >> 11) * 0x1.0p-53);
	return 1;
}

static int
sys_log(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	luaL_Buffer b;
	int i, n = lua_gettop(L);
	size_t len;
	const char *s;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		s = sb_tostring(L, i, &len);
		luaL_addlstring(&b, s, len > SB_LOG_MAX ? SB_LOG_MAX : len);
		lua_pop(L, 1);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &len);
	if (len > SB_LOG_MAX)
		len = SB_LOG_MAX;
	sb_charge(L, len / SB_ALLOC_UNIT + 10);
	/* the host's log is not the contract's: a bounded share per call */
	if (ctx->logbytes >= SB_LOG_CALL) {
		return 0;
	} else if (ctx->logbytes + len > SB_LOG_CALL) {
		ctx->logbytes = SB_LOG_CALL;
		s = "(log limit reached: " SB_LOG_CALL_STR " bytes per call; "
		    "further lines of this call are dropped)";
		len = strlen(s);
	} else
		ctx->logbytes += len;
	{
		char *msg = xstrndup(s, len);

		/* the engine's owner says where (engine_set_log); none
		 * (an auditor replaying): dropped */
		if (ctx->log_fn != NULL)
			ctx->log_fn(ctx->log_arg, msg);
		free(msg);
	}
	return 0;
}

static int
json_encode(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN];
	struct sb_box *box;
	size_t len, host;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	box = sb_box_json(L);
	host = ctx->host;
	if ((box->json = sb_to_json(L, 1, 0, err, sizeof(err))) == NULL) {
		if (ctx->limit_err[0] != '\0')
			return sb_limit(L, "%s", ctx->limit_err);
		return luaL_error(L, "System.json.encode: %s", err);
	}
	if ((box->str = json_canonical(box->json, &len)) == NULL)
		return luaL_error(L, "System.json.encode: cannot encode");
	sb_charge(L, len / SB_ALLOC_UNIT + 10);
	json_decref(box->json);
	box->json = NULL;
	lua_pushlstring(L, box->str, len);
	free(box->str);
	box->str = NULL;
	ctx->host = host;	/* the tree and its text are freed */
	return 1;
}

/*
 * An upper bound of the JSON values a text can hold (every value but the
 * first follows a '[', '{', ',' or ':'), so that what jansson would build
 * in host memory is charged before it is built.
 */
static size_t
json_max_nodes(const char *s, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		if (s[i] == '[' || s[i] == '{' || s[i] == ',' || s[i] == ':')
			n++;
	return n;
}

static int
json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_error_t jerr;
	struct sb_box *box;

	struct sb_ctx *ctx = sb_getctx(L);
	size_t nodes, est, host = ctx->host;
	char err[VMS_ERRLEN];

	sb_charge(L, len / SB_ALLOC_UNIT + 10);
	nodes = json_max_nodes(s, len) - 1;
	est = nodes > SIZE_MAX / 4 / SB_JSON_NODE ? SIZE_MAX / 4 :
	    nodes * SB_JSON_NODE;
	if (sb_json_charge(L, len + est, err, sizeof(err)) == -1)
		return sb_limit(L, "%s", ctx->limit_err);
	box = sb_box_json(L);
	box->json = json_loadb(s, len, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr);
	if (box->json == NULL)
		return luaL_error(L, "System.json.decode: %s at position %d",
		    jerr.text, jerr.position);
	sb_push_json(L, box->json, 0);
	json_decref(box->json);
	box->json = NULL;
	ctx->host = host;	/* the tree is freed; its values are Lua's */
	return 1;
}

/* Install System (and print) into the global table at index 1. */
void
sb_open_system(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	lua_createtable(L, 0, 8);			/* System */

	lua_createtable(L, 0, 2);
	if (ctx->caller_id != NULL)
		lua_pushstring(L, ctx->caller_id);
	else
		lua_pushnil(L);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, ctx->caller_auth ? ctx->caller_auth :
	    "anonymous");
	lua_setfield(L, -2, "auth");
	sb_readonly(L);
	lua_setfield(L, -2, "caller");

	lua_createtable(L, 0, 1);
	lua_pushstring(L, ctx->contract);
	lua_setfield(L, -2, "name");
	sb_readonly(L);
	lua_setfield(L, -2, "contract");

	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, json_encode);
	lua_setfield(L, -2, "encode");
	lua_pushcfunction(L, json_decode);
	lua_setfield(L, -2, "decode");
	sb_readonly(L);
	lua_setfield(L, -2, "json");

	lua_pushcfunction(L, sys_time);
	lua_setfield(L, -2, "time");
	lua_pushcfunction(L, sys_random);
	lua_setfield(L, -2, "random");
	lua_pushcfunction(L, sys_log);
	lua_setfield(L, -2, "log");
	sb_open_files(L);
	lua_setfield(L, -2, "files");
	sb_readonly(L);
	lua_setfield(L, 1, "System");

	lua_pushcfunction(L, sys_log);
	lua_setfield(L, 1, "print");
}
