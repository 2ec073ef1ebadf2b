/*
 * test-config.c — vmsd.conf parsing (daemon/config.c, from
 * build/libdaemon.a) for log_level, call_timeout, the clients' limits and
 * the default origin prefix,
 * and the level filter of libvms/log.c, checked on what it writes to
 * stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

#include "test.h"

static char dir[64], path[128];

/* Load "KEY = VALUE" (one line) over the defaults. */
static int
load_line(struct vmsd_config *c, const char *line, char *err, size_t errlen)
{
	struct vmsd_flags fl;
	FILE *f;

	if ((f = fopen(path, "w")) == NULL || fprintf(f, "%s\n", line) < 0 ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	memset(&fl, 0, sizeof(fl));
	fl.config = path;
	fl.config_explicit = 1;
	return config_load(c, &fl, err, errlen);
}

TEST(log_level_names)
{
	static const struct { const char *v; int pri; } ok[] = {
		{ "err", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	struct vmsd_config c;
	char err[VMS_ERRLEN], line[64];
	size_t i;

	config_defaults(&c);
	CHECK_EQ_INT(c.log_level, LOG_INFO);
	config_free(&c);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "log_level = %s", ok[i].v);
		if (load_line(&c, line, err, sizeof(err)) != 0) {
			FAILF("%s: %s", line, err);
			continue;
		}
		CHECK_EQ_INT(c.log_level, ok[i].pri);
		CHECK_EQ_STR(log_level_name(c.log_level), ok[i].v);
		config_free(&c);
	}
}

TEST(log_level_bad)
{
	const char *bad[] = { "warn", "error", "INFO", "", "7", "crit" };
	struct vmsd_config c;
	char err[VMS_ERRLEN], line[64], want[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "log_level = %s", bad[i]);
		CHECK_EQ_INT(load_line(&c, line, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s:1: bad value '%s' for log_level "
		    "(err, warning, notice, info or debug)", path, bad[i]);
		CHECK_EQ_STR(err, want);
	}
}

TEST(verbose_flag_wins)
{
	struct vmsd_config c;
	struct vmsd_flags fl;
	char err[VMS_ERRLEN];

	CHECK_EQ_INT(load_line(&c, "log_level = err", err, sizeof(err)), 0);
	config_free(&c);
	memset(&fl, 0, sizeof(fl));
	fl.config = path;
	fl.verbose = 1;
	CHECK_EQ_INT(config_load(&c, &fl, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.log_level, LOG_DEBUG);
	config_free(&c);
}

TEST(call_timeout)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN], want[256];

	config_defaults(&c);
	CHECK_EQ_INT(c.call_timeout, 10);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "call_timeout = 0", err, sizeof(err)), 0);
	CHECK_EQ_INT(c.call_timeout, 0);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "call_timeout = 86400", err, sizeof(err)),
	    0);
	CHECK_EQ_INT(c.call_timeout, 86400);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "call_timeout = 86401", err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s:1: bad value '86401' for "
	    "call_timeout (a whole number from 0 to 86400)", path);
	CHECK_EQ_STR(err, want);
	CHECK_EQ_INT(load_line(&c, "call_timeout = -1", err, sizeof(err)), -1);
	CHECK_EQ_INT(load_line(&c, "call_timeout = 5s", err, sizeof(err)), -1);
}

/* Each "KEY = bad[i]" line is refused with "bad value ... (WHY)". */
static void
refused(const char *key, const char *const *bad, size_t n, const char *why)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN], line[64], want[256];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s = %s", key, bad[i]);
		CHECK_EQ_INT(load_line(&c, line, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s:1: bad value '%s' for %s (%s)",
		    path, bad[i], key, why);
		CHECK_EQ_STR(err, want);
	}
}

/*
 * A key of the worker's whose value is an unsigned field of the
 * configuration at off: DEF by default, each of the nok values in ok
 * loads and is kept, each of the nbad values in bad is refused with why.
 */
