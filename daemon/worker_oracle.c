/*
 * worker_oracle.c — running an oracle for the engine (engine_set_oracle):
 * the executable the administrator configured (vmsd.conf(5), "oracle NAME
 * = PATH"), outside the sandbox, as a child of this worker with
 *   - a clean environment (PATH, LANG and VMSD_ORACLE=NAME only), "/" as
 *     its directory, standard error to /dev/null, no other descriptor
 *     (this worker's ledger, key and sockets are closed), default signal
 *     dispositions, no new privileges, its own session and process group;
 *   - rlimits: CPU seconds just above the time limit, 512 MiB of address
 *     space, 64 descriptors, no core files, 16 MiB files;
 *   - the request line (oracle.h) on standard input, its answer read from
 *     standard output, at most oracle_max_output bytes, within
 *     oracle_timeout ms, after which its whole process group is killed.
 * What it wrote is the engine's to parse and record; what went wrong is a
 * failure the contract sees, recorded ("timed out after 5000 ms", "exited
 * with status 3", ...). Nothing an oracle does reaches the ledger but
 * through the engine.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callsig.h"
#include "log.h"
#include "oracle.h"
#include "util.h"
#include "worker.h"

#define ORACLE_AS	(512UL << 20)	/* bytes of address space */
#define ORACLE_FSIZE	(16UL << 20)	/* bytes per file it writes */
#define ORACLE_NOFILE	64

int
worker_oracle_option(struct worker *w, const char *opt, const char *val)
{
	const char *eq = strchr(val, '=');
	struct worker_oracle *o = NULL;
	char name[ORACLE_NAME_MAX + 1];
	size_t i, n;

	if (eq == NULL || (n = (size_t)(eq - val)) == 0 ||
	    n > ORACLE_NAME_MAX)
		return -1;
	memcpy(name, val, n);
	name[n] = '\0';
	if (!oracle_valid_name(name))
		return -1;
	for (i = 0; i < w->noracles; i++)
		if (strcmp(w->oracles[i].name, name) == 0)
			o = &w->oracles[i];
	if (o == NULL) {
		w->oracles = xrealloc(w->oracles, (w->noracles + 1) *
		    sizeof(*w->oracles));
		o = &w->oracles[w->noracles++];
		memset(o, 0, sizeof(*o));
		o->name = xstrdup(name);
	}
	if (strcmp(opt, "--oracle-key") == 0) {
		if (b64url_decode_fixed(eq + 1, strlen(eq + 1), o->key,
		    32) != 0)
			return -1;
		o->keyed = 1;
		return 0;
	}
	if (eq[1] != '/')
		return -1;
	free(o->path);
	o->path = xstrdup(eq + 1);
	return 0;
}

void
worker_oracles_free(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->noracles; i++) {
		free(w->oracles[i].name);
		free(w->oracles[i].path);
	}
	free(w->oracles);
	w->oracles = NULL;
	w->noracles = 0;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
exec_oracle(const char *path, char *const argv[], char *const envp[],
    int in, int out, rlim_t cpu)
{
	struct sigaction sa;
	struct rlimit rl;
	sigset_t all;
	int fd, sig;

	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
		_exit(126);
	if ((fd = open("/dev/null", O_WRONLY)) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	/* every other descriptor: the ledger, the key, vmsd's socket */
	if (close_range(3, ~0U, 0) != 0)
		for (fd = 3; fd < 65536; fd++)
			close(fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = rl.rlim_max = cpu;
	setrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = rl.rlim_max = ORACLE_AS;
	setrlimit(RLIMIT_AS, &rl);
	rl.rlim_cur = rl.rlim_max = ORACLE_FSIZE;
	setrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = rl.rlim_max = ORACLE_NOFILE;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (chdir("/") != 0)
		_exit(126);
	execve(path, argv, envp);
	_exit(127);
}

/* Wait for the child to have exited (not reaping it) until deadline (µs,
 * monotonic). 0 exited, -1 not in time. */
static int
wait_exit(pid_t pid, uint64_t deadline)
{
	struct timespec ts = { 0, 1000000 };
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0 && si.si_pid == pid)
			return 0;
		if (mono_usec() >= deadline)
			return -1;
		nanosleep(&ts, NULL);
	}
}

