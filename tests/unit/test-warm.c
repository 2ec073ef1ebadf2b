/*
 * test-warm.c — warm calls (lua-sandbox/sb_warm.c) against cold ones: the
 * same deploy in two engines, one with warm calls off, makes the same
 * calls; every entry must be the same to the byte, and the ledgers must
 * replay in either kind of engine (and be json_canonical's text, as
 * entries were before they were written piece by piece). Hostile contracts try to carry state
 * from one call to the next through every channel the restored state
 * could leave open; probes whose results follow the library tables'
 * layout, the heap in use and the instruction count catch a restore that
 * is not the state a fresh build makes.
 */
#include <pthread.h>

#include "test.h"
#include "sbtest.h"
#include "canon.h"
#include "cpu.h"

#define MAXENT	4096

/*
 * The engine writes entries piece by piece (canon.h, struct jbuf): they
 * must be exactly what json_canonical() makes of the same object, as
 * before (ledgers written then must replay now).
 */
static int
canonical(const char *e, size_t len)
{
	json_t *j = json_loadb(e, len, 0, NULL);
	char *c = j ? json_canonical(j, NULL) : NULL;
	int ok = c != NULL && strlen(c) == len && memcmp(c, e, len) == 0;

	free(c);
	json_decref(j);
	return ok;
}

/* The same contract deployed twice: cold (warm calls off) and warm. */
struct twin {
	struct engine	*cold, *warm;
	char		*ent[MAXENT];
	size_t		 len[MAXENT];
	size_t		 n;
	int		 diffs;
};

/* 0 deployed, 1 refused by both alike, -1 failure (reported). */
static int
twin_deploy(struct twin *tw, const char *code, const char *limits)
{
	struct vms_caller root = { "unix:root", "debug" };
	struct vms_limits lim;
	char err[VMS_ERRLEN], *e2 = NULL, *kv, *p, buf[256];
	enum engine_status s1, s2;
	size_t l2;

	memset(tw, 0, sizeof(*tw));
	limits_default(&lim);
	if (limits != NULL) {
		snprintf(buf, sizeof(buf), "%s", limits);
		for (p = buf; (kv = strsep(&p, ",")) != NULL; )
			if (limits_set(&lim, kv, err, sizeof(err)) == -1) {
				FAILF("limit %s: %s", kv, err);
				return -1;
			}
	}
	s1 = engine_deploy("test", code, strlen(code), &lim, &root, 1000,
	    &tw->cold, &tw->ent[0], &tw->len[0], err, sizeof(err));
	s2 = engine_deploy("test", code, strlen(code), &lim, &root, 1000,
	    &tw->warm, &e2, &l2, err, sizeof(err));
	if (s1 != ENGINE_OK || s2 != ENGINE_OK) {
		CHECK_MSG(s1 == s2, "deploys differ");
		engine_free(tw->cold);
		engine_free(tw->warm);
		free(tw->ent[0]);
		free(e2);
		return s1 == ENGINE_REFUSED && s2 == ENGINE_REFUSED ? 1 : -1;
	}
	CHECK(l2 == tw->len[0] && memcmp(e2, tw->ent[0], l2) == 0);
	CHECK(canonical(e2, l2));
	free(e2);
	engine_set_warm(tw->cold, 0);
	tw->n = 1;
	return 0;
}

