/*
 * test-sandbox.c — the contract-visible API: System.*, files, json,
 * transactions, strict globals, and the state tree on its own.
 */
#include "test.h"
#include "canon.h"
#include "sbtest.h"
#include "state.h"

#include "sha256.h"

TEST(hello)
{
	struct engine *e = sbt_deploy("return { hi = function(x) return "
	    "'hi ' .. x end }");

	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_CALL(e, "hi", "[\"bob\"]", "\"hi bob\"");
	CHECK_EQ_INT(engine_next_index(e), 2);
	engine_free(e);
}

TEST(refused_methods)
{
	struct engine *e = sbt_deploy("local M = {} function M.init() end "
	    "function M._priv() end function M.pub() end return M");
	char *r;

	if (e == NULL) {
		CHECK(0);
		return;
	}
	r = sbt_call(e, "_priv", "[]");
	CHECK_EQ_STR(r, "REFUSED: no such method: _priv");
	free(r);
	r = sbt_call(e, "init", "[]");
	CHECK_EQ_STR(r, "REFUSED: no such method: init");
	free(r);
	r = sbt_call(e, "nope", "[]");
	CHECK_EQ_STR(r, "REFUSED: no such method: nope");
	free(r);
	r = sbt_call(e, "pub", "{}");
	CHECK_EQ_STR(r, "REFUSED: args must be an array");
	free(r);
	CHECK_EQ_INT(engine_next_index(e), 1);
	engine_free(e);
}

TEST(system_api)
{
	struct engine *e = sbt_deploy(
	    "local M = {}\n"
	    "function M.who() return {id = System.caller.id, auth = "
	    "System.caller.auth, name = System.contract.name, time = "
	    "System.time()} end\n"
	    "function M.info() return System.files.getInfo() end\n"
	    "function M.rnd() local a = System.random() local b = "
	    "math.random(1, 6) return a >= 0 and a < 1 and b >= 1 and b <= 6 "
	    "end\n"
	    "function M.log() print('x', 1, {}) System.log('y') end\n"
	    "function M.ro() System.caller.id = 'root' end\n"
	    "return M");
	char *r;

	if (e == NULL) {
		CHECK(0);
		return;
	}
	CHECK_CALL(e, "who", "[]", "{\"auth\":\"debug\",\"id\":\"unix:alice\","
	    "\"name\":\"test\",\"time\":2001}");
	CHECK_CALL(e, "info", "[]", "{\"bytes\":0,\"files\":0,\"size\":2}");
	CHECK_CALL(e, "rnd", "[]", "true");
	CHECK_CALL(e, "log", "[]", "null");
	r = sbt_call(e, "ro", "[]");
	CHECK_CONTAINS(r, "System is read-only");
	free(r);
	r = sbt_call_as(e, NULL, "who", "[]", NULL, NULL);
	CHECK_EQ_STR(r, "{\"auth\":\"anonymous\",\"name\":\"test\","
	    "\"time\":2006}");
	free(r);
	engine_free(e);
}

