/*
 * test-oracle.c — System.oracle through the engine: answers recorded in
 * the entry and replayed from it without any oracle (an engine with none,
 * as an auditor's), failures recorded like answers, signed answers
 * verified when executed and when replayed (a forged answer fails the
 * replay, naming it), requests that differ from the recorded ones, pinned
 * keys, warm and cold calls alike; and libvms/oracle.c's output parser.
 */
#include <sodium.h>

#include "test.h"
#include "sbtest.h"
#include "canon.h"
#include "callsig.h"
#include "oracle.h"

#define ORIGIN	"test.example/vmsd/test"

static const char *code =
    "local M = {}\n"
    "function M.price(sym)\n"
    "  local v, key = System.oracle('price', sym)\n"
    "  System.files.writeFile('/last', System.json.encode(v))\n"
    "  return { v = v, key = key or false }\n"
    "end\n"
    "function M.twice()\n"
    "  local a = System.oracle('price', 'A')\n"
    "  local b = System.oracle('feed', 'B', 2)\n"
    "  return { a, b }\n"
    "end\n"
    "function M.careful(name)\n"
    "  local ok, e = pcall(System.oracle, name, 'x')\n"
    "  return { ok = ok, e = ok and '' or e }\n"
    "end\n"
    "function M.many()\n"
    "  for i = 1, 17 do System.oracle('price', i) end\n"
    "end\n"
    "function M.fail_after()\n"
    "  System.oracle('price', 'A')\n"
    "  error('later')\n"
    "end\n"
    "return M\n";

/* The fake host: each oracle's behaviour. */
static uint8_t sk[64], pk[32];
static int runs;
static const char *mode = "ok";

static int
fake_oracle(void *arg, const char *name, const char *req, size_t reqlen,
    uint8_t **out, size_t *outlen, uint8_t key[32], int *keyed, char *err,
    size_t errlen)
{
	char sig[B64URL_LEN(64) + 1], *s;
	uint8_t raw[64];

	runs++;
	*keyed = 0;
	if (strcmp(name, "nope") == 0) {
		seterr(err, errlen, "no such oracle");
		return -1;
	}
	if (strcmp(name, "slow") == 0) {
		seterr(err, errlen, "timed out after 100 ms");
		return -1;
	}
	if (strcmp(name, "garbage") == 0) {
		*out = (uint8_t *)xstrdup("{\"answer\": 1,");
		*outlen = strlen((char *)*out);
		return 0;
	}
	if (strcmp(name, "refuses") == 0) {
		*out = (uint8_t *)xstrdup("{\"error\":\"market closed\"}");
		*outlen = strlen((char *)*out);
		return 0;
	}
	if (strcmp(name, "signed") == 0 || strcmp(mode, "signed") == 0 ||
	    strcmp(mode, "badsig") == 0 ||
	    strcmp(mode, "unsigned-but-keyed") == 0) {
		*keyed = 1;
		memcpy(key, pk, 32);
		if (strcmp(mode, "unsigned-but-keyed") == 0) {
			*out = (uint8_t *)xstrdup("{\"answer\":42}");
			*outlen = strlen((char *)*out);
			return 0;
		}
		oracle_sign(sk, req, reqlen, "42", 2, raw);
		if (strcmp(mode, "badsig") == 0)
			raw[3] ^= 1;
		b64url_encode(raw, 64, sig);
		xasprintf(&s, "{\"answer\":42,\"sig\":\"%s\"}", sig);
		*out = (uint8_t *)s;
		*outlen = strlen(s);
		return 0;
	}
	/* the answer echoes the request's args and index */
	xasprintf(&s, "{\"answer\":{\"req\":%.*s}}", (int)reqlen, req);
	*out = (uint8_t *)s;
	*outlen = strlen(s);
	return 0;
}

static struct engine *
deploy(char **e0, size_t *e0len)
{
	struct engine *e = sbt_deploy_lim(code, NULL, "unix:root", e0, e0len);

	if (e != NULL) {
		engine_set_origin(e, ORIGIN);
		engine_set_oracle(e, fake_oracle, NULL);
	}
	return e;
}

