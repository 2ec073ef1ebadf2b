/*
 * test-children.c — System.contracts through the engine: a parent's call
 * deploys and stops children; its entry records the requests with the
 * leaf hash of each child's entry 0, which engine_child_entry builds again
 * to the byte; the child's entry 0 links to its parent and replays; the
 * limits (children cap, a child's limits within its parent's, names under
 * the parent) and the failures (a failed call deploys nothing; a child
 * whose code or init fails fails the call); the registry replayed,
 * applied, skipped and kept in snapshots; tampered requests fail the
 * replay.
 */
#include <unistd.h>

#include "test.h"
#include "sbtest.h"
#include "canon.h"
#include "merkle.h"

#define ORIGIN	"test.example/vmsd/test"

static const char *factory =
    "local M = {}\n"
    "local COUNTER = [[\n"
    "local C = {}\n"
    "function C.init(owner) System.files.writeFile('/owner', owner) end\n"
    "function C.owner() return System.files.readFile('/owner') end\n"
    "return C\n"
    "]]\n"
    "function M.create(name, lim)\n"
    "  return System.contracts.deploy{ name = name, code = COUNTER,\n"
    "    args = { System.caller.id }, limits = lim }\n"
    "end\n"
    "function M.raw(spec) return System.contracts.deploy(spec) end\n"
    "function M.create_then_fail(name)\n"
    "  System.contracts.deploy{ name = name, code = COUNTER }\n"
    "  error('changed my mind')\n"
    "end\n"
    "function M.stop(name) System.contracts.stop(name) end\n"
    "function M.list() return System.contracts.list() end\n"
    "function M.two()\n"
    "  System.contracts.deploy{ name = 'x1', code = COUNTER, args = {'a'} }\n"
    "  System.contracts.deploy{ name = 'x2', code = COUNTER, args = {'b'} }\n"
    "end\n"
    "return M\n";

struct lg {
	char	*e[64];
	size_t	 len[64];
	size_t	 n;
};

static void
lg_free(struct lg *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->e[i]);
	l->n = 0;
}

static struct engine *
deploy(struct lg *l, uint64_t children)
{
	struct vms_limits lim;
	struct engine *e;

	limits_default(&lim);
	lim.children = children;
	lim.memory = 32 << 20;
	e = sbt_deploy_lim(factory, &lim, "unix:root", &l->e[0], &l->len[0]);
	if (e != NULL) {
		l->n = 1;
		engine_set_origin(e, ORIGIN);
	}
	return e;
}

/* Call and keep the entry; the result text (malloc'd). */
static char *
call(struct engine *e, struct lg *l, const char *m, const char *args)
{
	char *ent = NULL, *r;
	size_t len = 0;

	r = sbt_call_as(e, "unix:alice", m, args, &ent, &len);
	if (ent != NULL) {
		l->e[l->n] = ent;
		l->len[l->n++] = len;
	}
	return r;
}

#define CALL(e, l, m, a, want) do {					\
	char *_r = call((e), (l), (m), (a));				\
	CHECK_EQ_STR(_r, (want));					\
	free(_r);							\
} while (0)

/* Replay a ledger in a fresh engine: 0 with its children (JSON text,
 * malloc'd) or -1 with err. */
static int
replay(struct lg *l, char **children, char *err, size_t errlen)
{
	struct engine *r;
	size_t i;
	json_t *c;

	if (engine_open((uint8_t *)l->e[0], l->len[0], &r, err, errlen) != 0)
		return -1;
	engine_set_origin(r, ORIGIN);
	for (i = 0; i < l->n; i++)
		if (engine_replay(r, (uint8_t *)l->e[i], l->len[i], err,
		    errlen) != 0) {
			engine_free(r);
			return -1;
		}
	c = engine_children(r);
	if (children != NULL)
		*children = json_canonical(c, NULL);
	json_decref(c);
	engine_free(r);
	return 0;
}

