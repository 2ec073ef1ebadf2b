/*
 * test-sandbox-escapes.c — the first red-team round: hostile contracts
 * written by an untrusted author, run only through the public API
 * (engine_deploy, engine_call, engine_open, engine_replay). Every case
 * asserts the SECURE outcome: the exact error, that the next normal call
 * still works and that the entries replay in a fresh engine. Cases marked
 * "FINDING n" attack a hole that was open when they were written: they fail
 * until lua-sandbox/ is fixed.
 *
 * Cross-process cases re-execute this binary (/proc/self/exe --child NAME)
 * so that each run has its own ASLR layout and Lua string-hash seed, and
 * compare the produced entries byte for byte. Cases that may hang run in
 * such a child under a deadline and are killed (by pid) when it passes.
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

/* FINDING 7: the first failing value of a table is found in lua_next
 * (hash-seed) order, so the error message differs between processes. */
static const char json_err_order[] =
    "local bad = { function() end, 0/0, coroutine.create(print), '\\255',\n"
    "    {[true] = 1}, {[{}] = 1}, 1/0 }\n"
    "local msgs = {}\n"
    "for r = 1, 24 do\n"
    "  local t = {}\n"
    "  for i = 1, #bad do t['k' .. r .. '_' .. i] = bad[i] end\n"
    "  local ok, e = pcall(System.json.encode, t)\n"
    "  msgs[#msgs + 1] = e\n"
    "end\n"
    "return table.concat(msgs, '|')";
static const char json_result_order[] =
    "local t = {}\n"
    "for i = 1, 16 do\n"
    "  t['k' .. i] = (i % 4 == 0) and print or (i % 4 == 1) and 0/0 or\n"
    "      (i % 4 == 2) and coroutine.create(print) or '\\255'\n"
    "end\n"
    "return t";

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

/* FINDING 15: the border #t of a table with holes depends on when it was
 * rehashed, which depends on string-key collisions, i.e. on the per-state
 * string hash seed (luai_makeseed: clock and addresses). */
static const char border_holes[] =
    "local out = {}\n"
    "for trial = 1, 300 do\n"
    "  local t = {}\n"
    "  for step = 1, 120 do\n"
    "    local r = math.random(1, 6)\n"
    "    if r == 1 then t[math.random(1, 64)] = true\n"
    "    elseif r == 2 then t[math.random(1, 64)] = nil\n"
    "    elseif r == 3 then t['s' .. math.random(1, 40)] = true\n"
    "    elseif r == 4 then t['s' .. math.random(1, 40)] = nil\n"
    "    elseif r == 5 then t[math.random(1, 64) + 0.5] = true\n"
    "    else t[#t + 1] = 1 end\n"
    "  end\n"
    "  out[#out + 1] = #t\n"
    "end\n"
    "return table.concat(out, ',')";

/* FINDING 15, consequence: the heap in use after the same operations
 * differs between processes, so memory-limit (and allocation-charged
 * instruction-limit) outcomes can differ between execution and replay.
 * Probed with load(), which returns memory errors (FINDING 5). */
static const char memory_probe[] =
    "local keep = {} for i = 1, 20000 do keep[i] = false end\n"
    "local tabs = {}\n"
    "for trial = 1, 200 do\n"
    "  local t = {}\n"
    "  for step = 1, 200 do\n"
    "    if math.random(1, 2) == 1 then t['s' .. math.random(1, 60)] = true\n"
    "    else t['s' .. math.random(1, 60)] = nil end\n"
    "  end\n"
    "  tabs[trial] = t\n"
    "end\n"
    "for i = 1, 20000 do local f = load('return 1')\n"
    "  if not f then return i end keep[i] = f end\n"
    "return -1";

/* FINDING 16: System.json.decode builds the whole jansson tree in host
 * memory (outside the Lua heap cap) before converting it: a 3 MB string
 * of empty arrays costs ~250 MB of host memory under memory=16M. */
static const char rss_json_decode[] =
    "local s = '[' .. string.rep('[],', 1000000) .. '[]]'\n"
    "return #System.json.decode(s)";

static const char writes_bomb[] =
    "for i = 1, 1000 do System.files.writeFile('/a', "
    "('x'):rep(32 * 1024)) end return 'done'";