/* Replay entry 0 and then each given entry in a fresh engine without
 * oracles; 0, or -1 with err. */
static int
replay(const char *e0, size_t e0len, char **ents, size_t *lens, size_t n,
    const uint8_t *pin, char *err, size_t errlen)
{
	struct engine *r;
	size_t i;

	if (engine_open((const uint8_t *)e0, e0len, &r, err, errlen) != 0)
		return -1;
	engine_set_origin(r, ORIGIN);
	if (pin != NULL)
		engine_pin_oracle(r, "price", pin);
	if (engine_replay(r, (const uint8_t *)e0, e0len, err, errlen) != 0) {
		engine_free(r);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (engine_replay(r, (const uint8_t *)ents[i], lens[i], err,
		    errlen) != 0) {
			engine_free(r);
			return -1;
		}
	engine_free(r);
	return 0;
}

/* The entry with a top-level field replaced (canonical text, malloc'd). */
static char *
with_field(const char *ent, size_t len, const char *path, const char *json,
    size_t *outlen)
{
	json_t *j = json_loadb(ent, len, 0, NULL), *v, *at = j;
	char *s, *p, *tok, *save = NULL, *copy = xstrdup(path), *last = NULL;

	v = json_loads(json, JSON_DECODE_ANY, NULL);
	/* path: "oracles.0.answer" */
	for (tok = strtok_r(copy, ".", &save); tok != NULL;
	    tok = strtok_r(NULL, ".", &save)) {
		if (last != NULL)
			at = json_is_array(at) ? json_array_get(at,
			    (size_t)atoi(last)) : json_object_get(at, last);
		last = tok;
	}
	if (json_is_array(at))
		json_array_set_new(at, (size_t)atoi(last), v);
	else
		json_object_set_new(at, last, v);
	s = json_canonical(j, outlen);
	json_decref(j);
	free(copy);
	(void)p;
	return s;
}

#define CALL(e, m, a, ents, lens, n, want) do {				\
	const char *_w = (want);					\
	char *_r = sbt_call_as((e), "unix:alice", (m), (a), &(ents)[n],	\
	    &(lens)[n]);						\
	if (_w != NULL)							\
		CHECK_EQ_STR(_r, _w);					\
	else								\
		CHECK_MSG(strncmp(_r, "ERR", 3) && strncmp(_r, "REF", 3) &&\
		    strncmp(_r, "INT", 3), "%s", _r);			\
	free(_r);							\
	(n)++;								\
} while (0)

TEST(answers_recorded_and_replayed_without_oracle)
{
	char *e0, *ents[8] = { 0 }, err[VMS_ERRLEN];
	size_t e0len, lens[8], n = 0, i;
	struct engine *e = deploy(&e0, &e0len);

	if (e == NULL) { CHECK(0); return; }
	mode = "ok";
	runs = 0;
	CALL(e, "price", "[\"BTC\"]", ents, lens, n,
	    "{\"key\":false,\"v\":{\"req\":{\"args\":[\"BTC\"],"
	    "\"caller\":\"unix:alice\",\"contract\":\"test\",\"index\":1,"
	    "\"oracle\":\"price\",\"origin\":\"" ORIGIN "\",\"seq\":0,"
	    "\"time\":2001,\"v\":1}}}");
	CALL(e, "twice", "[]", ents, lens, n, NULL);
	CHECK_EQ_INT(runs, 3);
	CHECK_CONTAINS(ents[0], "\"oracles\":[{\"answer\":{\"req\":");
	CHECK_CONTAINS(ents[0], "\"args\":[\"BTC\"],\"name\":\"price\"}]");
	CHECK_CONTAINS(ents[1], "\"seq\":1");
	/* the auditor: no oracle at all, and none is run */
	runs = 0;
	CHECK_MSG(replay(e0, e0len, ents, lens, n, NULL, err,
	    sizeof(err)) == 0, "replay: %s", err);
	CHECK_EQ_INT(runs, 0);
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(e0);
	engine_free(e);
}