static char *
children_of(struct engine *e)
{
	json_t *c = engine_children(e);
	char *s = json_canonical(c, NULL);

	json_decref(c);
	return s;
}

TEST(deploy_records_and_links)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l, 3), *child = NULL;
	char err[VMS_ERRLEN], *c0 = NULL, *kids, *rkids = NULL, hex[65];
	size_t c0len = 0;
	json_t *ent, *op;
	merkle_hash h;

	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "create", "[\"alice\"]", "\"test.alice\"");
	ent = json_loadb(l.e[1], l.len[1], 0, NULL);
	op = json_array_get(json_object_get(ent, "contracts"), 0);
	CHECK(op != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(op, "op")), "deploy");
	CHECK_EQ_STR(json_string_value(json_object_get(op, "name")),
	    "test.alice");
	{
		json_t *want = json_pack("[s]", "unix:alice");

		CHECK(json_equal(json_object_get(op, "args"), want));
		json_decref(want);
	}
	/* the child's limits: the parent's, but no children */
	CHECK(json_object_get(json_object_get(op, "limits"), "children") ==
	    NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(op,
	    "limits"), "memory")), 32 << 20);
	/* the child's entry 0, built again, is the one the parent hashed */
	CHECK_MSG(engine_child_entry("test", ORIGIN, 1, 2001, op, &c0, &c0len,
	    err, sizeof(err)) == 0, "child entry: %s", err);
	merkle_leaf_hash(c0, c0len, h);
	hex_encode(h, 32, hex);
	CHECK_EQ_STR(json_string_value(json_object_get(op, "entry")), hex);
	CHECK_CONTAINS(c0, "\"args\":[\"unix:alice\"],\"auth\":\"contract\","
	    "\"caller\":\"contract:test\"");
	CHECK_CONTAINS(c0, "\"parent\":{\"contract\":\"test\",\"index\":1,"
	    "\"origin\":\"" ORIGIN "\"}");
	CHECK_CONTAINS(c0, "\"contract\":\"test.alice\"");
	CHECK_CONTAINS(c0, "\"time\":2001");
	/* it opens, replays (init ran with the args) and serves calls */
	CHECK_MSG(engine_open((uint8_t *)c0, c0len, &child, err,
	    sizeof(err)) == 0, "open child: %s", err);
	if (child != NULL) {
		CHECK(engine_parent(child) != NULL);
		CHECK_MSG(engine_replay(child, (uint8_t *)c0, c0len, err,
		    sizeof(err)) == 0, "replay child: %s", err);
		CHECK_CALL(child, "owner", "[]", "\"unix:alice\"");
		engine_free(child);
	}
	json_decref(ent);
	kids = children_of(e);
	CHECK_CONTAINS(kids, "\"index\":1,\"name\":\"test.alice\","
	    "\"stopped\":false");
	CHECK_MSG(replay(&l, &rkids, err, sizeof(err)) == 0, "replay: %s",
	    err);
	CHECK_EQ_STR(rkids, kids);
	free(rkids);
	free(kids);
	free(c0);
	engine_free(e);
	lg_free(&l);
}

