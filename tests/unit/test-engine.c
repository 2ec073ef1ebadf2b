/*
 * test-engine.c — the engine end to end: every example through
 * engine_deploy/engine_call, deploy/call/replay round trips, replay
 * catching tampered entries, engine_apply, snapshots and history().
 */
#include <unistd.h>

#include "test.h"
#include "sbtest.h"
#include "canon.h"
#include "proto.h"

struct ledger {
	char	*e[64];
	size_t	 len[64];
	size_t	 n;
};

static void
lg_add(struct ledger *lg, char *entry, size_t len)
{
	lg->e[lg->n] = entry;
	lg->len[lg->n++] = len;
}

static void
lg_free(struct ledger *lg)
{
	size_t i;

	for (i = 0; i < lg->n; i++)
		free(lg->e[i]);
	lg->n = 0;
}

static int
lg_entry(void *arg, uint64_t i, uint8_t **buf, size_t *len)
{
	struct ledger *lg = arg;

	if (i >= lg->n)
		return -1;
	*buf = xmalloc(lg->len[i]);
	memcpy(*buf, lg->e[i], lg->len[i]);
	*len = lg->len[i];
	return 0;
}

/* Call and keep the entry in the ledger; returns the result string. */
static char *
lcall(struct engine *e, struct ledger *lg, const char *who,
    const char *method, const char *args)
{
	char *entry = NULL, *r;
	size_t len = 0;

	merkle_hash leaf, last;

	r = sbt_call_as(e, who, method, args, &entry, &len);
	if (entry != NULL) {
		/* what the worker hands ledger_append_leaf */
		merkle_leaf_hash(entry, len, leaf);
		engine_last_leaf(e, last);
		CHECK(memcmp(leaf, last, 32) == 0);
		lg_add(lg, entry, len);
	}
	return r;
}

#define LCALL(e, lg, who, m, a, want) do {				\
	char *_r = lcall((e), (lg), (who), (m), (a));			\
	CHECK_EQ_STR(_r, (want));					\
	free(_r);							\
} while (0)

static struct engine *
deploy_example(const char *file, struct ledger *lg, const char *who)
{
	char *code = sbt_example(file), *entry;
	struct engine *e;
	size_t len;

	if (code == NULL)
		return NULL;
	e = sbt_deploy_lim(code, NULL, who, &entry, &len);
	free(code);
	if (e != NULL) {
		lg_add(lg, entry, len);
		engine_set_entry_source(e, lg_entry, lg);
	}
	return e;
}

/* Replay the whole ledger in a fresh engine; 0 or -1 with err. */
static int
replay_all(struct ledger *lg, merkle_hash root, char *err, size_t errlen)
{
	struct engine *e;
	size_t i;

	if (engine_open((uint8_t *)lg->e[0], lg->len[0], &e, err,
	    errlen) == -1)
		return -1;
	engine_set_entry_source(e, lg_entry, lg);
	for (i = 0; i < lg->n; i++)
		if (engine_replay(e, (uint8_t *)lg->e[i], lg->len[i], err,
		    errlen) == -1) {
			engine_free(e);
			return -1;
		}
	if (root != NULL)
		engine_state_root(e, root);
	engine_free(e);
	return 0;
}

static void
check_replays(struct engine *e, struct ledger *lg)
{
	char err[VMS_ERRLEN];
	merkle_hash a, b;

	engine_state_root(e, a);
	CHECK_MSG(replay_all(lg, b, err, sizeof(err)) == 0, "replay: %s", err);
	CHECK(memcmp(a, b, 32) == 0);
}

TEST(example_hello)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("hello-world.lua", &lg, "u");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "u", "hello", "[]", "\"Hello, world!\"");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_counters)
{
	const char *files[] = { "counter.lua", "persisted-counter.lua" };
	int i;

	for (i = 0; i < 2; i++) {
		struct ledger lg = { .n = 0 };
		struct engine *e = deploy_example(files[i], &lg, "u");

		if (e == NULL) { CHECK(0); return; }
		LCALL(e, &lg, "u", "get", "[]", "0");
		LCALL(e, &lg, "u", "increment", "[]", "1");
		LCALL(e, &lg, "u", "increment", "[]", "2");
		LCALL(e, &lg, "u", "get", "[]", "2");
		check_replays(e, &lg);
		engine_free(e);
		lg_free(&lg);
	}
}

