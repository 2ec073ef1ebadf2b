/*
 * test-runtime-metering.c — the charges and hashing of the source-built
 * runtime: the second red-team round against the Lua sandbox, after Lua
 * became a source build with vms_luauser.h (ledger string-hash seed,
 * metered string comparison, "nan"). Hostile contracts run only through the
 * public API (engine_deploy, engine_call, engine_replay, snapshots).
 *
 * Cases named rN_... attacked a hole that was open when written ("FINDING
 * R2-n") and assert the secure behaviour; all eleven are fixed and run as
 * hard tests (each was seen failing before its fix). Other cases guard what
 * held. The helpers are tests/unit/rtest.h's.
 */
#include "rtest.h"

/* ---- child processes ---- */

/*
 * FINDING R2-3: tables, functions and coroutines used as table keys are
 * hashed by their address (ltable.c hashpointer), so where they land,
 * when the table rehashes, the border #t and the heap in use all follow
 * ASLR and malloc. Same shape as test-sandbox-replay.c's border_holes, with
 * table keys instead of string keys.
 */
static const char border_tkeys[] =
    "local out = {} local keys = {}\n"
    "for i = 1, 64 do keys[i] = {} end\n"
    "for trial = 1, 300 do\n"
    "  local t = {}\n"
    "  for step = 1, 120 do\n"
    "    local r = math.random(1, 6)\n"
    "    if r == 1 then t[math.random(1, 64)] = true\n"
    "    elseif r == 2 then t[math.random(1, 64)] = nil\n"
    "    elseif r == 3 then t[keys[math.random(1, 64)]] = true\n"
    "    elseif r == 4 then t[keys[math.random(1, 64)]] = nil\n"
    "    elseif r == 5 then t[math.random(1, 64) + 0.5] = true\n"
    "    else t[#t + 1] = 1 end\n"
    "  end\n"
    "  out[#out + 1] = #t\n"
    "end\n"
    "return table.concat(out, ',')";

/* the same with functions as keys (closures: one allocation each) */
static const char border_fkeys[] =
    "local out = {} local keys = {}\n"
    "for i = 1, 64 do keys[i] = function() return i end end\n"
    "for trial = 1, 300 do\n"
    "  local t = {}\n"
    "  for step = 1, 120 do\n"
    "    local r = math.random(1, 4)\n"
    "    if r == 1 then t[math.random(1, 64)] = true\n"
    "    elseif r == 2 then t[keys[math.random(1, 64)]] = true\n"
    "    elseif r == 3 then t[keys[math.random(1, 64)]] = nil\n"
    "    else t[#t + 1] = 1 end\n"
    "  end\n"
    "  out[#out + 1] = #t\n"
    "end\n"
    "return table.concat(out, ',')";

/* Regression: the new-build corners that must not depend on the process */
static const char determ_mix2[] =
    "local out = {}\n"
    "local function add(x) out[#out + 1] = tostring(x) end\n"
    "local t = {[1.5] = 'a', [-0.0] = 'z', [2^53] = 'b', [true] = 1,\n"
    "    [false] = 0, [3] = 'i', [3.0] = 'f', ['3'] = 's', [1e300] = 'e'}\n"
    "for k, v in pairs(t) do add(math.type(k) or type(k)) add(k) add(v) end\n"
    "local k = next(t) while k ~= nil do add(k) k = next(t, k) end\n"
    "add(string.format('%a|%.3a|%.99f|%5.1f|%g|%q|%q|%q', 0.1, 1/3, 1/3,\n"
    "    1/0, -0.0, 0/0, 1/0, 0.1))\n"
    "add(math.tointeger(2^53)) add(math.tointeger('8')) add(3 % -0.0)\n"
    "add(math.fmod(1, 0.0)) add(-(0/0) .. '') add(math.mininteger // -1)\n"
    "add(tonumber('0x1p4')) add(tonumber('  0x10  ')) add(tonumber('nan'))\n"
    "add(utf8.char(72, 0x10FFFF, 228)) add(utf8.len('\\xF4\\x90\\x80\\x80'))\n"
    "for p, c in utf8.codes('h\\u{E4}\\u{10FFFF}') do add(p) add(c) end\n"
    "add(#string.pack('<i4 >j d n s1', 1, 2, 0.5, 1/3, 'x'))\n"
    "add(string.unpack('<i4', '\\1\\0\\0\\0'))\n"
    "add(string.packsize('<!8 b d'))\n"
    "local long = {} for i = 1, 40 do long[('L'):rep(50) .. i] = i end\n"
    "for k, v in pairs(long) do add(v) end\n"
    "local big = {} for i = 1, 3000 do big['k' .. i] = i end\n"
    "for i = 1, 3000, 2 do big['k' .. i] = nil end\n"
    "local h = {} for i = 1, 200 do h[i] = i end\n"
    "for i = 1, 200, 7 do h[i] = nil end\n"
    "add(#h) add(select('#', table.unpack(h, 1, 300)))\n"
    "add(select(2, pcall(string.rep)))\n"
    "add(select(2, pcall(function() return ('x'):bad() end)))\n"
    "add(select(2, pcall(function() return 1 < 'x' end)))\n"
    "add(select(2, pcall(function() return {} < {} end)))\n"
    "add(select(2, pcall(next, {}, 'nope')))\n"
    "return table.concat(out, ',')";