TEST(files_api)
{
	struct engine *e = sbt_deploy(
	    "local F = System.files\n"
	    "local M = {}\n"
	    "function M.init() F.mkdir('/d') end\n"
	    "function M.w(p, d) F.writeFile(p, d) end\n"
	    "function M.r(p) return F.readFile(p) end\n"
	    "function M.ls(p, o) return F.readdir(p, o) end\n"
	    "function M.st(p) return F.stat(p) end\n"
	    "function M.rm(p) F.unlink(p) end\n"
	    "function M.rmd(p, r) F.rmdir(p, {recursive = r}) end\n"
	    "function M.md(p) F.mkdir(p) end\n"
	    "function M.h(o) return F.history(o) end\n"
	    "return M");

	if (e == NULL) {
		CHECK(0);
		return;
	}
	CHECK_CALL(e, "w", "[\"/d/a\", \"xyz\"]", "null");
	CHECK_CALL(e, "r", "[\"/d/a\"]", "\"xyz\"");
	CHECK_CALL(e, "md", "[\"/d/sub\"]", "null");
	CHECK_CALL(e, "w", "[\"/d/sub/b\", \"\"]", "null");
	CHECK_CALL(e, "ls", "[\"/d\"]", "[\"a\",\"sub\"]");
	CHECK_CALL(e, "ls", "[\"/d\", {\"recursive\": true}]",
	    "[\"a\",\"sub\",\"sub/b\"]");
	CHECK_CALL(e, "ls", "[\"/\", {\"stat\": true}]",
	    "[{\"name\":\"d\",\"size\":0,\"type\":\"dir\"}]");
	CHECK_CALL(e, "st", "[\"/d/a\"]", "{\"size\":3,\"type\":\"file\"}");
	CHECK_CALL(e, "st", "[\"/nope\"]", "null");
	CHECK_CALL(e, "r", "[\"/nope\"]", "ERR: test:5: readFile: no such file: /nope");
	CHECK_CALL(e, "r", "[\"/d\"]", "ERR: test:5: readFile: is a directory: /d");
	CHECK_CALL(e, "w", "[\"/x/y\", \"1\"]",
	    "ERR: test:4: writeFile: no such directory: /x");
	CHECK_CALL(e, "w", "[\"/d/../a\", \"1\"]",
	    "ERR: test:4: writeFile: invalid path /d/../a: \".\" and \"..\" are not "
	    "allowed");
	CHECK_CALL(e, "w", "[\"/d//a\", \"1\"]",
	    "ERR: test:4: writeFile: invalid path /d//a: empty segment");
	CHECK_CALL(e, "w", "[\"d/a\", \"1\"]",
	    "ERR: test:4: writeFile: invalid path: must be absolute");
	CHECK_CALL(e, "w", "[\"/d/a\\u0001\", \"1\"]",
	    "ERR: test:4: writeFile: invalid path: control character or NUL");
	CHECK_CALL(e, "w", "[\"/d/a\", 5]",
	    "ERR: test:4: writeFile: data must be a string (got number)");
	CHECK_CALL(e, "md", "[\"/d\"]", "ERR: test:10: mkdir: already exists: /d");
	CHECK_CALL(e, "rmd", "[\"/d\", false]",
	    "ERR: test:9: rmdir: directory not empty: /d");
	CHECK_CALL(e, "rmd", "[\"/\", true]", "ERR: test:9: rmdir: cannot remove /");
	CHECK_CALL(e, "rm", "[\"/d/sub\"]", "ERR: test:8: unlink: is a directory: /d/sub");
	CHECK_CALL(e, "rm", "[\"/d/a\"]", "null");
	CHECK_CALL(e, "rmd", "[\"/d\", true]", "null");
	CHECK_CALL(e, "ls", "[\"/\"]", "{}");
	/* no entry source: history of earlier entries is unavailable */
	CHECK_CALL(e, "h", "[]", "ERR: test:11: history: the ledger is not available");
	engine_free(e);
}

TEST(transaction_rollback)
{
	struct engine *e = sbt_deploy(
	    "local M = {}\n"
	    "function M.init() System.files.writeFile('/a', 'one') end\n"
	    "function M.bad() System.files.writeFile('/a', 'two') "
	    "System.files.writeFile('/b', 'x') System.files.unlink('/a') "
	    "error('boom') end\n"
	    "function M.seen() System.files.writeFile('/a', 'two') "
	    "return System.files.readFile('/a') end\n"
	    "return M");
	merkle_hash before, after;
	char *r, *entry;
	size_t elen;

	if (e == NULL) {
		CHECK(0);
		return;
	}
	engine_state_root(e, before);
	r = sbt_call_as(e, "u", "bad", "[]", &entry, &elen);
	CHECK_EQ_STR(r, "ERR: test:3: boom");
	CHECK_CONTAINS(entry, "\"ok\":false");
	CHECK_CONTAINS(entry, "\"writes\":[]");
	CHECK_CONTAINS(entry, "\"error\":\"test:3: boom\"");
	free(r);
	free(entry);
	engine_state_root(e, after);
	CHECK(memcmp(before, after, 32) == 0);
	CHECK_EQ_INT(engine_next_index(e), 2);
	CHECK_CALL(e, "seen", "[]", "\"two\"");
	engine_free(e);
}

