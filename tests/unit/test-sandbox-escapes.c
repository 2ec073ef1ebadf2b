/*
 * test-sandbox-escapes.c — escapes from the Lua sandbox's isolation, from
 * the first red-team round: a hostile contract reaching what it must not
 * (host globals, bytecode, protected metatables, _ENV, rawset, <close>,
 * __gc and __mode, file paths outside its tree) or keeping Lua state from
 * one call to the next. Resource limits are test-sandbox-bounds.c, replay
 * test-sandbox-replay.c.
 *
 * Contracts run only through the public API (engine_deploy, engine_call,
 * engine_open, engine_replay). Every case asserts the SECURE outcome: the
 * exact error, that the next normal call still works and that the entries
 * replay in a fresh engine (rt_attack, tests/unit/rtest.h). Cases marked
 * "FINDING n" attacked a hole that was open when they were written.
 */
#include "rtest.h"

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

int
main(void)
{
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
	RUN(files_paths);
	RUN(no_state_between_calls);
	return test_summary();
}