/* One call in both engines; returns the outcome ("json" / "ERR: ..."). */
static char *
twin_call(struct twin *tw, const char *id, const char *auth,
    const char *method, const char *args)
{
	struct vms_caller c = { id, auth };
	struct engine_result r1, r2;
	enum engine_status s1, s2;
	char err[VMS_ERRLEN], *e1 = NULL, *e2 = NULL, *out;
	size_t l1 = 0, l2 = 0;
	json_error_t jerr;
	json_t *a = json_loads(args ? args : "[]", 0, &jerr);
	uint64_t t = 5000 + engine_next_index(tw->cold);

	if (a == NULL)
		return xstrdup("BADARGS");
	s1 = engine_call(tw->cold, method, a, &c, t, &e1, &l1, &r1, err,
	    sizeof(err));
	s2 = engine_call(tw->warm, method, a, &c, t, &e2, &l2, &r2, err,
	    sizeof(err));
	json_decref(a);
	if (s1 != s2 || l1 != l2 || (l1 > 0 && memcmp(e1, e2, l1) != 0)) {
		if (tw->diffs++ < 3)
			FAILF("call %zu (%s by %.40s) differs:\n       cold %.400s"
			    "\n       warm %.400s", tw->n, method, id ? id :
			    "(anonymous)", e1 ? e1 : "-", e2 ? e2 : "-");
	}
	if (e2 != NULL && !canonical(e2, l2) && tw->diffs++ < 3)
		FAILF("call %zu: the entry is not json_canonical's text: %.300s",
		    tw->n, e2);
	if (s2 != ENGINE_OK)
		out = xstrdup(s2 == ENGINE_REFUSED ? "REFUSED" : "INTERNAL");
	else if (r2.ok)
		out = json_dumps(r2.value, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
	else
		xasprintf(&out, "ERR: %s", r2.error);
	if (s1 == ENGINE_OK && tw->n < MAXENT) {
		tw->ent[tw->n] = e1;
		tw->len[tw->n++] = l1;
		e1 = NULL;
	}
	if (s1 == ENGINE_OK)
		engine_result_clear(&r1);
	if (s2 == ENGINE_OK)
		engine_result_clear(&r2);
	free(e1);
	free(e2);
	return out;
}

#define TWIN(tw, id, method, args, want) do {				\
	char *_o = twin_call((tw), (id), (id) ? "debug" : "anonymous",	\
	    (method), (args));						\
	CHECK_EQ_STR(_o, (want));					\
	free(_o);							\
} while (0)

/* Replay the recorded ledger in a fresh engine, warm or cold. */
static void
twin_replay(struct twin *tw, int warm)
{
	struct engine *r = NULL;
	char err[VMS_ERRLEN];
	size_t i;

	if (engine_open((uint8_t *)tw->ent[0], tw->len[0], &r, err,
	    sizeof(err)) == -1) {
		FAILF("open: %s", err);
		return;
	}
	engine_set_warm(r, warm);
	for (i = 0; i < tw->n; i++)
		if (engine_replay(r, (uint8_t *)tw->ent[i], tw->len[i], err,
		    sizeof(err)) == -1) {
			FAILF("%s replay of entry %zu: %s", warm ? "warm" :
			    "cold", i, err);
			break;
		}
	engine_free(r);
}

static void
twin_done(struct twin *tw)
{
	size_t i;

	twin_replay(tw, 1);
	twin_replay(tw, 0);
	for (i = 0; i < tw->n; i++)
		free(tw->ent[i]);
	engine_free(tw->cold);
	engine_free(tw->warm);
}

static void
warm_stats(struct twin *tw, struct engine_warm *s)
{
	engine_warm_stats(tw->warm, s);
	CHECK_MSG(!s->off, "warm calls turned off: %s", s->why);
}

/* ---- callers of every shape ---- */