static const struct child_case child_cases[] = {
	{ "border_tkeys", NULL, border_tkeys },
	{ "border_fkeys", NULL, border_fkeys },
	{ "determ_mix2", NULL, determ_mix2 },
	{ NULL, NULL, NULL }
};

/* ==== findings ==== */

#define LIM_I(n)	"ERR: limit exceeded: instructions (" #n ")"

/*
 * FINDING R2-1: l_strcmp (lvm.c) compares two strings one NUL-terminated
 * segment at a time, calling strcoll and strlen per segment, and
 * vms_lua_strcoll() charges each call (bytes / 64), rounded down. A
 * segment shorter than 64 bytes costs nothing, so strings made of NULs
 * (or of 63-byte runs between NULs) compare for free: a <= b on two
 * 16 MB strings of NULs is 16M strcoll+strlen calls in one charged
 * instruction (measured: 400 compares of 100 KB NULs = 2 s, uncharged).
 * The same NUL-string loop under the same budget with 'x' instead of NUL
 * is stopped (held_cmp_metered below).
 */
TEST(r1_cmp_nul_segments)
{
	ATTACK("local a = string.rep('\\0', 32000)\n"
	    "local b = string.rep('\\0', 31999) .. '\\0'\n"
	    "local n = 0 for i = 1, 200 do if a <= b then n = n + 1 end end\n"
	    "return n", "instructions=50000", LIM_I(50000));
	ATTACK("local a = string.rep(('x'):rep(63) .. '\\0', 2000)\n"
	    "local b = string.rep(('x'):rep(63) .. '\\0', 1999) .. "
	    "('x'):rep(63) .. '\\0'\n"
	    "local n = 0 for i = 1, 50 do if a < b or a <= b then n = n + 1 "
	    "end end return n", "instructions=50000", LIM_I(50000));
}

/*
 * FINDING R2-2: sb_meter.c charges a pattern without special characters
 * (and string.find's plain search) as a linear scan, (n + m) / 16, but
 * both searches are O(n * m): lmemfind memcmp()s the pattern at every
 * position where its first byte occurs, and the matcher (match, gmatch,
 * gsub never take the plain path) steps through the literal at every
 * start. 'a' * 2000 .. 'b' against 'a' * 4000: 4M matcher steps charged
 * ~400 instructions (10,000x); with a 1 MB subject and a 500 KB literal
 * one call is ~5 * 10^11 steps (hours) for ~100K instructions.
 */
#define QS_SMALL "local s = ('a'):rep(4000) local p = ('a'):rep(2000) .. 'b'\n"
#define QS_BIG "local s = ('a'):rep(40000) local p = ('a'):rep(20000) .. 'b'\n"
TEST(r2_literal_pattern_quadratic)
{
	ATTACK(QS_BIG "local n = 0 for i = 1, 2 do if s:find(p, 1, true) "
	    "then n = n + 1 end end return n", "instructions=200000",
	    LIM_I(200000));
	ATTACK(QS_BIG "local n = 0 for i = 1, 2 do if s:find(p) "
	    "then n = n + 1 end end return n", "instructions=200000",
	    LIM_I(200000));
	ATTACK(QS_SMALL "local n = 0 for i = 1, 2 do if s:match(p) "
	    "then n = n + 1 end end return n", "instructions=200000",
	    LIM_I(200000));
	ATTACK(QS_SMALL "local n = 0 for i = 1, 2 do "
	    "n = n + select(2, s:gsub(p, '')) end return n",
	    "instructions=200000", LIM_I(200000));
	ATTACK(QS_SMALL "local n = 0 for i = 1, 2 do "
	    "for m in s:gmatch(p) do n = n + 1 end end return n",
	    "instructions=200000", LIM_I(200000));
}