/* Regression: everything that must not depend on the process. */
static const char determ_mix[] =
    "local out = {}\n"
    "local function add(x) out[#out + 1] = tostring(x) end\n"
    "local t = {10, 20, 30, x = 1, y = 2, [2.5] = 'f', [true] = 't',\n"
    "    ['10'] = 's', [-3] = 'n', z = {}, [0] = 0}\n"
    "for k, v in pairs(t) do add(k) add(v) end\n"
    "local k, v = next(t)\n"
    "while k ~= nil do add(k) t['new' .. tostring(k)] = 1\n"
    "  k, v = next(t, k) end\n"
    "local h = {} for i = 1, 100 do h[i] = i end\n"
    "for i = 1, 100, 3 do h[i] = nil end h.a = 1\n"
    "for i = 1, 60 do h['s' .. i] = i; h['s' .. i] = nil end\n"
    "add(#h)\n"
    "add(tostring(print)) add(tostring({})) add(tostring(coroutine.create(print)))\n"
    "add(string.format('%a %.17g %5.1f %q', 0.1, 1/3, 2.25, 'a\\0b'))\n"
    "add(math.random(1, 1000000)) add(System.random()) add(math.random())\n"
    "local s = {} for i = 1, 50 do s[i] = {k = i % 3, i = i} end\n"
    "table.sort(s, function(a, b) return a.k < b.k end)\n"
    "for i = 1, 50 do add(s[i].i) end\n"
    "add(select(2, pcall(error, {})))\n"
    "add(select(2, pcall(function() local x = nil; x.y = 1 end)))\n"
    "add(select(2, pcall(function() return {} .. 'x' end)))\n"
    "add(select(2, pcall(function() return #print end)))\n"
    "add(collectgarbage()) add(collectgarbage('step'))\n"
    "local mt = {} local w = setmetatable({}, mt)\n"
    "pcall(function() mt.__mode = 'k' end)\n"
    "for i = 1, 200 do w[{}] = i end\n"
    "local junk = {} for i = 1, 20000 do junk[i] = {i} end\n"
    "local n = 0 for _ in next, w do n = n + 1 end add(n)\n"
    "System.files.writeFile('/out', table.concat(out, ','))\n"
    "return table.concat(out, ',')";

static const struct child_case child_cases[] = {
	{ "xpcall_hang", "instructions=1000000", xpcall_hang },
	{ "xpcall_depth_hang", "instructions=1000000", xpcall_depth_hang },
	{ "close_dead_co", "instructions=100000", close_dead_co },
	{ "json_err_order", NULL, json_err_order },
	{ "border_holes", NULL, border_holes },
	{ "memory_probe", "memory=2M", memory_probe },
	{ "rss_json_decode", "memory=16M", rss_json_decode },
	{ "rss_writes", NULL, writes_bomb },
	{ "json_result_order", NULL, json_result_order },
	{ "determ_mix", NULL, determ_mix },
	{ NULL, NULL, NULL }
};

/* ==== 1. escapes ==== */

TEST(escape_globals_absent)
{
	ATTACK("local r = {}\n"
	    "for _, n in ipairs({'io', 'os', 'package', 'debug', 'require',\n"
	    "    'dofile', 'loadfile', 'warn', 'newproxy', 'gcinfo'}) do\n"
	    "  r[#r + 1] = rawget(_G, n) == nil end\n"
	    "return {r, string.dump == nil, ('x').dump == nil,\n"
	    "  getmetatable('') == nil}", NULL,
	    "[[true,true,true,true,true,true,true,true,true,true],true,true,"
	    "true]");
	ATTACK("return rawget(_G, 'io')", NULL, "null");
	ATTACK("return io.open('/etc/passwd')", NULL,
	    "ERR: test:4: undefined global 'io'");
	ATTACK("return require('os')", NULL,
	    "ERR: test:4: undefined global 'require'");
	ATTACK("return debug.getregistry()", NULL,
	    "ERR: test:4: undefined global 'debug'");
}

