/*
 * test-rpcmsg.c — rpcmsg_params_span (daemon/rpcmsg.c), which finds a
 * request's params in its text so that they go to the worker as the
 * client wrote them: for every message jansson accepts, the span it
 * gives (if any) decodes to exactly the params jansson decoded, and it
 * gives one for compact params only. Hand-written cases, then random
 * mutations of them. Linked against build/libdaemon.a.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rpcmsg.h"

#include "test.h"

static const char *seeds[] = {
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"call\",\"params\":{\"contract\":\"g\",\"method\":\"RSVP\",\"args\":[\"bob\",false,\"x\"]}}",
	"{\"params\":{\"a\":[1,2,{\"params\":{}}]},\"id\":\"}\",\"method\":\"m\"}",
	"{\"id\":\"\\\"params\\\":{\",\"params\":{\"s\":\"\\\\\\\"\"},\"x\":[{},[]]}",
	"{\"par\\u0061ms\":{\"a\":1},\"id\":2}",
	"{\"params\" : {\"a\":1}}",
	"{\"params\":{ \"a\":1}}",
	"{\"params\":{\"a\":\"b c\"}}",
	"  {\"x\":1 , \"params\":{\"a\":1.5e3,\"b\":-0,\"c\":null}\t}\r",
	"{\"params\":{\"\\u00e9\":\"\\u00e9\",\"k\":\"\xc3\xa9\"}}",
	"{\"params\":[1,2]}",
	"{\"params\":1}",
	"{\"params\":{}}",
	"{\"a\":{\"params\":{\"b\":1}},\"params\":{\"c\":2}}",
	"{\"a\":{\"params\":{\"b\":1}}}",
	"{}",
};

/* The invariant for one text; *span: whether a span was given. */
static int
check_text(const char *t, size_t len, int *span)
{
	json_t *m, *p, *q;
	const char *s;
	size_t n = 0;
	int ok = 1;

	*span = 0;
	m = json_loadb(t, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (m == NULL || !json_is_object(m)) {
		json_decref(m);
		return 1;
	}
	p = json_object_get(m, "params");
	if ((s = rpcmsg_params_span(t, len, &n)) != NULL) {
		*span = 1;
		q = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
		ok = s >= t && s + n <= t + len && json_is_object(p) &&
		    q != NULL && json_equal(p, q) && memchr(s, '\n', n) == NULL;
		json_decref(q);
	}
	json_decref(m);
	return ok;
}

TEST(seeds)
{
	/* whether each seed gets a span */
	static const int want[] = { 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0,
	    0 };
	size_t i;
	int span;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		CHECK_MSG(check_text(seeds[i], strlen(seeds[i]), &span),
		    "seed %zu: span does not decode to params", i);
		CHECK_MSG(span == want[i], "seed %zu: span %d, want %d", i,
		    span, want[i]);
	}
}

TEST(mutations)
{
	static const char alphabet[] = "{}[]\":,\\ \n\tparms0123456789e.-u";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[512];
	size_t i, len, k, nseeds = sizeof(seeds) / sizeof(seeds[0]);
	unsigned accepted = 0, spans = 0, bad = 0;
	json_t *m;
	int span;

	for (i = 0; i < 200000; i++) {
		const char *sd;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		sd = seeds[x % nseeds];
		len = strlen(sd);
		memcpy(buf, sd, len);
		for (k = 0; k < 1 + (x >> 8) % 3; k++) {
			size_t at;

			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			at = (x >> 16) % (len + 1);
			switch ((x >> 4) % 3) {
			case 0:		/* replace */
				if (at < len)
					buf[at] = alphabet[(x >> 40) %
					    (sizeof(alphabet) - 1)];
				break;
			case 1:		/* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
					    len - at);
					buf[at] = alphabet[(x >> 40) %
					    (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			default:	/* delete */
				if (at < len) {
					memmove(buf + at, buf + at + 1,
					    len - at - 1);
					len--;
				}
			}
		}
		if (!check_text(buf, len, &span)) {
			if (bad++ < 5)
				FAILF("span does not decode to params: %.*s",
				    (int)len, buf);
		}
		if ((m = json_loadb(buf, len, JSON_DECODE_ANY, NULL)) != NULL)
			accepted++;
		json_decref(m);
		spans += (unsigned)span;
	}
	printf("     mutations: %u parsed, %u with a span\n", accepted, spans);
	CHECK(bad == 0);
	CHECK(spans > 1000);
}

int
main(void)
{
	RUN(seeds);
	RUN(mutations);
	return test_summary();
}