/*
 * FINDING R2-3: a table, function or coroutine used as a table key is
 * hashed by its address (ltable.c hashpointer: point2uint(p) mod an odd
 * size), i.e. by ASLR and malloc. Collisions decide when a table runs
 * out of free nodes and rehashes, so the border #t of a table with
 * holes, the table sizes (heap in use: memory-limit and allocation-
 * charged instruction-limit outcomes) and the long-string comparisons
 * charged while walking a chain all differ between the host and an
 * auditor. The string-hash seed (finding 15) does not cover pointers.
 * Measured: 3 processes, 3 different #t sequences.
 */
TEST(r3_address_hashed_keys)
{
	same_in_processes("border_tkeys", 3);
	same_in_processes("border_fkeys", 3);
}

/*
 * FINDING R2-4 (portability): string.pack/unpack/packsize are allowed
 * with Lua's native options: byte order '=' (and the default when a
 * format has no '<' or '>'), so string.pack('i4', 1) is "\1\0\0\0" on
 * amd64/arm64 and "\0\0\0\1" on s390x (a Debian release architecture);
 * 'l', 'L', 'T' and '!' are sizeof(long), sizeof(size_t) and the native
 * alignment. The deploy entry's runtime ("Lua 5.4.4 vms-sandbox/1") does
 * not name the byte order, so a big-endian auditor diverges silently.
 * The secure behaviour asserted: native byte order is refused (or every
 * format is forced little-endian: then this test should check the bytes
 * on a big-endian host instead).
 */
TEST(r4_pack_native_byte_order)
{
	/* decision: the runtime is defined for little-endian LP64 machines
	 * (a build-time assertion in lua-sandbox/sb_luaconf.c), so native
	 * is little-endian wherever vmsd builds: check the bytes */
	ATTACK("return {string.pack('=i4', 1):byte(1, -1)}", NULL,
	    "[1,0,0,0]");
	ATTACK("return {string.pack('i4', 1):byte(1, -1)}", NULL,
	    "[1,0,0,0]");
	ATTACK("return string.unpack('=i4', 'abcd')", NULL, "1684234849");
	ATTACK("return {string.packsize('l'), string.packsize('T'), "
	    "string.packsize('!8 i1 i8')}", NULL, "[8,8,16]");
}

/*
 * FINDING R2-5: pairs/next (sb_determ.c sorted_keys) and JSON encoding
 * (sb_json.c table_to_json) sort the keys with qsort+memcmp, charged 4
 * instructions (pairs) or len/16 (JSON) per key whatever the keys share:
 * n keys with a long common prefix cost n*log2(n) prefix compares. 1000
 * keys of 40 KB: one pairs() is ~400 MB of memcmp for ~4000 instructions
 * (6M at the comparison rate of vms_lua_strcoll, 1 per 64 bytes).
 * Measured under the default budget: 0.9 s against 0.1 s for a plain loop.
 */
TEST(r5_key_sort_uncharged)
{
	ATTACK("local pre = ('p'):rep(40000) local t = {}\n"
	    "for i = 1, 1000 do t[pre .. i] = i end local n = 0\n"
	    "for r = 1, 3 do for k in pairs(t) do n = n + 1 end end return n",
	    "instructions=5000000", LIM_I(5000000));
}

/*
 * FINDING R2-6: a call's result may hold a string with a NUL byte
 * (string.char(0), or readFile() of a binary file: file contents are
 * byte strings). sb_to_json encodes it as "\u0000", the engine records
 * the entry, and every reader of the ledger (engine_replay/engine_apply's
 * parse_entry, audit.c, worker.c, ledgerq.c, client.c, vmsctl log) parses
 * entries without JSON_ALLOW_NUL: "entry 1 is not a JSON object". One
 * call makes the ledger unauditable and the daemon's restart by
 * engine_apply fail. JSON keys with NUL are already refused; values not.
 * Asserted here: the outcome replays (either refused as a result, or
 * recorded in a form the readers accept).
 */
TEST(r6_nul_in_result)
{
	ATTACK("return 'a\\0b'", NULL, NULL);
	ATTACK("return {x = string.char(0)}", NULL, NULL);
	ATTACK("System.files.writeFile('/bin', '\\0\\1') "
	    "return System.files.readFile('/bin')", NULL, NULL);
}

/*
 * FINDING R2-7: an __index (or __newindex) chain of tables is walked by
 * luaV_finishget/finishset (lvm.c) up to MAXTAGLOOP = 2000 levels inside
 * ONE VM instruction, with no charge: t.x on a chain of 1990 tables is
 * 1990 table lookups for ~1 instruction. Measured: a default-budget call
 * (10M instructions) reading t.x in a loop ran 101 s (ASan) against
 * 0.1 s for a plain loop, ~1000x. Each level is charged below.
 */
