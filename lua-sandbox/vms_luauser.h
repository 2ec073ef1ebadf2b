/*
 * vms_luauser.h — vmsd's eight changes to Lua 5.4, made through the
 * LUA_USER_H hook that lua.h provides for exactly this: the Makefile
 * compiles Debian's lua5.4 source package (scripts/fetch-lua.sh) with
 * -DLUA_USER_H='"vms_luauser.h"'. No Lua source file is edited, and
 * vmsd's own code does not include this header.
 *
 * 1. luai_makeseed: stock Lua seeds its string hashes from time(NULL) and
 *    ASLR addresses, so the layout of a table (and so the border `#t` of
 *    a table with holes, rehash points and heap use) differs between the
 *    host and an auditor. Here every state asks vms_lua_makeseed() (in
 *    lua-sandbox/sb_luaconf.c), which returns the seed the sandbox derived
 *    from the ledger and the request for this call: the same on replay,
 *    different on every call, and unknown to whoever wrote the contract
 *    or the arguments (no precomputed hash-flooding keys).
 * 2. String comparison: the VM compares two strings (<, <=: strcoll in
 *    lvm.c; == of long strings: memcmp in lstring.c) as one instruction
 *    whatever their length, so a loop comparing two 16 MB strings did
 *    16 MB of work per instruction. Those calls go to vms_lua_strcoll()
 *    and vms_lua_memcmp(), which charge the bytes compared to the call's
 *    instruction budget (1 per SB_CMP_UNIT bytes). Only lvm.c and
 *    lstring.c are affected (they define lvm_c / lstring_c).
 * 3. Math: math.sin, cos, tan, asin, acos, atan, exp, log, sinh, cosh,
 *    tanh, pow and the ^ operator (luai_numpow, also used when the parser
 *    folds constants) call the runtime's own libm (vms_libm.h: musl's,
 *    built without fused multiply-add) instead of the C library's, whose
 *    results differ in the last bit between machines.
 * 4. Keys hashed by address: ltable.c hashes tables, closures, coroutines
 *    and C functions used as keys by address (point2uint), which makes the
 *    same table layout, border and heap differ between processes. In
 *    ltable.c point2uint is vms_lua_point2uint(): an object's offset in
 *    the call's arena (sb_arena.c), the same everywhere. (llimits.h is
 *    read here first, so its own definition can be replaced.)
 * 5. Metamethod lookups: an __index or __newindex chain of tables is
 *    followed up to 2000 steps inside one VM instruction (lvm.c), and a
 *    __call that is not a function is followed again and again, each step
 *    shifting the whole call frame (ldo.c): quadratic work inside one
 *    instruction. In lvm.c and ldo.c every metamethod lookup goes through
 *    vms_gettm()/vms_gettmbyobj() below, which charge it to the budget
 *    (a __call step also charges the frame it shifts) through
 *    vms_lua_metastep()/vms_lua_metacall() in sb_luaconf.c. (ltm.h is
 *    read here first, so its functions can be wrapped.)
 * 6. Number keys: ltable.c hashes an integer key as itself modulo the
 *    node count minus one, and a float by its frexp parts: no seed, so a
 *    contract can choose keys (multiples of 2^k - 1) that all land in one
 *    chain, and every insert and lookup walks it. In ltable.c both go
 *    through vms_lua_hashint()/vms_lua_hashfloat(), which mix in a 64-bit
 *    seed derived with the string seed (same on replay). hashint's
 *    l_castS2U(i) is told apart from ltable.c's other l_castS2U uses by
 *    its argument's name: a Lua release that renames it fails to build.
 * 7. lua_number2str: the VM's own float-to-string (x .. '', coercions in
 *    the string library) printed a NaN's sign bit ("-nan" for 0/0 on
 *    x86-64, "nan" on arm64). Every NaN is spelled "nan" here, as the
 *    sandbox's tostring and string.format already do.
 * 8. luaL_setfuncs in the libraries the sandbox opens (base, string,
 *    table, math, utf8, coroutine) goes through vms_lua_setfuncs(), which
 *    tells sb_warm.c the order in which each library table got its keys
 *    (the order of the library's luaL_Reg array) before calling the real
 *    luaL_setfuncs: a warm call rebuilds those tables for its string-hash
 *    seed exactly as a fresh state would have built them. Nothing else
 *    changes (lauxlib.h declares (luaL_setfuncs) in parentheses, so the
 *    declaration is not renamed; luaL_newlib expands to the macro).
 */