TEST(limits_and_names)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l, 3);
	char err[VMS_ERRLEN], *kids, *rkids = NULL;

	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "create", "[\"a\"]", "\"test.a\"");
	CALL(e, &l, "create", "[\"a\"]",
	    "ERR: test:9: System.contracts.deploy: test.a exists");
	CALL(e, &l, "create", "[\"b.c\"]", "ERR: test:9: "
	    "System.contracts.deploy: name must be a contract name without "
	    "dots, at most 59 bytes here");
	CALL(e, &l, "create", "[\"b\", {\"memory\": 67108864}]", "ERR: test:9: "
	    "System.contracts.deploy: limit memory (67108864) exceeds the "
	    "parent's (33554432)");
	CALL(e, &l, "create", "[\"b\", {\"children\": 4}]", "ERR: test:9: "
	    "System.contracts.deploy: limit children (4) exceeds the "
	    "parent's (3)");
	CALL(e, &l, "create", "[\"b\", {\"bogus\": 1}]", "ERR: test:9: "
	    "System.contracts.deploy: unknown limit \"bogus\"");
	CALL(e, &l, "raw", "[{\"name\":\"b\"}]", "ERR: test:12: "
	    "System.contracts.deploy: code must be a string of at most 60000 "
	    "bytes");
	CALL(e, &l, "raw", "[{\"name\":\"b\",\"code\":\"x\",\"extra\":1}]",
	    "ERR: test:12: System.contracts.deploy: unknown field \"extra\"");
	/* code that does not compile, or an init that fails: the call fails */
	CALL(e, &l, "raw", "[{\"name\":\"b\",\"code\":\"return {\"}]",
	    "ERR: System.contracts.deploy: test.b: syntax error: test.b:1: "
	    "unexpected symbol near <eof>");
	CALL(e, &l, "raw", "[{\"name\":\"b\",\"code\":\"return {init="
	    "function() error('no') end}\"}]",
	    "ERR: System.contracts.deploy: test.b: init failed: test.b:1: no");
	/* a failed call deploys nothing */
	CALL(e, &l, "create_then_fail", "[\"b\"]", "ERR: test:15: changed my "
	    "mind");
	CHECK(strstr(l.e[l.n - 1], "\"contracts\"") == NULL);
	CALL(e, &l, "create", "[\"b\", {\"memory\": 1048576}]", "\"test.b\"");
	CALL(e, &l, "two", "[]", "ERR: test:21: System.contracts.deploy: this "
	    "contract may make 3 children (its limit children)");
	CALL(e, &l, "create", "[\"c\"]", "\"test.c\"");
	CALL(e, &l, "create", "[\"d\"]", "ERR: test:9: System.contracts.deploy: "
	    "this contract may make 3 children (its limit children)");
	kids = children_of(e);
	CHECK_CONTAINS(kids, "\"name\":\"test.a\"");
	CHECK_CONTAINS(kids, "\"name\":\"test.b\"");
	CHECK_CONTAINS(kids, "\"name\":\"test.c\"");
	CHECK_MSG(replay(&l, &rkids, err, sizeof(err)) == 0, "replay: %s",
	    err);
	CHECK_EQ_STR(rkids, kids);
	free(rkids);
	free(kids);
	engine_free(e);
	lg_free(&l);

	/* a contract without the limit makes no children */
	e = deploy(&l, 0);
	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "create", "[\"a\"]", "ERR: test:9: System.contracts.deploy: "
	    "this contract may make 0 children (its limit children)");
	CHECK(strstr(l.e[0], "\"children\"") == NULL);
	engine_free(e);
	lg_free(&l);
}

