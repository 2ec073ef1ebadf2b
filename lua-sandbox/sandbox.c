/*
 * sandbox.c — Lua state creation for one call: the capped allocator, the
 * instruction/depth hook, the deterministic garbage-collection points,
 * the allow-listed environment with a strict _G, loading our cached
 * bytecode, running the method and turning every outcome into a
 * deterministic result or error message. Compilation is in sb_compile.c,
 * pcall/xpcall/coroutines in sb_protect.c, the Lua build's hooks in
 * sb_luaconf.c.
 */
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "sandbox.h"
#include "util.h"

static pthread_once_t	 c_locale_once = PTHREAD_ONCE_INIT;
static locale_t		 c_locale;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * Lua formats and parses numbers (snprintf, strtod, the decimal point of
 * localeconv) in the thread's locale: compiling and running always happen
 * in "C", whatever locale the host program chose, so "0.5" never becomes
 * "0,5". (String order is bytewise whatever the locale: vms_lua_strcoll.)
 * Returns the locale to restore, or 0 if "C" is unavailable.
 */
locale_t
sb_enter_c_locale(void)
{
	if (pthread_once(&c_locale_once, c_locale_init) != 0 ||
	    c_locale == (locale_t)0)
		return (locale_t)0;
	return uselocale(c_locale);
}

void
sb_leave_locale(locale_t old)
{
	if (old != (locale_t)0)
		uselocale(old);
}

struct sb_ctx *
sb_getctx(lua_State *L)
{
	return *(struct sb_ctx **)lua_getextraspace(L);
}

void *
sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sb_ctx *ctx = ud;
	size_t old = ptr ? osize : 0;
	void *p;

	if (nsize == 0) {
		sb_arena_realloc(ctx->arena, ptr, osize, 0);
		ctx->mem -= old;
		return NULL;
	}
	/*
	 * A refusal is final: it records the memory limit, so that the
	 * emergency collection Lua runs before retrying (at a point that
	 * depends on the heap, not on the program) never lets the call go
	 * on with what it collected (e.g. entries of a weak table).
	 */
	if (ctx->memdead && nsize > old)
		return NULL;
	if ((nsize > old && ctx->mem + ctx->host + (nsize - old) >
	    ctx->limits->memory) ||
	    (p = sb_arena_realloc(ctx->arena, ptr, old, nsize)) == NULL) {
		if (nsize > old) {
			ctx->memfail = ctx->memdead = 1;
			if (ctx->limit_err[0] == '\0')
				snprintf(ctx->limit_err, sizeof(ctx->limit_err),
				    "limit exceeded: memory (%llu)",
				    (unsigned long long)ctx->limits->memory);
		}
		return NULL;
	}
	if (nsize > old) {
		ctx->cost += (nsize - old) / SB_ALLOC_UNIT;
		ctx->allocd += nsize - old;
		ctx->memfail = 0;
	}
	ctx->mem = ctx->mem - old + nsize;
	if (ctx->mem > ctx->peak)
		ctx->peak = ctx->mem;
	return p;
}

/* Record the first limit error and raise it; it stays the outcome. */
int
sb_limit(lua_State *L, const char *fmt, ...)
{
	struct sb_ctx *ctx = sb_getctx(L);
	va_list ap;

	if (ctx->limit_err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ctx->limit_err, sizeof(ctx->limit_err), fmt, ap);
		va_end(ap);
	}
	lua_pushstring(L, ctx->limit_err);
	return lua_error(L);
}

static const char mts_key = 'm';	/* registry: tables used as metatables */

/* Remember a table (at idx) that was made a metatable. */
void
sb_register_mt(lua_State *L, int idx)
{
	struct sb_ctx *ctx = sb_getctx(L);

	idx = lua_absindex(L, idx);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &mts_key);
	lua_pushvalue(L, idx);
	if (lua_rawget(L, -2) == LUA_TNIL) {
		lua_pushvalue(L, idx);
		lua_pushboolean(L, 1);
		lua_rawset(L, -4);
		ctx->nmts++;
	}
	lua_pop(L, 2);
}

