/*
 * rtest.h — what the red-team unit tests (test-sandbox-escapes.c,
 * test-sandbox-bounds.c, test-sandbox-replay.c, test-runtime-metering.c)
 * share: deploy a hostile M.go and check its outcome, that the contract
 * still answers and that the entries replay (rt_attack, ATTACK), and run
 * one case in separate processes ("--child NAME", re-executing the test
 * binary) to compare their outputs (same_in_processes).
 */
#ifndef VMS_RTEST_H
#define VMS_RTEST_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "sbtest.h"

extern char **environ;

static inline long long
rt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long rt_last_ms;	/* duration of the last attacked call */

static inline char *
rt_code(const char *body)
{
	char *code;

	xasprintf(&code, "local M = {}\n"
	    "function M.ok() return 'fine' end\n"
	    "function M.go(...)\n%s\nend\n"
	    "return M\n", body);
	return code;
}

static inline int
rt_limits(struct vms_limits *lim, const char *spec)
{
	char buf[256], *p, *kv, err[VMS_ERRLEN];

	limits_default(lim);
	if (spec == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (p = buf; (kv = strsep(&p, ",")) != NULL; )
		if (limits_set(lim, kv, err, sizeof(err)) == -1) {
			printf("     bad limit %s: %s\n", kv, err);
			return -1;
		}
	return 0;
}

/* Replay entries[0..n) in a fresh engine; 0 if all are reproduced. */
static inline int
rt_replay(char **ent, size_t *len, size_t n, char *err, size_t errlen)
{
	struct engine *r = NULL;
	size_t i;

	if (engine_open((uint8_t *)ent[0], len[0], &r, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (engine_replay(r, (uint8_t *)ent[i], len[i], err,
		    errlen) == -1) {
			engine_free(r);
			return -1;
		}
	engine_free(r);
	return 0;
}

/* Set while a case may be refused at deploy for its <close> variables. */
static int rt_close_refusal_ok;

/*
 * Deploy M.go = body under limits, call go(args), compare the outcome
 * ("json" or "ERR: msg") with want (exact, or a prefix when want ends with
 * '*'), require that M.ok still answers "fine" and that the three entries
 * replay. Returns the outcome (malloc'd) for further checks.
 */
static inline char *
rt_attack(const char *body, const char *limits, const char *args,
    const char *want)
{
	struct vms_caller root = { "unix:root", "debug" };
	struct vms_limits lim;
	struct engine *e = NULL;
	char *code, *out, *r, *ent[3] = { NULL, NULL, NULL };
	char err[VMS_ERRLEN];
	size_t len[3] = { 0, 0, 0 }, wl;
	long long t0;
	int i;

	if (rt_limits(&lim, limits) == -1) {
		FAILF("limits");
		return NULL;
	}
	code = rt_code(body);
	if (engine_deploy("test", code, strlen(code), &lim, &root, 1000, &e,
	    &ent[0], &len[0], err, sizeof(err)) != ENGINE_OK) {
		free(code);
		if (rt_close_refusal_ok && strstr(err, "to-be-closed") != NULL)
			return xstrdup("CLOSE REFUSED");
		FAILF("deploy refused: %s", err);
		return NULL;
	}
	free(code);
	t0 = rt_now_ms();
	out = sbt_call_as(e, "unix:mallory", "go", args ? args : "[]",
	    &ent[1], &len[1]);
	rt_last_ms = rt_now_ms() - t0;
	if (want != NULL) {
		wl = strlen(want);
		if (wl > 0 && want[wl - 1] == '*') {
			if (strncmp(out, want, wl - 1) != 0)
				FAILF("outcome \"%.300s\" does not start with "
				    "\"%.*s\"", out, (int)wl - 1, want);
		} else
			CHECK_EQ_STR(out, want);
	}
	r = sbt_call_as(e, "unix:alice", "ok", "[]", &ent[2], &len[2]);
	CHECK_EQ_STR(r, "\"fine\"");
	free(r);
	if (ent[1] != NULL && ent[2] != NULL && rt_replay(ent, len, 3, err,
	    sizeof(err)) == -1)
		FAILF("replay: %s", err);
	for (i = 0; i < 3; i++)
		free(ent[i]);
	engine_free(e);
	return out;
}

#define ATTACK(body, limits, want) do {					\
	free(rt_attack((body), (limits), NULL, (want)));		\
} while (0)

static const char rt_code_static[] = "local M = {}\n"
    "function M.ok(...) return 'fine' end\n"
    "return M\n";

struct child_case {
	const char	*name;
	const char	*limits;
	const char	*body;
};

/* This process's peak RSS (VmHWM, reset at exec unlike ru_maxrss). */
static inline long
rt_maxrss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* In the child: deploy, call go, print the outcome and the call entry. */
static inline int
rt_child_main(const struct child_case *cases, const char *name)
{
	const struct child_case *c;
	struct vms_limits lim;
	struct engine *e;
	char *code, *out, *ent = NULL;
	size_t len = 0;
	long rss;

	test_case_name = name;
	for (c = cases; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			break;
	if (c->name == NULL || rt_limits(&lim, c->limits) == -1)
		return 2;
	code = rt_code(c->body);
	e = sbt_deploy_lim(code, &lim, "unix:root", NULL, NULL);
	free(code);
	if (e == NULL)
		return fflush(stdout) == 0 ? 0 : 4;	/* printed why */
	rss = rt_maxrss_kb();
	out = sbt_call_as(e, "unix:mallory", "go", "[]", &ent, &len);
	printf("%s\n", out);
	if (strncmp(name, "rss_", 4) == 0)
		printf("RSS+%ld\n", rt_maxrss_kb() - rss);
	if (ent != NULL)
		fwrite(ent, 1, len, stdout);
	free(out);
	free(ent);
	engine_free(e);
	return fflush(stdout) == 0 ? 0 : 4;
}

/*
 * Run "--child name" in a new process; collect its stdout into *out
 * (malloc'd). Returns 0 when it exited 0, 1 when it was killed at the
 * deadline, -1 on any other failure (err says why).
 */
static inline int
run_child(const char *name, int timeout_ms, char **out, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "redteam-child", "--child", (char *)name, NULL };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	long long deadline = rt_now_ms() + timeout_ms;
	int fds[2], st, killed = 0, r;
	pid_t pid;
	ssize_t n;

	*out = NULL;
	if (pipe(fds) == -1) {
		seterr(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		seterr(err, errlen, "posix_spawn: %s", strerror(r));
		return -1;
	}
	for (;;) {
		struct pollfd p = { fds[0], POLLIN, 0 };
		long long left = deadline - rt_now_ms();

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap + 1);
		}
		if ((n = read(fds[0], buf + len, 4096)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (buf == NULL)
		buf = xmalloc(1);
	buf[len] = '\0';
	*out = buf;
	if (killed) {
		seterr(err, errlen, "still running after %d ms (killed)",
		    timeout_ms);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		seterr(err, errlen, "child %s: status 0x%x", name, st);
		return -1;
	}
	return 0;
}

/* Same case in n processes: identical output (outcome + entry bytes). */
static inline void
same_in_processes(const char *name, int n)
{
	char *first = NULL, *o, err[VMS_ERRLEN];
	int i;

	for (i = 0; i < n; i++) {
		if (run_child(name, 8000, &o, err, sizeof(err)) != 0) {
			FAILF("%s: %s", name, err);
			free(o);
			break;
		}
		if (first == NULL)
			first = o;
		else {
			if (strcmp(first, o) != 0)
				FAILF("%s differs between processes:\n"
				    "       run 1: %.200s\n       run %d: %.200s",
				    name, first, i + 1, o);
			free(o);
		}
	}
	free(first);
}

#endif