#define CHAIN(mm) "local t = {} for i = 1, 1990 do t = setmetatable({}, " \
    "{" mm " = t}) end\n"
TEST(r7_metatable_chain_unmetered)
{
	ATTACK(CHAIN("__index") "local n = 0 for i = 1, 2000 do "
	    "n = n + (t.x or 1) end return n", "instructions=100000",
	    LIM_I(100000));
	ATTACK(CHAIN("__newindex") "for i = 1, 2000 do t.x = nil end "
	    "return 'done'", "instructions=100000", LIM_I(100000));
}

/*
 * FINDING R2-8: string.gsub with a string replacement walks the whole
 * replacement (add_s in lstrlib.c) for every match, and a '%0' (or '%1')
 * whose match is empty adds nothing, so nothing is allocated or charged:
 * s:gsub('', ('%0'):rep(1000)) on 10 KB is 10^7 steps for the linear
 * charge of the subject (~600 instructions). With a 1 MB subject and a
 * 60 KB replacement one call is 3 * 10^10 steps. sb_meter.c charges the
 * pattern, never the replacement.
 */
TEST(r8_gsub_replacement_unmetered)
{
	ATTACK("local s = ('x'):rep(10000) local r = ('%0'):rep(1000)\n"
	    "local n = 0 for i = 1, 2 do n = n + #s:gsub('', r) end return n",
	    "instructions=100000", LIM_I(100000));
	ATTACK("local s = ('x'):rep(10000) local r = ('%1'):rep(1000)\n"
	    "local n = 0 for i = 1, 2 do n = n + #s:gsub('(x-)', r) end "
	    "return n", "instructions=100000", LIM_I(100000));
}

/*
 * FINDING R2-9: calling a table whose __call is the table itself (or any
 * cycle of __call tables) loops in luaD_precall/luaD_tryfuncTM (ldo.c):
 * each step shifts the whole argument list one slot up and grows the
 * stack by one, with no VM instruction (no count hook) and no call hook,
 * until the stack or the memory cap gives out: quadratic work in one
 * instruction. Measured (ASan): 1.6 s under memory=1M, 6.9 s under
 * memory=2M; under the default 64M it runs to LUAI_MAXSTACK (1M slots,
 * ~5 * 10^11 slot moves): minutes for one call. Shown here cheaply: with
 * 400 KB left, today the call ends on the memory limit without a single
 * charge; charged per step, the 5000-instruction budget ends it first
 * (if the fix caps the chain instead, any non-memory error is fine).
 */
TEST(r9_call_metamethod_cycle)
{
	/* every __call step is charged, with the frame it shifts */
	ATTACK("local t = {} setmetatable(t, {__call = t}) return t()",
	    "instructions=5000,memory=1M", LIM_I(5000));
	ATTACK("local t, u = {}, {} setmetatable(t, {__call = u})\n"
	    "setmetatable(u, {__call = t}) return t(1, 2, 3)",
	    "instructions=5000,memory=1M", LIM_I(5000));
	/* a callable table still works */
	ATTACK("local t = setmetatable({}, {__call = function(self, x) "
	    "return x + 1 end}) return t(41)", NULL, "42");
}

/*
 * FINDING R2-10: integer and float keys hash by value with no seed
 * (ltable.c hashint: i % (2^k - 1); l_hashfloat likewise), so a contract
 * (or a caller, through keys in the arguments) picks keys that all land
 * in one chain: multiples of 16383 in a table of 16384 nodes (12000
 * keys here). Every insertion and every lookup then walks the chain
 * inside one instruction:
 * building 40000 such keys took 2.7 s (ASan) against 4 ms for 1..40000,
 * and each later lookup of a colliding key is 40000 steps. The string
 * seed (finding 15) does not cover numbers. Asserted: the colliding run
 * is either stopped by the budget or costs at most 5x the plain one.
 */
#define FLOOD(mul) "local t = {} for j = 1, 12000 do t[j * " mul "] = true " \
    "end\nlocal n, k = 0, " mul " * 99999\n" \
    "for i = 1, 2000 do if t[k] then n = n + 1 end end return n"
