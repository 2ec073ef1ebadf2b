/*
 * test-jsonmem.c — libvms/jsonmem.c, jansson's allocator in vmsd and the
 * workers: the live count goes back to where it was when a decoded request
 * is freed, freed blocks are reused (and hold what they were given), at
 * most JSONMEM_KEEP are kept per class, trim gives them back, another
 * thread's blocks bypass the lists, under AddressSanitizer a kept block
 * is poisoned until it is reused, and LeakSanitizer sees kept blocks as
 * reachable.
 */
#include <pthread.h>

#include <jansson.h>

#include "test.h"
#include "fastjson.h"
#include "jsonmem.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"call\","
    "\"params\":{\"contract\":\"guestlist\",\"method\":\"RSVP\",\"user\":"
    "\"bench-1-2\",\"args\":[\"bob\",false,\"Sorry, can't make it\"]}}";

static json_t *
decode(void)
{
	json_error_t e;

	return fastjson_loadb(req, sizeof(req) - 1, JSON_REJECT_DUPLICATES, &e);
}

TEST(live_count_returns)
{
	size_t before = jsonmem_live(), during, kept;
	json_t *m = decode();

	CHECK(m != NULL);
	during = jsonmem_live();
	CHECK_MSG(during > before + 400, "a decoded request counts %zu bytes",
	    during - before);
	json_decref(m);
	CHECK_EQ_INT(jsonmem_live(), before);
	kept = jsonmem_kept();
	CHECK(kept > 20);
	/* the same request again takes its blocks from the lists (with
	 * glibc's malloc all of them; AddressSanitizer's sizes differ) */
	m = decode();
	CHECK(jsonmem_live() >= during);
	CHECK(jsonmem_kept() < kept);
#if !defined(__SANITIZE_ADDRESS__)
	CHECK_EQ_INT(jsonmem_live(), during);
	CHECK_EQ_INT(jsonmem_kept(), 0);
#endif
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(m,
	    "params"), "user")), "bench-1-2");
	json_decref(m);
	CHECK_EQ_INT(jsonmem_live(), before);
	CHECK(jsonmem_kept() >= kept);
}

TEST(every_size_holds_its_bytes)
{
	json_t *v[600];
	char buf[600];
	size_t i, j, before = jsonmem_live();
	int bad = 0;

	/* twice: fresh blocks, then blocks from the lists */
	for (j = 0; j < 2; j++) {
		for (i = 0; i < 600; i++) {
			memset(buf, 'a' + (int)(i % 26), i);
			v[i] = json_stringn(buf, i);
		}
		for (i = 0; i < 600; i++) {
			const char *s = json_string_value(v[i]);

			if (s == NULL || json_string_length(v[i]) != i ||
			    (i > 0 && (s[0] != 'a' + (int)(i % 26) ||
			    s[i - 1] != s[0])) || s[i] != '\0')
				bad++;
		}
		CHECK(jsonmem_live() > before + 600 * 599 / 2);
		for (i = 0; i < 600; i++)
			json_decref(v[i]);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(jsonmem_live(), before);
}

TEST(lists_are_bounded)
{
	enum { N = 3 * JSONMEM_KEEP };
	json_t **v = calloc(N, sizeof(*v));
	size_t i;

	CHECK(v != NULL);
	for (i = 0; i < N; i++)
		v[i] = json_integer((json_int_t)i);
	for (i = 0; i < N; i++)
		json_decref(v[i]);
	free(v);
	CHECK(jsonmem_kept() <= (size_t)JSONMEM_KEEP * JSONMEM_CLASSES);
	jsonmem_trim();
	CHECK_EQ_INT(jsonmem_kept(), 0);
}

static void *
other_thread(void *arg)
{
	json_t *mine = json_pack("{s:[i,s]}", "k", 1, "two");

	json_decref(mine);
	json_decref(arg);	/* made by the owner, freed here */
	return NULL;
}

TEST(other_threads_bypass)
{
	pthread_t t;
	json_t *given = json_string("from the owner");
	size_t live, kept;

	jsonmem_trim();
	live = jsonmem_live();
	kept = jsonmem_kept();
	CHECK_EQ_INT(pthread_create(&t, NULL, other_thread, given), 0);
	CHECK_EQ_INT(pthread_join(t, NULL), 0);
	/* nothing went on the owner's lists from there */
	CHECK_EQ_INT(jsonmem_kept(), kept);
	CHECK(jsonmem_live() <= live);
}

TEST(kept_blocks_are_poisoned)
{
#if defined(__SANITIZE_ADDRESS__)
	/* 23 characters and a NUL: a block of 24 bytes, which both mallocs
	 * size alike, as the 32 of the value's struct */
	json_t *a = json_string("poison me, then reuse!!");
	const char *s = json_string_value(a);
	json_t *b;

	CHECK(!__asan_address_is_poisoned(s + 8));
	json_decref(a);
	CHECK(__asan_address_is_poisoned(s + 8));
	CHECK(__asan_address_is_poisoned(s + 23));
	b = json_string("another 23 characters..");	/* reused */
	CHECK(json_string_value(b) == s);
	CHECK(!__asan_address_is_poisoned(s + 8));
	CHECK_EQ_STR(json_string_value(b), "another 23 characters..");
	json_decref(b);
#else
	printf("     not built with AddressSanitizer: skipped\n");
#endif
}

/* Left on the lists at exit: LeakSanitizer (tests/run sets detect_leaks)
 * must find them through the lists, or this binary fails at exit. */
TEST(kept_blocks_are_reachable)
{
	json_t *v[100];
	size_t i;

	for (i = 0; i < 100; i++)
		v[i] = json_string("twenty-three characters");
	for (i = 0; i < 100; i++)
		json_decref(v[i]);
	CHECK(jsonmem_kept() >= 100);
}

int
main(void)
{
	jsonmem_install();
	RUN(live_count_returns);
	RUN(every_size_holds_its_bytes);
	RUN(lists_are_bounded);
	RUN(other_threads_bypass);
	RUN(kept_blocks_are_poisoned);
	RUN(kept_blocks_are_reachable);
	return test_summary();
}