TEST(json_mapping)
{
	struct engine *e = sbt_deploy(
	    "local M = {}\n"
	    "function M.echo(...) return {...} end\n"
	    "function M.id(x) return x end\n"
	    "function M.enc(x) return System.json.encode(x) end\n"
	    "function M.dec(s) return System.json.decode(s) end\n"
	    "function M.nan() return 0/0 end\n"
	    "function M.bin() return '\\xff' end\n"
	    "function M.mixed() return {1, 2, x = 3} end\n"
	    "function M.fn() return print end\n"
	    "function M.cyc() local t = {} t.t = t return t end\n"
	    "function M.empty() return {} end\n"
	    "return M");

	if (e == NULL) {
		CHECK(0);
		return;
	}
	CHECK_CALL(e, "echo", "[1, 2.5, \"s\", true, {\"a\": [1, {}]}]",
	    "[1,2.5,\"s\",true,{\"a\":[1,{}]}]");
	CHECK_CALL(e, "id", "[null]", "null");
	CHECK_CALL(e, "enc", "[{\"b\": 1, \"a\": [true]}]",
	    "\"{\\\"a\\\":[true],\\\"b\\\":1}\"");
	CHECK_CALL(e, "dec", "[\"[1, {\\\"x\\\": null}]\"]", "[1,{}]");
	CHECK_CALL(e, "dec", "[\"[1,\"]",
	    "ERR: test:5: System.json.decode: ']' expected near end of "
	    "file at position 3");
	CHECK_CALL(e, "nan", "[]",
	    "ERR: result: cannot encode NaN or infinity as JSON");
	CHECK_CALL(e, "bin", "[]",
	    "ERR: result: cannot encode a string that is not valid UTF-8 as "
	    "JSON");
	CHECK_CALL(e, "mixed", "[]",
	    "ERR: result: cannot encode a table with non-string keys (or a "
	    "sequence with holes) as JSON");
	CHECK_CALL(e, "fn", "[]", "ERR: result: cannot encode a function as "
	    "JSON");
	CHECK_CALL(e, "cyc", "[]",
	    "ERR: result: nesting deeper than 64 (or a cycle)");
	CHECK_CALL(e, "empty", "[]", "{}");
	engine_free(e);
}

/*
 * System.json.encode writes its text straight from the Lua value
 * (sb_to_canon) while a result goes through a jansson tree and
 * json_canonical (sb_to_json): on 400 random values (nested sequences and
 * objects, empty tables, escapes, control characters, UTF-8, integers at
 * their limits, reals), the text encode makes is the canonical text of the
 * same value returned as a result.
 */
TEST(json_encode_text)
{
	struct engine *e = sbt_deploy(
	    "local M = {}\n"
	    "local st\n"
	    "local function rnd(n) st = (st * 1103515245 + 12345) % 2147483648\n"
	    "  return st % n end\n"
	    "local chars = {'a', 'Z', '0', ' ', '\"', '\\\\', '/', '\\n', '\\t',\n"
	    "  '\\1', '\\31', '\\127', '\\u{e9}', '\\u{20ac}', '\\u{1f600}', 'key'}\n"
	    "local function str() local t = {}\n"
	    "  for i = 1, rnd(6) do t[#t + 1] = chars[rnd(#chars) + 1] end\n"
	    "  return table.concat(t) end\n"
	    "local nums = {0, -1, 7, math.maxinteger, math.mininteger, 0.5,\n"
	    "  -2.25, 1/3, 1e300, -1e-300, 123456789.125, 2^53, -0.0}\n"
	    "local function gen(d)\n"
	    "  local k = rnd(d > 3 and 5 or 7)\n"
	    "  if k == 0 then return nums[rnd(#nums) + 1]\n"
	    "  elseif k == 1 then return str()\n"
	    "  elseif k == 2 then return rnd(2) == 1\n"
	    "  elseif k == 3 then return rnd(100000) - 50000\n"
	    "  elseif k == 4 then return {}\n"
	    "  elseif k == 5 then local t = {}\n"
	    "    for i = 1, rnd(5) + 1 do t[i] = gen(d + 1) end return t\n"
	    "  else local t = {}\n"
	    "    for i = 1, rnd(5) + 1 do t[str()] = gen(d + 1) end return t end\n"
	    "end\n"
	    "function M.both(seed) st = seed\n"
	    "  local v = gen(0)\n"
	    "  return { s = System.json.encode(v), v = v } end\n"
	    "return M");
	struct vms_caller c = { "unix:alice", "debug" };
	struct engine_result res;
	char err[VMS_ERRLEN], *ent, *want;
	size_t len;
	int seed, same = 0, objects = 0;

	if (e == NULL) {
		CHECK(0);
		return;
	}
	for (seed = 1; seed <= 400; seed++) {
		json_t *a = json_pack("[i]", seed), *v;
		const char *got;

		if (engine_call(e, "both", a, &c, 2000 + (uint64_t)seed, &ent,
		    &len, &res, err, sizeof(err)) != ENGINE_OK || !res.ok) {
			json_decref(a);
			FAILF("seed %d: %s", seed, res.ok ? err : res.error);
			break;
		}
		json_decref(a);
		free(ent);
		v = json_object_get(res.value, "v");
		got = json_string_value(json_object_get(res.value, "s"));
		want = json_canonical(v != NULL ? v : json_null(), NULL);
		if (got != NULL && want != NULL && strcmp(got, want) == 0)
			same++;
		else
			printf("     seed %d: encode %s, canonical %s\n", seed,
			    got ? got : "(none)", want ? want : "(none)");
		if (json_is_object(v) && json_object_size(v) > 0)
			objects++;
		free(want);
		engine_result_clear(&res);
	}
	CHECK_EQ_INT(same, 400);
	CHECK(objects > 50);
	engine_free(e);
}