TEST(r10_number_key_flooding)
{
	long long plain, flood;
	char *o;

	o = rt_attack(FLOOD("3"), "instructions=1000000", NULL, "0");
	plain = rt_last_ms;
	free(o);
	o = rt_attack(FLOOD("16383"), "instructions=1000000", NULL, NULL);
	flood = rt_last_ms;
	CHECK_MSG(o != NULL && (strcmp(o, LIM_I(1000000)) == 0 ||
	    flood <= 5 * plain + 20), "colliding keys: %s in %lld ms, "
	    "plain keys %lld ms", o ? o : "(null)", flood, plain);
	free(o);
	o = rt_attack("local t = {} for j = 1, 12000 do t[j * 16383 + 0.5] = "
	    "true end return 'built'", "instructions=1000000", NULL, NULL);
	flood = rt_last_ms;
	free(o);
	o = rt_attack("local t = {} for j = 1, 12000 do t[j * 3 + 0.5] = "
	    "true end return 'built'", "instructions=1000000", NULL, NULL);
	plain = rt_last_ms;
	free(o);
	CHECK_MSG(flood <= 5 * plain + 20, "colliding float keys: %lld ms, "
	    "plain %lld ms", flood, plain);
}

/*
 * FINDING R2-11: load() is charged len/16 plus its allocations, but Lua's
 * code generator is quadratic on chains of 'or'/'and' (luaK_concat walks
 * the whole pending jump list for every operand): 'a or a or ... a'
 * (40000 operands, 200 KB) parses in 2.8 s (ASan) for ~12,500 charged
 * instructions; a 2 MB source (well under the 64 MB heap cap) is ~100x
 * that in one call. (Deploys are capped at SB_MAX_CODE, 60 KB; load() is
 * not.) Here 10000 operands parse within a 40,000-instruction budget.
 */
TEST(r11_load_quadratic_parse)
{
	char *o;

	o = rt_attack("local src = 'local a return ' .. ('a or '):rep(10000) "
	    ".. 'a'\nlocal f, err = load(src) return err or #src",
	    "instructions=40000", NULL, NULL);
	CHECK_MSG(o != NULL && strcmp(o, "50016") != 0, "a quadratic parse of "
	    "50 KB fitted in 40000 instructions (%lld ms)", rt_last_ms);
	free(o);
}

/* ==== what held ==== */

/*
 * The comparison that exhausts the budget is answered truly, the ones
 * after it falsely ("differ", "greater"): whatever the contract does
 * with a false answer (return it, write it, catch errors, run it in a
 * coroutine, a metamethod, a sort comparator or a message handler), the
 * call fails with the limit and writes nothing. Under 1M instructions
 * the strings cost most of the budget and the second 3 MB comparison
 * crosses it (checked first), so the loops of 16 below see fake answers.
 */
#define FAKE_PRE "local a = string.rep('x', 3000000)\n" \
    "local b = string.rep('x', 2999999) .. 'x'\n"
static void
fake_case(const char *body)
{
	struct vms_caller root = { "unix:root", "debug" };
	struct vms_limits lim;
	struct engine *e = NULL;
	char *code, *full, *out, *ent0 = NULL, err[VMS_ERRLEN];
	uint8_t *data = NULL;
	size_t len, len0;

	if (rt_limits(&lim, "instructions=1000000") == -1)
		return;
	xasprintf(&full, "System.files.writeFile('/before', 'x')\n" FAKE_PRE
	    "%s", body);
	code = rt_code(full);
	free(full);
	if (engine_deploy("test", code, strlen(code), &lim, &root, 1000, &e,
	    &ent0, &len0, err, sizeof(err)) != ENGINE_OK) {
		FAILF("deploy: %s", err);
		free(code);
		return;
	}
	free(code);
	free(ent0);
	out = sbt_call(e, "go", "[]");
	CHECK_EQ_STR(out, LIM_I(1000000));
	free(out);
	CHECK_MSG(engine_read(e, "/before", &data, &len, err,
	    sizeof(err)) == -1, "the failed call wrote /before");
	CHECK_MSG(engine_read(e, "/w", &data, &len, err, sizeof(err)) == -1,
	    "the failed call wrote /w");
	free(data);
	out = sbt_call(e, "ok", "[]");
	CHECK_EQ_STR(out, "\"fine\"");
	free(out);
	engine_free(e);
}

