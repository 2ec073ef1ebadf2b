/*
 * test-fastjson.c — the fast path of JSON decoding (libvms/fastjson.c)
 * against jansson, the parser of record: wherever the fast path returns a
 * value, json_loadb() of the same text and flags returns an equal one (the
 * same types, integer or real, and the same key order); on hand-picked
 * edge cases, on generated JSON and on byte-level mutations of both. The
 * fast path must also take what it is for (the requests of vmsd's hot
 * paths), or it would be dead code that this test could not tell from a
 * working one.
 */
#include <jansson.h>

#include "test.h"
#include "fastjson.h"

static const size_t flagsets[] = {
	0, JSON_REJECT_DUPLICATES, JSON_DECODE_ANY,
	JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
};

/* Same value, same types all the way down, same key order. */
static int
same(const json_t *a, const json_t *b)
{
	json_t *v;
	size_t i, n;
	void *ia, *ib;

	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		ia = json_object_iter((json_t *)a);
		ib = json_object_iter((json_t *)b);
		while (ia != NULL && ib != NULL) {
			if (json_object_iter_key_len(ia) !=
			    json_object_iter_key_len(ib) ||
			    memcmp(json_object_iter_key(ia),
			    json_object_iter_key(ib),
			    json_object_iter_key_len(ia)) != 0 ||
			    !same(json_object_iter_value(ia),
			    json_object_iter_value(ib)))
				return 0;
			ia = json_object_iter_next((json_t *)a, ia);
			ib = json_object_iter_next((json_t *)b, ib);
		}
		return ia == NULL && ib == NULL;
	case JSON_ARRAY:
		n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		json_array_foreach(a, i, v)
			if (!same(v, json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	case JSON_INTEGER:
		return json_integer_value(a) == json_integer_value(b);
	default:
		return json_equal(a, b);
	}
}

static long nfast, nchecked, nbad;

/* One text under every flag set: 1 if the fast path took it for some. */
static int
differ(const char *s, size_t n)
{
	size_t i;
	json_t *f, *j;
	int took = 0;

	for (i = 0; i < sizeof(flagsets) / sizeof(flagsets[0]); i++) {
		nchecked++;
		if ((f = fastjson_try(s, n, flagsets[i])) == NULL)
			continue;
		took = 1;
		nfast++;
		j = json_loadb(s, n, flagsets[i], NULL);
		if (j == NULL || !same(f, j)) {
			if (nbad++ < 5)
				printf("     fast path took what jansson %s "
				    "(flags %zu): %.*s\n", j ? "decodes "
				    "otherwise" : "refuses", flagsets[i],
				    (int)(n > 200 ? 200 : n), s);
		}
		json_decref(f);
		json_decref(j);
	}
	return took;
}

TEST(edge_cases)
{
	static const char *const t[] = {
		"{}", "[]", " { } ", "{\"a\":1}", "[1,2,3]", "[-1,0,17]",
		"123456789012345678", "-123456789012345678",
		"1234567890123456789", "-0", "0", "00", "01", "-", "--1",
		"+1", "1.5", "1e3", "1E3", "0.0", "[1.]", "[.5]", "[1e]",
		"\"\"", "\"abc\"", "\"a\\\"b\"", "\"a\\\\b\\/c\"",
		"\"\\b\\f\\n\\r\\t\"", "\"\\u0041\"", "\"\\u0000\"",
		"\"\\x\"", "\"tab\there\"", "\"caf\xc3\xa9\"", "\"\x7f\"",
		"\"\xff\"", "true", "false", "null", "tru", "truex",
		"[true,false,null]", "[truefalse]", "[1true]", "[1\"a\"]",
		"{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"a\":2}}",
		"{\"a\" : [ 1 , { \"b\" : null } ] }", "{\"a\":}", "{\"a\"}",
		"{\"a\":1,}", "[1,]", "[,1]", "{,}", "{1:2}", "[1:2]",
		"{\"a\":1}x", "{\"a\":1} ", "\t\r\n[1]\n", "[1]\0", "[\"a\0b\"]",
		"{\"a\\nb\":1}", "{\"\":1}", "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
		"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"call\",\"params\":"
		    "{\"contract\":\"guestlist\",\"method\":\"RSVP\",\"args\":"
		    "[\"bob\",false,\"Sorry, can't make it\"]}}",
		"", " ", "[", "]", "{", "}", "\"", "\"abc", "[\"abc",
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		(void)differ(t[i], strlen(t[i]));
	(void)differ("[1]\0", 4);
	(void)differ("[\"a\0b\"]", 7);
	CHECK_EQ_INT(nbad, 0);
}

TEST(depth)
{
	char s[2 * (FASTJSON_DEPTH + 2) + 1];
	json_t *f;
	int d, i;

	/* up to FASTJSON_DEPTH taken, one more left to jansson */
	for (d = FASTJSON_DEPTH; d <= FASTJSON_DEPTH + 1; d++) {
		for (i = 0; i < d; i++) {
			s[i] = '[';
			s[d + i] = ']';
		}
		s[2 * d] = '\0';
		f = fastjson_try(s, (size_t)(2 * d), 0);
		CHECK_EQ_INT(f != NULL, d <= FASTJSON_DEPTH);
		json_decref(f);
		(void)differ(s, (size_t)(2 * d));
	}
	CHECK_EQ_INT(nbad, 0);
}

/* The texts the fast path is for: taken, and equal to jansson's. */
TEST(takes_requests)
{
	static const char *const t[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":21694,\"method\":\"call\","
		    "\"params\":{\"contract\":\"guestlist\",\"method\":"
		    "\"RSVP\",\"args\":[\"bob\",false,\"Sorry, I can't\"]},"
		    "\"caller\":\"c-12345-abcdef\"}",
		"{\"id\":21694,\"method\":\"call\",\"caller\":\"alice\","
		    "\"auth\":\"debug\",\"params\":{\"contract\":\"c\","
		    "\"method\":\"inc\",\"args\":[]}}",
		"{\"id\":3,\"method\":\"call\",\"caller\":null,\"auth\":"
		    "\"uid\",\"params\":{\"method\":\"echo\",\"args\":[1,-2,"
		    "{\"x\":[true,null]},\"line\\nbreak\"]}}",
	};
	size_t i;
	json_t *f;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f = fastjson_try(t[i], strlen(t[i]), JSON_REJECT_DUPLICATES);
		CHECK_MSG(f != NULL, "not taken: %s", t[i]);
		json_decref(f);
		CHECK(differ(t[i], strlen(t[i])));
	}
	/* fastjson_loadb: jansson's errors where the fast path gives up */
	{
		json_error_t e;

		f = fastjson_loadb("{\"a\":1,\"a\":2}", 13,
		    JSON_REJECT_DUPLICATES, &e);
		CHECK(f == NULL);
		CHECK_CONTAINS(e.text, "duplicate");
		f = fastjson_loadb("[1.5]", 5, 0, &e);
		CHECK(f != NULL && json_is_real(json_array_get(f, 0)));
		json_decref(f);
	}
	CHECK_EQ_INT(nbad, 0);
}

/* xorshift: reproducible */
static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static unsigned
rnd(unsigned n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (unsigned)(rs % n);
}

struct buf {
	char	 s[4096];
	size_t	 n;
};

static void
put(struct buf *b, const char *s)
{
	size_t l = strlen(s);

	if (b->n + l < sizeof(b->s))
		memcpy(b->s + b->n, s, l), b->n += l;
}

static void
gen_string(struct buf *b)
{
	static const char *const parts[] = {
		"a", "b", "Z", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t",
		"\\u00e9", "\xc3\xa9", "0", "key", ":", ",", "{", "]",
	};
	int i, n = (int)rnd(6);

	put(b, "\"");
	for (i = 0; i < n; i++)
		put(b, parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
	put(b, "\"");
}

static void
gen(struct buf *b, int depth)
{
	static const char *const nums[] = {
		"0", "1", "-1", "42", "-0", "007", "1.5", "2e10", "-3E-2",
		"999999999999999999", "-999999999999999999",
		"9999999999999999999", "123456789012345678901234",
	};
	static const char *const sp[] = { "", "", "", " ", "\n", "\t ",
	    "\r" };
	int i, n;

	put(b, sp[rnd(7)]);
	switch (depth > 5 ? 2 + rnd(4) : rnd(6)) {
	case 0:
		put(b, "{");
		n = (int)rnd(4);
		for (i = 0; i < n; i++) {
			if (i)
				put(b, ",");
			put(b, sp[rnd(7)]);
			gen_string(b);
			put(b, sp[rnd(7)]);
			put(b, ":");
			gen(b, depth + 1);
		}
		put(b, "}");
		break;
	case 1:
		put(b, "[");
		n = (int)rnd(4);
		for (i = 0; i < n; i++) {
			if (i)
				put(b, ",");
			gen(b, depth + 1);
		}
		put(b, "]");
		break;
	case 2:
		gen_string(b);
		break;
	case 3:
		put(b, nums[rnd(sizeof(nums) / sizeof(nums[0]))]);
		break;
	default:
		put(b, rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null");
		break;
	}
	put(b, sp[rnd(7)]);
}

TEST(generated_and_mutated)
{
	static const char alphabet[] = "{}[]\",:\\ 0123456789-+.eEtrufalsn"
	    "\t\n\x01\x7f\x80\xc3\xa9\xff";
	struct buf b;
	int i, m, k;
	long took = 0;

	for (i = 0; i < 40000; i++) {
		b.n = 0;
		gen(&b, 0);
		took += differ(b.s, b.n);
		/* a few mutations of each: replace, insert, delete a byte */
		for (m = 0; m < 3 && b.n > 0; m++) {
			size_t at = rnd((unsigned)b.n);

			switch (rnd(3)) {
			case 0:
				b.s[at] = alphabet[rnd(sizeof(alphabet) - 1)];
				break;
			case 1:
				if (b.n + 1 < sizeof(b.s)) {
					memmove(b.s + at + 1, b.s + at,
					    b.n - at);
					b.s[at] = alphabet[rnd(
					    sizeof(alphabet) - 1)];
					b.n++;
				}
				break;
			default:
				memmove(b.s + at, b.s + at + 1, b.n - at - 1);
				b.n--;
				break;
			}
			for (k = 0; k < 1; k++)
				took += differ(b.s, b.n);
		}
	}
	printf("     %ld texts x flag sets checked, %ld taken by the fast "
	    "path\n", nchecked, nfast);
	/* the generator makes plenty the fast path is for */
	CHECK(took > 10000);
	CHECK_EQ_INT(nbad, 0);
}

int
main(void)
{
	/* (nbad counts each case's own mismatches) */
	RUN(edge_cases);
	nbad = 0;
	RUN(depth);
	nbad = 0;
	RUN(takes_requests);
	nbad = 0;
	RUN(generated_and_mutated);
	return test_summary();
}