TEST(strict_globals)
{
	struct engine *e = sbt_deploy(
	    "local M = {}\n"
	    "function M.r() return undefinedThing end\n"
	    "function M.w() newGlobal = 1 end\n"
	    "return M");

	if (e == NULL) {
		CHECK(0);
		return;
	}
	CHECK_CALL(e, "r", "[]", "ERR: test:2: undefined global "
	    "'undefinedThing'");
	CHECK_CALL(e, "w", "[]", "ERR: test:3: assignment to undefined global "
	    "'newGlobal' (contracts keep state in System.files, not in "
	    "globals)");
	engine_free(e);
}

TEST(deploy_refusals)
{
	struct vms_caller c = { "u", "debug" };
	struct engine *e = NULL;
	char err[VMS_ERRLEN], *ent = NULL;
	size_t len;
	const char *bad[][2] = {
		{ "return {", "syntax error: test:1: unexpected symbol near <eof>" },
		{ "return 5", "init failed: the contract's chunk must return a "
		    "table (got number)" },
		{ "return { init = function() error('no') end }",
		    "init failed: test:1: no" },
		{ "\033Lua", "binary chunks are not allowed" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(engine_deploy("test", bad[i][0], strlen(bad[i][0]), NULL,
		    &c, 1, &e, &ent, &len, err, sizeof(err)) == ENGINE_REFUSED);
		CHECK_EQ_STR(err, bad[i][1]);
		CHECK(e == NULL);
	}
}

TEST(state_tree_scale)
{
	struct vms_state *st = state_new();
	char err[VMS_ERRLEN], p[64];
	const struct vms_node **kids;
	uint8_t r1[32], r2[32];
	int i, ok = 1;

	CHECK(state_mkdir(st, "/big", 4, 0, err, sizeof(err)) == 0);
	state_root(st, r1);
	state_begin(st);
	for (i = 0; i < 100000 && ok; i++) {
		int n = snprintf(p, sizeof(p), "/big/f%06d", (i * 7919) % 100000);

		ok = state_write(st, p, (size_t)n, "x", 1, 0, 0, err,
		    sizeof(err)) == 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(state_nfiles(st), 100000);
	kids = state_sorted_kids(state_lookup(st, "/big", 4));
	CHECK_EQ_STR(state_name(kids[0]), "f000000");
	CHECK_EQ_STR(state_name(kids[99999]), "f099999");
	free(kids);
	state_rollback(st);
	state_root(st, r2);
	CHECK(memcmp(r1, r2, 32) == 0);
	CHECK_EQ_INT(state_nfiles(st), 0);
	state_free(st);
}

/*
 * A new file is one allocation: its node, path and content (state.h).
 * A write that replaces the content moves it out of the node; a rollback
 * puts the node's own back, and neither a commit, a rollback nor a
 * removal frees content that is in a node (ASan reports a free inside an
 * allocation; valgrind an invalid free).
 */
TEST(state_file_in_node)
{
	struct vms_state *st = state_new();
	char err[VMS_ERRLEN];
	const struct vms_node *n;
	uint8_t r0[32], r1[32], r2[32];

#define IN_NODE(n) ((n)->data == (const uint8_t *)(n)->path + \
	(n)->pathlen + 1)
	CHECK(state_mkdir(st, "/d", 2, 0, err, sizeof(err)) == 0);
	CHECK(state_write(st, "/d/a", 4, "first", 5, 0, 0, err,
	    sizeof(err)) == 0);
	CHECK(state_write(st, "/d/empty", 8, "", 0, 0, 0, err,
	    sizeof(err)) == 0);
	n = state_lookup(st, "/d/a", 4);
	CHECK(n != NULL && IN_NODE(n) && n->len == 5 &&
	    memcmp(n->data, "first", 5) == 0);
	CHECK_EQ_STR(state_name(n), "a");
	n = state_lookup(st, "/d/empty", 8);
	CHECK(n != NULL && IN_NODE(n) && n->len == 0);
	state_root(st, r0);

	/* replaced, rolled back: the node's own content again */
	state_begin(st);
	CHECK(state_write(st, "/d/a", 4, "second!", 7, 0, 0, err,
	    sizeof(err)) == 0);
	n = state_lookup(st, "/d/a", 4);
	CHECK(n != NULL && !IN_NODE(n) && n->len == 7 &&
	    memcmp(n->data, "second!", 7) == 0);
	state_root(st, r1);
	CHECK(memcmp(r0, r1, 32) != 0);
	state_rollback(st);
	n = state_lookup(st, "/d/a", 4);
	CHECK(n != NULL && IN_NODE(n) && n->len == 5 &&
	    memcmp(n->data, "first", 5) == 0);
	state_root(st, r2);
	CHECK(memcmp(r0, r2, 32) == 0);

	/* replaced twice and kept (the first replacement is freed, the
	 * node's own is not), outside a transaction too */
	state_begin(st);
	CHECK(state_write(st, "/d/a", 4, "x", 1, 0, 0, err,
	    sizeof(err)) == 0);
	CHECK(state_write(st, "/d/a", 4, "second!", 7, 0, 0, err,
	    sizeof(err)) == 0);
	state_commit(st);
	state_root(st, r2);
	CHECK(memcmp(r1, r2, 32) == 0);
	CHECK(state_write(st, "/d/empty", 8, "now", 3, 0, 0, err,
	    sizeof(err)) == 0);
	n = state_lookup(st, "/d/empty", 8);
	CHECK(n != NULL && !IN_NODE(n) && n->len == 3);

	/* removed and put back, then removed for good */
	state_begin(st);
	CHECK(state_unlink(st, "/d/a", 4, err, sizeof(err)) == 0);
	CHECK(state_lookup(st, "/d/a", 4) == NULL);
	state_rollback(st);
	n = state_lookup(st, "/d/a", 4);
	CHECK(n != NULL && n->len == 7 && memcmp(n->data, "second!", 7) == 0);
	state_begin(st);
	CHECK(state_write(st, "/d/b", 4, "new", 3, 0, 0, err,
	    sizeof(err)) == 0);
	CHECK(state_rmdir(st, "/d", 2, 1, err, sizeof(err)) == 0);
	state_commit(st);
	CHECK_EQ_INT(state_count(st), 0);
	state_free(st);
#undef IN_NODE
}

/*
 * state_all_parents_first (what a snapshot is written in): every node but
 * "/" exactly once, each directory before what it holds, on a tree whose
 * sorted order is not its own ("/a-x" sorts between "/a" and "/a/b") and
 * whose directories lost a child (kids reordered by the removal).
 */
TEST(state_parents_first)
{
	static const char *const dirs[] = { "/m", "/a", "/a/b", "/m/n",
	    "/m/n/o" };
	static const char *const files[] = { "/a-x", "/z", "/a/b/c", "/a/0",
	    "/m/n/o/p", "/m/1", "/a/b/d" };
	struct vms_state *st = state_new();
	const struct vms_node **v, **w;
	char err[VMS_ERRLEN];
	size_t n, m, i, j, k;
	int ok = 1;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		CHECK(state_mkdir(st, dirs[i], strlen(dirs[i]), 0, err,
		    sizeof(err)) == 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		CHECK(state_write(st, files[i], strlen(files[i]), "x", 1, 0, 0,
		    err, sizeof(err)) == 0);
	CHECK(state_unlink(st, "/a/b/c", 6, err, sizeof(err)) == 0);
	CHECK(state_unlink(st, "/m/1", 4, err, sizeof(err)) == 0);
	v = state_all_parents_first(st, &n);
	w = state_all_sorted(st, &m);
	CHECK_EQ_INT(n, m);
	CHECK_EQ_INT(n, 5 + 7 - 2);
	for (i = 0; i < n; i++) {
		/* each once: in the sorted list, and nowhere else in v */
		for (k = 0; k < m && w[k] != v[i]; k++)
			;
		for (j = i + 1; j < n; j++)
			if (v[j] == v[i])
				ok = 0;
		/* its parent ("/" aside) earlier in v */
		if (v[i]->parent != state_rootdir(st)) {
			for (j = 0; j < i && v[j] != v[i]->parent; j++)
				;
			if (j == i)
				ok = 0;
		}
		if (k == m)
			ok = 0;
	}
	CHECK(ok);
	free(v);
	free(w);
	state_free(st);
}

/*
 * state_page (the `state` method's pages): for every page size, reading
 * page after page from "after" the last path gives exactly the sorted
 * list, "more" on every page but the last; "after" need not be a path of
 * the state.
 */
TEST(state_pages)
{
	static const size_t limits[] = { 1, 2, 7, 100, 999, 1000, 1001, 5000 };
	struct vms_state *st = state_new();
	const struct vms_node **all, **v;
	char err[VMS_ERRLEN], p[64], *after;
	size_t n, m, got, i, l, pages;
	int more, ok = 1;

	CHECK(state_mkdir(st, "/d", 2, 0, err, sizeof(err)) == 0);
	for (i = 0; i < 999; i++) {	/* in an order unlike the sorted one */
		snprintf(p, sizeof(p), i % 3 ? "/d/%zu" : "/%zu-x", i * 7919 % 1000);
		CHECK(state_write(st, p, strlen(p), "x", 1, 0, 0, err,
		    sizeof(err)) == 0);
	}
	all = state_all_sorted(st, &n);
	CHECK_EQ_INT(n, 1000);
	for (l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		after = NULL;
		got = pages = 0;
		ok = 1;
		do {
			v = state_page(st, after, limits[l], &m, &more);
			pages++;
			for (i = 0; i < m; i++)
				if (got + i >= n || v[i] != all[got + i])
					ok = 0;
			got += m;
			if (more != (got < n) || m > limits[l] ||
			    (more && m != limits[l]))
				ok = 0;
			free(after);
			after = m > 0 ? xstrdup(v[m - 1]->path) : NULL;
			free(v);
		} while (more && ok && pages < 2000);
		free(after);
		CHECK_MSG(ok && got == n, "limit %zu: %zu of %zu in %zu pages",
		    limits[l], got, n, pages);
	}
	/* after a path the state does not have: the paths after it */
	v = state_page(st, "/d/5z", 0, &m, &more);
	for (i = 0; i < n && strcmp(all[i]->path, "/d/5z") <= 0; i++)
		;
	CHECK_EQ_INT(m, n - i);
	CHECK(m > 0 && v[0] == all[i] && !more);
	free(v);
	free(all);
	state_free(st);
}

/*
 * A listing's first page keeps a sorted view for the pages after it
 * (state_list.c); a file added or removed between pages drops it: the
 * next pages show the new file and not the removed one (a view kept
 * would list a freed node: AddressSanitizer), and so does a listing
 * started afresh.
 */
TEST(state_pages_change)
{
	struct vms_state *st = state_new();
	const struct vms_node **v;
	char err[VMS_ERRLEN], p[64], *after = NULL;
	size_t m, i, got = 0;
	int more, sawnew = 0, sawgone = 0;

	for (i = 0; i < 100; i++) {
		snprintf(p, sizeof(p), "/f%03zu", i);
		CHECK(state_write(st, p, strlen(p), "x", 1, 0, 0, err,
		    sizeof(err)) == 0);
	}
	v = state_page(st, NULL, 10, &m, &more);
	CHECK(m == 10 && more && strcmp(v[9]->path, "/f009") == 0);
	after = xstrdup(v[9]->path);
	free(v);
	CHECK(state_write(st, "/f050x", 6, "y", 1, 0, 0, err,
	    sizeof(err)) == 0);
	CHECK(state_unlink(st, "/f060", 5, err, sizeof(err)) == 0);
	do {
		v = state_page(st, after, 10, &m, &more);
		for (i = 0; i < m; i++) {
			sawnew |= strcmp(v[i]->path, "/f050x") == 0;
			sawgone |= strcmp(v[i]->path, "/f060") == 0;
		}
		got += m;
		free(after);
		after = m > 0 ? xstrdup(v[m - 1]->path) : NULL;
		free(v);
	} while (more && got < 1000);
	free(after);
	CHECK_EQ_INT(got, 90);
	CHECK(sawnew && !sawgone);
	/* a view built now, then a change: listed afresh */
	v = state_page(st, NULL, 10, &m, &more);
	free(v);
	CHECK(state_write(st, "/a", 2, "z", 1, 0, 0, err, sizeof(err)) == 0);
	v = state_page(st, NULL, 10, &m, &more);
	CHECK(m == 10 && strcmp(v[0]->path, "/a") == 0);
	free(v);
	state_free(st);
}

/*
 * The path table through several doublings, with files removed on the
 * way: every path is found or not as it should be, listed once, and the
 * state root is the one the same files give when added in one go.
 */
TEST(state_table_grows)
{
	struct vms_state *st = state_new(), *ref = state_new();
	const struct vms_node **v;
	char err[VMS_ERRLEN], p[32];
	uint8_t r1[32], r2[32];
	size_t n, i, bad = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/f%zu", i);
		CHECK(state_write(st, p, strlen(p), "x", 1, 0, 0, err,
		    sizeof(err)) == 0);
		if (i % 3 == 0 && i > 0) {	/* one written earlier */
			snprintf(p, sizeof(p), "/f%zu", i / 2);
			if (state_lookup(st, p, strlen(p)) != NULL)
				CHECK(state_unlink(st, p, strlen(p), err,
				    sizeof(err)) == 0);
		}
	}
	for (i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/f%zu", i);
		if (state_lookup(st, p, strlen(p)) == NULL)
			continue;
		CHECK(state_write(ref, p, strlen(p), "x", 1, 0, 0, err,
		    sizeof(err)) == 0);
	}
	/* what the removals left, checked against their own rule */
	for (i = 0; i < 5000; i++) {
		int gone = 0;
		size_t j;

		for (j = 3; j < 5000; j += 3)
			if (j / 2 == i && j > i)
				gone = 1;
		snprintf(p, sizeof(p), "/f%zu", i);
		if ((state_lookup(st, p, strlen(p)) == NULL) != gone)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	v = state_all_sorted(st, &n);
	CHECK_EQ_INT(n, state_count(st));
	CHECK_EQ_INT(n, state_count(ref));
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1]->path, v[i]->path) >= 0)
			bad++;
	CHECK_EQ_INT(bad, 0);
	free(v);
	state_root(st, r1);
	state_root(ref, r2);
	CHECK(memcmp(r1, r2, 32) == 0);
	state_free(st);
	state_free(ref);
}