static void
worker_key(const char *key, size_t off, unsigned def, const unsigned *ok,
    size_t nok, const char *const *bad, size_t nbad, const char *why)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN], line[64];
	size_t i;

	config_defaults(&c);
	CHECK_EQ_INT(*(unsigned *)((char *)&c + off), def);
	config_free(&c);
	for (i = 0; i < nok; i++) {
		snprintf(line, sizeof(line), "%s = %u", key, ok[i]);
		CHECK_EQ_INT(load_line(&c, line, err, sizeof(err)), 0);
		CHECK_EQ_INT(*(unsigned *)((char *)&c + off), ok[i]);
		config_free(&c);
	}
	refused(key, bad, nbad, why);
}
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

TEST(commits_in_flight)
{
	const char *bad[] = { "0", "3", "two", "" };
	const unsigned ok[] = { 1, 2 };

	worker_key("commits_in_flight", offsetof(struct vmsd_config,
	    commits_in_flight), 2, ok, NELEM(ok), bad, NELEM(bad),
	    "a whole number from 1 to 2");
}

/* commit_beside_after: µs, 0 to a second; 200 by default. */
TEST(commit_beside_after)
{
	const char *bad[] = { "-1", "1000001", "200us", "" };
	const unsigned ok[] = { 0, 1000000 };

	worker_key("commit_beside_after", offsetof(struct vmsd_config,
	    commit_beside_after), 200, ok, NELEM(ok), bad, NELEM(bad),
	    "a whole number from 0 to 1000000");
}

/* commit_inline_max: calls, 1 to 65536; 8 by default. */
TEST(commit_inline_max)
{
	const char *bad[] = { "0", "-1", "65537", "8 calls", "" };
	const unsigned ok[] = { 1, 65536 };

	worker_key("commit_inline_max", offsetof(struct vmsd_config,
	    commit_inline_max), 8, ok, NELEM(ok), bad, NELEM(bad),
	    "a whole number from 1 to 65536");
}

/* busy_poll: µs, 0 (never) to 10 ms; 100 by default. */
TEST(busy_poll)
{
	const char *bad[] = { "-1", "10001", "100us", "" };
	const unsigned ok[] = { 0, 10000 };

	worker_key("busy_poll", offsetof(struct vmsd_config, busy_poll),
	    100, ok, NELEM(ok), bad, NELEM(bad),
	    "a whole number from 0 to 10000");
}

/* The keys of clients and their limits: defaults, ranges, sizes. */
TEST(client_limits)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN];

	config_defaults(&c);
	CHECK_EQ_INT(c.anonymous_calls, 0);
	CHECK_EQ_INT(c.max_batch, 100);
	CHECK_EQ_INT(c.max_connections, 1024);
	CHECK(c.memory_budget == 64u << 20);
	CHECK(c.memory_budget < 256u << 20);
	CHECK(c.max_header_size == 16u << 10);
	CHECK_EQ_INT(c.client_request_timeout, 10);
	CHECK_EQ_STR(c.cors_origins, "");
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "memory_budget = 32M", err, sizeof(err)),
	    0);
	CHECK(c.memory_budget == 32u << 20);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "memory_budget = 100", err, sizeof(err)),
	    -1);
	CHECK_CONTAINS(err, "bad value '100' for memory_budget (a size from");
	CHECK_EQ_INT(load_line(&c, "max_batch = 0", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "max_batch (a whole number from 1 to");
	CHECK_EQ_INT(load_line(&c, "call_rate_per_address = 0", err,
	    sizeof(err)), 0);
	CHECK_EQ_INT(c.call_rate_per_address, 0);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "anonymous_calls = yes", err, sizeof(err)),
	    0);
	CHECK_EQ_INT(c.anonymous_calls, 1);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "anonymous_calls = maybe", err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(load_line(&c, "cors_origins = https://a.example "
	    "http://b.example:8080", err, sizeof(err)), 0);
	CHECK_EQ_STR(c.cors_origins, "https://a.example http://b.example:8080");
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "cors_origins = *", err, sizeof(err)), 0);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "cors_origins = https://a.example/page",
	    err, sizeof(err)), -1);
	CHECK_EQ_INT(load_line(&c, "cors_origins = a.example", err,
	    sizeof(err)), -1);
	CHECK_EQ_INT(load_line(&c, "trusted_proxies = 127.0.0.1 ::1", err,
	    sizeof(err)), 0);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "trusted_proxies = proxy.example", err,
	    sizeof(err)), -1);
	CHECK_CONTAINS(err, "trusted_proxies (IP addresses");
}