TEST(held_fake_answers_fail_the_call)
{
	/* precondition: one comparison fits, two do not */
	ATTACK("System.files.writeFile('/before', 'x')\n" FAKE_PRE
	    "return a <= b", "instructions=1000000", "true");
	ATTACK("System.files.writeFile('/before', 'x')\n" FAKE_PRE
	    "return a <= b and a <= b", "instructions=1000000",
	    LIM_I(1000000));
	/* observe and return at once */
	fake_case("local r = {} for i = 1, 16 do r[i] = (a <= b) end\n"
	    "return r");
	fake_case("local r = {} for i = 1, 16 do r[i] = (a == b) end\n"
	    "return r[16] and 'real' or 'fake seen'");
	/* act on it */
	fake_case("for i = 1, 16 do if not (a == b) then "
	    "System.files.writeFile('/w', 'fake') return 'fake seen' end end");
	/* behind pcall / error / xpcall handlers */
	fake_case("local ok = pcall(function() for i = 1, 16 do local _ = a <= b "
	    "end end) return 'escaped'");
	fake_case("local ok, e = pcall(function() for i = 1, 16 do if not "
	    "(a <= b) then error('fake') end end end) return e");
	fake_case("return xpcall(error, function(m) local r = 0 for i = 1, 16 "
	    "do if a == b then r = r + 1 end end return r end)");
	/* in a coroutine, yielding the answers out */
	fake_case("local co = coroutine.wrap(function() for i = 1, 16 do "
	    "coroutine.yield(a == b) end end) local r = {}\n"
	    "for i = 1, 16 do r[i] = co() end return r");
	fake_case("local co = coroutine.create(function() for i = 1, 16 do "
	    "local _ = a < b end end) return coroutine.resume(co)");
	/* metamethods and comparators */
	fake_case("local mt = {__lt = function(x, y) return a < b end,\n"
	    "  __le = function(x, y) return a <= b end,\n"
	    "  __eq = function(x, y) return a == b end}\n"
	    "local x, y = setmetatable({}, mt), setmetatable({}, mt)\n"
	    "local r = {} for i = 1, 16 do r[i] = {x < y, x <= y, x == y} end "
	    "return r");
	fake_case("local t = {a, b, a, b, a, b, a, b, a, b}\n"
	    "table.sort(t, function(x, y) return x < y end) return #t");
	fake_case("local t = {a, b, a, b, a, b, a, b, a, b}\n"
	    "table.sort(t) return #t");
	/* in a long-string table lookup */
	fake_case("local t = {[a] = 1} local r = {}\n"
	    "for i = 1, 16 do r[i] = t[b] end return #r");
}

/* comparisons are metered wherever they happen */
#define MB_STRINGS "local a = string.rep('x', 1000000)\n" \
    "local b = string.rep('x', 999999) .. 'x'\n"
TEST(held_cmp_metered)
{
	ATTACK(MB_STRINGS "local co = coroutine.wrap(function() for i = 1, "
	    "2000 do local _ = a == b end end) co() return 'done'",
	    "instructions=1000000", LIM_I(1000000));
	ATTACK(MB_STRINGS "local t = {} for i = 1, 200 do t[i] = i % 2 == 0 "
	    "and a or b end table.sort(t) return 'done'",
	    "instructions=1000000", LIM_I(1000000));
	ATTACK(MB_STRINGS "local t = {} for i = 1, 200 do t[i] = i % 2 == 0 "
	    "and a or b end table.sort(t, function(x, y) return x < y end) "
	    "return 'done'", "instructions=1000000", LIM_I(1000000));
	ATTACK(MB_STRINGS "local mt = {__eq = function() return a == b end}\n"
	    "local x, y = setmetatable({}, mt), setmetatable({}, mt)\n"
	    "for i = 1, 2000 do local _ = x == y end return 'done'",
	    "instructions=1000000", LIM_I(1000000));
	ATTACK(MB_STRINGS "local t = {[a] = 1} local n = 0\n"
	    "for i = 1, 2000 do n = n + (t[b] or 0) end return n",
	    "instructions=1000000", LIM_I(1000000));
	ATTACK(MB_STRINGS "xpcall(error, function() for i = 1, 2000 do "
	    "local _ = a <= b end end) return 'done'",
	    "instructions=1000000", LIM_I(1000000));
	/* the same NUL-free strings as r1: stopped */
	ATTACK("local a = string.rep('x', 32000)\n"
	    "local b = string.rep('x', 31999) .. 'x'\n"
	    "local n = 0 for i = 1, 200 do if a <= b then n = n + 1 end end\n"
	    "return n", "instructions=50000", LIM_I(50000));
}