static void
callers(void)
{
	static const char *const odd[] = { "print", "RSVP", "string", "id",
	    "auth", "name", "System", "test", "debug", "peercred",
	    "anonymous", "_G", "__index", "", "x", "unix:alice", "isAttending",
	    "name must be a non-empty string of at most 200 bytes", NULL };
	struct engine_warm st;
	struct twin tw;
	char *guest = sbt_example("guestlist.lua"), id[6000];
	size_t len, i;

	if (guest == NULL || twin_deploy(&tw, guest, NULL) != 0) {
		free(guest);
		return;
	}
	/* every length of a short string, the long ones, a block of 5 KB */
	for (len = 0; len < 120; len++) {
		for (i = 0; i < len; i++)
			id[i] = (char)('a' + (len * 7 + i) % 26);
		id[len] = '\0';
		free(twin_call(&tw, id, len % 2 ? "debug" : "peercred",
		    "RSVP", "[\"n\", true, \"r\"]"));
	}
	memset(id, 'z', 5000);
	id[5000] = '\0';
	free(twin_call(&tw, id, "debug", "RSVP", "[\"n\", false]"));
	/* ids that are the text of strings the state already has */
	for (i = 0; odd[i] != NULL; i++) {
		free(twin_call(&tw, odd[i], "debug", "RSVP",
		    "[\"n\", true, \"r\"]"));
		free(twin_call(&tw, odd[i], "peercred", "listRSVPs", "[]"));
	}
	TWIN(&tw, NULL, "RSVP", "[\"n\", true]",
	    "ERR: test:20: anonymous callers cannot RSVP");
	warm_stats(&tw, &st);
	printf("     warm %llu, cold %llu, templates %zu (%zu bytes), "
	    "built %llu\n", (unsigned long long)st.warm,
	    (unsigned long long)st.cold, st.templates, st.bytes,
	    (unsigned long long)st.builds);
	CHECK(st.warm > 100);
	CHECK(st.cold >= 15);		/* the ids above that exist */
	CHECK(st.templates <= 8);
	twin_done(&tw);
	free(guest);
}

TEST(callers_of_every_shape)
{
	callers();
}

/*
 * The same without AVX-512 (sb_warm_restore.c's hash_strings: the strings'
 * hashes four at a time instead of 64): if either path's hashes differed
 * from Lua's, the template check would turn warm calls off, which
 * warm_stats fails.
 */
TEST(callers_portable_hashes)
{
	vms_cpu_off(VMS_CPU_AVX512, 1);
	callers();
	vms_cpu_off(VMS_CPU_AVX512, 0);
}

/* ---- the library tables' layout: contracts can add keys to them ---- */

/*
 * Removes some keys of each library table, then adds string and integer
 * keys with holes (math.random: from the ledger seed). Where a new key
 * lands, whether it reuses a removed key's main position, and so when the
 * table rehashes and how large its array part gets (#t) all follow the
 * layout the table had at the start of the call.
 */
static const char layout_code[] =
    "local M = {}\n"
    "local random, concat, pairs, ipairs = math.random, table.concat, "
    "pairs, ipairs\n"
    "function M.churn(n)\n"
    "  local out = {}\n"
    "  for _, lib in ipairs({string, table, math, utf8, coroutine}) do\n"
    "    local names = {}\n"
    "    for k in pairs(lib) do names[#names + 1] = k end\n"
    "    for i = 1, #names do\n"
    "      if random(3) == 1 then lib[names[i]] = nil end\n"
    "    end\n"
    "    for i = 1, n do\n"
    "      local r = random(4)\n"
    "      if r == 1 then lib['k' .. random(60)] = i\n"
    "      elseif r == 2 then lib[random(40)] = i\n"
    "      elseif r == 3 then lib[random(40)] = nil\n"
    "      else lib[#lib + 1] = i end\n"
    "    end\n"
    "    out[#out + 1] = #lib\n"
    "  end\n"
    "  return concat(out, ',')\n"
    "end\n"
    "return M\n";

TEST(library_layout)
{
	struct twin tw;
	char *o, *first = NULL;
	int i, varied = 0;

	if (twin_deploy(&tw, layout_code, NULL) != 0)
		return;
	for (i = 0; i < 300; i++) {
		o = twin_call(&tw, i % 2 ? "unix:alice" : "unix:bob",
		    "peercred", "churn", i % 3 ? "[60]" : "[200]");
		CHECK_MSG(o[0] == '"', "%s", o);
		if (first == NULL)
			first = o;
		else {
			if (strcmp(o, first) != 0)
				varied = 1;
			free(o);
		}
	}
	CHECK_MSG(varied, "the probe gave one result under 300 seeds");
	free(first);
	twin_done(&tw);
}