TEST(stop_and_list)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l, 3);
	char err[VMS_ERRLEN], *kids, *rkids = NULL;

	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "two", "[]", "null");
	CHECK_CONTAINS(l.e[1], "\"name\":\"test.x1\",\"op\":\"deploy\"}");
	CALL(e, &l, "list", "[]", "[{\"index\":1,\"name\":\"test.x1\","
	    "\"stopped\":false},{\"index\":1,\"name\":\"test.x2\","
	    "\"stopped\":false}]");
	CALL(e, &l, "stop", "[\"x1\"]", "null");
	CHECK_CONTAINS(l.e[3], "\"contracts\":[{\"name\":\"test.x1\","
	    "\"op\":\"stop\"}]");
	CALL(e, &l, "stop", "[\"test.x1\"]", "ERR: test:17: "
	    "System.contracts.stop: test.x1 is stopped already");
	CALL(e, &l, "stop", "[\"zz\"]", "ERR: test:17: System.contracts.stop: "
	    "zz is not a child of test");
	CALL(e, &l, "stop", "[\"other.x2\"]", "ERR: test:17: "
	    "System.contracts.stop: other.x2 is not a child of test");
	CALL(e, &l, "list", "[]", "[{\"index\":1,\"name\":\"test.x1\","
	    "\"stopped\":true},{\"index\":1,\"name\":\"test.x2\","
	    "\"stopped\":false}]");
	kids = children_of(e);
	CHECK_MSG(replay(&l, &rkids, err, sizeof(err)) == 0, "replay: %s",
	    err);
	CHECK_EQ_STR(rkids, kids);
	free(rkids);

	/* restart: snapshot, or apply from the ledger */
	{
		char path[] = "/tmp/vms-children-XXXXXX";
		struct engine *a;
		int fd = mkstemp(path);
		size_t i;
		char *got;

		close(fd);
		CHECK(engine_snapshot_save(e, path, err, sizeof(err)) == 0);
		CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
		    sizeof(err)) == 0);
		CHECK_MSG(engine_snapshot_load(a, path, err, sizeof(err)) == 0,
		    "%s", err);
		got = children_of(a);
		CHECK_EQ_STR(got, kids);
		free(got);
		engine_free(a);
		unlink(path);
		CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
		    sizeof(err)) == 0);
		for (i = 0; i < l.n; i++)
			CHECK(engine_apply(a, (uint8_t *)l.e[i], l.len[i], err,
			    sizeof(err)) == 0);
		got = children_of(a);
		CHECK_EQ_STR(got, kids);
		free(got);
		engine_free(a);
		CHECK(engine_open((uint8_t *)l.e[0], l.len[0], &a, err,
		    sizeof(err)) == 0);
		for (i = 0; i < l.n; i++)
			CHECK(engine_skip(a, (uint8_t *)l.e[i], l.len[i], NULL,
			    0, err, sizeof(err)) == 0);
		got = children_of(a);
		CHECK_EQ_STR(got, kids);
		free(got);
		engine_free(a);
	}
	free(kids);
	engine_free(e);
	lg_free(&l);
}

TEST(tampered_requests_fail_replay)
{
	static const char *const edits[][2] = {
		{ "name", "\"test.mallory\"" },
		{ "code", "\"return {}\"" },
		{ "entry", "\"00\"" },
		{ "args", "[\"unix:mallory\"]" },
		{ "limits", "{\"memory\":1048576}" },
	};
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l, 3);
	char err[VMS_ERRLEN], *keep;
	size_t i, keeplen;

	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "create", "[\"alice\"]", "\"test.alice\"");
	CHECK_MSG(replay(&l, NULL, err, sizeof(err)) == 0, "honest: %s", err);
	keep = l.e[1];
	keeplen = l.len[1];
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		json_t *j = json_loadb(keep, keeplen, 0, NULL);

		json_object_set_new(json_array_get(json_object_get(j,
		    "contracts"), 0), edits[i][0], json_loads(edits[i][1],
		    JSON_DECODE_ANY, NULL));
		l.e[1] = json_canonical(j, &l.len[1]);
		json_decref(j);
		CHECK_MSG(replay(&l, NULL, err, sizeof(err)) != 0,
		    "edit of %s replays", edits[i][0]);
		CHECK_CONTAINS(err, "contracts differs");
		free(l.e[1]);
	}
	/* a child deploy the contract never asked for */
	{
		json_t *j = json_loadb(keep, keeplen, 0, NULL);
		json_t *ops = json_object_get(j, "contracts");

		json_array_append_new(ops, json_pack("{s:s,s:s}", "op",
		    "stop", "name", "test.alice"));
		l.e[1] = json_canonical(j, &l.len[1]);
		json_decref(j);
		CHECK(replay(&l, NULL, err, sizeof(err)) != 0);
		CHECK_CONTAINS(err, "contracts differs");
		free(l.e[1]);
	}
	l.e[1] = keep;
	l.len[1] = keeplen;
	engine_free(e);
	lg_free(&l);
}