TEST(example_files_archive)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("files-archive.lua", &lg, "u");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "u", "write", "[\"a.txt\", \"hello\"]", "null");
	LCALL(e, &lg, "u", "write", "[\"b.bin\", \"\\u0001\\u00ff\"]", "null");
	LCALL(e, &lg, "u", "read", "[\"a.txt\"]", "\"hello\"");
	LCALL(e, &lg, "u", "list", "[]", "[\"a.txt\",\"b.bin\"]");
	LCALL(e, &lg, "u", "write", "[\"../x\", \"hello\"]",
	    "ERR: test:11: name must be letters, digits, \".\", \"_\" "
	    "or \"-\" (not starting with \".\")");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_userauth)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("userauth.lua", &lg, "u");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "unix:alice", "whoami", "[]",
	    "{\"auth\":\"debug\",\"id\":\"unix:alice\"}");
	LCALL(e, &lg, NULL, "whoami", "[]", "{\"auth\":\"anonymous\"}");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_keyserver)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("keyserver.lua", &lg, "unix:root");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "unix:root", "listAdmins", "[]", "[\"unix:root\"]");
	LCALL(e, &lg, "unix:bob", "setKey", "[\"bob\", \"k\"]",
	    "ERR: test:18: permission denied: not an admin");
	LCALL(e, &lg, "unix:root", "setKey", "[\"bob\", \"ssh-ed25519 AAA\"]",
	    "null");
	LCALL(e, &lg, "unix:root", "addAdmin", "[\"unix:carol\"]", "null");
	LCALL(e, &lg, "unix:carol", "setKey", "[\"dave\", \"k2\"]", "null");
	LCALL(e, &lg, NULL, "getKey", "[\"bob\"]", "\"ssh-ed25519 AAA\"");
	LCALL(e, &lg, NULL, "getKey", "[\"nobody\"]", "null");
	LCALL(e, &lg, NULL, "listUsers", "[]", "[\"bob\",\"dave\"]");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_guestlist)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("guestlist.lua", &lg, "unix:host");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "unix:alice", "RSVP", "[\"Alice\", true]", "null");
	LCALL(e, &lg, "unix:bob", "RSVP", "[\"Bob\", false, \"away\"]", "null");
	LCALL(e, &lg, "unix:bob", "RSVP", "[\"\", true]",
	    "ERR: test:11: name must be a non-empty string of at most 200 "
	    "bytes");
	LCALL(e, &lg, "unix:bob", "RSVP", "[\"Bob\", \"yes\"]",
	    "ERR: test:14: isAttending must be true or false");
	LCALL(e, &lg, NULL, "RSVP", "[\"Eve\", true]",
	    "ERR: test:20: anonymous callers cannot RSVP");
	LCALL(e, &lg, NULL, "listRSVPs", "[]",
	    "[{\"id\":\"unix:alice\",\"isAttending\":true,\"name\":\"Alice\"},"
	    "{\"id\":\"unix:bob\",\"isAttending\":false,\"name\":\"Bob\","
	    "\"reason\":\"away\"}]");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_package_manager)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("package-manager.lua", &lg, "u");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "unix:a", "publish", "[\"left-pad\", \"1.0\", \"x\"]",
	    "null");
	LCALL(e, &lg, "unix:a", "publish", "[\"left-pad\", \"1.1\", \"y\"]",
	    "null");
	LCALL(e, &lg, "unix:b", "publish", "[\"left-pad\", \"2.0\", \"z\"]",
	    "ERR: test:27: permission denied: left-pad is owned by "
	    "someone else");
	LCALL(e, &lg, "unix:a", "publish", "[\"left-pad\", \"1.0\", \"w\"]",
	    "ERR: test:30: version 1.0 of left-pad already exists");
	LCALL(e, &lg, NULL, "versions", "[\"left-pad\"]", "[\"1.0\",\"1.1\"]");
	LCALL(e, &lg, NULL, "fetch", "[\"left-pad\", \"1.1\"]", "\"y\"");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(example_secure_counter)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("secure-counter.lua", &lg, "u");

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "unix:a", "increment", "[]",
	    "ERR: test:25: permission denied: only the owner can "
	    "increment");
	LCALL(e, &lg, "unix:a", "claimOwnership", "[]", "null");
	LCALL(e, &lg, "unix:b", "claimOwnership", "[]",
	    "ERR: test:14: already owned by unix:a");
	LCALL(e, &lg, "unix:a", "increment", "[]", "1");
	LCALL(e, &lg, NULL, "get", "[]", "1");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

