/*
 * test-sandbox-bounds.c — the resource limits a hostile contract must not
 * get past, from the first red-team round: instructions (loops in message
 * handlers, coroutines, C functions that never allocate, long string
 * comparisons), depth, the Lua heap, host memory outside it (JSON, undo
 * logs), JSON nesting, argument, result and file sizes. Escapes from
 * isolation are test-sandbox-escapes.c, replay test-sandbox-replay.c.
 *
 * Contracts run only through the public API; every case asserts the
 * SECURE outcome, that the next call works and that the entries replay
 * (rt_attack, tests/unit/rtest.h). Cases marked "FINDING n" attacked a
 * hole that was open when they were written. Cases that may hang, or that
 * measure host memory, re-execute this binary (/proc/self/exe --child
 * NAME) under a deadline and are killed (by pid) when it passes.
 */
#include "rtest.h"

/* ---- child processes ---- */

/* FINDING 1: hooks are off inside a message handler called for an error
 * raised by the hook itself, so the handler runs unmetered. */
static const char xpcall_hang[] =
    "return xpcall(function() while true do end end,\n"
    "    function(m) while true do end end)";
static const char xpcall_depth_hang[] =
    "local function f() return f() + 1 end\n"
    "return xpcall(f, function(m) while true do end end)";

/* A coroutine killed by a hook error keeps hooks off; closing it later
 * from a __close handler would run its pending __close unmetered. */
static const char close_dead_co[] =
    "local co = coroutine.create(function()\n"
    "  local x <--[[]]close> = setmetatable({}, {__close = function()\n"
    "    while true do end end})\n"
    "  while true do end\n"
    "end)\n"
    "local guard <--[[]]close> = setmetatable({}, {__close = function()\n"
    "  coroutine.close(co) end})\n"
    "coroutine.resume(co)";

/* FINDING 16: System.json.decode builds the whole jansson tree in host
 * memory (outside the Lua heap cap) before converting it: a 3 MB string
 * of empty arrays costs ~250 MB of host memory under memory=16M. */
static const char rss_json_decode[] =
    "local s = '[' .. string.rep('[],', 1000000) .. '[]]'\n"
    "return #System.json.decode(s)";

static const char writes_bomb[] =
    "for i = 1, 1000 do System.files.writeFile('/a', "
    "('x'):rep(32 * 1024)) end return 'done'";

static const struct child_case child_cases[] = {
	{ "xpcall_hang", "instructions=1000000", xpcall_hang },
	{ "xpcall_depth_hang", "instructions=1000000", xpcall_depth_hang },
	{ "close_dead_co", "instructions=100000", close_dead_co },
	{ "rss_json_decode", "memory=16M", rss_json_decode },
	{ "rss_writes", NULL, writes_bomb },
	{ NULL, NULL, NULL }
};

TEST(bound_instructions)
{
	const char *lim = "instructions=200000";
	const char *want = "ERR: limit exceeded: instructions (200000)";

	ATTACK("while true do end", lim, want);
	ATTACK("::a:: goto a", lim, want);
	ATTACK("while true do pcall(function() while true do end end) end",
	    lim, want);
	ATTACK("local function f() while true do end end "
	    "while true do pcall(pcall, f) end", lim, want);
	ATTACK("while true do xpcall(function() while true do end end, "
	    "function(m) return m end) end", lim, want);
	ATTACK("local co = coroutine.create(function() while true do end "
	    "end) while true do coroutine.resume(co) end", lim, want);
	ATTACK("local co = coroutine.create(function() while true do "
	    "pcall(coroutine.yield) end end) "
	    "while true do coroutine.resume(co) end", lim, want);
	ATTACK("return ('x'):rep(1000):gsub('.', function() "
	    "while true do end end)", lim, want);
	ATTACK("local t = {} for i = 1, 100 do t[i] = i end "
	    "table.sort(t, function(a, b) while true do end end)", lim, want);
	ATTACK("pcall(string.gsub, ('x'):rep(100), '.', function() "
	    "while true do end end) return 'swallowed'", lim, want);
	ATTACK("local ok = pcall(error) while true do end", lim, want);
	ATTACK("for i = 1, 10 do pcall(load('while true do end')) end "
	    "return 'swallowed'", lim, want);
	ATTACK("local t = setmetatable({}, {__index = function(t, k) "
	    "while true do end end}) return t.x", lim, want);
	ATTACK("local t = {} for i = 1, 100 do t[i] = i end "
	    "table.sort(t, function(a, b) error('cmp') end)", NULL,
	    "ERR: test:4: cmp");
}

