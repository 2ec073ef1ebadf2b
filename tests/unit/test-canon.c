/*
 * test-canon.c — the piecewise canonical writer (libvms/canon.c, struct
 * jbuf) writes what json_canonical() writes: every string escape jansson
 * makes (all control characters, quotes, backslashes, slashes, any UTF-8),
 * refusals of what is not UTF-8, integers at the limits (and as printf
 * writes them, jbuf_uint and jbuf_int having digits of their own), whole values;
 * and json_canonical() (canon.c's own encoder since round 2 of #15) writes
 * what jansson's json_dumps() writes with the canonical flags, on every
 * kind of value and on many random ones; jbuf_value_ordered writes what
 * json_dumps() writes without sorting keys. jbuf_b64 (the data of a
 * write) writes what b64_encode (libsodium) writes.
 */
#include <sodium.h>

#include "test.h"
#include "canon.h"
#include "util.h"

/* jansson's own canonical text of j (the reference), or NULL. */
static char *
jansson_text(const json_t *j)
{
	return j ? json_dumps(j, JSON_FLAGS_CANON | JSON_ENCODE_ANY) : NULL;
}

/* jbuf_str(s) against jansson's text of json_stringn(s); 1 if both agree. */
static int
same_string(const char *s, size_t n)
{
	struct jbuf b;
	json_t *j = json_stringn(s, n);
	char *want = jansson_text(j);
	int r, ok;

	jbuf_init(&b);
	r = jbuf_str(&b, s, n);
	if (want == NULL)
		ok = r == -1;
	else
		ok = r == 0 && b.len == strlen(want) &&
		    memcmp(b.s, want, b.len) == 0;
	if (!ok)
		printf("     %zu bytes: jansson %s, jbuf %s\n", n,
		    want ? want : "(refused)", r == 0 ? b.s : "(refused)");
	free(want);
	json_decref(j);
	jbuf_free(&b);
	return ok;
}

