/*
 * proc.c — worker processes (proc.h): fork and exec, the socketpair and
 * its bufferevent, line framing and wire decoding of what a worker writes,
 * stopping, killing and reaping. A process is gone (its owner's gone()
 * callback) once both its socket reached EOF and waitpid() reaped it, so
 * everything it wrote before exiting is delivered first.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callsig.h"
#include "config.h"
#include "fdpass.h"
#include "log.h"
#include "proc.h"
#include "sockwrite.h"
#include "util.h"
#include "vmsd.h"
#include "wire.h"

struct proc {
	pid_t			 pid;
	char			*name;		/* for messages */
	struct bufferevent	*bev;
	/* Requests encoded during this turn of the event loop, written at
	 * its end in one send (proc_flush): no EV_WRITE armed and disarmed
	 * (two epoll_ctl) per batch unless the socket is full. */
	struct jbuf		 out;
	struct event		*flush_ev;
	/* Its replies are read by rev (proc_readable), one recv(2) per
	 * readable socket (a bufferevent asks FIONREAD first each time),
	 * straight into in: a reply of a page of entries (~700 KB) is not
	 * copied into an evbuffer and then again to make it contiguous, and
	 * the bytes already searched for its end are not searched again. */
	struct event		*rev;
	char			*in;
	size_t			 inlen, incap, inscan;
	int			 eof, reaped, status;
	int			 chan;		/* the attach channel, or -1 */
	struct event		*chan_ev;	/* connections given back */
	const struct proc_ops	*ops;
	void			*arg;
	LIST_ENTRY(proc)	 entry;
};

extern char **environ;
static int exe_fd = -1;		/* /proc/self/exe, for exec'ing workers */
static LIST_HEAD(, proc) procs = LIST_HEAD_INITIALIZER(procs);
static size_t nprocs;
static void (*when_none)(void);

static void proc_read(struct proc *);
static void proc_event(struct bufferevent *, short, void *);
static void proc_flush_cb(evutil_socket_t, short, void *);
static void proc_readable(evutil_socket_t, short, void *);
static void proc_chan_readable(evutil_socket_t, short, void *);

/*
 * The workers' heap in transparent huge pages: glibc's malloc, told by
 * the tunable glibc.malloc.hugetlb=1, advises the kernel
 * (MADV_HUGEPAGE) on every extension of its heap and grows it by 2 MiB at
 * a time, so that a growing state takes one page fault per 2 MiB instead
 * of one per 4 KiB. A page fault costs ~15 us on a VM where bare metal
 * pays well under one (bench-machine), and a worker adding a file per
 * call took one every ~12 calls: at 32 clients its CPU per call fell by
 * ~3 us, ~10 % (bench/README.md, round 15), for ~1.6 MiB more RSS in a
 * busy worker; an idle worker's small heap is unchanged. Added to
 * GLIBC_TUNABLES in vmsd's environment, which only workers inherit
 * (oracles get an environment of their own, worker_oracle.c); read by
 * glibc when a worker starts, so vmsd's own heap is as it was. A
 * GLIBC_TUNABLES that already sets glibc.malloc.hugetlb is left alone:
 * the operator's word (vmsd(8), ENVIRONMENT).
 */
#define HUGETLB_TUNABLE	"glibc.malloc.hugetlb"

static void
workers_huge_pages(void)
{
	const char *cur = getenv("GLIBC_TUNABLES");
	char *v;

	if (cur != NULL && strstr(cur, HUGETLB_TUNABLE "=") != NULL)
		return;
	if (cur == NULL || *cur == '\0')
		v = xstrdup(HUGETLB_TUNABLE "=1");
	else
		(void)xasprintf(&v, "%s:" HUGETLB_TUNABLE "=1", cur);
	if (setenv("GLIBC_TUNABLES", v, 1) != 0)
		log_warn("setenv GLIBC_TUNABLES");
	free(v);
}