/* ---- nothing a call does reaches the next one ---- */

/*
 * go('plant') tries to leave something behind through one channel;
 * go('look') reports what it finds. Each look must find the pristine
 * state, warm as cold.
 */
static const char smuggle_code[] =
    "local M = {}\n"
    "local count = 0\n"
    "local cache = cache_seed or {}\n"
    "function M.plant()\n"
    "  count = count + 1\n"
    "  cache.x = 'module'\n"
    "  string.smuggled = 'string'\n"
    "  string.rep = function() return 'hijacked' end\n"
    "  table.insert = nil\n"
    "  math.pi = 3\n"
    "  math[1], math[2] = 'a', 'b'\n"
    "  utf8.charpattern = 'x'\n"
    "  coroutine.stash = coroutine.create(function() coroutine.yield(1) "
    "return 2 end)\n"
    "  coroutine.resume(coroutine.stash)\n"
    "  setmetatable(table, {__index = function() return 'meta' end})\n"
    "  setmetatable(math, {__newindex = function() error('trap') end})\n"
    "  local smt = ('').x\n"
    "  rawset(System, 'time', function() return 0 end)\n"
    "  rawset(System.files, 'readFile', print)\n"
    "  rawset(System.caller, 'id', 'forged')\n"
    "  pcall(rawset, _G, 'planted', 1)\n"
    "  pairs = function() return next, {}, nil end\n"
    "  _ENV = setmetatable({}, {__index = _ENV})\n"
    "  local t = {} for i = 1, 100 do t[i] = {i} end\n"
    "  next(t)\n"
    "  System.json.encode({a = {1, 2, 3}})\n"
    "  for i = 1, 50 do local s = 'interned' .. i end\n"
    "  for i = 1, 20000 do local _ = {i} end\n"
    "  return count\n"
    "end\n"
    "function M.look()\n"
    "  local r = {count = count, cache = cache.x or 'none',\n"
    "    smuggled = string.smuggled or 'none', rep = ('ab'):rep(2),\n"
    "    insert = type(table.insert), pi = math.pi > 3.14,\n"
    "    m1 = math[1] or 'none', cp = #utf8.charpattern,\n"
    "    stash = type(coroutine.stash),\n"
    "    tmeta = getmetatable(table) == nil and 'none' or 'set',\n"
    "    mmeta = getmetatable(math) == nil and 'none' or 'set',\n"
    "    time = System.time() > 0, id = System.caller.id,\n"
    "    read = type(rawget(System.files, 'readFile')),\n"
    "    planted = rawget(_G, 'planted') or 'none',\n"
    "    pairs = pairs == next and 'next' or 'ours'}\n"
    "  local n = 0 for _ in pairs({a = 1, b = 2}) do n = n + 1 end\n"
    "  r.n = n\n"
    "  return r\n"
    "end\n"
    "return M\n";

TEST(no_state_between_calls)
{
	static const char want[] = "{\"cache\":\"none\",\"count\":0,\"cp\":14,"
	    "\"id\":\"unix:eve\",\"insert\":\"function\",\"m1\":\"none\","
	    "\"mmeta\":\"none\",\"n\":2,\"pairs\":\"ours\",\"pi\":true,"
	    "\"planted\":\"none\",\"read\":\"nil\",\"rep\":\"abab\","
	    "\"smuggled\":\"none\",\"stash\":\"nil\",\"time\":true,"
	    "\"tmeta\":\"none\"}";
	struct twin tw;
	int i;

	if (twin_deploy(&tw, smuggle_code, NULL) != 0)
		return;
	for (i = 0; i < 20; i++) {
		TWIN(&tw, "unix:mallory", "plant", "[]", "1");
		TWIN(&tw, "unix:eve", "look", "[]", want);
	}
	twin_done(&tw);
}