TEST(escape_load_bytecode)
{
	/* binary mode refused, bytecode text refused, readers refused */
	ATTACK("local f, e = load('\\27Lua\\84\\0', 'x', 'b') "
	    "return {f == nil, e}", NULL,
	    "[true,\"load: only text chunks are allowed\"]");
	ATTACK("local f, e = load('\\27Lua\\84\\0', 'x', 'bt') return e",
	    NULL, "\"attempt to load a binary chunk (mode is 't')\"");
	ATTACK("local n = 0 local f, e = load(function() n = n + 1 "
	    "if n == 1 then return '\\27Lua' end end) return e", NULL,
	    "ERR: test:4: load: only source strings can be loaded");
	/* a loaded text chunk gets the (strict) sandbox env */
	ATTACK("return load('return os')()", NULL,
	    "ERR: [string \"return os\"]:1: undefined global 'os'");
	ATTACK("return load('x = 1', 'c', 't', {})()", NULL, "null");
}

TEST(escape_metatables)
{
	ATTACK("return getmetatable(_G)", NULL, "false");
	ATTACK("setmetatable(_G, nil)", NULL,
	    "ERR: cannot change a protected metatable");
	ATTACK("return getmetatable(System), getmetatable(System.files)", NULL,
	    "false");
	ATTACK("System.files.writeFile = nil", NULL,
	    "ERR: test:4: System is read-only");
	ATTACK("System.x = 1", NULL, "ERR: test:4: System is read-only");
	ATTACK("setmetatable(System, {})", NULL,
	    "ERR: cannot change a protected metatable");
	/* changing the string table only affects this call's own state */
	ATTACK("string.rep = function() return 'pwned' end "
	    "return ('x'):rep(2)", NULL, "\"pwned\"");
	ATTACK("return ('x'):rep(2)", NULL, "\"xx\"");
	ATTACK("return getmetatable('').__index", NULL,
	    "ERR: test:4: attempt to index a nil value*");
}

TEST(escape_env_tricks)
{
	ATTACK("local _ENV = {} return x", NULL, "null");
	ATTACK("_ENV = nil return 1", NULL, "1");
	ATTACK("local e = _ENV _ENV = setmetatable({}, {__index = e}) "
	    "return os", NULL, "ERR: test:4: undefined global 'os'");
	ATTACK("return undefined_thing", NULL,
	    "ERR: test:4: undefined global 'undefined_thing'");
	ATTACK("x = 1", NULL, "ERR: test:4: assignment to undefined global 'x' "
	    "(contracts keep state in System.files, not in globals)");
}

/* FINDING 2: rawset on the global table creates globals despite strict
 * mode ("reading or creating undefined globals is an error"). */
TEST(finding2_rawset_global)
{
	ATTACK("rawset(_G, 'x', 1) return x", NULL, "ERR: *");
}

/* FINDING 3 (fixed meanwhile by the sandbox branch, bd8b159): coroutine.wrap
 * was broken (it handed the real wrap a thread). */
TEST(finding3_coroutine_wrap)
{
	ATTACK("local f = coroutine.wrap(function() coroutine.yield(1) "
	    "return 2 end) return {f(), f()}", NULL, "[1,2]");
}

TEST(coroutine_yields)
{
	ATTACK("local co = coroutine.create(function() return xpcall("
	    "function() local a = coroutine.yield(1) return a * 2, 'x' end, "
	    "function(m) return 'h:' .. m end) end)\n"
	    "local r1 = {coroutine.resume(co)}\n"
	    "local r2 = {coroutine.resume(co, 21)} return {r1, r2}", NULL,
	    "[[true,1],[true,true,42,\"x\"]]");
	ATTACK("local co = coroutine.wrap(function() for k in pairs("
	    "setmetatable({}, {__pairs = function(t) coroutine.yield(5) "
	    "return next, t end})) do end end) return co()", NULL,
	    "ERR: attempt to yield across a C-call boundary");
	ATTACK("local co = coroutine.wrap(function() local t = {3, 1, 2} "
	    "table.sort(t, function(a, b) coroutine.yield() return a < b "
	    "end) end) return (pcall(co))", NULL, "false");
	ATTACK("local co co = coroutine.create(function() return "
	    "coroutine.resume(co) end) return {coroutine.resume(co)}", NULL,
	    "[true,false,\"cannot resume non-suspended coroutine\"]");
	ATTACK("local mt = {__index = function(t, k) return "
	    "coroutine.yield(k) end} local co = coroutine.wrap(function() "
	    "return setmetatable({}, mt).x end) return {co(), co(9)}", NULL,
	    "[\"x\",9]");
	ATTACK("return {pcall(coroutine.yield)}", NULL,
	    "[false,\"attempt to yield from outside a coroutine\"]");
	ATTACK("return coroutine.close(coroutine.running())", NULL,
	    "ERR: test:4: cannot close a running coroutine");
	ATTACK("local co = coroutine.wrap(function() return select(2, "
	    "xpcall(function() coroutine.yield(1) error('e') end, "
	    "function(m) coroutine.yield(7) return m end)) end) "
	    "return {co(), co(), co()}", NULL, "ERR: limit exceeded: depth*");
	ATTACK("collectgarbage('stop')", NULL, "ERR: test:4: collectgarbage: "
	    "option 'stop' is not available in a contract");
}