#ifndef VMS_LUAUSER_H
#define VMS_LUAUSER_H

unsigned int	vms_lua_makeseed(lua_Alloc, void *ud);
int		vms_lua_strcoll(const char *, const char *);
int		vms_lua_memcmp(const void *, const void *, size_t);
int		vms_lua_number2str(char *, size_t, double);
unsigned int	vms_lua_point2uint(size_t);
unsigned long long vms_lua_hashint(unsigned long long);
int		vms_lua_hashfloat(double);
void		vms_lua_metastep(void);
void		vms_lua_metacall(lua_State *, int is_call);
struct luaL_Reg;
void		vms_lua_setfuncs(lua_State *, const struct luaL_Reg *, int nup);

/* expanded inside lua_newstate(), where G(L)->frealloc and ->ud are set */
#define luai_makeseed(L)	vms_lua_makeseed(G(L)->frealloc, G(L)->ud)

#if defined(lvm_c)
#define strcoll(a, b)	vms_lua_strcoll((a), (b))
#endif
#if defined(lstring_c)
#define memcmp(a, b, n)	vms_lua_memcmp((a), (b), (n))
#endif

#include "vms_libm.h"
#define luai_numpow(L, a, b) \
	((void)L, (b == 2) ? (a) * (a) : vms_m_pow((a), (b)))
#if defined(lmathlib_c)
#define sin(x)		vms_m_sin(x)
#define cos(x)		vms_m_cos(x)
#define tan(x)		vms_m_tan(x)
#define asin(x)		vms_m_asin(x)
#define acos(x)		vms_m_acos(x)
#define atan2(y, x)	vms_m_atan2((y), (x))
#define exp(x)		vms_m_exp(x)
#define log(x)		vms_m_log(x)
#define log2(x)		vms_m_log2(x)
#define log10(x)	vms_m_log10(x)
#define pow(x, y)	vms_m_pow((x), (y))
#define sinh(x)		vms_m_sinh(x)
#define cosh(x)		vms_m_cosh(x)
#define tanh(x)		vms_m_tanh(x)
#endif

#if defined(ltable_c)
#include "llimits.h"
#undef point2uint
#define point2uint(p)	vms_lua_point2uint((size_t)(p))
#define l_hashfloat(n)	vms_lua_hashfloat(n)
/* ltable.c's l_castS2U uses, by argument: only hashint's (i) is mixed */
#undef l_castS2U
#define l_castS2U(x)	vms_castS2U_##x
#define vms_castS2U_i	((lua_Unsigned)vms_lua_hashint((lua_Unsigned)(i)))
#define vms_castS2U_k	((lua_Unsigned)(k))
#define vms_castS2U_key	((lua_Unsigned)(key))
#define vms_castS2U_LUA_MAXINTEGER	((lua_Unsigned)(LUA_MAXINTEGER))
#endif

#if defined(lvm_c) || defined(ldo_c)
struct CallInfo;	/* lua.h declares it below this point, ltm.h uses it */
#include "ltm.h"
static inline const TValue *
vms_gettm(Table *events, TMS event, TString *ename)
{
	vms_lua_metastep();
	return luaT_gettm(events, event, ename);
}
static inline const TValue *
vms_gettmbyobj(lua_State *L, const TValue *o, TMS event)
{
	vms_lua_metacall(L, event == TM_CALL);
	return luaT_gettmbyobj(L, o, event);
}
#define luaT_gettm(et, e, n)		vms_gettm((et), (e), (n))
#define luaT_gettmbyobj(L, o, e)	vms_gettmbyobj((L), (o), (e))
#endif

#if defined(lbaselib_c) || defined(lstrlib_c) || defined(ltablib_c) || \
    defined(lmathlib_c) || defined(lutf8lib_c) || defined(lcorolib_c)
#define luaL_setfuncs(L, l, nup)	vms_lua_setfuncs((L), (l), (nup))
#endif

#undef lua_number2str
#define lua_number2str(s, sz, n)	vms_lua_number2str((s), (sz), (double)(n))

#endif