TEST(child_entry_replay_checks_its_link)
{
	struct lg l = { .n = 0 };
	struct engine *e = deploy(&l, 3), *child;
	char err[VMS_ERRLEN], *c0 = NULL, *bad;
	size_t c0len = 0, blen;
	json_t *ent, *op, *j;

	if (e == NULL) { CHECK(0); return; }
	CALL(e, &l, "create", "[\"alice\"]", "\"test.alice\"");
	ent = json_loadb(l.e[1], l.len[1], 0, NULL);
	op = json_array_get(json_object_get(ent, "contracts"), 0);
	CHECK(engine_child_entry("test", ORIGIN, 1, 2001, op, &c0, &c0len,
	    err, sizeof(err)) == 0);
	/* another caller than its parent */
	j = json_loadb(c0, c0len, 0, NULL);
	json_object_set_new(j, "caller", json_string("contract:other"));
	bad = json_canonical(j, &blen);
	json_decref(j);
	CHECK(engine_open((uint8_t *)bad, blen, &child, err, sizeof(err)) == 0);
	CHECK(engine_replay(child, (uint8_t *)bad, blen, err,
	    sizeof(err)) != 0);
	CHECK_CONTAINS(err, "a child's caller is its parent, contract:test");
	engine_free(child);
	free(bad);
	/* auth "contract" without a parent */
	j = json_loadb(c0, c0len, 0, NULL);
	json_object_del(j, "parent");
	json_object_del(j, "args");
	bad = json_canonical(j, &blen);
	json_decref(j);
	CHECK(engine_open((uint8_t *)bad, blen, &child, err, sizeof(err)) == 0);
	CHECK(engine_replay(child, (uint8_t *)bad, blen, err,
	    sizeof(err)) != 0);
	CHECK_CONTAINS(err, "auth \"contract\" comes with a parent");
	engine_free(child);
	free(bad);
	/* a parent link without args */
	j = json_loadb(c0, c0len, 0, NULL);
	json_object_del(j, "args");
	bad = json_canonical(j, &blen);
	json_decref(j);
	CHECK(engine_open((uint8_t *)bad, blen, &child, err, sizeof(err)) != 0);
	free(bad);
	/* calls may not claim auth "contract" */
	{
		struct vms_caller c = { "contract:test", "contract" };
		struct engine_result res;
		char *ent2 = NULL;
		size_t len2;

		CHECK(engine_open((uint8_t *)c0, c0len, &child, err,
		    sizeof(err)) == 0);
		CHECK(engine_replay(child, (uint8_t *)c0, c0len, err,
		    sizeof(err)) == 0);
		CHECK(engine_call(child, "owner", NULL, &c, 5, &ent2, &len2,
		    &res, err, sizeof(err)) == ENGINE_REFUSED);
		engine_free(child);
		free(ent2);
	}
	/* nor a deploy that is not a child's */
	{
		struct vms_caller c = { "contract:test", "contract" };
		struct engine *z = NULL;
		char *ent3 = NULL;
		size_t len3;

		CHECK(engine_deploy("z", factory, strlen(factory), NULL, &c, 1,
		    &z, &ent3, &len3, err, sizeof(err)) == ENGINE_REFUSED);
		engine_free(z);
		free(ent3);
	}
	json_decref(ent);
	free(c0);
	engine_free(e);
	lg_free(&l);
}

