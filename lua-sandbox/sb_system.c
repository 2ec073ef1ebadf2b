/*
 * sb_system.c — the System global (minus System.files, see sb_files.c):
 * caller, contract, time, random, log (and print), json, oracle and
 * contracts (which the engine answers: ctx->hostapi). Every table the
 * contract sees is a read-only proxy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "canon.h"
#include "fastjson.h"
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
	struct jbuf own, *text = ctx->enc;
	struct sb_box *box;
	size_t len, host;
	int r;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	/* (a box as before, though the text needs none: the Lua heap, its
	 * counters and collections stay what they were for every ledger) */
	box = sb_box_json(L);
	host = ctx->host;
	if (text == NULL) {	/* no engine's buffer: the box owns one */
		jbuf_init(&own);
		text = &own;
	}
	r = sb_to_canon(L, 1, text, err, sizeof(err));
	if (text == &own)
		box->str = own.s;	/* freed with the box if Lua raises */
	if (r != 0) {
		if (ctx->limit_err[0] != '\0')
			return sb_limit(L, "%s", ctx->limit_err);
		return luaL_error(L, "System.json.encode: %s", err);
	}
	len = text->len;
	sb_charge(L, len / SB_ALLOC_UNIT + 10);
	lua_pushlstring(L, len > 0 ? text->s : "", len);
	free(box->str);
	box->str = NULL;
	ctx->host = host;	/* the walk's charges and its text are freed */
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
	box->json = fastjson_loadb(s, len, JSON_DECODE_ANY |
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

/* ---- System.oracle and System.contracts: the engine answers ---- */

#define SB_ORACLE_COST	1000	/* instructions per oracle request */
#define SB_DEPLOY_COST	1000	/* per System.contracts request */

static const struct sb_host *
host_of(lua_State *L, const char *fn)
{
	struct sb_ctx *ctx = sb_getctx(L);

	sb_check_open(L, fn);
	if (ctx->hostapi == NULL)
		luaL_error(L, "%s: not available here", fn);
	return ctx->hostapi;
}

/* The outcome of a host function: 0 goes on, else raise. */
static void
host_outcome(lua_State *L, int r, const char *msg)
{
	struct sb_ctx *ctx = sb_getctx(L);

	if (r == -1)
		sb_limit(L, "%s", ctx->limit_err[0] ? ctx->limit_err :
		    "internal error");
	if (r != 0)
		luaL_error(L, "%s", msg);
}

/* System.oracle(name, ...): the answer and its signer's key (or nil). */
static int
sys_oracle(lua_State *L)
{
	const struct sb_host *h = host_of(L, "System.oracle");
	struct sb_ctx *ctx = sb_getctx(L);
	const char *name = luaL_checkstring(L, 1), *key = NULL;
	char err[VMS_ERRLEN], msg[VMS_ERRLEN];
	const json_t *answer = NULL;
	struct sb_box *box;
	size_t reclen = 0;
	int i, n = lua_gettop(L), r;
	json_t *x;

	sb_charge(L, SB_ORACLE_COST);
	box = sb_box_json(L);
	box->json = json_array();
	for (i = 2; i <= n; i++) {
		if ((x = sb_to_json(L, i, 0, err, sizeof(err))) == NULL) {
			if (ctx->limit_err[0] != '\0')
				return sb_limit(L, "%s", ctx->limit_err);
			return luaL_error(L, "System.oracle: argument %d: %s",
			    i - 1, err);
		}
		json_array_append_new(box->json, x);
	}
	r = h->oracle(ctx, name, box->json, &answer, &key, &reclen, msg,
	    sizeof(msg));
	host_outcome(L, r, msg);
	/* the record stays in host memory until the call ends */
	if (sb_json_charge(L, reclen, err, sizeof(err)) == -1)
		return sb_limit(L, "%s", ctx->limit_err);
	sb_gc_point(L);
	sb_push_json(L, answer, 0);
	if (key != NULL)
		lua_pushstring(L, key);
	else
		lua_pushnil(L);
	return 2;
}

/* System.contracts.deploy{name=, code=, limits=, args=}: the full name. */
static int
sys_deploy(lua_State *L)
{
	const struct sb_host *h = host_of(L, "System.contracts.deploy");
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN], msg[VMS_ERRLEN];
	const char *name = NULL;
	struct sb_box *box;
	int r;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	sb_charge(L, SB_DEPLOY_COST);
	box = sb_box_json(L);
	if ((box->json = sb_to_json(L, 1, 0, err, sizeof(err))) == NULL) {
		if (ctx->limit_err[0] != '\0')
			return sb_limit(L, "%s", ctx->limit_err);
		return luaL_error(L, "System.contracts.deploy: %s", err);
	}
	r = h->deploy(ctx, box->json, &name, msg, sizeof(msg));
	host_outcome(L, r, msg);
	lua_pushstring(L, name);
	return 1;
}

static int
sys_stop(lua_State *L)
{
	const struct sb_host *h = host_of(L, "System.contracts.stop");
	const char *name = luaL_checkstring(L, 1);
	char msg[VMS_ERRLEN];

	sb_charge(L, SB_DEPLOY_COST);
	host_outcome(L, h->stop(sb_getctx(L), name, msg, sizeof(msg)), msg);
	return 0;
}

/* System.contracts.list(): {{name=, index=, stopped=}, ...} */
static int
sys_list(lua_State *L)
{
	const struct sb_host *h = host_of(L, "System.contracts.list");
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN];
	struct sb_box *box;

	box = sb_box_json(L);
	box->json = h->list(ctx);
	sb_charge(L, 10 + 100 * json_array_size(box->json));
	if (sb_json_charge(L, 64 * json_array_size(box->json), err,
	    sizeof(err)) == -1)
		return sb_limit(L, "%s", ctx->limit_err);
	sb_push_json(L, box->json, 0);
	return 1;
}

/* Install System (and print) into the global table at index 1. */
void
sb_open_system(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	lua_createtable(L, 0, 10);			/* System */

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
	lua_pushcfunction(L, sys_oracle);
	lua_setfield(L, -2, "oracle");

	lua_createtable(L, 0, 3);
	lua_pushcfunction(L, sys_deploy);
	lua_setfield(L, -2, "deploy");
	lua_pushcfunction(L, sys_stop);
	lua_setfield(L, -2, "stop");
	lua_pushcfunction(L, sys_list);
	lua_setfield(L, -2, "list");
	sb_readonly(L);
	lua_setfield(L, -2, "contracts");
	sb_readonly(L);
	lua_setfield(L, 1, "System");

	lua_pushcfunction(L, sys_log);
	lua_setfield(L, 1, "print");
}
