/*
 * test-luabuild.c — vmsd's own Lua build (Debian's lua5.4 source with
 * lua-sandbox/vms_luauser.h): the string-hash seed comes from the ledger
 * (same on replay, different per call), the VM spells every NaN "nan",
 * and the deploy entry names the runtime, which replay insists on.
 */
#include <math.h>

#include <lauxlib.h>
#include <sodium.h>

#include "test.h"
#include "sbtest.h"
#include "sandbox.h"
#include "vms_luauser.h"

static void *
other_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, nsize);
}

TEST(release_pinned)
{
	CHECK_EQ_STR(LUA_RELEASE, "Lua 5.4.4");
	CHECK_EQ_STR(SB_RUNTIME, "Lua 5.4.4 vms-sandbox/1");
}

TEST(seed_from_ledger)
{
	struct sb_ctx a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(a.seed, 7, sizeof(a.seed));
	memcpy(b.seed, a.seed, sizeof(b.seed));
	sb_rng_seed(&a);
	sb_rng_seed(&b);
	CHECK(a.strseed == b.strseed);
	CHECK(vms_lua_makeseed(sb_alloc, &a) == a.strseed);
	b.seed[31] ^= 1;
	sb_rng_seed(&b);
	CHECK_MSG(a.strseed != b.strseed, "one seed bit changed nothing");
	b.seed[31] ^= 1;
	b.reqhash[0] ^= 0x80;
	sb_rng_seed(&b);
	CHECK_MSG(a.strseed != b.strseed, "the request changed nothing");
	b.reqhash[0] ^= 0x80;
	sb_rng_seed(&b);
	CHECK(a.strseed == b.strseed);
	/* states made outside sb_run (compilation only) get a fixed seed */
	CHECK(vms_lua_makeseed(other_alloc, &a) == 0);
	CHECK(vms_lua_makeseed(sb_alloc, NULL) == 0);
}

/* what x .. '' and the string library's coercions print */
TEST(number2str)
{
	char buf[64];

	CHECK_EQ_INT(vms_lua_number2str(buf, sizeof(buf), NAN), 3);
	CHECK_EQ_STR(buf, "nan");
	vms_lua_number2str(buf, sizeof(buf), -NAN);
	CHECK_EQ_STR(buf, "nan");
	vms_lua_number2str(buf, sizeof(buf), -INFINITY);
	CHECK_EQ_STR(buf, "-inf");
	vms_lua_number2str(buf, sizeof(buf), 0.1);
	CHECK_EQ_STR(buf, "0.1");
	vms_lua_number2str(buf, sizeof(buf), 1e100);
	CHECK_EQ_STR(buf, "1e+100");
}

/*
 * The border of a table with holes, from a fixed sequence of operations
 * (no math.random): it depends only on the string-hash seed. Over a dozen
 * calls (a dozen seeds) it must vary — the seed is not one constant a
 * contract author could precompute colliding keys for — and a replay of
 * the same entries must reproduce every value.
 */
static const char border_code[] =
    "local M = {}\n"
    "function M.border()\n"
    "  local out, x = {}, 12345\n"
    "  for trial = 1, 60 do\n"
    "    local t = {}\n"
    "    for step = 1, 120 do\n"
    "      x = (x * 1103515245 + 12345) % 2147483648\n"
    "      local r, k = x % 5, (x // 8) % 64 + 1\n"
    "      if r == 0 then t[k] = true\n"
    "      elseif r == 1 then t[k] = nil\n"
    "      elseif r == 2 then t['s' .. (k % 40)] = true\n"
    "      elseif r == 3 then t['s' .. (k % 40)] = nil\n"
    "      else t[#t + 1] = 1 end\n"
    "    end\n"
    "    out[#out + 1] = #t\n"
    "  end\n"
    "  return table.concat(out, ',')\n"
    "end\n"
    "return M";

#define NCALLS 12

TEST(seed_per_call_and_replay)
{
	struct vms_limits lim;
	struct engine *e, *r;
	char *ent0 = NULL, *ent[NCALLS], *out[NCALLS], err[VMS_ERRLEN];
	size_t len0 = 0, len[NCALLS];
	int i, distinct = 0;

	limits_default(&lim);
	e = sbt_deploy_lim(border_code, &lim, "unix:root", &ent0, &len0);
	if (e == NULL) {
		FAILF("deploy");
		return;
	}
	for (i = 0; i < NCALLS; i++) {
		ent[i] = NULL;
		out[i] = sbt_call_as(e, "unix:alice", "border", "[]", &ent[i],
		    &len[i]);
		CHECK_MSG(out[i][0] == '"', "call %d: %s", i, out[i]);
		if (i > 0 && strcmp(out[i], out[0]) != 0)
			distinct = 1;
	}
	CHECK_MSG(distinct, "the border was the same under %d seeds: is the "
	    "string-hash seed a constant?", NCALLS);
	if (engine_open((uint8_t *)ent0, len0, &r, err, sizeof(err)) == 0) {
		CHECK_MSG(engine_replay(r, (uint8_t *)ent0, len0, err,
		    sizeof(err)) == 0, "replay 0: %s", err);
		for (i = 0; i < NCALLS && ent[i] != NULL; i++)
			CHECK_MSG(engine_replay(r, (uint8_t *)ent[i], len[i],
			    err, sizeof(err)) == 0, "replay %d: %s", i + 1,
			    err);
		engine_free(r);
	} else
		FAILF("engine_open: %s", err);
	for (i = 0; i < NCALLS; i++) {
		free(out[i]);
		free(ent[i]);
	}
	free(ent0);
	engine_free(e);
}

/* A ledger recorded under another runtime is refused, by name. */
TEST(runtime_checked)
{
	struct engine *e, *r;
	char *ent0 = NULL, *bad, *p, err[VMS_ERRLEN];
	size_t len0 = 0;

	e = sbt_deploy_lim("return {}", NULL, "unix:root", &ent0, &len0);
	if (e == NULL) {
		FAILF("deploy");
		return;
	}
	CHECK(strstr(ent0, "\"runtime\":\"Lua 5.4.4 vms-sandbox/1\"") != NULL);
	bad = xstrdup(ent0);
	if ((p = strstr(bad, "vms-sandbox/1")) != NULL)
		p[12] = '2';
	CHECK(engine_open((uint8_t *)bad, strlen(bad), &r, err,
	    sizeof(err)) == -1);
	CHECK_EQ_STR(err, "entry 0: runtime \"Lua 5.4.4 vms-sandbox/2\" is not "
	    "this build's \"Lua 5.4.4 vms-sandbox/1\": it cannot replay the "
	    "ledger exactly");
	free(bad);
	CHECK(engine_open((uint8_t *)ent0, len0, &r, err, sizeof(err)) == 0);
	engine_free(r);
	free(ent0);
	engine_free(e);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(release_pinned);
	RUN(seed_from_ledger);
	RUN(number2str);
	RUN(seed_per_call_and_replay);
	RUN(runtime_checked);
	return test_summary();
}