TEST(failures_recorded_and_replayed)
{
	char *e0, *ents[8] = { 0 }, err[VMS_ERRLEN];
	size_t e0len, lens[8], n = 0, i;
	struct engine *e = deploy(&e0, &e0len);

	if (e == NULL) { CHECK(0); return; }
	mode = "ok";
	CALL(e, "careful", "[\"nope\"]", ents, lens, n,
	    "{\"e\":\"oracle nope: no such oracle\",\"ok\":false}");
	CALL(e, "careful", "[\"slow\"]", ents, lens, n,
	    "{\"e\":\"oracle slow: timed out after 100 ms\",\"ok\":false}");
	CALL(e, "careful", "[\"garbage\"]", ents, lens, n,
	    "{\"e\":\"oracle garbage: bad answer: the output is not JSON: "
	    "string or '}' expected near end of file\",\"ok\":false}");
	CALL(e, "careful", "[\"refuses\"]", ents, lens, n,
	    "{\"e\":\"oracle refuses: market closed\",\"ok\":false}");
	CALL(e, "careful", "[\"bad name!\"]", ents, lens, n,
	    "{\"e\":\"System.oracle: bad oracle name\",\"ok\":false}");
	CALL(e, "many", "[]", ents, lens, n,
	    "ERR: test:17: System.oracle: more than 16 requests in one call");
	/* a failed call keeps its answers: its replay asks them again */
	CALL(e, "fail_after", "[]", ents, lens, n, "ERR: test:21: later");
	CHECK_CONTAINS(ents[0], "\"error\":\"no such oracle\"");
	CHECK_CONTAINS(ents[6], "\"ok\":false,\"oracles\":[{");
	CHECK_MSG(replay(e0, e0len, ents, lens, n, NULL, err,
	    sizeof(err)) == 0, "replay: %s", err);
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(e0);
	engine_free(e);
}

TEST(signed_answers)
{
	char *e0, *ents[8] = { 0 }, err[VMS_ERRLEN], key[B64URL_LEN(32) + 1];
	char want[256], *forged;
	size_t e0len, lens[8], n = 0, i, flen;
	struct engine *e = deploy(&e0, &e0len);
	uint8_t otherpk[32], othersk[64];

	if (e == NULL) { CHECK(0); return; }
	b64url_encode(pk, 32, key);
	mode = "signed";
	snprintf(want, sizeof(want), "{\"key\":\"%s\",\"v\":42}", key);
	CALL(e, "price", "[\"BTC\"]", ents, lens, n, want);
	CHECK_CONTAINS(ents[0], "\"key\":\"");
	CHECK_CONTAINS(ents[0], "\"sig\":\"");
	CHECK_MSG(replay(e0, e0len, ents, lens, n, NULL, err,
	    sizeof(err)) == 0, "replay: %s", err);
	/* pinned: the same key passes, another fails */
	CHECK_MSG(replay(e0, e0len, ents, lens, n, pk, err,
	    sizeof(err)) == 0, "pinned replay: %s", err);
	crypto_sign_keypair(otherpk, othersk);
	CHECK(replay(e0, e0len, ents, lens, n, otherpk, err,
	    sizeof(err)) != 0);
	CHECK_CONTAINS(err, "signed by another key, not by the pinned key");

	/* the host alters the answer (and what follows from it) */
	forged = with_field(ents[0], lens[0], "oracles.0.answer", "43", &flen);
	CHECK(replay(e0, e0len, &forged, &flen, 1, NULL, err,
	    sizeof(err)) != 0);
	CHECK_CONTAINS(err, "oracle answer 0 (price): the signature does not "
	    "verify");
	free(forged);
	/* ... or drops the signature: then the answer is not the feed's,
	 * and the replay sees another key */
	forged = with_field(ents[0], lens[0], "oracles.0.key", "\"x\"", &flen);
	CHECK(replay(e0, e0len, &forged, &flen, 1, NULL, err,
	    sizeof(err)) != 0);
	free(forged);

	/* a bad signature at execution is a failure the contract sees */
	mode = "badsig";
	CALL(e, "careful", "[\"price\"]", ents, lens, n,
	    "{\"e\":\"oracle price: bad answer: the signature does not verify "
	    "(over the request and the canonical answer)\",\"ok\":false}");
	mode = "unsigned-but-keyed";
	CALL(e, "careful", "[\"price\"]", ents, lens, n,
	    "{\"e\":\"oracle price: bad answer: not signed (this oracle's "
	    "answers must carry \\\"sig\\\")\",\"ok\":false}");
	CHECK_MSG(replay(e0, e0len, ents, lens, n, NULL, err,
	    sizeof(err)) == 0, "replay: %s", err);
	mode = "ok";
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(e0);
	engine_free(e);
}