/* FINDING 1 (fixed meanwhile by the sandbox branch, bd8b159): an xpcall
 * message handler invoked for an error raised by the count or call hook
 * runs with hooks disabled: an infinite loop in the handler hung the host
 * forever. Run in a child under a deadline. */
TEST(finding1_xpcall_handler_unmetered)
{
	char *o, err[VMS_ERRLEN];
	int r;

	r = run_child("xpcall_hang", 3000, &o, err, sizeof(err));
	CHECK_MSG(r == 0, "instructions: %s", err);
	if (r == 0)
		CHECK_CONTAINS(o, "ERR: limit exceeded: instructions (1000000)");
	free(o);
	r = run_child("xpcall_depth_hang", 3000, &o, err, sizeof(err));
	CHECK_MSG(r == 0, "depth: %s", err);
	if (r == 0)
		CHECK_CONTAINS(o, "ERR: limit exceeded: depth (200)");
	free(o);
}

TEST(close_dead_coroutine)
{
	char *o, err[VMS_ERRLEN];
	int r;

	r = run_child("close_dead_co", 3000, &o, err, sizeof(err));
	CHECK_MSG(r == 0, "%s", err);
	if (r == 0)
		CHECK_MSG(strstr(o, "ERR: limit exceeded: instructions "
		    "(100000)") != NULL || strstr(o, "to-be-closed") != NULL,
		    "outcome %.200s", o);
	free(o);
}

TEST(bound_depth)
{
	const char *want = "ERR: limit exceeded: depth (200)";

	ATTACK("local function f() return f() + 1 end return f()", NULL,
	    want);
	ATTACK("local function f() return pcall(f) end return f()", NULL,
	    want);
	ATTACK("local t = setmetatable({}, {__index = function(t, k) "
	    "return t[k] end}) return t.x", NULL, "ERR: test:4: C stack overflow");
	ATTACK("local t = {} for i = 1, 3000 do t = setmetatable({}, "
	    "{__index = t}) end return t.x", NULL,
	    "ERR: test:4: '__index' chain too long*");
	ATTACK("local f f = function() return ('x'):gsub('.', f) end "
	    "return f()", NULL, "ERR: *");
	ATTACK("local co co = function() return coroutine.resume("
	    "coroutine.create(co)) end return co()", NULL, "true");
}

TEST(bound_memory)
{
	const char *lim = "memory=4M";
	const char *want = "ERR: limit exceeded: memory (4194304)";

	ATTACK("return #('x'):rep(1e8)", lim, want);
	ATTACK("return #('x'):rep(1e6, ('y'):rep(100))", lim, want);
	ATTACK("local t = {} for i = 1, 1e8 do t[i] = i end", lim, want);
	ATTACK("local t = {} for i = 1, 1e6 do t[i] = ('x'):rep(100) end "
	    "return #table.concat(t)", lim, want);
	ATTACK("local t = {} for i = 1, 1e6 do t[i] = 0x10FFFF end "
	    "return utf8.char(table.unpack(t))", lim, "ERR: *");
	ATTACK("local s = 'x' while true do s = s .. s end", lim, want);
	ATTACK("local ok, e = pcall(string.rep, 'x', 1e8) return e", lim,
	    want);
	ATTACK("local co = coroutine.create(function() return "
	    "('x'):rep(1e8) end) return coroutine.resume(co)", lim, want);
	ATTACK("return string.format('%99999s', 'x')", NULL,
	    "ERR: invalid conversion specification: '%99999s'");
	ATTACK("return #string.format('%099d', 1)", NULL, "99");
	ATTACK("return #string.format('%0999d', 1)", NULL,
	    "ERR: invalid conversion*");
}

/* FINDING 5: load() returns a memory error as a value: the memory limit
 * is swallowed and the call goes on (pcall/xpcall/resume do rethrow). */
TEST(finding5_load_swallows_memory_error)
{
	ATTACK("local src = 'return {' .. string.rep('1,', 5000) .. '}'\n"
	    "local keep = {} for i = 1, 4000 do keep[i] = false end\n"
	    "for i = 1, 4000 do local f, e = load(src)\n"
	    "  if not f then return 'swallowed: ' .. e end keep[i] = f end",
	    "memory=2M", "ERR: limit exceeded: memory (2097152)");
}

