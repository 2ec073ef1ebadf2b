/*
 * test-canon.c — the piecewise canonical writer (libvms/canon.c, struct
 * jbuf) writes what json_canonical() writes: every string escape jansson
 * makes (all control characters, quotes, backslashes, slashes, any UTF-8),
 * refusals of what is not UTF-8, integers at the limits, whole values.
 */
#include <sodium.h>

#include "test.h"
#include "canon.h"
#include "util.h"

/* jbuf_str(s) against json_canonical(json_stringn(s)); 1 if both agree. */
static int
same_string(const char *s, size_t n)
{
	struct jbuf b;
	json_t *j = json_stringn(s, n);
	char *want = j ? json_canonical(j, NULL) : NULL;
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
		want = json_canonical(j, NULL);
		CHECK_EQ_STR(b.s, want);
		free(want);
		json_decref(j);
	}
	for (i = 0; values[i] != NULL; i++) {
		jbuf_reset(&b);
		j = json_loads(values[i], JSON_DECODE_ANY, &err);
		CHECK(j != NULL && jbuf_value(&b, j) == 0);
		want = json_canonical(j, NULL);
		CHECK_EQ_STR(b.s, want);
		free(want);
		json_decref(j);
	}
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
	return test_summary();
}