/*
 * The garbage collector runs only here, at points fixed by the program
 * (count hooks and charged library calls), never on its own: the state is
 * created with the collector stopped. Before each collection every table
 * ever made a metatable is checked for __mode, which setmetatable cannot
 * see when it is added afterwards: no weak table is ever collected. A
 * collection happens once the call allocated as much as the heap held
 * after the previous one (at least SB_GC_MIN), so its work is bounded by
 * the allocations already charged; garbage not yet collected counts
 * against the memory cap.
 */
void
sb_gc_point(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	if (ctx->allocd - ctx->gc_mark < ctx->gc_next)
		return;
	sb_charge_only(ctx, ctx->nmts);
	if (!lua_checkstack(L, 4))
		sb_limit(L, "limit exceeded: memory (%llu)",
		    (unsigned long long)ctx->limits->memory);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &mts_key);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		lua_pop(L, 1);
		lua_pushliteral(L, "__mode");
		if (lua_rawget(L, -2) != LUA_TNIL)
			sb_limit(L, "__mode is not allowed (weak tables depend "
			    "on the garbage collector)");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_gc(L, LUA_GCCOLLECT);
	ctx->gc_mark = ctx->allocd;
	ctx->gc_next = ctx->mem > SB_GC_MIN ? ctx->mem : SB_GC_MIN;
}

static void
sb_hook(lua_State *L, lua_Debug *ar)
{
	struct sb_ctx *ctx = sb_getctx(L);
	lua_Debug tmp;

	if (ctx->limit_err[0] != '\0') {
		lua_pushstring(L, ctx->limit_err);
		lua_error(L);
	}
	if (ar->event == LUA_HOOKCOUNT) {
		ctx->cost += ctx->hookcount;
		if (ctx->cost >= ctx->limits->instructions) {
			lua_sethook(L, sb_hook, LUA_MASKCOUNT | LUA_MASKCALL, 1);
			sb_limit(L, "limit exceeded: instructions (%llu)",
			    (unsigned long long)ctx->limits->instructions);
		}
		sb_gc_point(L);
	} else if (ar->event == LUA_HOOKCALL) {
		if (lua_getstack(L, (int)ctx->limits->depth, &tmp))
			sb_limit(L, "limit exceeded: depth (%llu)",
			    (unsigned long long)ctx->limits->depth);
	}
}

void
sb_charge_only(struct sb_ctx *ctx, uint64_t units)
{
	ctx->cost = units > UINT64_MAX - ctx->cost ? UINT64_MAX :
	    ctx->cost + units;
}

/*
 * An upper bound of sorting n keys of key_bytes bytes in all (merge sort:
 * each key takes part in at most ceil(log2 n) comparisons per level, each
 * reading at most its own bytes), at SB_CMP_UNIT bytes per instruction,
 * plus a few instructions per key. The same whatever qsort does.
 */
uint64_t
sb_sort_cost(uint64_t n, uint64_t key_bytes)
{
	uint64_t lg = 0, m;

	for (m = 1; m < n; m <<= 1)
		lg++;
	if (key_bytes != 0 && lg > UINT64_MAX / key_bytes)
		return UINT64_MAX;
	return n * 4 + key_bytes * lg / SB_CMP_UNIT;
}

void
sb_charge(lua_State *L, uint64_t units)
{
	struct sb_ctx *ctx = sb_getctx(L);

	sb_charge_only(ctx, units);
	if (ctx->limit_err[0] != '\0' ||
	    ctx->cost >= ctx->limits->instructions)
		sb_limit(L, "limit exceeded: instructions (%llu)",
		    (unsigned long long)ctx->limits->instructions);
	sb_gc_point(L);
}

void
sb_check_open(lua_State *L, const char *fn)
{
	if (sb_getctx(L)->closed)
		luaL_error(L, "%s: the call has already returned", fn);
}

/* Sets the hook on a thread (the main one and every coroutine). */
void
sb_sethook(lua_State *L, struct sb_ctx *ctx)
{
	lua_sethook(L, sb_hook, LUA_MASKCOUNT | LUA_MASKCALL,
	    ctx->limit_err[0] ? 1 : (int)ctx->hookcount);
}