/* FINDING 17: any error whose message contains "not enough memory" is
 * turned into the memory limit by pcall (is_memerr), though no limit was
 * hit: a contract cannot catch its own error("not enough memory"). */
TEST(finding17_fake_memory_error)
{
	ATTACK("local ok, e = pcall(error, 'not enough memory') return e",
	    NULL, "\"not enough memory\"");
}

/* FINDING 6: C functions that loop without allocating are not charged:
 * table.move over a huge empty range, backtracking patterns, and
 * repeated scans of a large string all run far beyond the budget. */

TEST(finding6_table_move_unmetered)
{
	ATTACK("table.move({}, 1, 1e7, 2) return 'done'",
	    "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
}

/* string.rep('', n) loops n times in C with nothing to allocate:
 * string.rep('', math.maxinteger) never returns. 5e7 here. */
TEST(finding6_string_rep_empty_unmetered)
{
	ATTACK("return #string.rep('', 2e7)", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	ATTACK("return #string.rep('', 2e7, '')", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
}

/* ~50 keys make #t = 2^k + 1 (keys 2^i and 2^i + 1 in the hash part);
 * table.insert(t, 1, x) / table.remove(t, 1) then shift 2^k slots in C.
 * With k = 40 that is ~10^12 iterations. k = 22 here. */
TEST(finding6_table_shift_unmetered)
{
	ATTACK("local t = {} for k = 0, 22 do t[(1 << k) + 1] = true "
	    "t[1 << k] = true end table.insert(t, 1, 0) return 'done'",
	    "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	ATTACK("local t = {} for k = 0, 22 do t[(1 << k) + 1] = true "
	    "t[1 << k] = true end table.remove(t, 1) return 'done'",
	    "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
}

TEST(finding6_pattern_backtracking_unmetered)
{
	ATTACK("return string.find(string.rep('a', 22), "
	    "string.rep('a*', 8) .. 'b')", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
}

TEST(finding6_string_scan_amplification)
{
	ATTACK("local s = string.rep('a', 2 * 1024 * 1024) local n = 0\n"
	    "for i = 1, 1000 do if s:find('b', 1, true) then n = n + 1 end "
	    "end return n", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
}

/* FINDING 8: System.json.encode of a DAG ({t, t} nested) expands it in
 * jansson: exponential C work and memory outside the Lua heap cap, not
 * charged. Depth 16 builds 131071 JSON nodes on 17 Lua tables. */
TEST(finding8_json_dag_bomb)
{
	ATTACK("local t = {} for i = 1, 16 do t = {t, t} end\n"
	    "return #System.json.encode(t)", "instructions=100000",
	    "ERR: limit exceeded: *");
}

TEST(finding16_json_decode_host_memory)
{
	char *o, err[VMS_ERRLEN], *p;
	long kb = -1;
	int r;

	r = run_child("rss_json_decode", 8000, &o, err, sizeof(err));
	CHECK_MSG(r == 0, "%s", err);
	if (r == 0 && (p = strstr(o, "RSS+")) != NULL)
		kb = strtol(p + 4, NULL, 10);
	CHECK_MSG(kb >= 0 && kb < 48 * 1024, "host memory grew by %ld KB "
	    "under memory=16M (outcome %.80s)", kb, o);
	free(o);
}

TEST(bound_json)
{
	ATTACK("return System.json.decode(string.rep('[', 100000))", NULL,
	    "ERR: test:4: System.json.decode: maximum parsing depth reached*");
	ATTACK("return System.json.decode(string.rep('[', 100) .. "
	    "string.rep(']', 100))", NULL,
	    "ERR: test:4: JSON nesting deeper than 64");
	ATTACK("local t = {} t[1] = t return System.json.encode(t)", NULL,
	    "ERR: test:4: System.json.encode: nesting deeper than 64 (or a "
	    "cycle)");
	ATTACK("local t = {} t.a = t return t", NULL,
	    "ERR: result: nesting deeper than 64 (or a cycle)");
	ATTACK("return System.json.encode(0/0)", NULL,
	    "ERR: test:4: System.json.encode: cannot encode NaN or infinity "
	    "as JSON");
	ATTACK("return ('x'):rep(20000)", NULL,
	    "ERR: limit exceeded: result_size (16384)");
	ATTACK("return System.json.decode('\"\\\\u0000\"')", NULL,
	    "ERR: *");
}

TEST(bound_args)
{
	char big[20000];
	char *r;

	memset(big, 'a', sizeof(big));
	big[0] = '[';
	big[1] = '"';
	big[sizeof(big) - 3] = '"';
	big[sizeof(big) - 2] = ']';
	big[sizeof(big) - 1] = '\0';
	r = rt_attack("return 1", NULL, big, NULL);
	CHECK_EQ_STR(r, "REFUSED: limit exceeded: args_size (16384)");
	free(r);
	memset(big, '[', 70);
	big[70] = '1';
	memset(big + 71, ']', 70);
	big[141] = '\0';
	r = rt_attack("return select('#', ...)", NULL, big, NULL);
	CHECK_EQ_STR(r, "ERR: JSON nesting deeper than 64");
	free(r);
}

TEST(files_limits)
{
	ATTACK("System.files.writeFile('/a', ('x'):rep(32 * 1024 + 1))", NULL,
	    "ERR: limit exceeded: file_size*");
	ATTACK("for i = 1, 100000 do System.files.writeFile('/f' .. i, "
	    "'xxxxxxxx') end", "state_size=4K", "ERR: limit exceeded: state*");
	ATTACK("pcall(System.files.writeFile, '/a', ('x'):rep(40000)) "
	    "return 'swallowed'", NULL, "ERR: limit exceeded: file_size*");
	ATTACK("for i = 1, 3 do System.files.writeFile('/f' .. i, "
	    "('x'):rep(30000)) end", NULL,
	    "ERR: limit exceeded: entry_size (65535)");
	/* a failed call leaves nothing behind */
	ATTACK("System.files.writeFile('/a', 'x') error('no')", NULL,
	    "ERR: test:4: no");
}

/* FINDING 9: every write is recorded (base64) and undo-logged in host
 * memory for the whole call, outside the Lua heap cap, though the entry
 * can never exceed entry_size: repeated overwrites of one 32K file grow
 * the daemon by hundreds of MB per call. Measured in a child's RSS. */
TEST(finding9_writes_host_memory)
{
	char *o, err[VMS_ERRLEN], *p;
	long kb = -1;
	int r;

	r = run_child("rss_writes", 8000, &o, err, sizeof(err));
	CHECK_MSG(r == 0, "%s", err);
	if (r == 0) {
		CHECK_CONTAINS(o, "ERR: limit exceeded");
		if ((p = strstr(o, "RSS+")) != NULL)
			kb = strtol(p + 4, NULL, 10);
	}
	CHECK_MSG(kb >= 0 && kb < 64 * 1024, "host memory grew by %ld KB in "
	    "one call (outcome %.80s)", kb, o);
	free(o);
}

/* FINDING 11: every coroutine starts with a fresh count-hook counter
 * (SB_HOOK_EVERY), so up to 999 instructions per coroutine are never
 * charged: 1200 short coroutines run ~1.1M instructions on a 100000
 * budget (only their allocations are charged). */
TEST(finding11_coroutine_uncounted_instructions)
{
	ATTACK("local function work() local x = 0\n"
	    "  for i = 1, 480 do x = x + i end return x end\n"
	    "local total = 0\n"
	    "for j = 1, 1200 do\n"
	    "  local ok, v = coroutine.resume(coroutine.create(work))\n"
	    "  total = total + v end\n"
	    "return total", "instructions=100000",
	    "ERR: limit exceeded: instructions (100000)");
}

/* FINDING 13: rmdir({recursive = true}) is charged after the removal:
 * a tree built over many calls is removed (and, on the limit error,
 * rolled back) in one call whatever its size: work per call is bounded
 * by state_size, not by the instruction budget. Measured as the time of
 * that call against a call that just spins to the same limit. */
TEST(finding13_rmdir_charged_after)
{
	struct vms_limits lim;
	struct engine *e;
	char *code, *r;
	long long t0, spin, rm;
	int i;

	rt_limits(&lim, "instructions=1000000");
	code = rt_code("local a = ... if a == 'spin' then while true do end "
	    "end\n"
	    "if a == 'rm' then System.files.rmdir('/t', {recursive = true}) "
	    "return 'removed' end\n"
	    "if not System.files.stat('/t') then System.files.mkdir('/t') "
	    "end\n"
	    "local d = '/t/' .. a System.files.mkdir(d)\n"
	    "for i = 1, 1200 do System.files.mkdir(d .. '/' .. i) end");
	e = sbt_deploy_lim(code, &lim, "unix:root", NULL, NULL);
	free(code);
	if (e == NULL) {
		FAILF("deploy");
		return;
	}
	for (i = 0; i < 25; i++) {
		char args[32];

		snprintf(args, sizeof(args), "[\"d%d\"]", i);
		r = sbt_call(e, "go", args);
		CHECK_EQ_STR(r, "null");
		free(r);
	}
	t0 = rt_now_ms();
	r = sbt_call(e, "go", "[\"spin\"]");
	spin = rt_now_ms() - t0;
	CHECK_EQ_STR(r, "ERR: limit exceeded: instructions (1000000)");
	free(r);
	t0 = rt_now_ms();
	r = sbt_call(e, "go", "[\"rm\"]");
	rm = rt_now_ms() - t0;
	CHECK_EQ_STR(r, "ERR: limit exceeded: instructions (1000000)");
	free(r);
	printf("     (rmdir %lld ms, spin %lld ms)\n", rm, spin);
	CHECK_MSG(rm <= 3 * spin + 100, "rmdir call took %lld ms, a call "
	    "spinning to the same limit %lld ms", rm, spin);
	CHECK_CALL(e, "ok", "[]", "\"fine\"");
	engine_free(e);
}

/*
 * FINDING 18: comparing two strings (<, <=, == of long strings) was one VM
 * instruction whatever their length: 2,000 comparisons of two distinct
 * 1 MB strings (2 GB of memcmp) fitted in a 1,000,000-instruction budget.
 * Fixed in the Lua build (vms_luauser.h): the bytes compared are charged,
 * 1 instruction per 64.
 */
#define BIG_STRINGS "local a = string.rep('x', 1000000)\n" \
    "local b = string.rep('x', 999999) .. 'x'\n" \
    "local c = string.rep('x', 999999) .. 'y'\n"
TEST(finding18_long_string_compare)
{
	ATTACK(BIG_STRINGS "local n = 0 for i = 1, 2000 do if a == b then "
	    "n = n + 1 end end return n", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	ATTACK(BIG_STRINGS "local n = 0 for i = 1, 2000 do if a < c then "
	    "n = n + 1 end end return n", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	ATTACK(BIG_STRINGS "local n = 0 for i = 1, 2000 do if a <= b then "
	    "n = n + 1 end end return n", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	/* within budget the answers are right */
	ATTACK(BIG_STRINGS "local n = 0 for i = 1, 4 do if a == b and a < c "
	    "and not (c < a) and a <= b and not (a == c) then n = n + 1 end "
	    "end return n", "instructions=1000000", "4");
	/* a pcall cannot swallow the limit, nor can returning first */
	ATTACK(BIG_STRINGS "pcall(function() for i = 1, 2000 do local _ = "
	    "a == b end end) return 'escaped'", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	ATTACK(BIG_STRINGS "for i = 1, 60 do local _ = a == b end return "
	    "'escaped'", "instructions=1000000",
	    "ERR: limit exceeded: instructions (1000000)");
	/* byte order, embedded NULs and short strings are unchanged */
	ATTACK("return {'a\\0b' < 'a\\0c', 'a\\0' < 'a', 'a' < 'a\\0', "
	    "'ab' < 'b', 'Z' < 'a', '\\xff' > 'a', 'abc' == 'ab' .. 'c', "
	    "'a\\0b' == 'a\\0b', 'a\\0b' <= 'a\\0b'}", NULL,
	    "[true,false,true,true,true,true,true,true,true]");
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return rt_child_main(child_cases, argv[2]);
	RUN(bound_instructions);
	RUN(finding1_xpcall_handler_unmetered);
	RUN(close_dead_coroutine);
	RUN(bound_depth);
	RUN(bound_memory);
	RUN(finding5_load_swallows_memory_error);
	RUN(finding17_fake_memory_error);
	RUN(finding6_table_move_unmetered);
	RUN(finding6_string_rep_empty_unmetered);
	RUN(finding6_table_shift_unmetered);
	RUN(finding6_pattern_backtracking_unmetered);
	RUN(finding6_string_scan_amplification);
	RUN(finding8_json_dag_bomb);
	RUN(finding16_json_decode_host_memory);
	RUN(bound_json);
	RUN(bound_args);
	RUN(files_limits);
	RUN(finding9_writes_host_memory);
	RUN(finding11_coroutine_uncounted_instructions);
	RUN(finding13_rmdir_charged_after);
	RUN(finding18_long_string_compare);
	return test_summary();
}