/* The default origin prefix is the fully qualified host name, flagged
 * when it has no dot; an explicit one is never flagged. */
TEST(origin_prefix_default)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN];
	const char *p;

	config_defaults(&c);
	p = c.origin_prefix;
	CHECK(strlen(p) > 5 && strcmp(p + strlen(p) - 5, "/vmsd") == 0);
	CHECK_EQ_INT(c.origin_unqualified, memchr(p, '.', strlen(p) - 5) ==
	    NULL);
	config_free(&c);
	CHECK_EQ_INT(load_line(&c, "origin_prefix = vms.example.org", err,
	    sizeof(err)), 0);
	CHECK_EQ_STR(c.origin_prefix, "vms.example.org");
	CHECK_EQ_INT(c.origin_unqualified, 0);
	config_free(&c);
}

/* Log one message at each level with the filter at LEVEL; return what
 * reached stderr (malloc'd). */
static char *
log_all(int level)
{
	char out[160];
	uint8_t *buf;
	size_t len;
	int fd, saved;

	snprintf(out, sizeof(out), "%s/stderr", dir);
	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		perror("redirect stderr");
		exit(1);
	}
	close(fd);
	log_setlevel(level);
	log_warnx("m-warning");
	errno = ENOENT;
	log_warn("m-warn");
	log_notice("m-notice");
	log_info("m-info");
	log_debug("m-debug");
	fflush(stderr);
	if (dup2(saved, STDERR_FILENO) == -1) {
		perror("restore stderr");
		exit(1);
	}
	close(saved);
	if (read_file(out, 1 << 20, &buf, &len, NULL, 0) != 0) {
		perror(out);
		exit(1);
	}
	unlink(out);
	return (char *)buf;
}

TEST(log_filter)
{
	char *s;

	log_init("test", LOG_MODE_PLAIN, 0);
	s = log_all(LOG_ERR);
	CHECK_EQ_STR(s, "");
	free(s);
	s = log_all(LOG_WARNING);
	CHECK_EQ_STR(s, "test: m-warning\ntest: m-warn: No such file or "
	    "directory\n");
	free(s);
	s = log_all(LOG_NOTICE);
	CHECK(strstr(s, "m-notice") != NULL && strstr(s, "m-info") == NULL);
	free(s);
	s = log_all(LOG_INFO);
	CHECK(strstr(s, "m-info") != NULL && strstr(s, "m-debug") == NULL);
	CHECK_EQ_INT(log_getverbose(), 0);
	free(s);
	s = log_all(LOG_DEBUG);
	CHECK_CONTAINS(s, "test: m-warning\n");
	CHECK_CONTAINS(s, "test: m-debug\n");
	CHECK_EQ_INT(log_getverbose(), 1);
	free(s);
	log_setverbose(0);
	CHECK_EQ_INT(log_getlevel(), LOG_INFO);
}

TEST(log_level_from_environment)
{
	CHECK(setenv(LOG_LEVEL_ENV, "warning", 1) == 0);
	log_init("test", LOG_MODE_PLAIN, 0);
	CHECK_EQ_INT(log_getlevel(), LOG_WARNING);
	log_init("test", LOG_MODE_PLAIN, 1);	/* -v wins */
	CHECK_EQ_INT(log_getlevel(), LOG_DEBUG);
	CHECK(setenv(LOG_LEVEL_ENV, "bogus", 1) == 0);
	log_init("test", LOG_MODE_PLAIN, 0);
	CHECK_EQ_INT(log_getlevel(), LOG_INFO);
	CHECK(unsetenv(LOG_LEVEL_ENV) == 0);
	log_setlevel(LOG_INFO);
}

