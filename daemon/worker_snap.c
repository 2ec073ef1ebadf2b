/*
 * worker_snap.c — the contract's state snapshot (state.snap): when it is
 * due, and who writes it.
 *
 * Every snapshot_interval entries the state is written to state.snap so a
 * restart replays only the entries after it; a large state, no more often
 * than every as many entries as it has files and directories
 * (SNAP_FILES_PER_ENTRY): a snapshot costs in proportion to the state (and
 * its copy-on-write faults slow the calls while it is written), and a
 * restart applies an entry about as fast as it loads a snapshot's file
 * (~345,000 against ~440,000 a second: bench/README.md, round 13; it was
 * nine times slower, and this every tenth, until the restart read entries
 * thousands at a time and checked the root at the last one only), so the
 * entries since the last snapshot then take about as long to replay as
 * the snapshot to load. Serializing a large state,
 * hashing it and fsyncing the file takes tens of milliseconds: done in
 * line, it stalled every call waiting behind it (the p99.9 of bench/
 * daemon.sh). So the periodic snapshot is written by a forked child from
 * its copy-on-write image of the committed state, as Redis's BGSAVE does,
 * while the worker goes on serving. The child:
 *
 *   - dies with the worker (PR_SET_PDEATHSIG);
 *   - closes every descriptor of the worker's first (its socket to vmsd,
 *     the contract's lock, the ledger's files and their lock), so none
 *     outlives the worker through it;
 *   - reports failure as a line of text on a pipe, success by exiting 0.
 *
 * One child at a time; a snapshot due while one is still being written is
 * taken later. A snapshot written in line (at open, after a roll forward,
 * at exit) first waits for the child, so the newer file is never replaced
 * by the older one. The worker sees the child end through the pipe (EOF),
 * which is in the loop's epoll set (worker_poll.c) while the child runs.
 *
 * A writer that dies mid-way (with its worker, or of a full disk) leaves
 * its temporary file, state.snap.tmp.PID (write_file_atomic's name): the
 * next worker to open the contract, holding its lock, removes them.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "util.h"
#include "worker.h"

/*
 * The child: write the snapshot, say why not if it cannot. First it makes
 * sure to die with the worker, then it keeps nothing of the worker's but
 * stdin, stdout, stderr and its pipe (moved to 3): not the socket to vmsd,
 * not the contract's lock, not the ledger's (the flock on `entries`),
 * which a worker started after this one's death must be able to take
 * even while this child is still finishing a write.
 */
static void __attribute__((noreturn))
snap_child(struct worker *w, int wr, pid_t parent)
{
	char err[VMS_ERRLEN];
	size_t len;
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	if (wr != 3 && dup2(wr, 3) != 3)
		_exit(1);
	if (close_range(4, ~0U, 0) != 0)
		for (fd = 4; fd < 65536; fd++)
			(void)close(fd);
	if (engine_snapshot_save(w->engine, w->snap_path, err,
	    sizeof(err)) == 0)
		_exit(0);
	len = strlen(err);
	if (write(3, err, len) != (ssize_t)len)
		_exit(2);
	_exit(1);
}

/* The snapshot of entries before `next` is on disk. */
static void
snap_saved(struct worker *w, uint64_t next)
{
	w->snap_index = next;
	log_debug("snapshot saved at entry %llu", (unsigned long long)next);
}

/* The child ended (or is ending: its pipe is at EOF or holds its
 * error): collect what it said and reap it. */
static void
snap_reap(struct worker *w)
{
	char err[VMS_ERRLEN];
	ssize_t n;
	size_t len = 0;
	int status;

	for (;;) {
		n = read(w->snap_fd, err + len, sizeof(err) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(err) - 1)
			break;
	}
	err[len] = '\0';
	wpoll_snapshot(w, w->snap_fd, 0);
	(void)close(w->snap_fd);
	w->snap_fd = -1;
	while (waitpid(w->snap_pid, &status, 0) < 0)
		if (errno != EINTR) {
			log_warn("snapshot writer %ld", (long)w->snap_pid);
			status = -1;
			break;
		}
	w->snap_pid = 0;
	if (status == 0)
		snap_saved(w, w->snap_try);
	else if (len > 0)
		log_warnx("snapshot not saved: %s", err);
	else if (status != -1 && WIFSIGNALED(status))
		log_warnx("snapshot not saved: its writer died of signal %d",
		    WTERMSIG(status));
	else
		log_warnx("snapshot not saved: its writer exited with %d",
		    status != -1 && WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1);
}

/* Has the child ended? Reap it if so; wait for it if block. 1 if no
 * child is left. */
static int
snap_poll(struct worker *w, int block)
{
	struct pollfd p;
	int r;

	if (w->snap_pid == 0)
		return 1;
	p.fd = w->snap_fd;
	p.events = POLLIN;
	while ((r = poll(&p, 1, block ? -1 : 0)) < 0)
		if (errno != EINTR)
			fatal("poll");
	if (r == 0)
		return 0;
	snap_reap(w);
	return 1;
}

#define SNAP_FILES_PER_ENTRY	1

int
worker_snapshot_due(struct worker *w)
{
	uint64_t since;

	if (w->engine == NULL)
		return 0;
	since = engine_next_index(w->engine) - w->snap_try;
	return since >= w->snapshot_interval && since >=
	    engine_state_count(w->engine) / SNAP_FILES_PER_ENTRY &&
	    snap_poll(w, 0);
}

void
worker_snapshot_start(struct worker *w)
{
	int p[2];
	pid_t pid, self;
	uint64_t next = engine_next_index(w->engine);

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("snapshot not started: pipe");
		w->snap_try = next;	/* try again an interval later */
		return;
	}
	self = getpid();
	if ((pid = fork()) < 0) {
		log_warn("snapshot not started: fork");
		(void)close(p[0]);
		(void)close(p[1]);
		w->snap_try = next;
		return;
	}
	if (pid == 0) {
		(void)close(p[0]);
		snap_child(w, p[1], self);
	}
	(void)close(p[1]);
	w->snap_fd = p[0];
	w->snap_pid = pid;
	wpoll_snapshot(w, w->snap_fd, 1);
	w->snap_try = next;
}

void
worker_snapshot_check(struct worker *w)
{
	(void)snap_poll(w, 0);
}

void
worker_snapshot_wait(struct worker *w)
{
	(void)snap_poll(w, 1);
}

void
worker_save_snapshot(struct worker *w)
{
	char err[VMS_ERRLEN];
	uint64_t next;

	worker_snapshot_wait(w);
	if (w->engine == NULL ||
	    (next = engine_next_index(w->engine)) == w->snap_index)
		return;
	w->snap_try = next;
	if (engine_snapshot_save(w->engine, w->snap_path, err,
	    sizeof(err)) != 0) {
		log_warnx("snapshot not saved: %s", err);
		return;
	}
	snap_saved(w, next);
}

void
worker_snapshot_clean(struct worker *w)
{
	static const char prefix[] = "state.snap.tmp.";
	struct dirent *d;
	DIR *dir;
	int dfd;

	if ((dir = opendir(w->dir)) == NULL) {
		log_warn("%s", w->dir);
		return;
	}
	dfd = dirfd(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, prefix, sizeof(prefix) - 1) != 0)
			continue;
		if (unlinkat(dfd, d->d_name, 0) != 0)
			log_warn("%s/%s", w->dir, d->d_name);
		else
			log_info("removed %s, left by a snapshot writer that "
			    "did not finish", d->d_name);
	}
	(void)closedir(dir);
}
