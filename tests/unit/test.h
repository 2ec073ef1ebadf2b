/*
 * test.h — the unit-test harness: each test-*.c is one binary; every check
 * prints "PASS name" or "FAIL name: why" on stdout, which tests/run counts.
 *
 *   TEST(name) { CHECK(cond); CHECK_EQ_INT(a, b); ... }
 *   int main(void) { RUN(name); ...; return test_summary(); }
 *
 * A test case passes when none of its checks failed; one line per case.
 */
#ifndef VMS_TEST_H
#define VMS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_cases, test_passed_cases, test_case_failed;
static const char *test_case_name;

#define TEST(name) static void test_##name(void)
#define RUN(name) do {							\
	test_case_name = #name;						\
	test_case_failed = 0;						\
	test_##name();							\
	if (test_case_failed) test_failed_cases++;			\
	else { test_passed_cases++; printf("PASS %s\n", #name); }	\
	fflush(stdout);							\
} while (0)

#define FAILF(...) do {							\
	if (!test_case_failed) printf("FAIL %s: ", test_case_name);	\
	else printf("     %s: ", test_case_name);			\
	printf(__VA_ARGS__);						\
	printf(" (%s:%d)\n", __FILE__, __LINE__);			\
	test_case_failed = 1;						\
} while (0)

#define CHECK(c) do { if (!(c)) FAILF("%s", #c); } while (0)
#define CHECK_MSG(c, ...) do { if (!(c)) FAILF(__VA_ARGS__); } while (0)
#define CHECK_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) FAILF("%s == %s: %lld != %lld", #a, #b, _a, _b);	\
} while (0)
#define CHECK_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		FAILF("%s == %s: \"%s\" != \"%s\"", #a, #b,		\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
} while (0)
#define CHECK_CONTAINS(hay, needle) do {				\
	const char *_h = (hay), *_n = (needle);				\
	if (_h == NULL || strstr(_h, _n) == NULL)			\
		FAILF("\"%s\" does not contain \"%s\"",			\
		    _h ? _h : "(null)", _n);				\
} while (0)

static inline int
test_summary(void)
{
	fprintf(stderr, "%d cases passed, %d failed\n", test_passed_cases,
	    test_failed_cases);
	return test_failed_cases ? 1 : 0;
}

#endif