/* state_same: the same set of files and directories, whatever the order
 * of the writes; a different content (even of the same length), a
 * missing or extra node, or a file where the other has a directory, not. */
TEST(state_same_sets)
{
	struct vms_state *a = state_new(), *b = state_new();
	char err[VMS_ERRLEN], p[32];
	size_t i;

	CHECK(state_same(a, b));
	for (i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/f%zu", i);
		CHECK(state_write(a, p, strlen(p), p, strlen(p), 0, 0, err,
		    sizeof(err)) == 0);
		snprintf(p, sizeof(p), "/f%zu", 299 - i);
		CHECK(state_write(b, p, strlen(p), p, strlen(p), 0, 0, err,
		    sizeof(err)) == 0);
	}
	CHECK(state_mkdir(a, "/d", 2, 0, err, sizeof(err)) == 0);
	CHECK(state_mkdir(b, "/d", 2, 0, err, sizeof(err)) == 0);
	CHECK(state_same(a, b) && state_same(b, a));
	/* same length, other bytes */
	CHECK(state_write(b, "/f7", 3, "/f8", 3, 0, 0, err, sizeof(err)) == 0);
	CHECK(!state_same(a, b) && !state_same(b, a));
	CHECK(state_write(b, "/f7", 3, "/f7", 3, 0, 0, err, sizeof(err)) == 0);
	CHECK(state_same(a, b));
	/* one more on one side */
	CHECK(state_write(a, "/g", 2, "", 0, 0, 0, err, sizeof(err)) == 0);
	CHECK(!state_same(a, b) && !state_same(b, a));
	/* as many, one different path */
	CHECK(state_write(b, "/h", 2, "", 0, 0, 0, err, sizeof(err)) == 0);
	CHECK(!state_same(a, b) && !state_same(b, a));
	/* a directory where the other has an empty file */
	CHECK(state_unlink(a, "/g", 2, err, sizeof(err)) == 0);
	CHECK(state_unlink(b, "/h", 2, err, sizeof(err)) == 0);
	CHECK(state_rmdir(b, "/d", 2, 0, err, sizeof(err)) == 0);
	CHECK(state_write(b, "/d", 2, "", 0, 0, 0, err, sizeof(err)) == 0);
	CHECK(!state_same(a, b) && !state_same(b, a));
	state_free(a);
	state_free(b);
}

