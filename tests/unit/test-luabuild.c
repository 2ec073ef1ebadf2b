/*
 * test-luabuild.c — vmsd's own contract runtime (Debian's lua5.4 source
 * with lua-sandbox/vms_luauser.h, musl's libm with vms_libm.h): the
 * string-hash seed comes from the ledger (same on replay, different per
 * call), the VM spells every NaN "nan", math gives fixed bits (golden
 * values any machine must reproduce, and within 1 ulp of the C library),
 * and the deploy entry names the runtime, which replay insists on.
 */
#include <math.h>
#include <stdint.h>

#include <lauxlib.h>
#include <sodium.h>

#include "test.h"
#include "sbtest.h"
#include "sandbox.h"
#include "vms_luauser.h"
#include "vms_libm.h"

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
	CHECK_EQ_STR(SB_RUNTIME, "Lua 5.4.4 musl-libm/1.2.3 vms-sandbox/1");
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

/* ---- math: the runtime's libm ---- */

static uint64_t
bits(double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	return u;
}

/*
 * Golden values: what vms_m_* return on the machine that wrote this test
 * (x86-64). Every operation in them is a single IEEE 754 operation, so
 * every 64-bit machine must return the same bits; a failure here on
 * another architecture or compiler means the build lost that property.
 */
enum { F_SIN, F_COS, F_TAN, F_ASIN, F_ACOS, F_ATAN2, F_EXP, F_LOG, F_LOG2,
    F_LOG10, F_POW, F_SINH, F_COSH, F_TANH };
static const struct golden {
	int		 f;
	const char	*name;
	double		 x, y;
	uint64_t	 want;
} golden[] = {
#define G1(f, x, w)	{ F_##f, #f, x, 0, w }
#define G2(f, x, y, w)	{ F_##f, #f, x, y, w }
	G1(SIN, 0x1p+0, 0x3feaed548f090ceeULL),
	G1(SIN, 0x1.0f0cf064dd592p+73, 0xbfeb453ab76bf397ULL),
	G1(SIN, 0x1.921fb54442d18p+0, 0x3ff0000000000000ULL),
	G1(COS, 0x1p-1, 0x3fec1528065b7d50ULL),
	G1(COS, 0x1.7e43c8800759cp+996, 0xbfe2699022adc4c1ULL),
	G1(TAN, 0x1.7e43c8800759cp+996, 0x3ff6be411f37ac77ULL),
	G1(TAN, 0x1.921fb54442d18p+0, 0x434d02967c31cdb5ULL),
	G1(ASIN, 0x1.3333333333333p-2, 0x3fd380159e14f6ffULL),
	G1(ACOS, -0x1.6666666666666p-1, 0x4002c501446cd5f2ULL),
	G2(ATAN2, 0x1p+0, 0x1.8p+1, 0x3fd4978fa3269ee1ULL),
	G2(ATAN2, -0x0p+0, -0x1p+0, 0xc00921fb54442d18ULL),
	G1(EXP, -0x1.748cccccccccdp+9, 0x0000000000000001ULL),
	G1(EXP, 0x1.62d999999999ap+9, 0x7fed75ae7a50ee14ULL),
	G1(EXP, 0x1.999999999999ap-4, 0x3ff1aec7b35a00d4ULL),
	G1(LOG, 0x1.56e1fc2f8f359p-997, 0xc085963447f87fb5ULL),
	G1(LOG, 0x1.ffffde7210be9p-1, 0xbeb0c6f82d74d230ULL),
	G1(LOG2, 0x1.8p+1, 0x3ff95c01a39fbd68ULL),
	G1(LOG10, 0x1.cp+2, 0x3feb0b0b0b78cc3fULL),
	G2(POW, 0x1.000001ad7f29bp+0, 0x1.312dp+23, 0x4005bf0a790ce6f2ULL),
	G2(POW, 0x1p+1, 0x1p-1, 0x3ff6a09e667f3bcdULL),
	G2(POW, 0x1.4p+3, -0x1.8p+1, 0x3f50624dd2f1a9fcULL),
	G1(SINH, 0x1.999999999999ap-4, 0x3fb9a487337b59b3ULL),
	G1(COSH, 0x1.4p+4, 0x41aceb088b68e804ULL),
	G1(TANH, 0x1p-1, 0x3fdd9353d7568af3ULL),
#undef G1
#undef G2
};

static double
vms_f(int f, double x, double y)
{
	switch (f) {
	case F_SIN:	return vms_m_sin(x);
	case F_COS:	return vms_m_cos(x);
	case F_TAN:	return vms_m_tan(x);
	case F_ASIN:	return vms_m_asin(x);
	case F_ACOS:	return vms_m_acos(x);
	case F_ATAN2:	return vms_m_atan2(x, y);
	case F_EXP:	return vms_m_exp(x);
	case F_LOG:	return vms_m_log(x);
	case F_LOG2:	return vms_m_log2(x);
	case F_LOG10:	return vms_m_log10(x);
	case F_POW:	return vms_m_pow(x, y);
	case F_SINH:	return vms_m_sinh(x);
	case F_COSH:	return vms_m_cosh(x);
	default:	return vms_m_tanh(x);
	}
}

static double
libc_f(int f, double x, double y)
{
	switch (f) {
	case F_SIN:	return sin(x);
	case F_COS:	return cos(x);
	case F_TAN:	return tan(x);
	case F_ASIN:	return asin(x);
	case F_ACOS:	return acos(x);
	case F_ATAN2:	return atan2(x, y);
	case F_EXP:	return exp(x);
	case F_LOG:	return log(x);
	case F_LOG2:	return log2(x);
	case F_LOG10:	return log10(x);
	case F_POW:	return pow(x, y);
	case F_SINH:	return sinh(x);
	case F_COSH:	return cosh(x);
	default:	return tanh(x);
	}
}