static int
strict_index(lua_State *L)
{
	return luaL_error(L, "undefined global '%s'",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

static int
strict_newindex(lua_State *L)
{
	return luaL_error(L, "assignment to undefined global '%s' (contracts "
	    "keep state in System.files, not in globals)",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* Remove t[name] where t is at idx. */
static void
drop(lua_State *L, int idx, const char *name)
{
	lua_pushnil(L);
	lua_setfield(L, idx, name);
}

static void
open_env(lua_State *L)
{
	static const char *const base_drop[] = { "dofile", "loadfile",
	    "warn", NULL };
	int i;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
	lua_settop(L, 0);
	/*
	 * package.loaded would hand out the libraries' originals: it is
	 * replaced by a private one that only luaL_argerror() reads, to name
	 * the originals sb_wrap() hides behind metering wrappers.
	 */
	lua_createtable(L, 0, 1);
	lua_createtable(L, 0, 32);
	lua_setfield(L, -2, LUA_GNAME);
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &mts_key);
	lua_pushglobaltable(L);
	for (i = 0; base_drop[i] != NULL; i++)
		drop(L, 1, base_drop[i]);
	lua_getglobal(L, "string");
	drop(L, 2, "dump");
	lua_pop(L, 1);
	sb_open_protect(L);
	lua_settop(L, 1);
	sb_open_determ(L);
	sb_open_meter(L);
	sb_open_system(L);
	lua_settop(L, 0);
}

static void
set_strict(lua_State *L)
{
	lua_pushglobaltable(L);
	lua_createtable(L, 0, 3);
	lua_pushcfunction(L, strict_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, strict_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
}

static int
valid_method_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i <= 64;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/* Module table at idx: list public methods into ctx->methods, sorted. */
static void
collect_methods(lua_State *L, struct sb_ctx *ctx, int idx)
{
	const char **names;
	size_t n = 0, cap = 0, i;

	names = NULL;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    lua_type(L, -1) == LUA_TFUNCTION) {
			const char *k = lua_tostring(L, -2);

			if (valid_method_name(k) && strcmp(k, "init") != 0) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					names = xrealloc(names,
					    cap * sizeof(*names));
				}
				names[n++] = k;
			}
		}
		lua_pop(L, 1);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	ctx->methods = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(ctx->methods, json_string(names[i]));
	free(names);
}

struct run_args {
	const char	*method;
	const json_t	*args;
	json_t		*result;
	/* building a warm template: stop at the pristine point */
	int		(*capture)(lua_State *, void *);
	void		*capture_arg;
};

/*
 * The pristine point: the environment is built and the contract's chunk
 * loaded (on the stack at 1), nothing of the contract ran. Everything
 * before it is the same for every call of a contract but for the caller
 * and the seeds (see sb_warm.c).
 */
static void
construct(lua_State *L, struct sb_ctx *ctx)
{
	int r;

	lua_settop(L, 0);
	open_env(L);
	set_strict(L);
	sb_sethook(L, ctx);
	r = luaL_loadbufferx(L, ctx->bc, ctx->bclen, ctx->contract, "b");
	if (r != LUA_OK)
		lua_error(L);
}

/* From the pristine point: run the chunk, then init or the method. */
static int
run_module(lua_State *L, struct run_args *ra, struct sb_ctx *ctx)
{
	char err[VMS_ERRLEN];
	size_t i, nargs;
	int top;

	lua_call(L, 0, 1);
	if (!lua_istable(L, 1))
		return luaL_error(L, "the contract's chunk must return a "
		    "table (got %s)", luaL_typename(L, 1));
	if (ra->method == NULL) {
		collect_methods(L, ctx, 1);
		lua_getfield(L, 1, "init");
		if (lua_isnil(L, -1))
			return 0;
		if (!lua_isfunction(L, -1))
			return luaL_error(L, "init is not a function");
		nargs = ra->args ? json_array_size(ra->args) : 0;
		luaL_checkstack(L, (int)nargs + 8, "too many arguments");
		for (i = 0; i < nargs; i++)
			sb_push_json(L, json_array_get(ra->args, i), 0);
		lua_call(L, (int)nargs, 0);
		ctx->closed = 1;
		return 0;
	}
	lua_getfield(L, 1, ra->method);
	if (!lua_isfunction(L, -1))
		return luaL_error(L, "method %s is not a function",
		    ra->method);
	nargs = ra->args ? json_array_size(ra->args) : 0;
	luaL_checkstack(L, (int)nargs + 8, "too many arguments");
	for (i = 0; i < nargs; i++)
		sb_push_json(L, json_array_get(ra->args, i), 0);
	top = lua_gettop(L) - (int)nargs - 1;
	lua_call(L, (int)nargs, LUA_MULTRET);
	ctx->closed = 1;
	if (lua_gettop(L) > top + 1)
		lua_settop(L, top + 1);	/* the first result only */
	if (lua_gettop(L) == top) {
		ra->result = json_null();
		return 0;
	}
	ra->result = sb_to_json(L, top + 1, 0, err, sizeof(err));
	if (ra->result == NULL)
		return luaL_error(L, "result: %s", err);
	return 0;
}

/* A fresh state: build the environment, then run (or capture). */
static int
sb_main(lua_State *L)
{
	struct run_args *ra = lua_touserdata(L, 1);
	struct sb_ctx *ctx = sb_getctx(L);

	construct(L, ctx);
	/* big blocks made from here on are the call's own */
	if (sb_arena_pin(ctx->arena, 0) == -1 && ra->capture != NULL)
		return luaL_error(L, "the built state does not fit the "
		    "pinned range");
	if (ra->capture != NULL)
		return ra->capture(L, ra->capture_arg);
	return run_module(L, ra, ctx);
}

/* A state restored at the pristine point (sb_warm_load): run. */
static int
sb_main_warm(lua_State *L)
{
	struct run_args *ra = lua_touserdata(L, 1);
	struct sb_ctx *ctx = sb_getctx(L);

	lua_settop(L, 0);
	sb_sethook(L, ctx);
	sb_warm_push_chunk(L);
	return run_module(L, ra, ctx);
}

/* Message handler: any error value becomes a deterministic string. */
static int
sb_msgh(lua_State *L)
{
	size_t len;
	const char *s;

	if (lua_type(L, 1) == LUA_TSTRING)
		return 1;
	if (lua_type(L, 1) == LUA_TTABLE || lua_type(L, 1) == LUA_TUSERDATA) {
		lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
		return 1;
	}
	s = sb_tostring(L, 1, &len);
	lua_pushlstring(L, s, len);
	return 1;
}

/* Error messages go into the ledger: valid UTF-8, bounded. */
static char *
sanitize(const char *msg)
{
	size_t len = strlen(msg), i, o = 0;
	char *out;

	if (len > 2048)
		len = 2048;
	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (sb_valid_utf8(msg + i, 1) == 0) {
			size_t k;

			for (k = 2; k <= 4 && i + k <= len; k++)
				if (sb_valid_utf8(msg + i, k))
					break;
			if (k <= 4 && i + k <= len) {
				memcpy(out + o, msg + i, k);
				o += k;
				i += k - 1;
			} else
				out[o++] = '?';
		} else
			out[o++] = '?';
	}
	out[o] = '\0';
	return out;
}