/* Re-encode entry i of lg after changing one field with f. */
static void
tamper(struct ledger *lg, size_t i, void (*f)(json_t *))
{
	json_t *j = json_loadb(lg->e[i], lg->len[i], 0, NULL);

	f(j);
	free(lg->e[i]);
	lg->e[i] = json_canonical(j, &lg->len[i]);
	json_decref(j);
}

static void
t_result(json_t *j)
{
	json_object_set_new(j, "result", json_integer(2));
}

static void
t_write(json_t *j)
{
	json_t *op = json_array_get(json_object_get(j, "writes"), 0);

	json_object_set_new(op, "data", json_string("Mg=="));
}

static void
t_state(json_t *j)
{
	json_object_set_new(j, "state", json_string("00"));
}

static void
t_code(json_t *j)
{
	json_object_set_new(j, "code", json_string("return {}"));
}

static void
t_time(json_t *j)
{
	/* later than the deploy's 1000: times may not decrease */
	json_object_set_new(j, "time", json_integer(1500));
}

static void
t_auth(json_t *j)
{
	json_object_set_new(j, "auth", json_string("wheel"));
}

static void
t_anon_id(json_t *j)
{
	json_object_set_new(j, "auth", json_string("anonymous"));
}

static void
t_caller_num(json_t *j)
{
	json_object_set_new(j, "caller", json_integer(7));
}

static void
t_extra(json_t *j)
{
	json_object_set_new(j, "note", json_string("trust me"));
}

static void
t_private(json_t *j)
{
	json_object_set_new(j, "method", json_string("_secret"));
}

static void
t_init(json_t *j)
{
	json_object_set_new(j, "method", json_string("init"));
}

static void
t_args_obj(json_t *j)
{
	json_object_set_new(j, "args", json_object());
}

static void
t_version(json_t *j)
{
	json_object_set_new(j, "v", json_real(1.0));
}

static void
t_neg_time(json_t *j)
{
	json_object_set_new(j, "time", json_integer(-5));
}

static void
t_type(json_t *j)
{
	json_object_set_new(j, "type", json_string("deploy"));
}

static struct engine *
counter_ledger(struct ledger *lg)
{
	struct engine *e = deploy_example("counter.lua", lg, "u");

	if (e != NULL) {
		char *r = lcall(e, lg, "u", "increment", "[]");

		free(r);
	}
	return e;
}

TEST(replay_detects_tampering)
{
	struct {
		void (*f)(json_t *);
		size_t entry;
		const char *want;
	} cases[] = {
		{ t_result, 1, "result differs: recorded 2 replayed 1" },
		{ t_write, 1, "writes differ: recorded "
		    "[{\"data\":\"Mg==\",\"op\":\"write\",\"path\":\"/counter\"}] "
		    "replayed [{\"data\":\"MQ==\",\"op\":\"write\",\"path\":"
		    "\"/counter\"}]" },
		{ t_state, 1, "state differs: recorded \"00\" replayed \"" },
		{ t_code, 0, "code_sha256 differs: recorded " },
		/* requests engine_call() refuses are refused at replay */
		{ t_auth, 1, "entry 1: the engine refuses this request: "
		    "unknown auth \"wheel\"" },
		{ t_anon_id, 1, "entry 1: the engine refuses this request: "
		    "auth \"anonymous\" cannot have a caller id" },
		{ t_caller_num, 1, "entry 1: caller must be a string or null" },
		{ t_extra, 1, "entry 1: unexpected field \"note\"" },
		{ t_private, 1, "entry 1: the engine refuses this request: "
		    "no such method: _secret" },
		{ t_init, 1, "entry 1: the engine refuses this request: "
		    "no such method: init" },
		{ t_args_obj, 1, "entry 1: the engine refuses this request: "
		    "args must be an array" },
		{ t_version, 1, "entry 1: unknown version" },
		{ t_neg_time, 1, "entry 1: time must be a non-negative integer" },
		{ t_type, 1, "entry 1 is not a call entry" },
		{ t_auth, 0, "entry 0: deploy refused: unknown auth \"wheel\"" },
	};
	char err[VMS_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger lg = { .n = 0 };
		struct engine *e = counter_ledger(&lg);

		if (e == NULL) { CHECK(0); return; }
		engine_free(e);
		tamper(&lg, cases[i].entry, cases[i].f);
		CHECK(replay_all(&lg, NULL, err, sizeof(err)) == -1);
		CHECK_MSG(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0,
		    "got \"%s\" want \"%s...\"", err, cases[i].want);
		lg_free(&lg);
	}
}