/* ---- the limits' edges: heap, instructions, GC points ---- */

static const char edge_code[] =
    "local M = {}\n"
    "local big = {}\n"
    "for i = 1, 30 do big[i] = ('v' .. i):rep(3) end\n"
    "function M.fill(n)\n"
    "  local t, s = {}, ''\n"
    "  for i = 1, n do t[i] = {i, tostring(i)} end\n"
    "  for i = 1, n // 4 do s = s .. i end\n"
    "  return #t + #s\n"
    "end\n"
    "function M.garbage(n)\n"
    "  local keep = {}\n"
    "  for i = 1, n do local x = {i, i, i}; if i % 97 == 0 then\n"
    "    keep[#keep + 1] = x end end\n"
    "  local k = {} for i = 1, 200 do k[{}] = i end\n"
    "  return #keep\n"
    "end\n"
    "function M.enc(n)\n"
    "  local t = {} for i = 1, n do t['k' .. i] = {i, 'x'} end\n"
    "  t.bad = print\n"
    "  return select(2, pcall(System.json.encode, t))\n"
    "end\n"
    "return M\n";

TEST(limit_edges)
{
	static const char *const limits[] = { "memory=1M",
	    "memory=1M,instructions=3000", "instructions=20000",
	    "instructions=200000,memory=2M", NULL };
	struct twin tw;
	char id[64], args[32];
	int i, k;

	for (k = 0; limits[k] != NULL; k++) {
		if (twin_deploy(&tw, edge_code, limits[k]) != 0)
			continue;
		for (i = 0; i < 90; i++) {
			/* ids of growing length: the heap used before the
			 * contract runs moves by up to 15 bytes in a class;
			 * sizes around where the heap or budget ends */
			snprintf(id, sizeof(id), "unix:%.*s", i % 40,
			    "0123456789012345678901234567890123456789");
			snprintf(args, sizeof(args), "[%d]", i % 3 == 1 ?
			    1000 + i * 700 : 2000 + i * 97);
			free(twin_call(&tw, id, "peercred", i % 3 == 0 ?
			    "fill" : i % 3 == 1 ? "garbage" : "enc", args));
		}
		twin_done(&tw);
	}
}

/* ---- what the state owns outside the arena ---- */

TEST(boxes_and_big_blocks)
{
	struct twin tw;
	char *big;
	size_t n = 50000, i;

	/* a contract whose chunk alone has blocks over 4 KB (pinned) */
	big = xmalloc(n + 200);
	i = (size_t)snprintf(big, 200, "local M = {}\nlocal s = '");
	memset(big + i, 'q', n - i);
	i = n;
	i += (size_t)snprintf(big + i, 200, "'\nfunction M.f(x) "
	    "return #s + x end\nreturn M\n");
	if (twin_deploy(&tw, big, NULL) == 0) {
		free(twin_call(&tw, "unix:a", "debug", "f", "[1]"));
		twin_done(&tw);
	}
	free(big);

	if (twin_deploy(&tw, "local M = {}\n"
	    "function M.f(n) local s = ('x'):rep(n) local t = {}\n"
	    "  for i = 1, n // 8 do t[i] = i end\n"
	    "  local ok, e = pcall(System.json.encode, {s, t, print})\n"
	    "  local d = System.json.decode('[' .. ('1,'):rep(n // 4) .. '1]')\n"
	    "  return #s + #t + #d end\n"
	    "function M.fail(n) local t = {} for i = 1, n do t[i] = {i} end\n"
	    "  System.json.encode(t) end\n"
	    "return M\n", "memory=2M") != 0)
		return;
	for (i = 0; i < 20; i++) {
		char args[32];

		snprintf(args, sizeof(args), "[%zu]", 1000 + i * 9000);
		free(twin_call(&tw, "unix:a", "peercred", i % 2 ? "f" : "fail",
		    args));
	}
	twin_done(&tw);
}

