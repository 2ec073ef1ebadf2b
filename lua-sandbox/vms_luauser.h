/*
 * vms_luauser.h — vmsd's two changes to Lua 5.4, made through the
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
 * 2. lua_number2str: the VM's own float-to-string (x .. '', coercions in
 *    the string library) printed a NaN's sign bit ("-nan" for 0/0 on
 *    x86-64, "nan" on arm64). Every NaN is spelled "nan" here, as the
 *    sandbox's tostring and string.format already do.
 */
#ifndef VMS_LUAUSER_H
#define VMS_LUAUSER_H

unsigned int	vms_lua_makeseed(lua_Alloc, void *ud);
int		vms_lua_number2str(char *, size_t, double);

/* expanded inside lua_newstate(), where G(L)->frealloc and ->ud are set */
#define luai_makeseed(L)	vms_lua_makeseed(G(L)->frealloc, G(L)->ud)

#undef lua_number2str
#define lua_number2str(s, sz, n)	vms_lua_number2str((s), (sz), (double)(n))

#endif
