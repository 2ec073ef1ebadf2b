/*
 * sb_luaconf.c — the functions Lua itself calls through vms_luauser.h:
 * the string-hash seed of a new lua_State and the VM's float-to-string.
 * They run inside Lua's own code (lua_newstate, luaO_tostring), so they
 * must not raise Lua errors or allocate.
 */
#include <math.h>
#include <stdio.h>

#include <lua.h>

#include "sandbox.h"
#include "vms_luauser.h"

/*
 * Every lua_State of vmsd is made by sb_run() (allocator sb_alloc, ud its
 * sb_ctx, whose strseed sb_seed_ctx() derived from the ledger) or by
 * sb_compile() (luaL_newstate: only compiles, seed 0).
 */
unsigned int
vms_lua_makeseed(lua_Alloc f, void *ud)
{
	if (f == sb_alloc && ud != NULL)
		return ((const struct sb_ctx *)ud)->strseed;
	return 0;
}

int
vms_lua_number2str(char *s, size_t sz, double n)
{
	if (isnan(n))
		return snprintf(s, sz, "nan");
	return snprintf(s, sz, LUA_NUMBER_FMT, n);
}