TEST(escape_error_objects)
{
	ATTACK("error(setmetatable({}, {__tostring = function() "
	    "while true do end end}))", NULL,
	    "ERR: (error object is a table value)");
	ATTACK("error(setmetatable({}, {__index = function() "
	    "while true do end end}))", NULL,
	    "ERR: (error object is a table value)");
	ATTACK("error(nil)", NULL, "ERR: nil");
	ATTACK("error(coroutine.create(print))", NULL, "ERR: thread");
	ATTACK("error(string.rep('\\255', 5000))", NULL, "ERR: test:4: ???*");
	ATTACK("local ok, e = pcall(error, setmetatable({}, {__tostring = "
	    "function() while true do end end})) return ok", NULL, "false");
}

TEST(escape_gc_mode_close)
{
	ATTACK("setmetatable({}, {__gc = print})", NULL, "ERR: test:4: "
	    "setmetatable: __gc is not allowed (finalizers run at "
	    "nondeterministic times)");
	ATTACK("setmetatable({}, {__gc = false})", NULL, "ERR: test:4: "
	    "setmetatable: __gc is not allowed*");
	ATTACK("setmetatable({}, {__mode = 'k'})", NULL, "ERR: test:4: "
	    "setmetatable: __mode is not allowed*");
}

/* The sandbox refuses <close> (its handlers can run with hooks off while
 * a dead coroutine is closed). Refused at deploy and in load(). */
TEST(close_refused)
{
	struct engine *e = NULL;
	char *ent = NULL, err[VMS_ERRLEN], *code;
	size_t len;

	code = rt_code("local x <close> = nil");
	CHECK_EQ_INT(engine_deploy("test", code, strlen(code), NULL, NULL,
	    1000, &e, &ent, &len, err, sizeof(err)), ENGINE_REFUSED);
	CHECK_EQ_STR(err, "to-be-closed variables (<close>) are not allowed");
	free(code);
	engine_free(e);
	free(ent);
	ATTACK("return select(2, load('local x <' .. 'close> = nil'))", NULL,
	    "\"load: to-be-closed variables (<close>) are not allowed\"");
}

/*
 * FINDING 10: the <close> filter (sb_has_close) only skips blanks
 * between '<', "close" and '>', but the Lua lexer also skips \f, \v and
 * comments there: "<--[[]]close>" and "<\fclose>" compile, at deploy
 * and in load(). (No way was found to exploit __close once accepted:
 * the call hook stops every call after a limit; see close_mechanics.)
 */
TEST(finding10_close_filter_bypass)
{
	static const char *const spellings[] = { "<--[[]]close>",
	    "<\fclose>", "<\vclose>", "< --x\nclose >", NULL };
	struct engine *e;
	char *ent, err[VMS_ERRLEN], *code, body[128], *r;
	size_t len;
	int i;

	for (i = 0; spellings[i] != NULL; i++) {
		e = NULL;
		ent = NULL;
		snprintf(body, sizeof(body), "local x %s = nil", spellings[i]);
		code = rt_code(body);
		CHECK_MSG(engine_deploy("test", code, strlen(code), NULL, NULL,
		    1000, &e, &ent, &len, err, sizeof(err)) == ENGINE_REFUSED,
		    "deploy accepted \"%s\"", body);
		free(code);
		engine_free(e);
		free(ent);
	}
	r = rt_attack("return select(2, load('local x <\\fclose> = nil'))",
	    NULL, NULL, "\"load: to-be-closed variables (<close>) are not "
	    "allowed\"");
	free(r);
}

