/*
 * test-wire.c — the worker wire (daemon/wire.c): every message the
 * encoders write decodes back to what was encoded, and a message that is
 * reordered, unknown, mistyped or truncated is an error (never a silent
 * slow path). Linked against build/libdaemon.a.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wire.h"

#include "test.h"

#define STR2(x)	#x
#define STR(x)	STR2(x)
#define WV	STR(WIRE_VERSION)		/* this version, as text */
#define WV_OTHER STR(99)

/* The one line in b (without its "\n"), NUL-terminated in a copy. */
static char *
line_of(const struct jbuf *b)
{
	char *s;

	if (b->len == 0 || b->s[b->len - 1] != '\n' ||
	    memchr(b->s, '\n', b->len - 1) != NULL)
		return NULL;
	s = xmalloc(b->len);
	memcpy(s, b->s, b->len - 1);
	s[b->len - 1] = '\0';
	return s;
}

TEST(request_round_trip)
{
	struct jbuf b = { 0 };
	struct wire_request r;
	json_t *params = json_pack("{s:s,s:[i,s,b],s:f}", "method", "RSVP",
	    "args", 1, "b\xc3\xa9", 1, "x", 0.1);
	char err[256], *line;
	int i;

	for (i = 0; i < 2; i++) {
		const char *caller = i ? "unix:alice" : NULL;

		b.len = 0;
		CHECK_EQ_INT(wire_put_request(&b, 42 + i, "call", caller,
		    "peercred", params, err, sizeof(err)), 0);
		CHECK((line = line_of(&b)) != NULL);
		if (line == NULL)
			continue;
		CHECK_EQ_INT(wire_decode_request(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK_EQ_INT(r.id, 42 + i);
		CHECK_EQ_STR(r.method, "call");
		CHECK_EQ_STR(r.auth, "peercred");
		CHECK(i ? r.caller != NULL && strcmp(r.caller, caller) == 0 :
		    r.caller == NULL);
		CHECK(json_equal(r.params, params));
		wire_request_clear(&r);
		free(line);
	}
	json_decref(params);
	jbuf_free(&b);
}

/* params given as text go out as they are, and decode to the same
 * request as params encoded from their value; callers that need escapes
 * (or are not UTF-8) are encoded, or refused, as before. */
TEST(request_text_round_trip)
{
	static const char *callers[] = { "unix:alice", "debug \"q\" \\ \t",
	    "b\xc3\xa9" "b", "\x7f" };
	const char *ptext = "{\"contract\":\"g\",\"args\":[\"\\u00e9\",1.50,"
	    "{\"k\":[]}],\"method\":\"RSVP\"}";
	json_t *params = json_loads(ptext, 0, NULL);
	struct jbuf b = { 0 };
	struct wire_request r;
	char err[256], *line;
	size_t i;

	CHECK(params != NULL);
	for (i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
		b.len = 0;
		CHECK_EQ_INT(wire_put_request_text(&b, 7, "call", callers[i],
		    "debug", ptext, strlen(ptext), err, sizeof(err)), 0);
		CHECK(b.len > strlen(ptext) &&
		    memmem(b.s, b.len, ptext, strlen(ptext)) != NULL);
		CHECK((line = line_of(&b)) != NULL);
		if (line == NULL)
			continue;
		CHECK_EQ_INT(wire_decode_request(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK_EQ_INT(r.id, 7);
		CHECK_EQ_STR(r.method, "call");
		CHECK_EQ_STR(r.caller, callers[i]);
		CHECK_EQ_STR(r.auth, "debug");
		CHECK(json_equal(r.params, params));
		wire_request_clear(&r);
		free(line);
	}
	/* not an object on one line: refused, nothing appended */
	b.len = 0;
	CHECK_EQ_INT(wire_put_request_text(&b, 1, "call", NULL, "anonymous",
	    "[1]", 3, err, sizeof(err)), -1);
	CHECK_EQ_INT(wire_put_request_text(&b, 1, "call", NULL, "anonymous",
	    "{\n}", 3, err, sizeof(err)), -1);
	CHECK_EQ_INT(wire_put_request_text(&b, 1, "call", "a\xff",
	    "anonymous", "{}", 2, err, sizeof(err)), -1);
	CHECK_EQ_INT(b.len, 0);
	json_decref(params);
	jbuf_free(&b);
}

TEST(ready_round_trip)
{
	struct jbuf b = { 0 };
	struct wire_reply r;
	json_t *m = json_pack("[s,s]", "RSVP", "listRSVPs");
	char err[256], *line;

	CHECK_EQ_INT(wire_put_ready(&b, 1234, "o+1+AAA", "host/vmsd/g", m, err,
	    sizeof(err)), 0);
	CHECK((line = line_of(&b)) != NULL);
	if (line != NULL) {
		CHECK_EQ_INT(wire_decode_reply(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK_EQ_INT(r.kind, WIRE_READY);
		CHECK_EQ_INT(r.size, 1234);
		CHECK_EQ_STR(r.vkey, "o+1+AAA");
		CHECK_EQ_STR(r.origin, "host/vmsd/g");
		CHECK(json_equal(r.methods, m));
		wire_reply_clear(&r);
		free(line);
	}
	json_decref(m);
	jbuf_free(&b);
}

TEST(child_round_trip)
{
	struct jbuf b = { 0 };
	struct wire_reply r;
	char err[256], *line;

	CHECK_EQ_INT(wire_put_child(&b, "deploy", "f.alice", 1, "o+1+AAA",
	    "host/vmsd/f.alice", err, sizeof(err)), 0);
	CHECK_EQ_INT(wire_put_child(&b, "stop", "f.bob", 0, "", "", err,
	    sizeof(err)), 0);
	CHECK(b.len > 0 && memchr(b.s, '\n', b.len) != NULL);
	line = xstrndup(b.s, (size_t)((char *)memchr(b.s, '\n', b.len) -
	    b.s));
	CHECK_EQ_INT(wire_decode_reply(line, strlen(line), &r, err,
	    sizeof(err)), 0);
	CHECK_EQ_INT(r.kind, WIRE_CHILD);
	CHECK_EQ_STR(r.child, "deploy");
	CHECK_EQ_STR(r.name, "f.alice");
	CHECK_EQ_INT(r.size, 1);
	CHECK_EQ_STR(r.vkey, "o+1+AAA");
	CHECK_EQ_STR(r.origin, "host/vmsd/f.alice");
	wire_reply_clear(&r);
	{
		const char *second = b.s + strlen(line) + 1;
		const char *nl = memchr(second, '\n', (size_t)(b.s + b.len -
		    second));

		CHECK(nl != NULL);
		CHECK_EQ_INT(wire_decode_reply(second, (size_t)(nl - second),
		    &r, err, sizeof(err)), 0);
		CHECK_EQ_INT(r.kind, WIRE_CHILD);
		CHECK_EQ_STR(r.child, "stop");
		CHECK_EQ_STR(r.name, "f.bob");
		wire_reply_clear(&r);
	}
	free(line);
	jbuf_free(&b);
}

static void
refused_case(const char *reason, const char *want)
{
	struct jbuf b = { 0 };
	struct wire_reply r;
	char err[256], *line;

	wire_put_refused(&b, reason);
	CHECK((line = line_of(&b)) != NULL);
	if (line != NULL) {
		CHECK_EQ_INT(wire_decode_reply(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK_EQ_INT(r.kind, WIRE_REFUSED);
		CHECK_EQ_STR(r.reason, want);
		wire_reply_clear(&r);
		free(line);
	}
	jbuf_free(&b);
}

TEST(refused_round_trip)
{
	refused_case("the ledger lost entries: \"quoted\"\nline",
	    "the ledger lost entries: \"quoted\"\nline");
	refused_case("\xff not UTF-8", "(the reason is not valid UTF-8)");
}

TEST(result_round_trip)
{
	static const char *const values[] = {
		"null", "0", "-7", "1.5", "\"x\\ny\"", "\"\xe2\x82\xac\"",
		"[]", "{}", "{\"value\":[1,{\"a\":null}],\"index\":3}",
		"\"}\"", "\"{\\\"id\\\":1,\\\"size\\\":2,\\\"error\\\":3}\"",
	};
	struct jbuf b = { 0 };
	struct wire_reply r;
	json_error_t jerr;
	json_t *v, *back;
	char err[256], *line;
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		v = json_loads(values[i], JSON_DECODE_ANY, &jerr);
		CHECK_MSG(v != NULL, "value %zu: %s", i, jerr.text);
		if (v == NULL)
			continue;
		b.len = 0;
		CHECK_EQ_INT(wire_put_result(&b, i + 1, 99, v, err,
		    sizeof(err)), 0);
		line = line_of(&b);
		CHECK(line != NULL);
		if (line != NULL && wire_decode_reply(line, strlen(line), &r,
		    err, sizeof(err)) == 0) {
			CHECK_EQ_INT(r.kind, WIRE_RESULT);
			CHECK_EQ_INT(r.id, i + 1);
			CHECK_EQ_INT(r.size, 99);
			back = json_loadb(r.result, r.resultlen,
			    JSON_DECODE_ANY, &jerr);
			CHECK_MSG(back != NULL && json_equal(back, v),
			    "value %zu came back as %.*s", i,
			    (int)r.resultlen, r.result);
			json_decref(back);
			wire_reply_clear(&r);
		} else
			FAILF("value %zu: %s", i, err);
		free(line);
		json_decref(v);
	}
	jbuf_free(&b);
}

/* The receipts' encoders: text the worker wrote goes through verbatim. */
TEST(text_round_trip)
{
	static const char res[] = "{\"value\":[1,\"}\"],\"index\":3,"
	    "\"receipt\":{\"checkpoint\":\"o\\n3\\n\"}}";
	static const char data[] = "{\"index\":4,\"receipt\":{}}";
	struct jbuf b = { 0 };
	struct wire_reply r;
	char err[256], *line;
	json_t *d;

	wire_put_result_text(&b, 9, 10, res, strlen(res));
	CHECK((line = line_of(&b)) != NULL);
	if (line != NULL && wire_decode_reply(line, strlen(line), &r, err,
	    sizeof(err)) == 0) {
		CHECK(r.kind == WIRE_RESULT && r.id == 9 && r.size == 10 &&
		    r.resultlen == strlen(res) &&
		    memcmp(r.result, res, r.resultlen) == 0);
		wire_reply_clear(&r);
	} else
		FAILF("result: %s", err);
	free(line);
	b.len = 0;
	wire_put_error_text(&b, 11, 12, -32000, "bad \"name\"", data,
	    strlen(data));
	CHECK((line = line_of(&b)) != NULL);
	if (line != NULL && wire_decode_reply(line, strlen(line), &r, err,
	    sizeof(err)) == 0) {
		d = json_object_get(r.msg, "data");
		CHECK(r.kind == WIRE_ERROR && r.id == 11 && r.size == 12 &&
		    json_integer_value(json_object_get(d, "index")) == 4 &&
		    strcmp(json_string_value(json_object_get(r.msg,
		    "message")), "bad \"name\"") == 0);
		wire_reply_clear(&r);
	} else
		FAILF("error: %s", err);
	free(line);
	jbuf_free(&b);
}

TEST(error_round_trip)
{
	struct jbuf b = { 0 };
	struct wire_reply r;
	json_t *data = json_pack("{s:i}", "index", 7);
	char err[256], *line;

	wire_put_error(&b, 5, 8, -32000, "guestlist:11: bad name", data);
	line = line_of(&b);
	CHECK(line != NULL);
	if (line != NULL) {
		CHECK_EQ_INT(wire_decode_reply(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK_EQ_INT(r.kind, WIRE_ERROR);
		CHECK_EQ_INT(r.id, 5);
		CHECK_EQ_INT(r.size, 8);
		CHECK_EQ_INT(json_integer_value(json_object_get(r.msg,
		    "code")), -32000);
		CHECK_EQ_STR(json_string_value(json_object_get(r.msg,
		    "message")), "guestlist:11: bad name");
		CHECK(json_equal(json_object_get(r.msg, "data"), data));
		wire_reply_clear(&r);
		free(line);
	}
	/* no data; a message that is not UTF-8 is replaced, not refused */
	b.len = 0;
	wire_put_error(&b, 6, 8, -32603, "bad \xff byte", NULL);
	line = line_of(&b);
	CHECK(line != NULL);
	if (line != NULL) {
		CHECK_EQ_INT(wire_decode_reply(line, strlen(line), &r, err,
		    sizeof(err)), 0);
		CHECK(json_object_get(r.msg, "data") == NULL);
		CHECK_CONTAINS(json_string_value(json_object_get(r.msg,
		    "message")), "not valid UTF-8");
		wire_reply_clear(&r);
		free(line);
	}
	json_decref(data);
	jbuf_free(&b);
}

/* What cannot be encoded is refused, and the buffer is left as it was. */
TEST(encoder_refuses_bad_utf8)
{
	struct jbuf b = { 0 };
	json_t *params = json_object(), *arr = json_array(), *bad;
	char err[256];

	/* jansson cannot hold a non-UTF-8 string: build it by length */
	bad = json_stringn_nocheck("a\xff", 2);
	json_object_set_new(params, "args", bad);
	jbuf_raw(&b, "x", 1);
	CHECK_EQ_INT(wire_put_request(&b, 1, "call", NULL, "anonymous",
	    params, err, sizeof(err)), -1);
	CHECK_EQ_INT(b.len, 1);
	CHECK_EQ_INT(wire_put_result(&b, 1, 1, bad, err, sizeof(err)), -1);
	CHECK_EQ_INT(b.len, 1);
	CHECK_EQ_INT(wire_put_request(&b, 1, "call", NULL, "anonymous",
	    arr, err, sizeof(err)), -1);	/* params not an object */
	CHECK_EQ_INT(b.len, 1);
	json_decref(arr);
	json_decref(params);
	jbuf_free(&b);
}

static int
reply_fails(const char *line)
{
	struct wire_reply r;
	char err[256];

	if (wire_decode_reply(line, strlen(line), &r, err, sizeof(err)) == 0) {
		wire_reply_clear(&r);
		return 0;
	}
	return strncmp(err, "wire:", 5) == 0;	/* says why */
}

static int
request_fails(const char *line)
{
	struct wire_request r;
	char err[256];

	if (wire_decode_request(line, strlen(line), &r, err,
	    sizeof(err)) == 0) {
		wire_request_clear(&r);
		return 0;
	}
	return strncmp(err, "wire:", 5) == 0;
}

TEST(reordered_or_unknown_replies_fail)
{
	static const char *const bad[] = {
		"{\"size\":1,\"id\":2,\"result\":3}",	/* reordered */
		"{\"id\":2,\"result\":3,\"size\":1}",
		"{\"id\":2,\"size\":1,\"value\":3}",	/* unknown key */
		"{\"id\":2,\"size\":1}",		/* neither */
		"{\"id\":2,\"size\":1,\"result\":3",	/* truncated */
		"{\"id\":2,\"size\":1,\"result\":}",	/* empty result */
		"{\"id\":02,\"size\":1,\"result\":3}",	/* leading zero */
		"{\"id\":-2,\"size\":1,\"result\":3}",	/* sign */
		"{\"id\":12345678901234567890,\"size\":1,\"result\":3}",
		"{\"id\": 2,\"size\":1,\"result\":3}",	/* not as written */
		"{\"id\":2,\"size\":1,\"result\":3}x",	/* trailing bytes */
		"{\"id\":2,\"size\":1,\"error\":{\"message\":\"m\","
		    "\"code\":1}}",			/* error reordered */
		"{\"id\":2,\"size\":1,\"error\":{\"code\":\"1\","
		    "\"message\":\"m\"}}",		/* code not integer */
		"{\"id\":2,\"size\":1,\"error\":{\"code\":1}}",
		"{\"id\":2,\"size\":1,\"error\":{\"code\":1,\"message\":"
		    "\"m\",\"extra\":1}}",
		"{\"id\":2,\"size\":1,\"error\":[1]}",
		"{\"ready\":" WV ",\"size\":1,\"origin\":\"o\",\"vkey\":"
		    "\"k\",\"methods\":[]}",		/* ready reordered */
		"{\"ready\":" WV_OTHER ",\"size\":1,\"vkey\":\"k\",\"origin\":"
		    "\"o\",\"methods\":[]}",		/* other version */
		"{\"ready\":" WV ",\"size\":1,\"vkey\":\"k\",\"origin\":"
		    "\"o\",\"methods\":[1]}",
		"{\"ready\":" WV ",\"size\":1,\"vkey\":\"k\",\"origin\":"
		    "\"o\"}",
		"{\"child\":\"deploy\",\"size\":1,\"name\":\"p.c\",\"vkey\":"
		    "\"k\",\"origin\":\"o\"}",	/* child reordered */
		"{\"child\":\"remove\",\"name\":\"p.c\",\"size\":1,\"vkey\":"
		    "\"k\",\"origin\":\"o\"}",	/* unknown operation */
		"{\"child\":\"deploy\",\"name\":\"p.c\",\"size\":-1,"
		    "\"vkey\":\"k\",\"origin\":\"o\"}",
		"{\"child\":\"deploy\",\"name\":\"p.c\",\"size\":1,"
		    "\"vkey\":\"k\"}",
		"{\"refused\":1}",			/* not a string */
		"{\"refused\":\"r\",\"size\":1}",	/* unknown key */
		"{\"refused\":\"r\"",			/* truncated */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}",
		"", "{", "null", "[]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(reply_fails(bad[i]), "accepted: %s", bad[i]);
}

TEST(reordered_or_unknown_requests_fail)
{
	static const char *const bad[] = {
		"{\"method\":\"call\",\"id\":1,\"caller\":null,"
		    "\"auth\":\"a\",\"params\":{}}",	/* reordered */
		"{\"id\":1,\"method\":\"call\",\"caller\":null,"
		    "\"auth\":\"a\"}",			/* missing */
		"{\"id\":1,\"method\":\"call\",\"caller\":null,"
		    "\"auth\":\"a\",\"params\":{},\"x\":1}",	/* unknown */
		"{\"id\":1,\"method\":\"call\",\"caller\":null,"
		    "\"auth\":\"a\",\"params\":[]}",	/* params not object */
		"{\"id\":-1,\"method\":\"call\",\"caller\":null,"
		    "\"auth\":\"a\",\"params\":{}}",
		"{\"id\":1,\"method\":\"call\",\"caller\":7,"
		    "\"auth\":\"a\",\"params\":{}}",
		"{\"id\":1,\"id\":2,\"method\":\"call\",\"caller\":null,"
		    "\"auth\":\"a\",\"params\":{}}",	/* duplicate key */
		"", "[]", "{\"id\":1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(request_fails(bad[i]), "accepted: %s", bad[i]);
}

/* The attach channel's datagram: the line, then the client's bytes as
 * they are (any bytes, newlines included); each id kind; limits in order. */
TEST(attach_round_trip)
{
	static const uint64_t lim[WIRE_ATTACH_LIMITS] = { 4194304, 16777216,
	    60, 10, 1024, 0, 67108864 };
	json_t *ids[3];
	struct jbuf b = { 0 };
	struct wire_attach a;
	const char input[] = "{\"x\":1}\n\0partial";
	char err[256];
	int i;

	ids[0] = json_integer(-7);
	ids[1] = json_string("a \"q\" \xc3\xa9");
	ids[2] = json_null();
	for (i = 0; i < 3; i++) {
		b.len = 0;
		CHECK_EQ_INT(wire_put_attach(&b, ids[i], i ? "unix:alice" :
		    NULL, 1000 + (uint64_t)i, i == 1, i == 2, lim, err,
		    sizeof(err)), 0);
		jbuf_raw(&b, input, sizeof(input) - 1);
		CHECK_EQ_INT(wire_decode_attach(b.s, b.len, &a, err,
		    sizeof(err)), 0);
		CHECK(json_equal(a.id, ids[i]));
		CHECK(i ? a.caller != NULL && strcmp(a.caller,
		    "unix:alice") == 0 : a.caller == NULL);
		CHECK_EQ_INT(a.uid, 1000 + i);
		CHECK_EQ_INT(a.debug_auth, i == 1);
		CHECK_EQ_INT(a.handoff, i == 2);
		CHECK(memcmp(a.limits, lim, sizeof(lim)) == 0);
		CHECK_EQ_INT(a.inputlen, sizeof(input) - 1);
		CHECK(a.inputlen == sizeof(input) - 1 &&
		    memcmp(a.input, input, a.inputlen) == 0);
		wire_attach_clear(&a);
		json_decref(ids[i]);
	}
	/* an id that is not a number, string or null is refused */
	ids[0] = json_array();
	b.len = 0;
	CHECK(wire_put_attach(&b, ids[0], NULL, 0, 0, 0, lim, err,
	    sizeof(err)) == -1);
	json_decref(ids[0]);
	jbuf_free(&b);
}

TEST(attach_bad_fails)
{
	static const char *bad[] = {
		"",
		/* no newline */
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7]}",
		"{\"attach\":[],\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":-1,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":0,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,-7]}\n",
		"{\"caller\":null,\"attach\":1,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":false,\"limits\":[1,2,3,4,5,6,7],\"x\":1}\n",
		/* no handoff key (wire 3), or a mistyped one */
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"limits\":[1,2,3,4,5,6,7]}\n",
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":1,\"limits\":[1,2,3,4,5,6,7]}\n",
		/* vmsd's own hand-over answers no request: its id is null */
		"{\"attach\":1,\"caller\":null,\"uid\":0,\"debug_auth\":false,"
		    "\"handoff\":true,\"limits\":[1,2,3,4,5,6,7]}\n",
	};
	struct wire_attach a;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(wire_decode_attach(bad[i], strlen(bad[i]), &a, err,
		    sizeof(err)) == -1, "accepted: %s", bad[i]);
		CHECK(a.msg == NULL);
	}
}

/* A connection given back: the reason, then the bytes not run, as they
 * are; anything else is refused. */
TEST(back_round_trip)
{
	static const char *bad[] = {
		"",
		"{\"back\":\"x\"}",			/* no newline */
		"{\"back\":1}\n",
		"{\"back\":null}\n",
		"{\"back\":\"x\",\"y\":1}\n",
		"{\"why\":\"x\"}\n",
		"[\"back\"]\n",
	};
	const char input[] = "{\"method\":\"status\"}\n\0part";
	struct jbuf b = { 0 };
	struct wire_back k;
	char err[256];
	size_t i;

	wire_put_back(&b, "a line \"q\" \xc3\xa9");
	jbuf_raw(&b, input, sizeof(input) - 1);
	CHECK_EQ_INT(wire_decode_back(b.s, b.len, &k, err, sizeof(err)), 0);
	CHECK(k.why != NULL && strcmp(k.why, "a line \"q\" \xc3\xa9") == 0);
	CHECK(k.inputlen == sizeof(input) - 1 &&
	    memcmp(k.input, input, k.inputlen) == 0);
	wire_back_clear(&k);
	CHECK(k.msg == NULL);
	/* nothing after the line: no input */
	b.len = 0;
	wire_put_back(&b, "stopping");
	CHECK_EQ_INT(wire_decode_back(b.s, b.len, &k, err, sizeof(err)), 0);
	CHECK_EQ_INT(k.inputlen, 0);
	wire_back_clear(&k);
	/* a reason that is not UTF-8 is replaced, never fails */
	b.len = 0;
	wire_put_back(&b, "\xff\xfe");
	CHECK_EQ_INT(wire_decode_back(b.s, b.len, &k, err, sizeof(err)), 0);
	wire_back_clear(&k);
	jbuf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(wire_decode_back(bad[i], strlen(bad[i]), &k, err,
		    sizeof(err)) == -1, "accepted: %s", bad[i]);
		CHECK(k.msg == NULL);
	}
}

/* attached: encoded, decoded; the relay's split of a reply line. */
TEST(attached_and_split)
{
	static const char errobj[] = "{\"code\":-32601,\"message\":\"no\"}";
	struct jbuf b = { 0 };
	struct wire_reply r;
	const char *v;
	char err[256];
	size_t vlen;
	uint64_t id;
	int is_error;

	wire_put_attached(&b, 3, 12345);
	CHECK_EQ_INT(wire_decode_reply(b.s, b.len, &r, err, sizeof(err)), 0);
	CHECK_EQ_INT(r.kind, WIRE_ATTACHED);
	CHECK_EQ_INT(r.id, 3);
	CHECK_EQ_INT(r.size, 12345);
	wire_reply_clear(&r);
	CHECK(wire_decode_reply("{\"attached\":3}\n", 15, &r, err,
	    sizeof(err)) == -1);
	CHECK(wire_decode_reply("{\"attached\":3,\"size\":1,\"x\":2}\n", 30,
	    &r, err, sizeof(err)) == -1);

	b.len = 0;
	wire_put_result_text(&b, 77, 5, "{\"value\":[1,\"}\"]}", 17);
	CHECK_EQ_INT(wire_split_reply(b.s, b.len, &id, &is_error, &v, &vlen),
	    0);
	CHECK_EQ_INT(id, 77);
	CHECK_EQ_INT(is_error, 0);
	CHECK(vlen == 17 && memcmp(v, "{\"value\":[1,\"}\"]}", 17) == 0);
	b.len = 0;
	wire_put_error(&b, (1ULL << 62) | 9, 5, -32601, "no", NULL);
	CHECK_EQ_INT(wire_split_reply(b.s, b.len, &id, &is_error, &v, &vlen),
	    0);
	CHECK(id == ((1ULL << 62) | 9));
	CHECK_EQ_INT(is_error, 1);
	CHECK(vlen == strlen(errobj) && memcmp(v, errobj, vlen) == 0);
	b.len = 0;
	wire_put_child(&b, "deploy", "p.c", 1, "k", "o", err, sizeof(err));
	CHECK(wire_split_reply(b.s, b.len, &id, &is_error, &v, &vlen) == -1);
	CHECK(wire_split_reply("{\"id\":1,\"size\":2,\"result\":}\n", 28, &id,
	    &is_error, &v, &vlen) == -1);
	jbuf_free(&b);
}

int
main(void)
{
	RUN(request_round_trip);
	RUN(request_text_round_trip);
	RUN(ready_round_trip);
	RUN(child_round_trip);
	RUN(refused_round_trip);
	RUN(result_round_trip);
	RUN(error_round_trip);
	RUN(text_round_trip);
	RUN(encoder_refuses_bad_utf8);
	RUN(reordered_or_unknown_replies_fail);
	RUN(reordered_or_unknown_requests_fail);
	RUN(attach_round_trip);
	RUN(attach_bad_fails);
	RUN(back_round_trip);
	RUN(attached_and_split);
	return test_summary();
}