int
worker_oracle_run(void *arg, const char *name, const char *req,
    size_t reqlen, uint8_t **out, size_t *outlen, uint8_t key[32],
    int *keyed, char *err, size_t errlen)
{
	struct worker *w = arg;
	const struct worker_oracle *o = NULL;
	char *argv[2], *envp[4], *envname, *buf = NULL;
	size_t i, len = 0, cap, off = 0, max = w->oracle_max_output;
	uint64_t t0, deadline;
	struct pollfd pf[2];
	int inp[2], outp[2], status = 0, rc = -1, timed_out = 0, big = 0;
	ssize_t n;
	pid_t pid;

	for (i = 0; i < w->noracles; i++)
		if (strcmp(w->oracles[i].name, name) == 0)
			o = &w->oracles[i];
	if (o == NULL || o->path == NULL) {
		seterr(err, errlen, "no such oracle on this host");
		return -1;
	}
	*keyed = o->keyed;
	memcpy(key, o->key, 32);
	w->oracle_ran = 1;
	/* acknowledge what is durable before waiting for an oracle */
	if (w->settle != NULL)
		w->settle(w);

	if (pipe2(inp, O_CLOEXEC) != 0) {
		seterr(err, errlen, "cannot run: pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(outp, O_CLOEXEC) != 0) {
		seterr(err, errlen, "cannot run: pipe: %s", strerror(errno));
		close(inp[0]);
		close(inp[1]);
		return -1;
	}
	xasprintf(&envname, "VMSD_ORACLE=%s", name);
	argv[0] = o->path;
	argv[1] = NULL;
	envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[1] = "LANG=C.UTF-8";
	envp[2] = envname;
	envp[3] = NULL;
	t0 = mono_usec();
	deadline = t0 + (uint64_t)w->oracle_timeout * 1000;
	if ((pid = fork()) == 0)
		exec_oracle(o->path, argv, envp, inp[0], outp[1],
		    (rlim_t)(w->oracle_timeout / 1000 + 1));
	free(envname);
	close(inp[0]);
	close(outp[1]);
	if (pid < 0) {
		seterr(err, errlen, "cannot run: fork: %s", strerror(errno));
		close(inp[1]);
		close(outp[0]);
		return -1;
	}
	if (fcntl(inp[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(outp[0], F_SETFL, O_NONBLOCK) != 0)
		log_warn("oracle %s: fcntl", name);

	/* the request out, the answer in, until EOF, too much or too late */
	cap = max + 1 < 4096 ? max + 1 : 4096;
	buf = xmalloc(cap + 1);
	pf[0].fd = inp[1];
	pf[0].events = POLLOUT;
	pf[1].fd = outp[0];
	pf[1].events = POLLIN;
	while (pf[1].fd >= 0) {
		uint64_t now = mono_usec();
		int ms;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		ms = (int)((deadline - now + 999) / 1000);
		if (poll(pf, 2, ms) < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "cannot run: poll: %s",
			    strerror(errno));
			goto kill;
		}
		if (pf[0].fd >= 0 && (pf[0].revents & (POLLOUT | POLLERR |
		    POLLHUP))) {
			/* the request, then its newline */
			if (off < reqlen)
				n = write(inp[1], req + off, reqlen - off);
			else
				n = write(inp[1], "\n", 1);
			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    off > reqlen) {
				/* written, or it will not read (EPIPE) */
				close(inp[1]);
				inp[1] = -1;
				pf[0].fd = -1;
			}
		}
		if (pf[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (len == cap) {
				cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
				buf = xrealloc(buf, cap + 1);
			}
			n = read(outp[0], buf + len, cap - len);
			if (n == 0) {
				close(outp[0]);
				outp[0] = -1;
				pf[1].fd = -1;
			} else if (n > 0) {
				len += (size_t)n;
				if (len > max) {
					big = 1;
					break;
				}
			} else if (errno != EAGAIN && errno != EINTR) {
				seterr(err, errlen, "cannot read its answer: "
				    "%s", strerror(errno));
				goto kill;
			}
		}
	}
	if (timed_out)
		seterr(err, errlen, "timed out after %u ms", w->oracle_timeout);
	else if (big)
		seterr(err, errlen, "answer larger than %zu bytes", max);
	else if (wait_exit(pid, deadline) != 0)
		seterr(err, errlen, "timed out after %u ms (its output ended, "
		    "it did not exit)", w->oracle_timeout);
	else
		rc = 0;
kill:
	/* the whole group, before the leader is reaped (its id stays ours) */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (inp[1] >= 0)
		close(inp[1]);
	if (outp[0] >= 0)
		close(outp[0]);
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		seterr(err, errlen, "exited with status %d",
		    WEXITSTATUS(status));
		rc = -1;
	} else if (rc == 0 && WIFSIGNALED(status)) {
		seterr(err, errlen, "killed by signal %d", WTERMSIG(status));
		rc = -1;
	}
	if (rc != 0) {
		log_warnx("oracle %s (%s): %s", name, o->path, err);
		free(buf);
		return -1;
	}
	log_debug("oracle %s: %zu bytes in %llu ms", name, len,
	    (unsigned long long)((mono_usec() - t0) / 1000));
	buf[len] = '\0';
	*out = (uint8_t *)buf;
	*outlen = len;
	return 0;
}
