/*
 * test-determinism.c — the same deploy and calls, executed in two separate
 * processes (this binary re-executed with "child"), must produce
 * byte-identical entries and state roots even though Lua seeds its string
 * hashing from the clock and addresses, which differ per process.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <unistd.h>

#include "test.h"
#include "sbtest.h"

static const char *code =
    "local M = {}\n"
    "function M.init() System.files.mkdir('/log') end\n"
    "function M.mix(n)\n"
    "  local t = {}\n"
    "  for i = 1, n do t['k' .. i] = i; t[i * 7 % 13] = i; t[i + 0.5] = i end\n"
    "  t[true] = 1; t[false] = 0\n"
    "  local keys = {}\n"
    "  for k, v in pairs(t) do keys[#keys + 1] = tostring(k) .. '=' .. tostring(v) end\n"
    "  local k, v = next(t)\n"
    "  local firstnext = tostring(k)\n"
    "  local junk = {}\n"
    "  for i = 1, 2000 do junk[i] = {tostring(i)} end\n"
    "  junk = nil\n"
    "  collectgarbage()\n"
    "  local s = string.format('%s %s %d %.3f %q', {}, print, 42, math.pi, 'x')\n"
    "  local r = {math.random(), math.random(1, 100), System.random(), math.random(0)}\n"
    "  local sorted = {}\n"
    "  for i = 1, 50 do sorted[i] = {k = i % 5, i = i} end\n"
    "  table.sort(sorted, function(a, b) return a.k < b.k end)\n"
    "  local order = {}\n"
    "  for i = 1, 50 do order[i] = sorted[i].i end\n"
    "  local out = {keys = table.concat(keys, ','), s = s, r = r,\n"
    "    firstnext = firstnext, time = System.time(), order = order}\n"
    "  System.files.writeFile('/log/' .. System.time(), System.json.encode(out))\n"
    "  return out\n"
    "end\n"
    "return M\n";

/* Deploy and run the calls; write every entry and the root to fd. */
static int
run(int fd)
{
	struct engine *e;
	char *entry, *r, hex[65];
	size_t len;
	merkle_hash root;
	int i;

	e = sbt_deploy_lim(code, NULL, "unix:root", &entry, &len);
	if (e == NULL)
		return -1;
	if (write_all(fd, entry, len) == -1 || write_all(fd, "\n", 1) == -1)
		return -1;
	free(entry);
	for (i = 0; i < 5; i++) {
		char args[32];

		snprintf(args, sizeof(args), "[%d]", 10 + i * 37);
		entry = NULL;
		r = sbt_call_as(e, "unix:alice", "mix", args, &entry, &len);
		free(r);
		if (entry == NULL)
			return -1;
		if (write_all(fd, entry, len) == -1 ||
		    write_all(fd, "\n", 1) == -1)
			return -1;
		free(entry);
	}
	engine_state_root(e, root);
	hex_encode(root, 32, hex);
	if (write_all(fd, hex, 64) == -1)
		return -1;
	engine_free(e);
	return 0;
}

static char *
run_child(const char *self)
{
	int p[2], status;
	pid_t pid;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	if (pipe(p) == -1)
		return NULL;
	if ((pid = fork()) == -1)
		return NULL;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(self, self, "child", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap * 2 + 8192;
			buf = xrealloc(buf, cap);
		}
		n = read(p[0], buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static char *self_path;

TEST(two_processes_identical)
{
	char *a = run_child(self_path), *b = run_child(self_path);

	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		CHECK(strlen(a) > 1000);
		CHECK_MSG(strcmp(a, b) == 0, "outputs differ:\n%s\n---\n%s", a,
		    b);
		/* the contract really saw the determinised values */
		CHECK_CONTAINS(a, "table function 42 3.142");
		CHECK_CONTAINS(a, "\"firstnext\":\"0\"");
	}
	free(a);
	free(b);
}

TEST(in_process_matches_child)
{
	char *a = run_child(self_path), *b = NULL;
	char path[] = "/tmp/vms-det-XXXXXX";
	uint8_t *buf;
	size_t len;
	char err[VMS_ERRLEN];
	int fd = mkstemp(path);

	CHECK(fd != -1 && a != NULL);
	if (fd == -1 || a == NULL) {
		free(a);
		return;
	}
	CHECK(run(fd) == 0);
	close(fd);
	if (read_file(path, 1 << 24, &buf, &len, err, sizeof(err)) == 0) {
		b = xstrndup((char *)buf, len);
		free(buf);
	}
	unlink(path);
	CHECK(b != NULL && strcmp(a, b) == 0);
	free(a);
	free(b);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return run(1) == 0 ? 0 : 1;
	self_path = argv[0];
	if (access("/proc/self/exe", X_OK) == 0)
		self_path = "/proc/self/exe";
	RUN(two_processes_identical);
	RUN(in_process_matches_child);
	return test_summary();
}