/* Whatever the filter, __close must stay under the budget: these run
 * now through the bypass and are accepted as refused once it is fixed. */
TEST(close_mechanics)
{
	rt_close_refusal_ok = 1;
	ATTACK("local x <--[[]]close> = setmetatable({}, {__close = "
	    "function() while true do end end}) while true do end",
	    "instructions=100000", "ERR: limit exceeded: instructions (100000)");
	ATTACK("local x <--[[]]close> = setmetatable({}, {__close = "
	    "function() error('close') end}) error('body')", NULL,
	    "ERR: test:4: close");
	ATTACK("local n = 0 pcall(function() local x <--[[]]close> = "
	    "setmetatable({}, {__close = function() while true do n = n + 1 "
	    "end end}) while true do end end) return n",
	    "instructions=100000", "ERR: limit exceeded: instructions (100000)");
	rt_close_refusal_ok = 0;
}

/* FINDING 4: __mode added to a metatable after setmetatable makes a weak
 * table (the check only looks at setmetatable time). */
TEST(finding4_mode_after_setmetatable)
{
	char *r = rt_attack("local mt = {} local w = setmetatable({}, mt)\n"
	    "local ok = pcall(function() mt.__mode = 'k' end)\n"
	    "for i = 1, 1000 do w[{}] = i end\n"
	    "local junk = {} for i = 1, 100000 do junk[i] = {i} end\n"
	    "local n = 0 for _ in next, w do n = n + 1 end return n",
	    NULL, NULL, NULL);

	CHECK_MSG(r != NULL && (strcmp(r, "1000") == 0 ||
	    strstr(r, "__mode") != NULL),
	    "weak table entries were collected: %s", r ? r : "(null)");
	free(r);
}

/* ==== 2. resource bounds ==== */

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

/* FINDING 6: C functions that loop without allocating are not charged:
 * table.move over a huge empty range, backtracking patterns, and
 * repeated scans of a large string all run far beyond the budget. */
/* FINDING 17: any error whose message contains "not enough memory" is
 * turned into the memory limit by pcall (is_memerr), though no limit was
 * hit: a contract cannot catch its own error("not enough memory"). */
TEST(finding17_fake_memory_error)
{
	ATTACK("local ok, e = pcall(error, 'not enough memory') return e",
	    NULL, "\"not enough memory\"");
}

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

/* ==== 3. files ==== */