TEST(not_in_init_and_warm_equals_cold)
{
	struct vms_caller c = { "unix:root", "debug" };
	struct engine *e = NULL, *a, *b;
	struct lg la = { .n = 0 }, lb = { .n = 0 };
	char err[VMS_ERRLEN], *ent = NULL;
	size_t len, i;
	const char *c1 = "return { init = function() "
	    "System.contracts.deploy{name='x', code='return {}'} end }";

	CHECK(engine_deploy("test", c1, strlen(c1), NULL, &c, 1, &e, &ent,
	    &len, err, sizeof(err)) == ENGINE_REFUSED);
	CHECK_CONTAINS(err, "System.contracts.deploy: not available in init");
	free(ent);
	engine_free(e);

	a = deploy(&la, 10);
	b = deploy(&lb, 10);
	if (a == NULL || b == NULL) { CHECK(0); return; }
	engine_set_warm(b, 0);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "[\"k%zu\"]", i);
		CALL(a, &la, "create", name, i == 0 ? "\"test.k0\"" : i == 1 ?
		    "\"test.k1\"" : "\"test.k2\"");
		CALL(b, &lb, "create", name, i == 0 ? "\"test.k0\"" : i == 1 ?
		    "\"test.k1\"" : "\"test.k2\"");
		CHECK(la.len[la.n - 1] == lb.len[lb.n - 1] &&
		    memcmp(la.e[la.n - 1], lb.e[lb.n - 1],
		    la.len[la.n - 1]) == 0);
	}
	engine_free(a);
	engine_free(b);
	lg_free(&la);
	lg_free(&lb);
}

/* What a hostile contract might try with System.contracts. */
TEST(hostile_requests)
{
	static const char *const bad[][2] = {
		{ "System.contracts.deploy = nil", "System is read-only" },
		{ "System.contracts.deploy(42)", "table expected" },
		{ "System.contracts.deploy{name='../x', code='return {}'}",
		    "name must be a contract name without dots" },
		{ "System.contracts.deploy{name='a/b', code='return {}'}",
		    "name must be a contract name without dots" },
		{ "System.contracts.deploy{name=string.rep('a', 60), "
		    "code='return {}'}", "name must be a contract name" },
		{ "System.contracts.deploy{name='x', code=print}",
		    "cannot encode a function as JSON" },
		{ "System.contracts.deploy{name='x', code=string.rep(' ', "
		    "60001)}", "code must be a string of at most 60000 bytes" },
		{ "System.contracts.deploy{name='x', code='return {}', "
		    "args='no'}", "args must be a list" },
		{ "System.contracts.deploy{name='x', code='return {}', "
		    "limits={memory=-1}}", "limit memory must be a non-negative "
		    "integer" },
		{ "System.contracts.deploy{name='x', code='return {}', "
		    "limits={depth=1}}", "limit depth must be between" },
		{ "System.contracts.stop(nil)", "string expected" },
		{ "System.contracts.deploy{name='x', code='\\27Lua'}",
		    "binary chunks are not allowed" },
	};
	struct lg l = { .n = 0 };
	struct vms_limits lim;
	char code[512], *r;
	struct engine *e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(code, sizeof(code), "return { f = function() %s end }",
		    bad[i][0]);
		limits_default(&lim);
		lim.children = 2;
		e = sbt_deploy_lim(code, &lim, "unix:root", &l.e[0], &l.len[0]);
		if (e == NULL) {
			FAILF("deploy %s", bad[i][0]);
			continue;
		}
		l.n = 1;
		engine_set_origin(e, ORIGIN);
		r = call(e, &l, "f", "[]");
		CHECK_MSG(strncmp(r, "ERR", 3) == 0 && strstr(r, bad[i][1]),
		    "%s: %s", bad[i][0], r);
		CHECK(strstr(l.e[l.n - 1], "\"contracts\"") == NULL);
		free(r);
		engine_free(e);
		lg_free(&l);
	}
}

int
main(void)
{
	RUN(deploy_records_and_links);
	RUN(limits_and_names);
	RUN(stop_and_list);
	RUN(tampered_requests_fail_replay);
	RUN(child_entry_replay_checks_its_link);
	RUN(not_in_init_and_warm_equals_cold);
	RUN(hostile_requests);
	return test_summary();
}