TEST(state_root_order_independent)
{
	struct vms_state *a = state_new(), *b = state_new();
	char err[VMS_ERRLEN];
	uint8_t ra[32], rb[32];

	state_mkdir(a, "/x", 2, 0, err, sizeof(err));
	state_write(a, "/x/1", 4, "a", 1, 0, 0, err, sizeof(err));
	state_write(a, "/y", 2, "b", 1, 0, 0, err, sizeof(err));
	state_write(b, "/y", 2, "zz", 2, 0, 0, err, sizeof(err));
	state_mkdir(b, "/x", 2, 0, err, sizeof(err));
	state_write(b, "/x/1", 4, "a", 1, 0, 0, err, sizeof(err));
	state_write(b, "/y", 2, "b", 1, 0, 0, err, sizeof(err));
	state_root(a, ra);
	state_root(b, rb);
	CHECK(memcmp(ra, rb, 32) == 0);
	state_unlink(b, "/y", 2, err, sizeof(err));
	state_root(b, rb);
	CHECK(memcmp(ra, rb, 32) != 0);
	/* a directory's element hashes SHA-256 of no bytes (state.c keeps
	 * it as a constant), a file's that of its bytes, "" included */
	{
		uint8_t e[32];

		vms_sha256("", 0, e);
		CHECK(memcmp(state_lookup(a, "/x", 2)->sha, e, 32) == 0);
		state_write(a, "/z", 2, "", 0, 0, 0, err, sizeof(err));
		CHECK(memcmp(state_lookup(a, "/z", 2)->sha, e, 32) == 0);
		vms_sha256("a", 1, e);
		CHECK(memcmp(state_lookup(a, "/x/1", 4)->sha, e, 32) == 0);
	}
	state_free(a);
	state_free(b);
}