/* Counters and seeds of a call that starts now. */
void
sb_ctx_start(struct sb_ctx *ctx)
{
	ctx->mem = 0;
	ctx->allocd = 0;
	ctx->gc_mark = 0;
	ctx->gc_next = SB_GC_MIN;
	ctx->nmts = 0;
	ctx->memfail = 0;
	ctx->memdead = 0;
	ctx->wbytes = 0;
	ctx->logbytes = 0;
	ctx->host = 0;
	ctx->cost = 0;
	ctx->peak = 0;
	ctx->closed = 0;
	ctx->warmed = 0;
	ctx->warm_tpl = NULL;
	ctx->limit_err[0] = '\0';
	ctx->hookcount = ctx->limits->instructions < SB_HOOK_EVERY ?
	    ctx->limits->instructions : SB_HOOK_EVERY;
	if (ctx->hookcount == 0)
		ctx->hookcount = 1;
	sb_rng_seed(ctx);
}

/*
 * A new state in ctx->arena (taken, empty), the message handler and the
 * function to call pushed: lua_newstate with the collector stopped. NULL
 * when even the state does not fit the memory limit. Big blocks are
 * pinned until the pristine point.
 */
lua_State *
sb_newstate(struct sb_ctx *ctx)
{
	lua_State *L;

	sb_arena_pin(ctx->arena, 1);
	if ((L = lua_newstate(sb_alloc, ctx)) == NULL)
		return NULL;
	*(struct sb_ctx **)lua_getextraspace(L) = ctx;
	lua_gc(L, LUA_GCSTOP);		/* it runs at sb_gc_point() only */
	return L;
}