/* C functions whose work follows their arguments are bounded */
TEST(held_bounds)
{
	ATTACK("return #string.pack('c2000000000', '')", "memory=16M",
	    "ERR: limit exceeded: memory (16777216)");
	ATTACK("local n = 0 for i = 1, 1e6 do n = n + "
	    "string.packsize(string.rep('i16', 100000)) end return n",
	    "instructions=1000000", LIM_I(1000000));
	ATTACK("return select('#', table.unpack({}, 1, 1e7))", NULL,
	    "ERR: test:4: too many results to unpack");
	ATTACK("local t = {} for i = 1, 1e6 do t[i] = 0x10FFFF end\n"
	    "for i = 1, 1000 do local _ = utf8.char(table.unpack(t)) end",
	    "memory=16M", "ERR: limit exceeded: memory (16777216)");
	ATTACK("return #string.format('%099d', 1) + "
	    "#string.format('%99.99f', 1e308)", NULL, "508");
	/* (the real format's errors carry no position: harmless) */
	ATTACK("return string.format('%100d', 1)", NULL,
	    "ERR: invalid conversion specification: '%100d'");
	ATTACK("local s = string.rep('x', 1000000) local n = 0\n"
	    "for i = 1, 1e6 do n = n + select('#', s:byte(1, -1)) end "
	    "return n", NULL, "ERR: test:5: stack overflow (string slice too "
	    "long)");
	ATTACK("local s = string.rep('x', 100000) local n = 0\n"
	    "for i = 1, 1e6 do n = n + select('#', s:byte(1, -1)) end "
	    "return n", "instructions=1000000", LIM_I(1000000));
	ATTACK("local f, e = load(string.rep('(', 300) .. '1' .. "
	    "string.rep(')', 300)) return e", NULL, "\"C stack overflow\"");
	ATTACK("local f f = function(n) return coroutine.wrap(function() "
	    "return n > 0 and f(n - 1)() or 0 end) end return f(1000)()",
	    NULL, "ERR: C stack overflow");
	ATTACK("local e = {} for i = 1, 1e5 do e[i] = i end error(e)", NULL,
	    "ERR: (error object is a table value)");
}

/* what a contract can reach */
TEST(held_escapes)
{
	ATTACK("return load(function() return nil end)", NULL,
	    "ERR: test:4: load: only source strings can be loaded");
	ATTACK("return select(2, load('\\27Lua', 'x', 'bt'))", NULL,
	    "\"attempt to load a binary chunk (mode is 't')\"");
	ATTACK("return select(2, load('return 1', 'x', 'b'))", NULL,
	    "\"load: only text chunks are allowed\"");
	ATTACK("return {getmetatable('') == nil, string.dump == nil, "
	    "rawget(_G, 'io') == nil, rawget(_G, 'os') == nil, "
	    "rawget(_G, 'debug') == nil, rawget(_G, 'package') == nil, "
	    "rawget(_G, 'require') == nil, rawget(_G, 'dofile') == nil, "
	    "rawget(_G, 'loadfile') == nil, getmetatable(System) == false, "
	    "getmetatable(System.files) == false}", NULL,
	    "[true,true,true,true,true,true,true,true,true,true,true]");
	ATTACK("return (''):dump()", NULL,
	    "ERR: test:4: attempt to call a nil value (method 'dump')");
	ATTACK("local f = load('return io', 'x', 't', setmetatable({}, "
	    "{__index = function(t, k) return k end})) return f()", NULL,
	    "\"io\"");
	ATTACK("local f = load('return os') return f()", NULL,
	    "ERR: [string \"return os\"]:1: undefined global 'os'");
	/* the read-only proxies: rawset only changes this call's proxy */
	ATTACK("System.files.x = 1", NULL, "ERR: test:4: System is read-only");
	ATTACK("rawset(System.files, 'writeFile', print) "
	    "return type(System.files.writeFile)", NULL, "\"function\"");
}

/* the string-hash seed is per call, from the ledger: same everywhere */
TEST(held_determinism_cross_process)
{
	same_in_processes("determ_mix2", 3);
}

/*
 * A daemon restarted from a snapshot (or from engine_apply of the
 * entries) makes byte-identical entries to one that ran continuously.
 */
static const char snap_code[] =
    "local M = {}\n"
    "function M.put(k, v) System.files.writeFile('/d/' .. k, v) end\n"
    "function M.mix(n)\n"
    "  local t = {} for i = 1, n do t['k' .. i] = i; t[i] = i end\n"
    "  for i = 1, n, 3 do t['k' .. i] = nil; t[i] = nil end\n"
    "  local o = {#t, math.random(1, 1e9), System.random()}\n"
    "  for k in pairs(t) do o[#o + 1] = tostring(k) end\n"
    "  for _, d in ipairs(System.files.readdir('/d', {stat = true})) do\n"
    "    o[#o + 1] = System.json.encode(d) end\n"
    "  System.files.writeFile('/d/mix', table.concat(o, ','))\n"
    "  return table.concat(o, ',')\n"
    "end\n"
    "function M.init() System.files.mkdir('/d') end\n"
    "return M\n";

