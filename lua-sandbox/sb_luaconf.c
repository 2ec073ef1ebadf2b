/*
 * sb_luaconf.c — the functions Lua itself calls through vms_luauser.h:
 * the string-hash seed of a new lua_State, metered string comparison,
 * deterministic hashes of object and number keys, metered metamethod
 * lookups and the VM's float-to-string. They run inside Lua's own code
 * (lua_newstate, l_strcmp, luaS_eqlngstr, ltable.c, luaV_finishget,
 * luaD_tryfuncTM, luaO_tostring), and the libraries' luaL_setfuncs. None
 * allocates but the real luaL_setfuncs; only vms_lua_metacall(), which is
 * given the lua_State, raises a Lua error; the others record a limit for
 * the hook to raise.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "sandbox.h"
#include "vms_luauser.h"

/*
 * The runtime is defined for 64-bit little-endian LP64 machines (x86-64,
 * arm64, riscv64, ppc64le): string.pack's native sizes ('l', 'L', 'T',
 * 'j'), native byte order ('=') and alignment ('!') and lua_Integer all
 * follow the machine, so a replay elsewhere could differ. Refuse to build
 * where they would.
 */
_Static_assert(sizeof(long) == 8 && sizeof(size_t) == 8 &&
    sizeof(void *) == 8 && sizeof(lua_Integer) == 8 &&
    sizeof(lua_Number) == 8 && sizeof(int) == 4 && sizeof(short) == 2,
    "the contract runtime needs an LP64 machine");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "the contract runtime needs a little-endian machine");

/*
 * Every lua_State of vmsd is made by sb_run() (allocator sb_alloc, ud its
 * sb_ctx, whose strseed sb_rng_seed() derived from the ledger) or by
 * sb_compile() (luaL_newstate: only compiles, seed 0).
 */
unsigned int
vms_lua_makeseed(lua_Alloc f, void *ud)
{
	if (f == sb_alloc && ud != NULL)
		return ((const struct sb_ctx *)ud)->strseed;
	return 0;
}

/* the call sb_run() is executing on this thread, or NULL */
static _Thread_local struct sb_ctx *running;

void
sb_set_running(struct sb_ctx *ctx)
{
	running = ctx;
}

/*
 * Charge a comparison of n bytes. When it exhausts the budget, the limit
 * error is recorded at once: the hook raises it within SB_HOOK_EVERY
 * instructions, pcall cannot swallow it and sb_run() reports it even if
 * the method returns first. Until then comparisons are answered without
 * looking at the bytes (the call's outcome is already decided), so the
 * overshoot costs nothing. Returns 1 in that state.
 */
static int
charge_cmp(size_t n)
{
	struct sb_ctx *ctx = running;

	if (ctx == NULL)
		return 0;
	if (ctx->limit_err[0] != '\0')
		return 1;
	sb_charge_only(ctx, n / SB_CMP_UNIT);
	if (ctx->cost >= ctx->limits->instructions)
		snprintf(ctx->limit_err, sizeof(ctx->limit_err),
		    "limit exceeded: instructions (%llu)",
		    (unsigned long long)ctx->limits->instructions);
	return 0;
}

/*
 * l_strcmp's strcoll: byte order (the sandbox runs in the "C" locale, where
 * strcoll is strcmp), read in chunks so the bytes examined are exactly
 * those charged, plus one instruction per call. After the budget is gone it answers "greater": l_strcmp
 * then returns at once (answering "equal" would make it step both strings
 * by the first one's length).
 */
int
vms_lua_strcoll(const char *a, const char *b)
{
	enum { CHUNK = 256 };
	size_t off = 0, la, lb, n;
	int r;

	if (running != NULL && running->limit_err[0] != '\0')
		return 1;
	for (;;) {
		la = strnlen(a + off, CHUNK);
		lb = strnlen(b + off, CHUNK);
		n = la < lb ? la : lb;
		if ((r = memcmp(a + off, b + off, n)) != 0 || n < CHUNK) {
			if (r == 0)	/* one ended: compare its NUL */
				r = (int)(unsigned char)a[off + n] -
				    (int)(unsigned char)b[off + n];
			off += n;
			break;
		}
		off += CHUNK;
	}
	/* l_strcmp calls this once per NUL-separated segment (and strlen
	 * after it): every call costs at least one instruction */
	if (charge_cmp(off + SB_CMP_UNIT))
		return 1;
	return r;
}