TEST(files_paths)
{
	ATTACK("local r = {}\n"
	    "for _, p in ipairs({'/a/../b', '//a', '/a/', '/\\0', '/\\1', '', "
	    "'a', '/.', string.rep('x', 2000), '/a\\127', '/' .. "
	    "string.rep('x', 1100), '/\\255'}) do\n"
	    "  local ok, e = pcall(System.files.writeFile, p, 'x')\n"
	    "  r[#r + 1] = tostring(ok) end\n"
	    "return table.concat(r, ',')", NULL,
	    "\"false,false,false,false,false,false,false,false,false,false,"
	    "false,false\"");
	ATTACK("System.files.writeFile('/é', 'x') "
	    "return System.files.readdir('/')", NULL, "[\"é\"]");
	ATTACK("System.files.rmdir('/', {recursive = true})", NULL,
	    "ERR: test:4: rmdir: cannot remove /");
	ATTACK("System.files.writeFile('/', 'x')", NULL, "ERR: *");
	ATTACK("System.files.unlink('/')", NULL, "ERR: *");
	ATTACK("System.files.mkdir('/d') System.files.writeFile('/d', 'x')",
	    NULL, "ERR: test:4: writeFile: is a directory: /d");
	ATTACK("System.files.writeFile('/f', 'x') System.files.mkdir('/f/g')",
	    NULL, "ERR: test:4: mkdir: not a directory: /f");
	ATTACK("System.files.writeFile('/f', 'x') "
	    "System.files.rmdir('/f')", NULL, "ERR: *");
	ATTACK("System.files.writeFile('/f', 'x') return "
	    "System.files.readdir('/f')", NULL, "ERR: *");
	ATTACK("return System.files.readFile('/nope')", NULL,
	    "ERR: test:4: readFile: no such file: /nope");
	ATTACK("return System.files.writeFile('/b', {})", NULL,
	    "ERR: test:4: writeFile: data must be a string (got table)");
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

/* FINDING 12: NaN prints with its sign bit ("-nan" for 0/0 on x86-64,
 * "nan" on arm64), so tostring/concat/format of a NaN differ between an
 * x86 host and an arm auditor. Secure: one spelling for every NaN. */
TEST(finding12_nan_spelling)
{
	ATTACK("local a, b = 0/0, -(0/0)\n"
	    "return {tostring(a) == tostring(b),\n"
	    "  string.format('%f', a) == string.format('%f', b),\n"
	    "  table.concat({a}) == table.concat({b}),\n"
	    "  string.format('%s %g', a, a) == string.format('%s %g', b, b)}",
	    NULL, "[true,true,true,true]");
	ATTACK("error(0/0)", NULL, "ERR: nan");
	ATTACK("error(-(0/0))", NULL, "ERR: nan");
}

/*
 * FINDING 12, second half: the VM's own number-to-string conversion
 * (OP_CONCAT, and the string library's coercion of a number argument)
 * called snprintf "%.14g", which prints the sign of a NaN. Fixed in the
 * Lua build: lua_number2str is vms_lua_number2str() (vms_luauser.h).
 */
TEST(finding12_nan_concat)
{
	ATTACK("local a, b = 0/0, -(0/0)\n"
	    "return {a .. '' == b .. '', a .. '', string.len(b), b .. 1}",
	    NULL, "[true,\"nan\",3,\"nan1\"]");
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

/* Each call gets a fresh state: nothing the contract changes in Lua
 * (module table, libraries, System proxies) survives into the next. */
TEST(no_state_between_calls)
{
	ATTACK("M.ok = function() return 'pwned' end\n"
	    "string.rep = nil table.concat = nil\n"
	    "rawset(System, 'time', function() return 0 end)\n"
	    "return System.time()", NULL, "0");
	ATTACK("for i = 1, 200 do System.files.mkdir('/d' .. i) end",
	    "state_size=4K", "ERR: limit exceeded: state_size*");
}


/*
 * FINDING 14: engine_replay (the auditor) accepts call entries that
 * engine_call would have refused: an auth outside the schema
 * (peercred|debug|anonymous) and args larger than the recorded args_size.
 * A dishonest host can put such entries in its ledger and the audit
 * passes. Secure: replay applies the same request checks as engine_call.
 */
TEST(finding14_replay_accepts_refused_requests)
{
	struct engine *e, *r;
	struct vms_limits *lim;
	char *ent0 = NULL, *ent1 = NULL, *bad, *p, *out, err[VMS_ERRLEN];
	size_t len0, len1, blen;
	char args[20000];

	e = sbt_deploy_lim(rt_code_static, NULL, "unix:root", &ent0, &len0);
	if (e == NULL) {
		FAILF("deploy");
		return;
	}
	/* (1) the honest entry, then its auth rewritten */
	out = sbt_call_as(e, "unix:alice", "ok", "[]", &ent1, &len1);
	CHECK_EQ_STR(out, "\"fine\"");
	free(out);
	p = ent1 ? strstr(ent1, "\"auth\":\"debug\"") : NULL;
	CHECK(p != NULL);
	if (p != NULL) {
		xasprintf(&bad, "%.*s\"auth\":\"wheel\"%s", (int)(p - ent1),
		    ent1, p + strlen("\"auth\":\"debug\""));
		blen = strlen(bad);
		if (engine_open((uint8_t *)ent0, len0, &r, err,
		    sizeof(err)) == 0) {
			CHECK(engine_replay(r, (uint8_t *)ent0, len0, err,
			    sizeof(err)) == 0);
			CHECK_MSG(engine_replay(r, (uint8_t *)bad, blen, err,
			    sizeof(err)) == -1, "replay accepted auth "
			    "\"wheel\"");
			engine_free(r);
		}
		free(bad);
	}
	free(ent1);
	engine_free(e);

	/* (2) args over args_size, made by an engine whose limit was
	 * raised after deploy (what a dishonest host can do) */
	free(ent0);
	ent0 = NULL;
	e = sbt_deploy_lim(rt_code_static, NULL, "unix:root", &ent0, &len0);
	if (e == NULL) {
		FAILF("deploy");
		free(ent0);
		return;
	}
	lim = (struct vms_limits *)(uintptr_t)engine_limits(e);
	lim->args_size = 1 << 20;
	memset(args, 'a', sizeof(args));
	memcpy(args, "[\"", 2);
	memcpy(args + sizeof(args) - 3, "\"]", 3);
	out = sbt_call_as(e, "unix:alice", "ok", args, &ent1, &len1);
	CHECK_EQ_STR(out, "\"fine\"");
	free(out);
	if (ent1 != NULL && engine_open((uint8_t *)ent0, len0, &r, err,
	    sizeof(err)) == 0) {
		CHECK(engine_replay(r, (uint8_t *)ent0, len0, err,
		    sizeof(err)) == 0);
		CHECK_MSG(engine_replay(r, (uint8_t *)ent1, len1, err,
		    sizeof(err)) == -1, "replay accepted %zu-byte args over "
		    "args_size 16384", sizeof(args));
		engine_free(r);
	}
	free(ent0);
	free(ent1);
	engine_free(e);
}

/* ==== 4. determinism ==== */

TEST(determinism_no_addresses)
{
	ATTACK("return tostring(print) .. tostring({}) .. "
	    "tostring(coroutine.create(print)) .. string.format('%s%s', {}, "
	    "print)", NULL, "\"functiontablethreadtablefunction\"");
	ATTACK("return string.format('%p', {})", NULL, "ERR: test:4: "
	    "string.format: '%p' is not available (it prints addresses)");
	ATTACK("return string.format('%-5p', {})", NULL, "ERR: *");
	ATTACK("return collectgarbage('count')", NULL, "ERR: test:4: "
	    "collectgarbage: option 'count' is not available in a contract");
	ATTACK("math.randomseed(1)", NULL, "ERR: test:4: math.randomseed is "
	    "not available (the seed comes from the ledger)");
	ATTACK("local t = {[{}] = 1} for k in pairs(t) do end", NULL,
	    "ERR: test:4: pairs/next: a table with a table key has no "
	    "deterministic order");
	ATTACK("return next({a = 1}, 'zz')", NULL,
	    "ERR: test:4: invalid key to 'next'");
	ATTACK("return os.time()", NULL, "ERR: test:4: undefined global 'os'");
}

TEST(determinism_cross_process)
{
	same_in_processes("determ_mix", 2);
}

/* FINDING 7: JSON encoding errors name the first bad value in lua_next
 * order, which depends on the per-process string hash seed. */
TEST(finding7_json_error_order)
{
	same_in_processes("json_err_order", 3);
	same_in_processes("json_result_order", 3);
}

/*
 * FINDING 15: the border #t of a table with holes is chosen by luaH_getn
 * from the table's layout, whose rehash points depend on string-key
 * collisions under the state's string-hash seed. Stock Lua seeds it from
 * time and ASLR addresses; vmsd's Lua build takes it from the ledger
 * (vms_luauser.h), so every process computes the same border. The same
 * child run with a random seed differs in 3 processes out of 3.
 */
TEST(finding15_border_of_holes)
{
	same_in_processes("memory_probe", 4);
	same_in_processes("border_holes", 4);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return rt_child_main(child_cases, argv[2]);
	RUN(escape_globals_absent);
	RUN(escape_load_bytecode);
	RUN(escape_metatables);
	RUN(escape_env_tricks);
	RUN(finding2_rawset_global);
	RUN(finding3_coroutine_wrap);
	RUN(coroutine_yields);
	RUN(escape_error_objects);
	RUN(escape_gc_mode_close);
	RUN(close_refused);
	RUN(finding10_close_filter_bypass);
	RUN(close_mechanics);
	RUN(finding4_mode_after_setmetatable);
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
	RUN(files_paths);
	RUN(files_limits);
	RUN(finding9_writes_host_memory);
	RUN(finding11_coroutine_uncounted_instructions);
	RUN(finding13_rmdir_charged_after);
	RUN(no_state_between_calls);
	RUN(finding14_replay_accepts_refused_requests);
	RUN(determinism_no_addresses);
	RUN(finding18_long_string_compare);
	RUN(finding12_nan_spelling);
	RUN(finding12_nan_concat);
	RUN(determinism_cross_process);
	RUN(finding7_json_error_order);
	RUN(finding15_border_of_holes);
	return test_summary();
}