TEST(libm_golden)
{
	size_t i;
	double r;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		r = vms_f(golden[i].f, golden[i].x, golden[i].y);
		CHECK_MSG(bits(r) == golden[i].want, "%s(%a, %a) = %a (0x%016llx), "
		    "want 0x%016llx", golden[i].name, golden[i].x, golden[i].y,
		    r, (unsigned long long)bits(r),
		    (unsigned long long)golden[i].want);
	}
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
uniform(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * ((double)(splitmix(s) >> 11) * 0x1p-53);
}

/*
 * Sanity against the C library: over random arguments in each function's
 * useful range, musl's and glibc's results are at most 1 ulp apart (2 for
 * tanh, where musl's error bound is wider), and NaN/inf where the other
 * is.
 */
TEST(libm_close_to_libc)
{
	static const struct { int f; const char *name; double lo, hi, ylo,
	    yhi; uint64_t tol; } fn[] = {
		{ F_SIN, "sin", -1e6, 1e6, 0, 0, 1 },
		{ F_COS, "cos", -1e6, 1e6, 0, 0, 1 },
		{ F_TAN, "tan", -1e4, 1e4, 0, 0, 1 },
		{ F_ASIN, "asin", -1, 1, 0, 0, 1 },
		{ F_ACOS, "acos", -1, 1, 0, 0, 1 },
		{ F_ATAN2, "atan2", -1e3, 1e3, -1e3, 1e3, 1 },
		{ F_EXP, "exp", -740, 709, 0, 0, 1 },
		{ F_LOG, "log", 1e-300, 1e300, 0, 0, 1 },
		{ F_LOG2, "log2", 1e-10, 1e10, 0, 0, 1 },
		{ F_LOG10, "log10", 1e-10, 1e10, 0, 0, 1 },
		{ F_POW, "pow", 0, 100, -60, 60, 1 },
		{ F_SINH, "sinh", -700, 700, 0, 0, 1 },
		{ F_COSH, "cosh", -700, 700, 0, 0, 1 },
		{ F_TANH, "tanh", -20, 20, 0, 0, 2 },
	};
	uint64_t seed = 42, d, worst;
	double x, y, a, b;
	size_t i;
	int k, far;

	for (i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
		worst = 0;
		far = 0;
		for (k = 0; k < 20000; k++) {
			x = uniform(&seed, fn[i].lo, fn[i].hi);
			if (fn[i].f == F_LOG && k % 2)	/* spread exponents */
				x = vms_m_exp(uniform(&seed, -690, 690));
			y = uniform(&seed, fn[i].ylo, fn[i].yhi);
			a = vms_f(fn[i].f, x, y);
			b = libc_f(fn[i].f, x, y);
			if (isnan(a) || isnan(b) || isinf(a) || isinf(b)) {
				if (!(isnan(a) && isnan(b)) && a != b)
					far++;
				continue;
			}
			if (signbit(a) != signbit(b)) {
				if (a != 0 || b != 0)
					far++;
				continue;
			}
			d = bits(a) > bits(b) ? bits(a) - bits(b) :
			    bits(b) - bits(a);
			if (d > worst)
				worst = d;
			if (d > fn[i].tol)
				far++;
		}
		CHECK_MSG(far == 0, "%s: %d of 20000 results more than %llu "
		    "ulp from the C library's (worst %llu ulp)", fn[i].name,
		    far, (unsigned long long)fn[i].tol,
		    (unsigned long long)worst);
	}
}

/* Lua's math library and ^ (also folded at compile time) use them. */
TEST(libm_in_lua)
{
	struct engine *e;
	char want[512], *r;

	snprintf(want, sizeof(want), "\"%a %a %a %a %a %a\"",
	    vms_m_sin(1.0), vms_m_exp(0.1), vms_m_pow(2.0, 0.5),
	    vms_m_pow(2.0, 0.5), vms_m_log(10.0) / vms_m_log(3.0),
	    vms_m_atan2(1.0, 3.0));
	e = sbt_deploy("local M = {} function M.f(x, y) return "
	    "string.format('%a %a %a %a %a %a', math.sin(1), math.exp(0.1), "
	    "2^0.5, x^y, math.log(10, 3), math.atan(1, 3)) end return M");
	if (e == NULL) {
		FAILF("deploy");
		return;
	}
	r = sbt_call(e, "f", "[2, 0.5]");
	CHECK_EQ_STR(r, want);
	free(r);
	engine_free(e);
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
	CHECK(strstr(ent0, "\"runtime\":\"Lua 5.4.4 musl-libm/1.2.3 "
	    "vms-sandbox/1\"") != NULL);
	bad = xstrdup(ent0);
	if ((p = strstr(bad, "vms-sandbox/1")) != NULL)
		p[12] = '2';
	CHECK(engine_open((uint8_t *)bad, strlen(bad), &r, err,
	    sizeof(err)) == -1);
	CHECK_EQ_STR(err, "entry 0: runtime \"Lua 5.4.4 musl-libm/1.2.3 "
	    "vms-sandbox/2\" is not this build's \"Lua 5.4.4 musl-libm/1.2.3 "
	    "vms-sandbox/1\": it cannot replay the ledger exactly");
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
	RUN(libm_golden);
	RUN(libm_close_to_libc);
	RUN(libm_in_lua);
	RUN(seed_per_call_and_replay);
	RUN(runtime_checked);
	return test_summary();
}