TEST(held_snapshot_restart)
{
	struct vms_caller root = { "unix:root", "debug" }, al = { "unix:alice",
	    "debug" };
	struct engine_result res;
	struct engine *a = NULL, *b = NULL, *c = NULL;
	char *ent[6], err[VMS_ERRLEN], path[] = "/tmp/rt2snap.XXXXXX";
	char *e1 = NULL, *e2 = NULL, *e3 = NULL;
	size_t len[6], l1, l2, l3;
	json_t *args;
	int i, fd;

	if (engine_deploy("snap", snap_code, strlen(snap_code), NULL, &root,
	    1000, &a, &ent[0], &len[0], err, sizeof(err)) != ENGINE_OK) {
		FAILF("deploy: %s", err);
		return;
	}
	for (i = 1; i < 5; i++) {
		args = i % 2 ? json_pack("[si]", "f", i) : json_pack("[i]", 50);
		if (i % 2)
			json_array_set_new(args, 1, json_sprintf("v%d", i));
		if (engine_call(a, i % 2 ? "put" : "mix", args, &al, 5000 + i,
		    &ent[i], &len[i], &res, err, sizeof(err)) != ENGINE_OK) {
			FAILF("call %d: %s", i, err);
			json_decref(args);
			return;
		}
		engine_result_clear(&res);
		json_decref(args);
	}
	if ((fd = mkstemp(path)) == -1) {
		FAILF("mkstemp");
		return;
	}
	close(fd);
	CHECK(engine_snapshot_save(a, path, err, sizeof(err)) == 0);
	CHECK(engine_open((uint8_t *)ent[0], len[0], &b, err,
	    sizeof(err)) == 0);
	CHECK(b != NULL && engine_snapshot_load(b, path, err,
	    sizeof(err)) == 0);
	CHECK(engine_open((uint8_t *)ent[0], len[0], &c, err,
	    sizeof(err)) == 0);
	for (i = 0; c != NULL && i < 5; i++)
		CHECK(engine_apply(c, (uint8_t *)ent[i], len[i], err,
		    sizeof(err)) == 0);
	unlink(path);
	args = json_pack("[i]", 200);
	if (a && b && c) {
		CHECK(engine_call(a, "mix", args, &al, 9999, &e1, &l1, &res,
		    err, sizeof(err)) == ENGINE_OK);
		engine_result_clear(&res);
		CHECK(engine_call(b, "mix", args, &al, 9999, &e2, &l2, &res,
		    err, sizeof(err)) == ENGINE_OK);
		engine_result_clear(&res);
		CHECK(engine_call(c, "mix", args, &al, 9999, &e3, &l3, &res,
		    err, sizeof(err)) == ENGINE_OK);
		engine_result_clear(&res);
		CHECK_MSG(e1 && e2 && l1 == l2 && memcmp(e1, e2, l1) == 0,
		    "snapshot restart differs:\n %.300s\n %.300s", e1, e2);
		CHECK_MSG(e1 && e3 && l1 == l3 && memcmp(e1, e3, l1) == 0,
		    "apply restart differs:\n %.300s\n %.300s", e1, e3);
	}
	json_decref(args);
	free(e1);
	free(e2);
	free(e3);
	for (i = 0; i < 5; i++)
		free(ent[i]);
	engine_free(a);
	engine_free(b);
	engine_free(c);
}

/* ---- probe mode: ./test-runtime-metering --probe LIMITS BODY ---- */

static int
probe_main(const char *limits, const char *body)
{
	char *out;

	test_case_name = "probe";
	out = rt_attack(body, *limits ? limits : NULL, NULL, NULL);

	printf("%lld ms: %.2000s\n", rt_last_ms, out ? out : "(null)");
	free(out);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--probe") == 0)
		return probe_main(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return rt_child_main(child_cases, argv[2]);
	RUN(r1_cmp_nul_segments);
	RUN(r2_literal_pattern_quadratic);
	RUN(r3_address_hashed_keys);
	RUN(r4_pack_native_byte_order);
	RUN(r5_key_sort_uncharged);
	RUN(r6_nul_in_result);
	RUN(r7_metatable_chain_unmetered);
	RUN(r8_gsub_replacement_unmetered);
	RUN(r9_call_metamethod_cycle);
	RUN(r10_number_key_flooding);
	RUN(r11_load_quadratic_parse);
	RUN(held_fake_answers_fail_the_call);
	RUN(held_cmp_metered);
	RUN(held_bounds);
	RUN(held_escapes);
	RUN(held_determinism_cross_process);
	RUN(held_snapshot_restart);
	return test_summary();
}