/* ---- every example, with the calls its tests make ---- */

TEST(examples)
{
	static const struct { const char *file, *method, *args; } calls[] = {
		{ "counter.lua", "increment", "[]" },
		{ "counter.lua", "get", "[]" },
		{ "persisted-counter.lua", "increment", "[2]" },
		{ "hello-world.lua", "hello", "[]" },
		{ "keyserver.lua", "setKey", "[\"unix:alice\", \"ssh AAAA\"]" },
		{ "keyserver.lua", "listUsers", "[]" },
		{ "userauth.lua", "whoami", "[]" },
		{ "files-archive.lua", "write", "[\"a.txt\", \"x\"]" },
		{ "package-manager.lua", "publish", "[\"p\", \"1.0\", \"c\"]" },
		{ "secure-counter.lua", "claimOwnership", "[]" },
		{ "secure-counter.lua", "increment", "[]" },
		{ NULL, NULL, NULL }
	};
	struct twin tw;
	char *code;
	int i, k;

	for (k = 0; calls[k].file != NULL; k++) {
		if ((code = sbt_example(calls[k].file)) == NULL)
			continue;
		if (twin_deploy(&tw, code, NULL) == 0) {
			for (i = 0; i < 12; i++)
				free(twin_call(&tw, i % 3 ? "unix:alice" :
				    "unix:bob", "peercred", calls[k].method,
				    calls[k].args));
			twin_done(&tw);
		}
		free(code);
	}
}

/* ---- another thread: another arena, another template ---- */

struct thread_run {
	struct engine	*e;
	char		*out[8];
};

static void *
thread_calls(void *arg)
{
	struct thread_run *r = arg;
	int i;

	for (i = 0; i < 8; i++)
		r->out[i] = sbt_call_as(r->e, "unix:alice", "f", "[3]", NULL,
		    NULL);
	return NULL;
}

TEST(threads)
{
	struct thread_run a, b;
	struct engine_warm st;
	pthread_t t;
	int i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.e = sbt_deploy("local M = {} function M.f(n) local t = {} "
	    "for i = 1, n do t[{}] = i; t[i * 3] = i end return #t .. "
	    "System.random() end return M");
	if (a.e == NULL)
		return;
	thread_calls(&a);
	b.e = sbt_deploy("local M = {} function M.f(n) local t = {} "
	    "for i = 1, n do t[{}] = i; t[i * 3] = i end return #t .. "
	    "System.random() end return M");
	if (b.e == NULL) {
		engine_free(a.e);
		return;
	}
	engine_set_warm(b.e, 0);
	CHECK(pthread_create(&t, NULL, thread_calls, &b) == 0);
	pthread_join(t, NULL);
	for (i = 0; i < 8; i++) {
		CHECK_EQ_STR(a.out[i], b.out[i]);
		free(b.out[i]);
	}
	engine_free(b.e);
	/* the warm engine, called from a new thread (another arena) */
	memset(b.out, 0, sizeof(b.out));
	b.e = a.e;
	CHECK(pthread_create(&t, NULL, thread_calls, &b) == 0);
	pthread_join(t, NULL);
	engine_warm_stats(a.e, &st);
	CHECK(st.templates >= 1 && st.warm >= 14);
	for (i = 0; i < 8; i++) {
		/* the same index: the same entry seed, as the first run's
		 * calls 9..16 would have (the ledger went on) */
		CHECK(b.out[i] != NULL && b.out[i][0] == '"');
		free(a.out[i]);
		free(b.out[i]);
	}
	engine_free(a.e);
}

int
main(void)
{
	RUN(callers_of_every_shape);
	RUN(callers_portable_hashes);
	RUN(library_layout);
	RUN(no_state_between_calls);
	RUN(limit_edges);
	RUN(boxes_and_big_blocks);
	RUN(examples);
	RUN(threads);
	return test_summary();
}