/*
 * engine_replay reads only the request of a call entry when the entry is
 * spelled canonically; every other spelling (spaces, escapes, duplicate
 * keys, numbers or strings jansson reads differently or refuses) must
 * fail with the message a full parse gives.
 */
static char *
text_edit(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	if (p == NULL)
		return NULL;
	xasprintf(&out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

TEST(replay_reads_only_the_request)
{
	static const struct { const char *from, *to, *want; } cases[] = {
		{ "{\"args\"", "{ \"args\"", "entry is not in canonical form" },
		{ "\"method\":\"increment\"", "\"method\":\"\\u0069ncrement\"",
		    "entry is not in canonical form" },
		{ "\"v\":1", "\"v\":1,\"v\":1", "entry 1 is not a JSON object" },
		{ "\"time\":", "\"time\":0", "entry 1 is not a JSON object" },
		{ "\"caller\":\"u\"", "\"caller\":\"\tu\"",
		    "entry 1 is not a JSON object" },
		{ "\"op\":\"write\"", "\"op\":\"write", "entry 1 is not a "
		    "JSON object" },
		{ "\"v\":1", "\"v\":1.0", "entry 1: unknown version" },
		{ "\"ok\":true", "\"ok\":true,\"ok\":true",
		    "entry 1 is not a JSON object" },
		{ "\"result\":1", "\"result\":2",
		    "result differs: recorded 2 replayed 1" },
		{ "\"data\":\"MQ==\"", "\"data\":\"Mg==\"", "writes differ" },
		{ "\"type\":\"call\"", "\"type\":\"cal\\u006c\"",
		    "entry is not in canonical form" },
		/* escapes and brackets inside strings the skim steps over */
		{ "\"result\":1", "\"result\":\"a\\\"}],\\\\\"",
		    "result differs: recorded \"a\\\"}],\\\\\" replayed 1" },
		{ "\"op\":\"write\"", "\"op\":\"write\\\"", "entry 1 is not "
		    "a JSON object" },
	};
	char err[VMS_ERRLEN], *t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger lg = { .n = 0 };
		struct engine *e = counter_ledger(&lg);

		if (e == NULL) { CHECK(0); return; }
		engine_free(e);
		t = text_edit(lg.e[1], cases[i].from, cases[i].to);
		CHECK_MSG(t != NULL, "case %zu: no \"%s\" in %s", i,
		    cases[i].from, lg.e[1]);
		if (t != NULL) {
			free(lg.e[1]);
			lg.e[1] = t;
			lg.len[1] = strlen(t);
			CHECK(replay_all(&lg, NULL, err, sizeof(err)) == -1);
			CHECK_MSG(strncmp(err, cases[i].want,
			    strlen(cases[i].want)) == 0, "case %zu: got \"%s\" "
			    "want \"%s...\"", i, err, cases[i].want);
		}
		lg_free(&lg);
	}
}

TEST(replay_time_changes_seeded_random)
{
	struct ledger lg = { .n = 0 };
	struct engine *e;
	char err[VMS_ERRLEN], *r;

	e = sbt_deploy_lim("return { r = function() "
	    "System.files.writeFile('/t', tostring(System.time())) "
	    "return math.random(1, 1000000) end }", NULL, "u", &lg.e[0],
	    &lg.len[0]);
	lg.n = 1;
	if (e == NULL) { CHECK(0); return; }
	r = lcall(e, &lg, "u", "r", "[]");
	free(r);
	r = lcall(e, &lg, "u", "r", "[]");
	free(r);
	engine_free(e);
	CHECK(replay_all(&lg, NULL, err, sizeof(err)) == 0);
	tamper(&lg, 1, t_time);
	CHECK(replay_all(&lg, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "writes differ");
	lg_free(&lg);
}

TEST(apply_and_snapshot)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("guestlist.lua", &lg, "unix:host"), *a;
	char err[VMS_ERRLEN], path[] = "/tmp/vms-snap-XXXXXX", *r;
	merkle_hash r1, r2;
	size_t i;
	int fd;

	if (e == NULL) { CHECK(0); return; }
	for (i = 0; i < 10; i++) {
		char who[32], args[64];

		snprintf(who, sizeof(who), "unix:u%zu", i % 4);
		snprintf(args, sizeof(args), "[\"Guest %zu\", %s]", i,
		    i % 3 ? "true" : "false");
		r = lcall(e, &lg, who, "RSVP", args);
		free(r);
	}
	r = lcall(e, &lg, NULL, "RSVP", "[\"x\", true]");	/* failed */
	free(r);
	engine_state_root(e, r1);

	CHECK(engine_open((uint8_t *)lg.e[0], lg.len[0], &a, err,
	    sizeof(err)) == 0);
	for (i = 0; i < lg.n; i++)
		CHECK_MSG(engine_apply(a, (uint8_t *)lg.e[i], lg.len[i], err,
		    sizeof(err)) == 0, "apply %zu: %s", i, err);
	engine_state_root(a, r2);
	CHECK(memcmp(r1, r2, 32) == 0);
	CHECK_EQ_INT(engine_next_index(a), lg.n);

	fd = mkstemp(path);
	CHECK(fd != -1);
	close(fd);
	CHECK_MSG(engine_snapshot_save(a, path, err, sizeof(err)) == 0, "%s",
	    err);
	engine_free(a);
	CHECK(engine_open((uint8_t *)lg.e[0], lg.len[0], &a, err,
	    sizeof(err)) == 0);
	CHECK_MSG(engine_snapshot_load(a, path, err, sizeof(err)) == 0, "%s",
	    err);
	engine_state_root(a, r2);
	CHECK(memcmp(r1, r2, 32) == 0);
	CHECK_EQ_INT(engine_next_index(a), lg.n);
	/* the restored engine continues exactly like the original */
	{
		char *e1 = NULL, *e2 = NULL;
		size_t l1, l2;
		char *x = sbt_call_as(e, "unix:z", "RSVP", "[\"Zed\", true]",
		    &e1, &l1);
		char *y = sbt_call_as(a, "unix:z", "RSVP", "[\"Zed\", true]",
		    &e2, &l2);

		CHECK(e1 != NULL && e2 != NULL && l1 == l2 &&
		    memcmp(e1, e2, l1) == 0);
		free(x); free(y); free(e1); free(e2);
	}
	/* a tampered state root is caught by apply */
	{
		struct engine *b;

		tamper(&lg, 3, t_state);
		CHECK(engine_open((uint8_t *)lg.e[0], lg.len[0], &b, err,
		    sizeof(err)) == 0);
		for (i = 0; i < 3; i++)
			engine_apply(b, (uint8_t *)lg.e[i], lg.len[i], err,
			    sizeof(err));
		CHECK(engine_apply(b, (uint8_t *)lg.e[3], lg.len[3], err,
		    sizeof(err)) == -1);
		CHECK_CONTAINS(err, "state differs: recorded 00 applied ");
		CHECK_EQ_INT(engine_next_index(b), 3);
		engine_free(b);
	}
	/* a corrupt snapshot is refused */
	{
		uint8_t *buf;
		size_t len;

		CHECK(read_file(path, 1 << 20, &buf, &len, err,
		    sizeof(err)) == 0);
		buf[len / 2] ^= 1;
		CHECK(write_file_atomic(path, buf, len, 0600, err,
		    sizeof(err)) == 0);
		free(buf);
		CHECK(engine_snapshot_load(a, path, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "snapshot checksum mismatch");
	}
	unlink(path);
	engine_free(a);
	engine_free(e);
	lg_free(&lg);
}

TEST(failed_call_is_entry)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("counter.lua", &lg, "u");
	merkle_hash a, b;
	char *r;

	if (e == NULL) { CHECK(0); return; }
	engine_state_root(e, a);
	r = lcall(e, &lg, "u", "increment", "[]");
	free(r);
	r = lcall(e, &lg, "u", "get", "[]");
	free(r);
	engine_free(e);
	lg_free(&lg);

	e = sbt_deploy_lim("return { f = function() "
	    "System.files.writeFile('/x', 'y') error({}) end }", NULL, "u",
	    NULL, NULL);
	if (e == NULL) { CHECK(0); return; }
	engine_state_root(e, a);
	r = sbt_call(e, "f", "[]");
	CHECK_EQ_STR(r, "ERR: (error object is a table value)");
	free(r);
	engine_state_root(e, b);
	CHECK(memcmp(a, b, 32) == 0);
	CHECK_EQ_INT(engine_next_index(e), 2);
	engine_free(e);
}

TEST(history_and_info)
{
	struct ledger lg = { .n = 0 };
	struct engine *e;
	char *entry;
	size_t len;

	e = sbt_deploy_lim("local M = {}\n"
	    "function M.init() System.files.mkdir('/d') end\n"
	    "function M.w(p, d) System.files.writeFile(p, d) end\n"
	    "function M.h(o) local out = {} for _, c in "
	    "ipairs(System.files.history(o)) do out[#out + 1] = c.index .. c.op "
	    ".. c.path .. (c.size or '') end return table.concat(out, ' ') end\n"
	    "function M.info() return System.files.getInfo() end\n"
	    "return M", NULL, "u", &entry, &len);
	if (e == NULL) { CHECK(0); return; }
	lg_add(&lg, entry, len);
	engine_set_entry_source(e, lg_entry, &lg);
	LCALL(e, &lg, "u", "w", "[\"/d/a\", \"abc\"]", "null");
	LCALL(e, &lg, "u", "w", "[\"/d/b\", \"hello\"]", "null");
	LCALL(e, &lg, "u", "h", "[]", "\"0mkdir/d 1write/d/a3 2write/d/b5\"");
	LCALL(e, &lg, "u", "h", "[{\"reverse\": true, \"start\": 1}]",
	    "\"2write/d/b5 1write/d/a3\"");
	LCALL(e, &lg, "u", "info", "[]", "{\"bytes\":8,\"files\":2,\"size\":5}");
	check_replays(e, &lg);
	engine_free(e);
	lg_free(&lg);
}

TEST(views)
{
	struct ledger lg = { .n = 0 };
	struct engine *e = deploy_example("files-archive.lua", &lg, "u");
	char err[VMS_ERRLEN], *s;
	uint8_t *data;
	size_t len;
	json_t *j;

	if (e == NULL) { CHECK(0); return; }
	LCALL(e, &lg, "u", "write", "[\"a\", \"xyz\"]", "null");
	CHECK(engine_read(e, "/files/a", &data, &len, err, sizeof(err)) == 0);
	CHECK(len == 3 && memcmp(data, "xyz", 3) == 0);
	free(data);
	CHECK(engine_read(e, "/files", &data, &len, err, sizeof(err)) == -1);
	CHECK_EQ_STR(err, "is a directory: /files");
	j = engine_ls(e, "/", 1, err, sizeof(err));
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_EQ_STR(s, "[{\"name\":\"files\",\"size\":0,\"type\":\"dir\"},"
	    "{\"name\":\"files/a\",\"size\":3,\"type\":\"file\"}]");
	free(s);
	json_decref(j);
	j = engine_state_dump(e);
	CHECK_EQ_INT(json_array_size(json_object_get(j, "files")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "files"), 1), "path")), "/files/a");
	json_decref(j);
	j = engine_methods(e);
	s = json_dumps(j, JSON_COMPACT);
	CHECK_EQ_STR(s, "[\"list\",\"read\",\"write\"]");
	free(s);
	json_decref(j);
	CHECK_EQ_STR(engine_contract(e), "test");
	CHECK_EQ_INT(engine_limits(e)->depth, 200);
	engine_free(e);
	lg_free(&lg);
}

int
main(void)
{
	RUN(example_hello);
	RUN(example_counters);
	RUN(example_files_archive);
	RUN(example_userauth);
	RUN(example_keyserver);
	RUN(example_guestlist);
	RUN(example_package_manager);
	RUN(example_secure_counter);
	RUN(replay_detects_tampering);
	RUN(replay_reads_only_the_request);
	RUN(replay_time_changes_seeded_random);
	RUN(apply_and_snapshot);
	RUN(failed_call_is_entry);
	RUN(history_and_info);
	RUN(views);
	return test_summary();
}