void
proc_init(void)
{
	if (exe_fd < 0 &&
	    (exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		log_warn("open /proc/self/exe (workers will exec it by path)");
	workers_huge_pages();
}

/* In the child: fd 3 is the socketpair's end, fd 4 the attach channel's
 * (if any), then exec. Never returns. */
static void
exec_worker(int fd, int chan, const char *const *argv)
{
	/* Terminal signals (Ctrl-C) go to vmsd, which drains us. */
	setpgid(0, 0);
	/* out of the way of 3 and 4 first; dup2 clears FD_CLOEXEC */
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0 ||
	    (chan >= 0 && (chan = fcntl(chan, F_DUPFD_CLOEXEC, 10)) < 0) ||
	    dup2(fd, 3) < 0 || (chan >= 0 && dup2(chan, 4) < 0))
		_exit(126);
	/*
	 * Our own executable, opened at startup: a clean address space, the
	 * same binary even if the file was replaced, and the real program
	 * under valgrind (which redirects opens of /proc/self/exe to the
	 * client).
	 */
	if (exe_fd >= 0)
		fexecve(exe_fd, (char *const *)argv, environ);
	execv("/proc/self/exe", (char *const *)argv);
	_exit(127);
}

struct proc *
proc_spawn(const struct proc_spec *spec, const struct proc_ops *ops,
    void *arg, char *err, size_t errlen)
{
	struct proc *p;
	char snap[32], batch[32], inflight[16], beside[16], inl[16], wire[16];
	char bpoll[16];
	char otime[16], oout[32];
	char **oargs = NULL;
	const char **argv;
	size_t i, no = 0;
	int sv[2], cv[2] = { -1, -1 }, n = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		seterr(err, errlen, "socketpair: %s", strerror(errno));
		return NULL;
	}
	/* Connections attached to a contract's worker come over a channel
	 * of their own, one datagram (and descriptor) each. */
	if (!spec->deploy && socketpair(AF_UNIX, SOCK_SEQPACKET |
	    SOCK_CLOEXEC, 0, cv) != 0) {
		seterr(err, errlen, "socketpair: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	snprintf(snap, sizeof(snap), "%llu",
	    (unsigned long long)vmsd_conf->snapshot_interval);
	snprintf(batch, sizeof(batch), "%u", vmsd_conf->batch_max);
	snprintf(inflight, sizeof(inflight), "%u",
	    vmsd_conf->commits_in_flight);
	snprintf(beside, sizeof(beside), "%u",
	    vmsd_conf->commit_beside_after);
	snprintf(inl, sizeof(inl), "%u", vmsd_conf->commit_inline_max);
	snprintf(bpoll, sizeof(bpoll), "%u", vmsd_conf->busy_poll);
	snprintf(wire, sizeof(wire), "%d", WIRE_VERSION);
	argv = xcalloc(40 + 4 * vmsd_conf->noracles, sizeof(*argv));
	argv[n++] = "vmsd";
	argv[n++] = "--worker";
	argv[n++] = spec->name;
	argv[n++] = "--fd";
	argv[n++] = "3";
	argv[n++] = "--dir";
	argv[n++] = spec->dir;
	argv[n++] = "--key";
	argv[n++] = spec->key;
	argv[n++] = "--head";
	argv[n++] = spec->head;
	argv[n++] = "--snapshot-interval";
	argv[n++] = snap;
	argv[n++] = "--batch-max";
	argv[n++] = batch;
	argv[n++] = "--commits-in-flight";
	argv[n++] = inflight;
	argv[n++] = "--commit-beside-after";
	argv[n++] = beside;
	argv[n++] = "--commit-inline-max";
	argv[n++] = inl;
	argv[n++] = "--busy-poll";
	argv[n++] = bpoll;
	argv[n++] = "--wire";
	argv[n++] = wire;
	if (spec->deploy)
		argv[n++] = "--deploy";
	else {
		argv[n++] = "--attach-fd";
		argv[n++] = "4";
	}
	if (vmsd_log_syslog)
		argv[n++] = "--syslog";
	if (log_getverbose())
		argv[n++] = "-v";
	/* the oracles a contract worker may run (worker_oracle.c) */
	if (!spec->deploy && vmsd_conf->noracles > 0) {
		oargs = xcalloc(2 * vmsd_conf->noracles, sizeof(*oargs));
		for (i = 0; i < vmsd_conf->noracles; i++) {
			const struct vmsd_oracle *o = &vmsd_conf->oracles[i];
			char k[B64URL_LEN(32) + 1];

			xasprintf(&oargs[no], "%s=%s", o->name, o->path);
			argv[n++] = "--oracle";
			argv[n++] = oargs[no++];
			if (o->keyed) {
				b64url_encode(o->key, 32, k);
				xasprintf(&oargs[no], "%s=%s", o->name, k);
				argv[n++] = "--oracle-key";
				argv[n++] = oargs[no++];
			}
		}
		snprintf(otime, sizeof(otime), "%u", vmsd_conf->oracle_timeout);
		snprintf(oout, sizeof(oout), "%llu",
		    (unsigned long long)vmsd_conf->oracle_max_output);
		argv[n++] = "--oracle-timeout";
		argv[n++] = otime;
		argv[n++] = "--oracle-max-output";
		argv[n++] = oout;
	}
	argv[n] = NULL;

	pid = fork();
	if (pid == 0)
		exec_worker(sv[1], cv[1], argv);
	for (i = 0; i < no; i++)
		free(oargs[i]);
	free(oargs);
	free(argv);
	if (cv[1] >= 0)
		close(cv[1]);
	if (pid < 0) {
		seterr(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (cv[0] >= 0)
			close(cv[0]);
		return NULL;
	}
	close(sv[1]);
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->chan = cv[0];
	p->name = xstrdup(spec->name);
	p->ops = ops;
	p->arg = arg;
	if (evutil_make_socket_nonblocking(sv[0]) != 0 ||
	    (p->bev = bufferevent_socket_new(vmsd_base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("cannot watch worker %ld", (long)pid);
	bufferevent_setcb(p->bev, NULL, NULL, proc_event, p);
	/* The bufferevent writes (and reports write errors); rev reads. */
	if (bufferevent_enable(p->bev, EV_WRITE) != 0)
		fatalx("bufferevent_enable");
	if ((p->flush_ev = event_new(vmsd_base, -1, 0, proc_flush_cb,
	    p)) == NULL ||
	    (p->rev = event_new(vmsd_base, sv[0], EV_READ | EV_PERSIST,
	    proc_readable, p)) == NULL ||
	    event_add(p->rev, NULL) != 0)
		fatalx("event_new");
	if (p->chan >= 0 && ops->back != NULL &&
	    (evutil_make_socket_nonblocking(p->chan) != 0 ||
	    (p->chan_ev = event_new(vmsd_base, p->chan, EV_READ | EV_PERSIST,
	    proc_chan_readable, p)) == NULL ||
	    event_add(p->chan_ev, NULL) != 0))
		fatalx("cannot watch the attach channel of worker %ld",
		    (long)pid);
	LIST_INSERT_HEAD(&procs, p, entry);
	nprocs++;
	return p;
}

pid_t
proc_pid(const struct proc *p)
{
	return p->pid;
}

/*
 * Send what this turn of the loop encoded: straight to the socket when
 * nothing waits before it, the rest queued on the bufferevent (which
 * writes it when the socket has room, and meets any error there).
 */
static void
proc_flush(struct proc *p)
{
	event_del(p->flush_ev);
	if (p->out.len == 0)
		return;
	if (bev_write(p->bev, p->out.s, p->out.len) != 0)
		fatalx("evbuffer_add");
	p->out.len = 0;
	if (p->out.cap > 65536)		/* after a deploy's code, say */
		jbuf_free(&p->out);
}

static void
proc_flush_cb(evutil_socket_t unused, short what, void *arg)
{
	proc_flush(arg);
}

int
proc_request(struct proc *p, uint64_t id, const char *method,
    const char *caller, const char *auth, const json_t *params,
    const char *ptext, size_t ptextlen, char *err, size_t errlen)
{
	if ((ptext != NULL ? wire_put_request_text(&p->out, id, method,
	    caller, auth, ptext, ptextlen, err, errlen) :
	    wire_put_request(&p->out, id, method, caller, auth, params, err,
	    errlen)) != 0)
		return -1;	/* nothing appended */
	/* Written once the callbacks of this turn have run: an active
	 * event runs after those already active (activating it again
	 * changes nothing). */
	event_active(p->flush_ev, EV_TIMEOUT, 0);
	return 0;
}

int
proc_attach(struct proc *p, int fd, const char *msg, size_t len, char *err,
    size_t errlen)
{
	if (p->chan < 0 || proc_finished(p)) {
		seterr(err, errlen, "the worker takes no connections");
		return -1;
	}
	if (fdpass_send(p->chan, msg, len, fd) != 0) {
		seterr(err, errlen, "%s", errno == EAGAIN ? "the worker is "
		    "not taking connections fast enough" : strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Connections the worker gives back (wire.h "back"), each in a datagram
 * with its descriptor: to the owner. A datagram that does not decode
 * closes its connection (the worker is ours: it does not happen).
 */
#define PROC_BACK_MAX	(WIRE_BACK_MAX_INPUT + 8192)

static void
proc_chan_read(struct proc *p)
{
	static char *buf;
	struct wire_back k;
	char err[VMS_ERRLEN];
	ssize_t n;
	int fd, cut;

	if (buf == NULL)
		buf = xmalloc(PROC_BACK_MAX);
	while (p->chan >= 0) {
		if ((n = fdpass_recv(p->chan, buf, PROC_BACK_MAX, &fd,
		    &cut)) <= 0)
			return;		/* (none waits, or it is exiting) */
		if (fd < 0 || cut || wire_decode_back(buf, (size_t)n, &k, err,
		    sizeof(err)) != 0) {
			log_warnx("worker %s: a connection given back without "
			    "its descriptor, truncated or undecodable: closed",
			    p->name);
			if (fd >= 0)
				close(fd);
			continue;
		}
		p->ops->back(p, fd, k.input, k.inputlen, k.why, p->arg);
		wire_back_clear(&k);
	}
}

static void
proc_chan_readable(evutil_socket_t unused, short what, void *arg)
{
	proc_chan_read(arg);
}

int
proc_finished(const struct proc *p)
{
	return p->eof || p->reaped;
}

void
proc_stop(struct proc *p)
{
	proc_flush(p);
	if (bufferevent_flush(p->bev, EV_WRITE, BEV_FLUSH) < 0 ||
	    shutdown(bufferevent_getfd(p->bev), SHUT_WR) != 0)
		log_warn("%s: stopping worker %ld", p->name, (long)p->pid);
}

void
proc_kill(struct proc *p)
{
	if (!p->reaped && kill(p->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("%s: kill worker %ld", p->name, (long)p->pid);
}

#define PROC_READ	32768		/* room for one recv at least */
#define PROC_IN_KEEP	(1UL << 20)	/* input buffer kept when empty */

/* Every whole line the worker wrote, decoded in place (no copy), to the
 * owner. */
static void
proc_read(struct proc *p)
{
	struct wire_reply r;
	char err[VMS_ERRLEN];
	size_t start = 0;
	char *nl;

	if (p->in == NULL)
		return;
	while ((nl = memchr(p->in + p->inscan, '\n', p->inlen -
	    p->inscan)) != NULL) {
		if (wire_decode_reply(p->in + start, (size_t)(nl - p->in) -
		    start, &r, err, sizeof(err)) != 0) {
			log_warnx("%s: bad message from worker %ld: %s: "
			    "killing it", p->name, (long)p->pid, err);
			proc_kill(p);
		} else {
			p->ops->msg(p, &r, p->arg);
			wire_reply_clear(&r);
		}
		start = p->inscan = (size_t)(nl - p->in) + 1;
	}
	if (start > 0) {	/* what is left of a line to the front */
		memmove(p->in, p->in + start, p->inlen - start);
		p->inlen -= start;
	}
	p->inscan = p->inlen;
	if (p->inlen == 0 && p->incap > PROC_IN_KEEP) {
		free(p->in);
		p->in = NULL;
		p->incap = 0;
	}
}

static void
proc_readable(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	ssize_t n;

	if (p->incap - p->inlen < PROC_READ) {
		size_t cap = p->incap > 0 ? p->incap : 2 * PROC_READ;

		while (cap - p->inlen < PROC_READ)
			cap *= 2;
		p->in = xrealloc(p->in, cap);
		p->incap = cap;
	}
	do
		n = recv(fd, p->in + p->inlen, p->incap - p->inlen,
		    MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		proc_event(p->bev, BEV_EVENT_READING |
		    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), p);
		return;
	}
	p->inlen += (size_t)n;
	proc_read(p);
}

static void
proc_gone(struct proc *p)
{
	LIST_REMOVE(p, entry);
	nprocs--;
	event_free(p->flush_ev);
	event_free(p->rev);
	jbuf_free(&p->out);
	free(p->in);
	bufferevent_free(p->bev);
	p->bev = NULL;
	if (p->chan_ev != NULL) {
		/* what it gave back as it stopped, first */
		proc_chan_read(p);
		event_free(p->chan_ev);
	}
	if (p->chan >= 0)
		close(p->chan);
	p->ops->gone(p, p->status, p->arg);
	free(p->name);
	free(p);
	proc_when_none(when_none);
}

static void
proc_event(struct bufferevent *bev, short what, void *arg)
{
	struct proc *p = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (event_del(p->rev) != 0)
			log_warnx("event_del failed");
		p->eof = 1;
		proc_read(p);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		if (p->reaped)
			proc_gone(p);
	}
}

void
proc_sigchld(void)
{
	struct proc *p;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		LIST_FOREACH(p, &procs, entry)
			if (p->pid == pid)
				break;
		if (p == NULL)
			continue;
		p->reaped = 1;
		p->status = status;
		if (p->eof)
			proc_gone(p);
		else
			proc_read(p);	/* what it wrote last */
	}
}

size_t
proc_count(void)
{
	return nprocs;
}

void
proc_when_none(void (*done)(void))
{
	when_none = done;
	if (nprocs == 0 && done != NULL) {
		when_none = NULL;
		done();
	}
}

void
proc_free_all(void)
{
	struct proc *p;

	while ((p = LIST_FIRST(&procs)) != NULL) {
		LIST_REMOVE(p, entry);
		nprocs--;
		if (!p->reaped) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		event_free(p->flush_ev);
		event_free(p->rev);
		jbuf_free(&p->out);
		free(p->in);
		bufferevent_free(p->bev);
		if (p->chan_ev != NULL)
			event_free(p->chan_ev);
		if (p->chan >= 0)
			close(p->chan);
		free(p->name);
		free(p);
	}
	if (exe_fd >= 0) {
		close(exe_fd);
		exe_fd = -1;
	}
}