TEST(oracles)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "oracle -x = /bin/true", "bad oracle name '-x'" },
		{ "oracle a b = /bin/true", "bad oracle name 'a b'" },
		{ "oracle p = bin/true", "oracle p: the executable must be an "
		    "absolute path" },
		{ "oracle p = /bin/true\noracle p = /bin/false",
		    "oracle p given twice" },
		{ "oracle_key p = AAAA\noracle p = /bin/true",
		    "bad value for oracle_key p" },
		{ "oracle_key p = 9Ecbz_ZP9D4zJ0p3rGsTMZ1mTUpLQxyRGV4oUYe5JnQ",
		    "oracle_key p, but no oracle p = PATH" },
		{ "oracle_timeout_ms = 5", "bad value '5' for oracle_timeout_ms" },
		{ "oracle_max_output = 2M", "bad value '2M' for "
		    "oracle_max_output" },
	};
	struct vmsd_config c;
	char err[VMS_ERRLEN];
	size_t i;

	CHECK_EQ_INT(load_line(&c, "oracle price = /bin/true\n"
	    "oracle_key price = 9Ecbz_ZP9D4zJ0p3rGsTMZ1mTUpLQxyRGV4oUYe5JnQ\n"
	    "oracle\tfeed-2 = /bin/false\n"
	    "oracle_timeout_ms = 250\noracle_max_output = 1K", err,
	    sizeof(err)), 0);
	CHECK_EQ_INT(c.noracles, 2);
	if (c.noracles == 2) {
		CHECK_EQ_STR(c.oracles[0].name, "price");
		CHECK_EQ_STR(c.oracles[0].path, "/bin/true");
		CHECK(c.oracles[0].keyed && c.oracles[0].key[0] == 0xf4);
		CHECK_EQ_STR(c.oracles[1].name, "feed-2");
		CHECK(!c.oracles[1].keyed);
	}
	CHECK_EQ_INT(c.oracle_timeout, 250);
	CHECK_EQ_INT(c.oracle_max_output, 1024);
	config_free(&c);
	config_defaults(&c);
	CHECK_EQ_INT(c.oracle_timeout, 5000);
	CHECK_EQ_INT(c.oracle_max_output, 65536);
	CHECK_EQ_INT(c.noracles, 0);
	config_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(load_line(&c, bad[i].text, err, sizeof(err)) == -1,
		    "accepted: %s", bad[i].text);
		CHECK_CONTAINS(err, bad[i].why);
	}
}

/* config_print's text of c (malloc'd). */
static char *
printed(const struct vmsd_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		perror("open_memstream");
		exit(1);
	}
	CHECK_EQ_INT(config_print(c, f), 0);
	if (fclose(f) != 0) {
		perror("fclose");
		exit(1);
	}
	return buf;
}

/*
 * vmsd -T: every setting printed, read back, gives the same configuration
 * (each kind of key set away from its default), and the defaults print
 * every key of vmsd.conf(5) but the oracles'.
 */
