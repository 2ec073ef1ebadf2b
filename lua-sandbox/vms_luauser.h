/*
 * vms_luauser.h — vmsd's five changes to Lua 5.4, made through the
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
 * 5. lua_number2str: the VM's own float-to-string (x .. '', coercions in
 *    the string library) printed a NaN's sign bit ("-nan" for 0/0 on
 *    x86-64, "nan" on arm64). Every NaN is spelled "nan" here, as the
 *    sandbox's tostring and string.format already do.
 */
#ifndef VMS_LUAUSER_H
#define VMS_LUAUSER_H

unsigned int	vms_lua_makeseed(lua_Alloc, void *ud);
int		vms_lua_strcoll(const char *, const char *);
int		vms_lua_memcmp(const void *, const void *, size_t);
int		vms_lua_number2str(char *, size_t, double);
unsigned int	vms_lua_point2uint(size_t);

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
#endif

#undef lua_number2str
#define lua_number2str(s, sz, n)	vms_lua_number2str((s), (sz), (double)(n))

#endif