TEST(limits_parse)
{
	struct vms_limits l;
	char err[VMS_ERRLEN];
	json_t *j;
	struct vms_limits l2;

	limits_default(&l);
	CHECK_EQ_INT(l.instructions, 10000000);
	CHECK_EQ_INT(l.memory, 64 << 20);
	CHECK_EQ_INT(l.entry_size, 65535);
	CHECK(limits_set(&l, "memory=32M", err, sizeof(err)) == 0);
	CHECK_EQ_INT(l.memory, 32 << 20);
	CHECK(limits_set(&l, "file_size=4K", err, sizeof(err)) == 0);
	CHECK_EQ_INT(l.file_size, 4096);
	CHECK(limits_set(&l, "bogus=1", err, sizeof(err)) == -1);
	CHECK_EQ_STR(err, "unknown limit \"bogus\"");
	CHECK(limits_set(&l, "entry_size=100000", err, sizeof(err)) == -1);
	CHECK(limits_set(&l, "depth=x", err, sizeof(err)) == -1);
	j = limits_to_json(&l);
	CHECK(limits_from_json(&l2, j, err, sizeof(err)) == 0);
	CHECK(memcmp(&l, &l2, sizeof(l)) == 0);
	json_decref(j);
}

int
main(void)
{
	RUN(hello);
	RUN(refused_methods);
	RUN(system_api);
	RUN(files_api);
	RUN(transaction_rollback);
	RUN(json_mapping);
	RUN(json_encode_text);
	RUN(strict_globals);
	RUN(deploy_refusals);
	RUN(state_tree_scale);
	RUN(state_file_in_node);
	RUN(state_parents_first);
	RUN(state_pages);
	RUN(state_pages_change);
	RUN(state_table_grows);
	RUN(state_same_sets);
	RUN(state_root_order_independent);
	RUN(limits_parse);
	return test_summary();
}