TEST(print_round_trip)
{
	static const char *const set[] = {
		"state_dir = \"/srv/vms state\"", "socket_mode = 0600",
		"admin_group = vms", "listen = [::1]:8080",
		"max_message = 2M", "snapshot_interval = 12345",
		"commits_in_flight = 1", "handoff = no", "debug_auth = yes",
		"origin_prefix = vms.example.org", "log_level = warning",
		"cors_origins = https://a.example http://b.example:8080",
		"trusted_proxies = 127.0.0.1 ::1", "memory_budget = 3G",
		"oracle_max_output = 1K", "limit.children = 7",
		"limit.memory = 32M", "oracle price = /bin/true",
		"oracle_key price = 9Ecbz_ZP9D4zJ0p3rGsTMZ1mTUpLQxyRGV4oUYe5JnQ",
		"oracle feed = /bin/false",
	};
	struct vmsd_config c, d;
	char err[VMS_ERRLEN], *text, *a, *b;
	size_t i, len = 0;

	for (i = 0; i < NELEM(set); i++)
		len += strlen(set[i]) + 1;
	text = xmalloc(len + 1);
	text[0] = '\0';
	for (i = 0; i < NELEM(set); i++) {
		strcat(text, set[i]);
		strcat(text, "\n");
	}
	CHECK_EQ_INT(load_line(&c, text, err, sizeof(err)), 0);
	free(text);
	a = printed(&c);
	config_defaults(&d);
	CHECK_EQ_INT(config_parse_text(&d, "printed", a, strlen(a), err,
	    sizeof(err)), 0);
	b = printed(&d);
	CHECK_EQ_STR(b, a);
	CHECK_EQ_STR(d.state_dir, "/srv/vms state");
	CHECK_EQ_INT(d.socket_mode, 0600);
	CHECK(d.max_message == 2u << 20);
	CHECK(d.memory_budget == 3ULL << 30);
	CHECK_EQ_INT(d.handoff, 0);
	CHECK_EQ_INT(d.log_level, LOG_WARNING);
	CHECK_EQ_STR(d.origin_prefix, "vms.example.org");
	CHECK(d.limits.children == 7 && d.limits.memory == 32u << 20);
	CHECK_EQ_INT(d.noracles, 2);
	if (d.noracles == 2)
		CHECK(d.oracles[0].keyed && d.oracles[0].key[0] == 0xf4 &&
		    !d.oracles[1].keyed);
	CHECK_CONTAINS(a, "\nsocket_mode = 0600\n");
	CHECK_CONTAINS(a, "\nhandoff = no\n");
	CHECK_CONTAINS(a, "\nlog_level = warning\n");
	CHECK_CONTAINS(a, "\noracle_key price = "
	    "9Ecbz_ZP9D4zJ0p3rGsTMZ1mTUpLQxyRGV4oUYe5JnQ\n");
	free(a);
	free(b);
	config_free(&c);
	config_free(&d);

	config_defaults(&c);
	a = printed(&c);
	CHECK_CONTAINS(a, "\nqueue_limit = 1000\n");
	CHECK_CONTAINS(a, "\ncommit_inline_max = 8\n");
	CHECK_CONTAINS(a, "\nlimit.children = 0\n");
	CHECK_CONTAINS(a, "\ncors_origins = \"\"\n");
	free(a);
	config_free(&c);
}

/* Every kind of key says what a good value is, with its range. */
TEST(bad_values_say_what_is_good)
{
	static const struct { const char *line, *why; } bad[] = {
		{ "max_message = 1", "bad value '1' for max_message (a size "
		    "from 1024 to 1073741824 bytes, K/M/G suffixes)" },
		{ "socket_mode = 0999", "bad value '0999' for socket_mode (an "
		    "octal mode, e.g. 0660)" },
		{ "socket_mode = +0660", "bad value '+0660' for socket_mode" },
		{ "state_dir = \"\"", "bad value '' for state_dir" },
		{ "handoff = maybe", "bad value 'maybe' for handoff (yes or "
		    "no)" },
		{ "snapshot_interval = 0", "bad value '0' for "
		    "snapshot_interval (a whole number from 1 to " },
		{ "origin_prefix = a b", "bad value 'a b' for origin_prefix "
		    "(no spaces or '+')" },
	};
	struct vmsd_config c;
	char err[VMS_ERRLEN];
	size_t i;

	for (i = 0; i < NELEM(bad); i++) {
		CHECK_MSG(load_line(&c, bad[i].line, err, sizeof(err)) == -1,
		    "accepted: %s", bad[i].line);
		CHECK_CONTAINS(err, bad[i].why);
	}
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vms-test-config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vmsd.conf", dir);
	RUN(log_level_names);
	RUN(log_level_bad);
	RUN(verbose_flag_wins);
	RUN(call_timeout);
	RUN(commits_in_flight);
	RUN(commit_beside_after);
	RUN(commit_inline_max);
	RUN(busy_poll);
	RUN(client_limits);
	RUN(origin_prefix_default);
	RUN(log_filter);
	RUN(log_level_from_environment);
	RUN(oracles);
	RUN(print_round_trip);
	RUN(bad_values_say_what_is_good);
	unlink(path);
	rmdir(dir);
	return test_summary();
}