TEST(every_byte)
{
	char s[4];
	int c, bad = 0;

	for (c = 0; c < 256; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'z';
		bad += !same_string(s, 3);
		bad += !same_string(s + 1, 1);
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(utf8_and_refusals)
{
	static const char *const cases[] = { "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
	    "\xe2\x82", "a/b\\\\c\"d", "", "\x7f", NULL };
	uint8_t r[64];
	int i, k, bad = 0;

	for (i = 0; cases[i] != NULL; i++)
		bad += !same_string(cases[i], strlen(cases[i]));
	for (k = 0; k < 20000; k++) {
		randombytes_buf(r, sizeof(r));
		for (i = 0; i < (int)sizeof(r); i++)	/* mostly ASCII */
			if (r[i] >= 0xf8 || (k % 3 && r[i] >= 0x80))
				r[i] &= 0x7f;
		bad += !same_string((char *)r, (size_t)(k % 64));
	}
	CHECK_EQ_INT(bad, 0);
}

TEST(integers_and_values)
{
	static const long long ints[] = { 0, 1, -1, 1700000000000LL,
	    9223372036854775807LL, -9223372036854775807LL - 1 };
	static const char *const values[] = { "[1,\"a\",{\"b\":[],\"a\":null}]",
	    "{\"z\":1.5,\"a\":[true,false],\"m\":\"\\u0001\"}", "3.25",
	    "\"x\"", "[]", "{}", NULL };
	struct jbuf b;
	json_error_t err;
	json_t *j;
	char *want;
	size_t i;

	jbuf_init(&b);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		jbuf_reset(&b);
		jbuf_int(&b, ints[i]);
		j = json_integer(ints[i]);
		want = jansson_text(j);
		CHECK_EQ_STR(b.s, want);
		free(want);
		json_decref(j);
	}
	for (i = 0; values[i] != NULL; i++) {
		jbuf_reset(&b);
		j = json_loads(values[i], JSON_DECODE_ANY, &err);
		CHECK(j != NULL && jbuf_value(&b, j) == 0);
		want = jansson_text(j);
		CHECK_EQ_STR(b.s, want);
		free(want);
		want = json_canonical(j, NULL);
		CHECK(want != NULL && strcmp(want, b.s) == 0);
		free(want);
		json_decref(j);
	}
	jbuf_free(&b);
}

/* A random JSON value: every type, keys that share prefixes, are
 * prefixes of each other, hold NULs or bytes >= 0x80, reals of every kind,
 * strings that are not UTF-8 (which both must refuse). */
static json_t *
random_value(int depth)
{
	static const char *const keys[] = { "a", "ab", "b", "", "A", "a\xc3\xa9",
	    "\xc3\xa9", "z", "aa", "a b", "\x7f", "\"", "\\", "\x01" };
	uint32_t r = randombytes_uniform(depth > 4 ? 8 : 10);
	json_t *v;
	size_t i, n;
	char s[12];

	switch (r) {
	case 0: return json_null();
	case 1: return json_true();
	case 2: return json_false();
	case 3: {
		int64_t x;

		randombytes_buf(&x, sizeof(x));
		return json_integer(randombytes_uniform(2) ? x : x % 1000);
	}
	case 4: {
		double d;

		do
			randombytes_buf(&d, sizeof(d));
		while (d != d || d - d != 0);
		return json_real(randombytes_uniform(3) == 0 ? d :
		    randombytes_uniform(2) ? 0.1 * (double)randombytes_uniform(
		    100000) : 1e300 / (1 + randombytes_uniform(1000)));
	}
	case 5: case 6: case 7:
		n = randombytes_uniform(sizeof(s));
		randombytes_buf(s, n);
		for (i = 0; i < n; i++)	/* mostly ASCII, some not UTF-8 */
			if (randombytes_uniform(8) != 0)
				s[i] = (char)(s[i] & 0x7f);
		return json_stringn_nocheck(s, n);
	case 8:
		v = json_array();
		n = randombytes_uniform(6);
		for (i = 0; i < n; i++)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	default:
		v = json_object();
		n = randombytes_uniform(randombytes_uniform(4) ? 8 : 40);
		for (i = 0; i < n; i++) {
			if (randombytes_uniform(3) == 0) {
				snprintf(s, sizeof(s), "k%u",
				    (unsigned)randombytes_uniform(1000));
				json_object_set_new_nocheck(v, s,
				    random_value(depth + 1));
			} else {
				const char *k = keys[randombytes_uniform(
				    sizeof(keys) / sizeof(keys[0]))];

				json_object_setn_new_nocheck(v, k, k[0] == '\x01' ?
				    2 : strlen(k), random_value(depth + 1));
			}
		}
		return v;
	}
}

/* jbuf_uint and jbuf_int (their own digits, no snprintf) write what
 * "%llu" and "%lld" write: at every power of ten and its neighbours, the
 * limits, and random values of every length. */
TEST(integers_as_printf)
{
	struct jbuf b;
	char want[32];
	uint64_t v, p = 1, x = 0x243f6a8885a308d3ULL;
	int i, bad = 0;

	jbuf_init(&b);
	for (i = 0; i < 2000; i++) {
		if (i < 60) {		/* 10^k - 1, 10^k, 10^k + 1 */
			v = p - 1 + (uint64_t)(i % 3);
			if (i % 3 == 2)
				p = p > UINT64_MAX / 10 ? UINT64_MAX : p * 10;
		} else if (i < 62)
			v = i == 60 ? UINT64_MAX : UINT64_MAX - 1;
		else {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			v = x >> (x % 64);
		}
		jbuf_reset(&b);
		jbuf_uint(&b, v);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		bad += strcmp(b.s, want) != 0;
		jbuf_reset(&b);
		jbuf_int(&b, (long long)v);
		snprintf(want, sizeof(want), "%lld", (long long)v);
		bad += strcmp(b.s, want) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	jbuf_free(&b);
}

TEST(random_values_as_jansson)
{
	int k, bad = 0, refused = 0;
	json_t *j, *deep, *a;

	for (k = 0; k < 20000; k++) {
		char *want, *got;
		size_t len = 0;

		j = random_value(0);
		want = jansson_text(j);
		got = json_canonical(j, &len);
		if ((want == NULL) != (got == NULL) || (want != NULL &&
		    (strcmp(want, got) != 0 || len != strlen(want)))) {
			if (bad++ < 3)
				printf("     jansson %s\n     ours    %s\n",
				    want ? want : "(refused)",
				    got ? got : "(refused)");
		}
		refused += want == NULL;
		free(want);
		free(got);
		json_decref(j);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(refused > 0 && refused < 20000);	/* both kinds were seen */
	/* deeper than the encoder's own limit: jansson writes it */
	deep = json_array();
	for (a = deep, k = 0; k < 200; k++) {
		json_t *in = json_array();

		json_array_append_new(a, in);
		a = in;
	}
	json_array_append_new(a, json_string("x"));
	{
		char *want = jansson_text(deep), *got = json_canonical(deep,
		    NULL);

		CHECK(want != NULL && got != NULL && strcmp(want, got) == 0);
		free(want);
		free(got);
	}
	json_decref(deep);
}

/*
 * jbuf_value_ordered (the worker wire's replies) against json_dumps with
 * JSON_COMPACT | JSON_REAL_PRECISION(17): the same 20,000 kinds of random
 * values, keys in their objects' own order, refusals alike; a value nested
 * past the encoder's limit; a container holding itself refused by both.
 */
TEST(random_values_in_own_order)
{
	const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(17) |
	    JSON_ENCODE_ANY;
	int k, bad = 0, refused = 0, unsorted = 0;
	json_t *j, *deep, *a, *loop;
	struct jbuf b;

	for (k = 0; k < 20000; k++) {
		char *want, *sorted;
		int r;

		j = random_value(0);
		want = json_dumps(j, flags);
		sorted = jansson_text(j);
		jbuf_init(&b);
		r = jbuf_value_ordered(&b, j);
		if ((want == NULL) != (r != 0) || (want != NULL &&
		    (b.len != strlen(want) || memcmp(b.s, want, b.len) != 0))) {
			if (bad++ < 3)
				printf("     jansson %s\n     ours    %s\n",
				    want ? want : "(refused)",
				    r == 0 ? b.s : "(refused)");
		}
		refused += want == NULL;
		unsorted += want != NULL && sorted != NULL &&
		    strcmp(want, sorted) != 0;
		free(want);
		free(sorted);
		jbuf_free(&b);
		json_decref(j);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(refused > 0 && refused < 20000);
	CHECK(unsorted > 100);	/* (~600) the order was the objects' own */
	deep = json_array();
	for (a = deep, k = 0; k < 200; k++) {
		json_t *in = json_array();

		json_array_append_new(a, in);
		a = in;
	}
	json_array_append_new(a, json_pack("{s:i,s:i}", "b", 1, "a", 2));
	{
		char *want = json_dumps(deep, flags);

		jbuf_init(&b);
		CHECK(want != NULL && jbuf_value_ordered(&b, deep) == 0 &&
		    strcmp(want, b.s) == 0);
		free(want);
		jbuf_free(&b);
	}
	json_decref(deep);
	loop = json_array();
	json_array_append(loop, loop);	/* (jansson refuses this append) */
	json_array_append_new(loop, json_object());
	json_object_set(json_array_get(loop, 0), "self", loop);
	jbuf_init(&b);
	CHECK(json_dumps(loop, flags) == NULL);
	CHECK_EQ_INT(jbuf_value_ordered(&b, loop), -1);
	jbuf_free(&b);
	json_object_del(json_array_get(loop, 0), "self");
	json_decref(loop);
}

/* jbuf_b64 (b64_put's table) against libsodium's encoder: every length
 * up to 300 (each padding), random bytes and every byte value, appended
 * after text already there. */
TEST(b64_as_libsodium)
{
	uint8_t in[300];
	struct jbuf b;
	size_t n, bad = 0;
	char want[B64_LEN(300) + 1];

	jbuf_init(&b);
	for (n = 0; n <= sizeof(in); n++) {
		if (n % 2)
			randombytes_buf(in, n);
		else
			for (size_t i = 0; i < n; i++)
				in[i] = (uint8_t)(255 - i);
		sodium_bin2base64(want, sizeof(want), in, n,
		    sodium_base64_VARIANT_ORIGINAL);
		jbuf_reset(&b);
		jbuf_lit(&b, "x");
		jbuf_b64(&b, in, n);
		if (b.len != 1 + strlen(want) || strcmp(b.s + 1, want) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	jbuf_free(&b);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(every_byte);
	RUN(utf8_and_refusals);
	RUN(integers_and_values);
	RUN(integers_as_printf);
	RUN(random_values_as_jansson);
	RUN(random_values_in_own_order);
	RUN(b64_as_libsodium);
	return test_summary();
}