/* Build a state up to the pristine point and call capture there. */
int
sb_construct(lua_State *L, int (*capture)(lua_State *, void *), void *arg)
{
	struct run_args ra = { NULL, NULL, NULL, capture, arg };
	locale_t oldloc;
	int status;

	lua_pushcfunction(L, sb_msgh);
	lua_pushcfunction(L, sb_main);
	lua_pushlightuserdata(L, &ra);
	oldloc = sb_enter_c_locale();
	status = lua_pcall(L, 1, 0, 1);
	sb_leave_locale(oldloc);
	return status == LUA_OK ? 0 : -1;
}

/* Done with a state: it goes with the arena, minus what boxes own. */
void
sb_dropstate(lua_State *L)
{
	if (L != NULL)
		sb_box_drop_all(L);
}

int
sb_run(struct sb_ctx *ctx, const char *method, const json_t *args, int *ok,
    json_t **result, char **error, char *err, size_t errlen)
{
	struct run_args ra = { method, args, NULL, NULL, NULL };
	locale_t oldloc;
	lua_State *L = NULL;
	const char *msg;
	int status;

	sb_ctx_start(ctx);
	*ok = 0;
	*result = NULL;
	*error = NULL;
	/* the arena is what makes object addresses (hence table layouts)
	 * the same in every process: no call runs without it */
	if ((ctx->arena = sb_arena_get(ctx->limits->memory)) == NULL) {
		seterr(err, errlen, "cannot reserve %llu bytes of address space "
		    "for the call's arena",
		    (unsigned long long)ctx->limits->memory * 2);
		return -1;
	}
	if (method != NULL && ctx->warm != NULL) {
		L = sb_warm_load(ctx->warm, ctx);
		if (ctx->arena == NULL) {	/* lost while making a template */
			sb_set_running(NULL);
			seterr(err, errlen, "cannot take the call's arena again");
			return -1;
		}
	}
	sb_set_running(ctx);	/* until the state is dropped */
	if (L == NULL && (L = sb_newstate(ctx)) == NULL) {
		sb_set_running(NULL);
		sb_arena_put(ctx->arena);
		ctx->arena = NULL;
		*error = xstrdup("limit exceeded: memory (state creation)");
		return 0;
	}
	lua_pushcfunction(L, sb_msgh);
	lua_pushcfunction(L, ctx->warmed ? sb_main_warm : sb_main);
	lua_pushlightuserdata(L, &ra);
	oldloc = sb_enter_c_locale();
	status = lua_pcall(L, 1, 0, 1);
	sb_leave_locale(oldloc);
	ctx->closed = 1;
	if (ctx->limit_err[0] == '\0' && status == LUA_ERRMEM && ctx->memfail)
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "limit exceeded: memory (%llu)",
		    (unsigned long long)ctx->limits->memory);
	if (ctx->limit_err[0] != '\0') {
		*error = xstrdup(ctx->limit_err);
	} else if (status != LUA_OK) {
		msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) :
		    "(error object is not a string)";
		*error = sanitize(msg);
	} else {
		*ok = 1;
		*result = ra.result;
		ra.result = NULL;
	}
	json_decref(ra.result);
	sb_dropstate(L);
	sb_set_running(NULL);
	sb_arena_put(ctx->arena);	/* frees every block */
	ctx->arena = NULL;
	return 0;
}