/*
 * lstring.c's memcmp: equality of two long strings, and of a short string
 * with an interned one (at most LUAI_MAXSHORTLEN bytes: not charged, and
 * always really compared, since interning must stay exact).
 */
int
vms_lua_memcmp(const void *a, const void *b, size_t n)
{
	if (n > SB_SHORTSTR && charge_cmp(n))
		return 1;		/* "differ": always safe for long strings */
	return memcmp(a, b, n);
}

/*
 * ltable.c's hash of a table, closure, coroutine, userdata, C function or
 * light userdata used as a key. Stock Lua uses the address: ASLR and
 * malloc decide where the key lands, hence when the table rehashes, its
 * border #t and the heap in use. Here an object of the running call hashes
 * by its offset in the call's arena (the same in every process, see
 * sb_arena.c); anything else (C functions, statics: a fixed, small set)
 * hashes to 0, the same everywhere.
 */
unsigned int
vms_lua_point2uint(size_t p)
{
	size_t off;

	if (running != NULL && sb_arena_offset(running->arena, p, &off) == 0)
		return (unsigned int)(off >> 4);
	return 0;
}

/*
 * Number keys (vms_luauser.h, change 6): a 64-bit mix (multiply by an odd
 * constant, fold) of the key and the call's seed, so no contract can pick
 * keys that collide. Outside a call (compiling), the key itself.
 */
static uint64_t
mix64(uint64_t x)
{
	x ^= running->numseed;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return x;
}

unsigned long long
vms_lua_hashint(unsigned long long u)
{
	return running != NULL ? mix64(u) : u;
}

int
vms_lua_hashfloat(double n)
{
	uint64_t u;

	memcpy(&u, &n, sizeof(u));	/* keys are never NaN or +-0 */
	if (running != NULL)
		u = mix64(u);
	else
		u ^= u >> 32;
	return (int)(u & INT_MAX);
}

/*
 * A metamethod lookup in the VM (vms_luauser.h, change 5): one
 * instruction, charged without raising (luaT_gettm has no lua_State: the
 * hook raises the recorded limit within SB_HOOK_EVERY instructions, and a
 * chain is at most 2000 steps long).
 */
void
vms_lua_metastep(void)
{
	(void)charge_cmp(SB_CMP_UNIT);
}

/*
 * A metamethod lookup with the state at hand; for __call, also the frame
 * luaD_tryfuncTM is about to shift by one slot (a cycle of callable tables
 * grows it every step). Raises the limit error at once.
 */
void
vms_lua_metacall(lua_State *L, int is_call)
{
	struct sb_ctx *ctx = running;
	uint64_t units = 1;

	if (ctx == NULL)
		return;
	if (is_call)
		units += (uint64_t)lua_gettop(L) / 16;
	sb_charge_only(ctx, units);
	if (ctx->limit_err[0] != '\0' ||
	    ctx->cost >= ctx->limits->instructions)
		sb_limit(L, "limit exceeded: instructions (%llu)",
		    (unsigned long long)ctx->limits->instructions);
}

int
vms_lua_number2str(char *s, size_t sz, double n)
{
	if (isnan(n))
		return snprintf(s, sz, "nan");
	return snprintf(s, sz, LUA_NUMBER_FMT, n);
}

/*
 * A library's luaL_setfuncs (vms_luauser.h, change 8): sb_warm.c notes
 * which table gets which luaL_Reg array, in order, while it builds a
 * template; then the real one.
 */
void
vms_lua_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
	sb_warm_note_setfuncs(L, l, nup);
	luaL_setfuncs(L, l, nup);
}