TEST(requests_must_match)
{
	char *e0, *ents[8] = { 0 }, err[VMS_ERRLEN], *bad;
	size_t e0len, lens[8], n = 0, i, blen;
	struct engine *e = deploy(&e0, &e0len);

	if (e == NULL) { CHECK(0); return; }
	mode = "ok";
	CALL(e, "price", "[\"BTC\"]", ents, lens, n, NULL);
	CALL(e, "twice", "[]", ents, lens, n, NULL);
	/* the recorded request is not the one the contract makes */
	bad = with_field(ents[0], lens[0], "oracles.0.args", "[\"ETH\"]",
	    &blen);
	CHECK(replay(e0, e0len, &bad, &blen, 1, NULL, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "oracle request 0 differs: the contract asks "
	    "price[\"BTC\"], the entry records an answer to price[\"ETH\"]");
	free(bad);
	/* no answer recorded at all */
	bad = with_field(ents[0], lens[0], "oracles", "[]", &blen);
	CHECK(replay(e0, e0len, &bad, &blen, 1, NULL, err, sizeof(err)) != 0);
	free(bad);
	/* answers in another order */
	bad = with_field(ents[1], lens[1], "oracles.0.name", "\"feed\"", &blen);
	CHECK(replay(e0, e0len, ents, lens, 1, NULL, err, sizeof(err)) == 0);
	{
		char *two[2] = { ents[0], bad };
		size_t tl[2] = { lens[0], blen };

		CHECK(replay(e0, e0len, two, tl, 2, NULL, err,
		    sizeof(err)) != 0);
		CHECK_CONTAINS(err, "oracle request 0 differs");
	}
	free(bad);
	/* more answers recorded than asked */
	{
		json_t *j = json_loadb(ents[0], lens[0], 0, NULL);
		json_t *o = json_object_get(j, "oracles");

		json_array_append(o, json_array_get(o, 0));
		bad = json_canonical(j, &blen);
		json_decref(j);
		CHECK(replay(e0, e0len, &bad, &blen, 1, NULL, err,
		    sizeof(err)) != 0);
		CHECK_CONTAINS(err, "the entry records 2 oracle answers, the "
		    "contract asked for 1");
		free(bad);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(e0);
	engine_free(e);
}

TEST(warm_and_cold_alike)
{
	char *e0a, *e0b, *ea[4] = { 0 }, *eb[4] = { 0 };
	size_t la0, lb0, la[4], lb[4], na = 0, nb = 0, i;
	struct engine *a = deploy(&e0a, &la0), *b = deploy(&e0b, &lb0);

	if (a == NULL || b == NULL) { CHECK(0); return; }
	engine_set_warm(b, 0);
	mode = "ok";
	for (i = 0; i < 3; i++) {
		CALL(a, "twice", "[]", ea, la, na, NULL);
		CALL(b, "twice", "[]", eb, lb, nb, NULL);
		CHECK(la[i] == lb[i] && memcmp(ea[i], eb[i], la[i]) == 0);
	}
	for (i = 0; i < 3; i++) {
		free(ea[i]);
		free(eb[i]);
	}
	free(e0a);
	free(e0b);
	engine_free(a);
	engine_free(b);
}

/* Answers are charged, alike when executed and when replayed. */
TEST(answers_are_charged)
{
	struct vms_limits lim;
	struct engine *e;
	char *e0, *ents[4] = { 0 }, err[VMS_ERRLEN], *r;
	size_t e0len, lens[4], n = 0, i;

	limits_default(&lim);
	lim.instructions = 8000;
	e = sbt_deploy_lim(code, &lim, "unix:root", &e0, &e0len);
	if (e == NULL) { CHECK(0); return; }
	engine_set_origin(e, ORIGIN);
	engine_set_oracle(e, fake_oracle, NULL);
	mode = "ok";
	/* one request fits; 16 of them (1000 instructions each, plus their
	 * records) do not */
	CALL(e, "price", "[\"BTC\"]", ents, lens, n, NULL);
	r = sbt_call_as(e, "unix:alice", "many", "[]", &ents[n], &lens[n]);
	n++;
	CHECK_EQ_STR(r, "ERR: limit exceeded: instructions (8000)");
	free(r);
	CHECK_CONTAINS(ents[1], "\"oracles\":[");
	CHECK_MSG(replay(e0, e0len, ents, lens, n, NULL, err,
	    sizeof(err)) == 0, "replay: %s", err);
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(e0);
	engine_free(e);
}

TEST(not_in_init)
{
	struct vms_caller c = { "unix:root", "debug" };
	struct engine *e = NULL;
	char err[VMS_ERRLEN], *ent = NULL;
	size_t len;
	const char *c1 = "return { init = function() System.oracle('p') end }";

	CHECK(engine_deploy("test", c1, strlen(c1), NULL, &c, 1, &e, &ent,
	    &len, err, sizeof(err)) == ENGINE_REFUSED);
	CHECK_CONTAINS(err, "System.oracle: not available in init");
	free(ent);
	engine_free(e);
}

TEST(output_parser)
{
	struct oracle_output o;
	char err[VMS_ERRLEN];
	const char *bad[] = { "", "[1]", "{\"answer\":1,\"error\":\"x\"}",
	    "{\"error\":1}", "{\"answer\":1,\"sig\":\"AAAA\"}",
	    "{\"answer\":1,\"x\":2}", "{\"answer\":1,\"answer\":2}",
	    "{\"error\":\"x\",\"sig\":\"y\"}", "\xff", NULL };
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		CHECK_MSG(oracle_output_parse((const uint8_t *)bad[i],
		    strlen(bad[i]), &o, err, sizeof(err)) != 0, "accepted %s",
		    bad[i]);
		oracle_output_clear(&o);
	}
	CHECK(oracle_output_parse((const uint8_t *)"{\"answer\":null}\n", 16,
	    &o, err, sizeof(err)) == 0);
	CHECK(o.answer != NULL && json_is_null(o.answer) && !o.has_sig);
	oracle_output_clear(&o);
	/* errors: control characters out, bounded */
	{
		char big[3000];
		const char *head = "{\"error\":\"x\\n\\u0001y";

		memset(big, 'a', sizeof(big));
		memcpy(big, head, strlen(head));
		memcpy(big + sizeof(big) - 2, "\"}", 2);
		CHECK(oracle_output_parse((const uint8_t *)big, sizeof(big),
		    &o, err, sizeof(err)) == 0);
		CHECK(o.error != NULL && strncmp(o.error, "x  y", 4) == 0 &&
		    strlen(o.error) == ORACLE_ERROR_MAX);
		oracle_output_clear(&o);
	}
	CHECK(oracle_valid_name("price-feed_2"));
	CHECK(!oracle_valid_name("-x"));
	CHECK(!oracle_valid_name("a b"));
	CHECK(!oracle_valid_name(""));
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(pk, sk);
	RUN(answers_recorded_and_replayed_without_oracle);
	RUN(failures_recorded_and_replayed);
	RUN(signed_answers);
	RUN(requests_must_match);
	RUN(warm_and_cold_alike);
	RUN(answers_are_charged);
	RUN(not_in_init);
	RUN(output_parser);
	return test_summary();
}
