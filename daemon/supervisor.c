/*
 * supervisor.c — the contract registry, its worker processes and the flow
 * of requests to them (deploy, stop, start and remove are admin.c's).
 *
 * Each contract has at most one worker (vmsd --worker, forked and exec'd),
 * started lazily by the first request and stopped after idle_timeout. Its
 * requests wait in a bounded FIFO (queue_limit, then RPC_BUSY) and are sent
 * in arrival order, a window at a time, so the worker can group-commit what
 * is waiting; replies come back in the same order. A worker that dies is
 * restarted with exponential backoff; the requests it had been sent are
 * answered RPC_UNAVAILABLE (never a false success), the queued ones are
 * retried. After max_restarts crashes within restart_window the contract
 * is "failed" until an admin starts it. A worker that answers nothing for
 * call_timeout seconds while calls are in flight (stopped, stuck) is
 * killed: its in-flight calls are answered RPC_UNAVAILABLE saying so (and
 * that they may or may not have been committed), and it is restarted like
 * a crashed one. Contracts without a worker (stopped, failed) still answer
 * ledger-only reads. Startup scans the state directory; shutdown drains.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ledger.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "vmsd.h"
#include "supervisor.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	30000

extern char **environ;
static int exe_fd = -1;	/* /proc/self/exe, for exec'ing workers */

static TAILQ_HEAD(, contract) contracts = TAILQ_HEAD_INITIALIZER(contracts);
static LIST_HEAD(, proc) procs = LIST_HEAD_INITIALIZER(procs);
static size_t ncontracts;
static void (*shutdown_done)(void);

static void proc_read(struct bufferevent *, void *);
static void proc_event(struct bufferevent *, short, void *);
static void timer_cb(evutil_socket_t, short, void *);
static void ctimer_cb(evutil_socket_t, short, void *);
static void check_shutdown_done(void);

uint64_t
mono_ms(void)
{
	return mono_usec() / 1000;
}

/* <state>/<pre><name><suf> */
char *
state_path(const char *pre, const char *name, const char *suf)
{
	char *p;

	xasprintf(&p, "%s/%s%s%s", vmsd_conf->state_dir, pre, name, suf);
	return p;
}

struct contract *
contract_find(const char *name)
{
	struct contract *c;

	if (name == NULL)
		return NULL;
	TAILQ_FOREACH(c, &contracts, entry)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct contract *
contract_new(const char *name)
{
	struct contract *c = xcalloc(1, sizeof(*c)), *at;

	c->name = xstrdup(name);
	c->dir = state_path("contracts/", name, "");
	c->keypath = state_path("keys/", name, ".key");
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->inflight);
	TAILQ_INIT(&c->waiters);
	c->timer = evtimer_new(vmsd_base, timer_cb, c);
	c->ctimer = evtimer_new(vmsd_base, ctimer_cb, c);
	if (c->timer == NULL || c->ctimer == NULL)
		fatalx("evtimer_new");
	/* Keep the registry sorted by name for list. */
	TAILQ_FOREACH(at, &contracts, entry)
		if (strcmp(at->name, name) > 0)
			break;
	if (at)
		TAILQ_INSERT_BEFORE(at, c, entry);
	else
		TAILQ_INSERT_TAIL(&contracts, c, entry);
	ncontracts++;
	return c;
}

void
contract_free(struct contract *c)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "no such contract: %s", c->name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_NO_CONTRACT, msg);
	rpcreq_fail_list(&c->inflight, &c->ninflight, RPC_UNAVAILABLE, msg);
	rpcreq_fail_list(&c->waiters, NULL, RPC_NO_CONTRACT, msg);
	TAILQ_REMOVE(&contracts, c, entry);
	ncontracts--;
	event_free(c->timer);
	event_free(c->ctimer);
	json_decref(c->replace_result);
	free(c->replace_tmpdir);
	free(c->replace_tmpkey);
	free(c->name);
	free(c->dir);
	free(c->keypath);
	free(c->vkey);
	free(c->origin);
	free(c);
}

const char *
status_of(const struct contract *c)
{
	if (c->failed)
		return "failed";
	if (c->admin_stopped)
		return "stopped";
	if (c->worker && !c->worker->deploy)
		return "running";
	return "idle";
}

size_t
supervisor_count(void)
{
	struct contract *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &contracts, entry)
		if (!c->hidden)
			n++;
	return n;
}

/* ---- worker processes ---- */

struct proc *
proc_spawn(struct contract *c, int deploy, const char *dir, const char *key,
    char *err, size_t errlen)
{
	struct proc *p;
	char snap[32], batch[32];
	const char *argv[20];
	int sv[2], n = 0, fl;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		seterr(err, errlen, "socketpair: %s", strerror(errno));
		return NULL;
	}
	snprintf(snap, sizeof(snap), "%llu",
	    (unsigned long long)vmsd_conf->snapshot_interval);
	snprintf(batch, sizeof(batch), "%u", vmsd_conf->batch_max);
	argv[n++] = "vmsd";
	argv[n++] = "--worker";
	argv[n++] = c->name;
	argv[n++] = "--fd";
	argv[n++] = "3";
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--snapshot-interval";
	argv[n++] = snap;
	argv[n++] = "--batch-max";
	argv[n++] = batch;
	if (deploy)
		argv[n++] = "--deploy";
	if (vmsd_log_syslog)
		argv[n++] = "--syslog";
	if (log_getverbose())
		argv[n++] = "-v";
	argv[n] = NULL;

	if ((pid = fork()) < 0) {
		seterr(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/* Terminal signals (Ctrl-C) go to vmsd, which drains us. */
		setpgid(0, 0);
		if (sv[1] == 3) {
			if ((fl = fcntl(3, F_GETFD)) < 0 ||
			    fcntl(3, F_SETFD, fl & ~FD_CLOEXEC) < 0)
				_exit(126);
		} else if (dup2(sv[1], 3) < 0)
			_exit(126);
		/*
		 * Our own executable, opened at startup: a clean address
		 * space, the same binary even if the file was replaced, and
		 * the real program under valgrind (which redirects opens of
		 * /proc/self/exe to the client).
		 */
		if (exe_fd >= 0)
			fexecve(exe_fd, (char *const *)argv, environ);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->c = c;
	p->deploy = deploy;
	if (evutil_make_socket_nonblocking(sv[0]) != 0 ||
	    (p->bev = bufferevent_socket_new(vmsd_base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("cannot watch worker %ld", (long)pid);
	bufferevent_setcb(p->bev, proc_read, NULL, proc_event, p);
	if (bufferevent_enable(p->bev, EV_READ | EV_WRITE) != 0)
		fatalx("bufferevent_enable");
	LIST_INSERT_HEAD(&procs, p, entry);
	if (deploy)
		log_debug("%s: deploy worker started, pid %ld", c->name,
		    (long)pid);
	else
		log_info("%s: contract worker started, pid %ld", c->name,
		    (long)pid);
	return p;
}

void
proc_send(struct proc *p, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(17));
	struct evbuffer *out = bufferevent_get_output(p->bev);

	json_decref(msg);
	if (s == NULL)
		fatalx("cannot encode a worker request");
	if (evbuffer_add(out, s, strlen(s)) != 0 ||
	    evbuffer_add(out, "\n", 1) != 0)
		fatalx("evbuffer_add");
	free(s);
}

static json_t *
request_msg(struct rpcreq *req, uint64_t wid)
{
	return json_pack("{s:I,s:s,s:O,s:s?,s:s}", "id", (json_int_t)wid,
	    "method", req->method, "params", req->params, "caller",
	    req->caller, "auth", req->auth ? req->auth : "anonymous");
}

void
worker_start(struct contract *c)
{
	char err[VMS_ERRLEN];

	if (c->worker || c->failed || c->admin_stopped)
		return;
	if ((c->worker = proc_spawn(c, 0, c->dir, c->keypath, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s: cannot start worker: %s", c->name, err);
		c->not_before = mono_ms() + 1000;
		return;
	}
	c->state = C_STARTING;
	vmsd_update_status();
}

static void
worker_stop(struct contract *c)
{
	if (c->worker == NULL || c->state == C_STOPPING)
		return;
	/* EOF tells the worker to commit, snapshot and exit. */
	c->state = C_STOPPING;
	if (bufferevent_flush(c->worker->bev, EV_WRITE, BEV_FLUSH) < 0 ||
	    shutdown(bufferevent_getfd(c->worker->bev), SHUT_WR) != 0)
		log_warn("%s: stopping worker", c->name);
	log_debug("%s: stopping worker %ld", c->name, (long)c->worker->pid);
}

static void
arm_timer(struct contract *c, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (evtimer_add(c->timer, &tv) != 0)
		log_warnx("%s: evtimer_add failed", c->name);
}

/*
 * The call watchdog: while calls are in flight, the worker must answer one
 * within call_timeout seconds of the first being sent or of its previous
 * answer. (Re)armed on each answer and when the first call is sent.
 */
static void
arm_call_timer(struct contract *c)
{
	struct timeval tv;

	if (c->ninflight == 0 || vmsd_conf->call_timeout == 0) {
		evtimer_del(c->ctimer);
		return;
	}
	tv.tv_sec = (time_t)vmsd_conf->call_timeout;
	tv.tv_usec = 0;
	if (evtimer_add(c->ctimer, &tv) != 0)
		log_warnx("%s: evtimer_add failed", c->name);
}

static void
ctimer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct contract *c = arg;

	if (c->worker == NULL || c->ninflight == 0 || c->worker->reaped ||
	    c->timed_out)
		return;
	log_warnx("%s: worker %ld answered nothing for %us with %u calls in "
	    "flight (stopped or stuck): killing it", c->name,
	    (long)c->worker->pid, vmsd_conf->call_timeout, c->ninflight);
	c->timed_out = 1;
	if (kill(c->worker->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("%s: kill worker %ld", c->name, (long)c->worker->pid);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct contract *c = arg;

	if (c->worker && c->state == C_RUNNING && c->nqueue == 0 &&
	    c->ninflight == 0 && c->op == OP_NONE) {
		log_debug("%s: idle for %us, stopping worker", c->name,
		    vmsd_conf->idle_timeout);
		worker_stop(c);
		return;
	}
	pump(c);
}

/* Move requests along; start or stop the worker as the state asks. */
void
pump(struct contract *c)
{
	struct rpcreq *req;
	unsigned window = vmsd_conf->batch_max * 2;
	uint64_t now;

	if (c->hidden)
		return;
	if (c->worker == NULL) {
		if (c->nqueue == 0 || c->op != OP_NONE)
			return;
		if (vmsd_shutting_down) {
			rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE,
			    "vmsd is shutting down");
			return;
		}
		now = mono_ms();
		if (now < c->not_before) {
			/* Re-armed even if pending: it may be the idle timer
			 * of the worker that just died, due much later. */
			arm_timer(c, c->not_before - now);
			return;
		}
		worker_start(c);
		return;
	}
	/* A worker that has exited or closed its end gets nothing more: what
	 * is still queued goes to its successor. */
	if (c->state != C_RUNNING || c->worker->eof || c->worker->reaped)
		return;
	while (c->op == OP_NONE && c->ninflight < window &&
	    (req = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, req, qentry);
		c->nqueue--;
		req->wid = ++c->next_wid;
		proc_send(c->worker, request_msg(req, req->wid));
		TAILQ_INSERT_TAIL(&c->inflight, req, qentry);
		if (c->ninflight++ == 0)
			arm_call_timer(c);
	}
	if ((c->op != OP_NONE && c->ninflight == 0) ||
	    (vmsd_shutting_down && c->nqueue == 0 && c->ninflight == 0)) {
		evtimer_del(c->timer);
		worker_stop(c);
	} else if (c->nqueue == 0 && c->ninflight == 0 &&
	    vmsd_conf->idle_timeout > 0)
		arm_timer(c, (uint64_t)vmsd_conf->idle_timeout * 1000);
	else
		evtimer_del(c->timer);
}

void
set_cache(struct contract *c, const json_t *m)
{
	const char *s;
	json_t *v;

	if ((v = json_object_get(m, "size")) && json_is_integer(v))
		c->size = (uint64_t)json_integer_value(v);
	if ((s = json_string_value(json_object_get(m, "vkey")))) {
		free(c->vkey);
		c->vkey = xstrdup(s);
	}
	if ((s = json_string_value(json_object_get(m, "origin")))) {
		free(c->origin);
		c->origin = xstrdup(s);
	}
}

static void
augment_info(struct contract *c, json_t *result)
{
	if (!json_is_object(result))
		return;
	json_object_set_new(result, "status", json_string(status_of(c)));
	json_object_set_new(result, "pid", c->worker && !c->worker->deploy ?
	    json_integer(c->worker->pid) : json_null());
	json_object_set_new(result, "restarts", json_integer(c->restarts));
	json_object_set_new(result, "queue",
	    json_integer(c->nqueue + c->ninflight));
	json_object_set_new(result, "dir", json_string(c->dir));
}

static void
worker_line(struct proc *p, json_t *msg)
{
	struct contract *c = p->c;
	struct rpcreq *req;
	json_t *id = json_object_get(msg, "id");

	if (json_is_true(json_object_get(msg, "ready"))) {
		set_cache(c, msg);
		c->state = C_RUNNING;
		log_debug("%s: worker %ld ready", c->name, (long)p->pid);
		return;
	}
	req = TAILQ_FIRST(&c->inflight);
	if (req == NULL || !json_is_integer(id) ||
	    (uint64_t)json_integer_value(id) != req->wid) {
		log_warnx("%s: worker %ld answered out of order: killing it",
		    c->name, (long)p->pid);
		kill(p->pid, SIGKILL);
		return;
	}
	TAILQ_REMOVE(&c->inflight, req, qentry);
	c->ninflight--;
	arm_call_timer(c);
	set_cache(c, msg);
	if (strcmp(req->method, M_INFO) == 0)
		augment_info(c, json_object_get(msg, "result"));
	if (json_is_object(json_object_get(msg, "error")))
		rpcreq_error_obj(req, json_object_get(msg, "error"));
	else
		rpcreq_result(req, json_incref(json_object_get(msg, "result")));
}

static int
skip_lit(const char **s, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *s) < n || memcmp(*s, lit, n) != 0)
		return -1;
	*s += n;
	return 0;
}

static int
skip_uint(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9' && p - *s < 19)
		*v = *v * 10 + (uint64_t)(*p++ - '0');
	if (p == *s || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	*s = p;
	return 0;
}

/*
 * The common reply, {"id":N,"size":S,"result":R} exactly as the worker's
 * jansson wrote it, for the request at the head of the flight: R goes to
 * the client verbatim, without a parse and a re-encode. -1: anything else
 * (ready, errors, info, out of order) takes the general path.
 */
static int
worker_line_fast(struct proc *p, const char *line, size_t len)
{
	struct contract *c = p->c;
	struct rpcreq *req = TAILQ_FIRST(&c->inflight);
	const char *s = line, *end = line + len;
	uint64_t wid, size;

	if (req == NULL || strcmp(req->method, M_INFO) == 0 ||
	    skip_lit(&s, end, "{\"id\":") != 0 || skip_uint(&s, end,
	    &wid) != 0 || wid != req->wid || skip_lit(&s, end,
	    ",\"size\":") != 0 || skip_uint(&s, end, &size) != 0 ||
	    skip_lit(&s, end, ",\"result\":") != 0 || end - s < 2 ||
	    end[-1] != '}')
		return -1;
	TAILQ_REMOVE(&c->inflight, req, qentry);
	c->ninflight--;
	c->size = size;
	rpcreq_result_text(req, s, (size_t)(end - 1 - s));
	return 0;
}

static void
proc_read(struct bufferevent *bev, void *arg)
{
	struct proc *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	json_error_t jerr;
	json_t *msg;
	size_t len;
	char *line;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (!p->deploy && worker_line_fast(p, line, len) == 0) {
			free(line);
			continue;
		}
		msg = json_loadb(line, len, 0, &jerr);
		free(line);
		if (msg == NULL) {
			log_warnx("%s: bad message from worker %ld: %s",
			    p->c->name, (long)p->pid, jerr.text);
			kill(p->pid, SIGKILL);
			continue;
		}
		if (p->deploy) {
			json_decref(p->reply);
			p->reply = msg;
			continue;
		}
		worker_line(p, msg);
		json_decref(msg);
	}
	if (!p->deploy)
		pump(p->c);
}

static void
count_crash(struct contract *c)
{
	uint64_t now = mono_ms(), window;
	unsigned i, recent = 0, shift;
	uint64_t delay;
	char msg[256];

	c->restarts++;
	if (c->ncrashes == MAX_CRASH_LOG) {
		memmove(c->crashes, c->crashes + 1,
		    sizeof(c->crashes[0]) * (MAX_CRASH_LOG - 1));
		c->ncrashes--;
	}
	c->crashes[c->ncrashes++] = now;
	window = (uint64_t)vmsd_conf->restart_window * 1000;
	for (i = 0; i < c->ncrashes; i++)
		if (now - c->crashes[i] <= window)
			recent++;
	if (recent >= vmsd_conf->max_restarts) {
		c->failed = 1;
		log_warnx("%s: worker crashed %u times within %us: contract "
		    "failed (vmsctl start %s to retry)", c->name, recent,
		    vmsd_conf->restart_window, c->name);
		snprintf(msg, sizeof(msg), "contract %s failed: its worker "
		    "crashed %u times within %us", c->name, recent,
		    vmsd_conf->restart_window);
		rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE, msg);
		return;
	}
	shift = recent > 0 ? recent - 1 : 0;
	delay = shift >= 10 ? BACKOFF_MAX_MS : (uint64_t)BACKOFF_MIN_MS << shift;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	c->not_before = now + delay;
	log_info("%s: restarting worker in %llu ms", c->name,
	    (unsigned long long)delay);
}

/*
 * The calls in flight when the watchdog killed the worker: like a crash,
 * each may or may not have been executed and committed; only the reason
 * differs.
 */
static void
fail_timed_out(struct contract *c)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, req, qentry);
		c->ninflight--;
		rpcreq_error(req, RPC_UNAVAILABLE, json_pack("{s:s,s:I}",
		    "reason", "call_timeout", "call_timeout",
		    (json_int_t)vmsd_conf->call_timeout), "call timed out: "
		    "the worker of %s answered nothing for %us and was "
		    "killed; call not executed or not acknowledged (it may "
		    "have been committed: check the ledger before retrying)",
		    c->name, vmsd_conf->call_timeout);
	}
}

/* What follows a contract worker's exit. */
static void
worker_gone(struct contract *c, struct proc *p)
{
	int clean = c->state == C_STOPPING && WIFEXITED(p->status) &&
	    WEXITSTATUS(p->status) == 0;

	c->worker = NULL;
	c->state = C_IDLE;
	evtimer_del(c->ctimer);
	if (c->timed_out)
		fail_timed_out(c);
	c->timed_out = 0;
	rpcreq_fail_list(&c->inflight, &c->ninflight, RPC_UNAVAILABLE,
	    "worker crashed, call not executed or not acknowledged");
	if (!clean) {
		if (WIFSIGNALED(p->status))
			log_warnx("%s: worker %ld killed by signal %d",
			    c->name, (long)p->pid, WTERMSIG(p->status));
		else
			log_warnx("%s: worker %ld exited with status %d",
			    c->name, (long)p->pid, WEXITSTATUS(p->status));
		count_crash(c);
	} else
		log_debug("%s: worker %ld stopped", c->name, (long)p->pid);

	switch (c->op) {
	case OP_REMOVE:
		finish_remove(c);
		return;
	case OP_REPLACE:
		finish_replace(c);
		break;
	case OP_STOP:
		c->op = OP_NONE;
		answer_waiters(c, json_pack("{s:s,s:s}", "name", c->name,
		    "status", "stopped"));
		break;
	case OP_NONE:
		break;
	}
	vmsd_update_status();
	pump(c);
}

static void
proc_gone(struct proc *p)
{
	struct contract *c = p->c;

	LIST_REMOVE(p, entry);
	bufferevent_free(p->bev);
	if (p->deploy)
		deployer_gone(c, p);
	else
		worker_gone(c, p);
	json_decref(p->reply);
	free(p->tmpdir);
	free(p->tmpkey);
	free(p);
	check_shutdown_done();
}

static void
proc_event(struct bufferevent *bev, short what, void *arg)
{
	struct proc *p = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		p->eof = 1;
		proc_read(bev, p);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		if (p->reaped)
			proc_gone(p);
	}
}

void
supervisor_sigchld(void)
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
		else {
			/* Pick up what it wrote before exiting. */
			proc_read(p->bev, p);
		}
	}
}

/* ---- requests ---- */

/* Ledger-only reads for a contract without a worker (stopped, failed). */
static void
offline_read(struct contract *c, struct rpcreq *req)
{
	struct ledger *l;
	char err[VMS_ERRLEN];
	json_t *r;
	int code;

	if (ledger_open(c->dir, NULL, &l, NULL, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "%s", err);
		return;
	}
	code = ledgerq(l, c->name, req->method, req->params, &r, err,
	    sizeof(err));
	ledger_close(l);
	if (code != 0) {
		rpcreq_error(req, code, NULL, "%s", err);
		return;
	}
	if (strcmp(req->method, M_INFO) == 0)
		augment_info(c, r);
	rpcreq_result(req, r);
}

void
supervisor_submit(struct rpcreq *req, const char *name)
{
	struct contract *c = contract_find(name);

	if (c == NULL || c->hidden) {
		rpcreq_error(req, RPC_NO_CONTRACT, NULL, "no such contract: %s",
		    name);
		return;
	}
	if (c->op == OP_REMOVE) {
		rpcreq_error(req, RPC_UNAVAILABLE, NULL, "contract %s is being "
		    "removed", name);
		return;
	}
	if (c->failed || c->admin_stopped) {
		if (ledgerq_handles(req->method) && c->worker == NULL) {
			offline_read(c, req);
			return;
		}
		if (c->failed)
			rpcreq_error(req, RPC_UNAVAILABLE, NULL, "contract %s "
			    "failed: its worker crashed repeatedly (vmsctl "
			    "start %s to retry)", name, name);
		else
			rpcreq_error(req, RPC_UNAVAILABLE, NULL, "contract %s "
			    "is stopped (vmsctl start %s)", name, name);
		return;
	}
	if (c->nqueue + c->ninflight >= vmsd_conf->queue_limit) {
		rpcreq_error(req, RPC_BUSY, NULL, "busy, retry later: queue "
		    "full (%u requests waiting for %s)",
		    c->nqueue + c->ninflight, name);
		return;
	}
	TAILQ_INSERT_TAIL(&c->queue, req, qentry);
	c->nqueue++;
	pump(c);
}

void
supervisor_list(struct rpcreq *req)
{
	struct contract *c;
	json_t *a = json_array();

	TAILQ_FOREACH(c, &contracts, entry) {
		if (c->hidden)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:o}",
		    "name", c->name, "status", status_of(c), "size",
		    (json_int_t)c->size, "pid", c->worker &&
		    !c->worker->deploy ? json_integer(c->worker->pid) :
		    json_null()));
	}
	rpcreq_result(req, json_pack("{s:o}", "contracts", a));
}

/* ---- startup and shutdown ---- */

static void
scan_one(const char *name)
{
	struct contract *c = contract_new(name);
	struct ledger *l;
	char err[VMS_ERRLEN], *path;
	struct ledger_recovery rec;
	uint8_t *buf;
	size_t len;

	xasprintf(&path, "%s/status", c->dir);
	if (read_file(path, 64, &buf, &len, err, sizeof(err)) == 0) {
		c->admin_stopped = strncmp((char *)buf, "stopped", 7) == 0;
		free(buf);
	}
	free(path);
	memset(&rec, 0, sizeof(rec));
	if (ledger_open(c->dir, NULL, &l, &rec, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", name, err);
		return;
	}
	c->size = ledger_committed_size(l);
	c->vkey = xstrdup(ledger_vkey(l));
	c->origin = xstrdup(ledger_origin(l));
	ledger_close(l);
	log_debug("%s: %llu entries%s", name, (unsigned long long)c->size,
	    c->admin_stopped ? " (stopped)" : "");
}

int
supervisor_init(char *err, size_t errlen)
{
	const char *subs[] = { "contracts", "keys", "removed" };
	char *path;
	DIR *d;
	struct dirent *de;
	size_t i;

	if (exe_fd < 0 &&
	    (exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		log_warn("open /proc/self/exe (workers will exec it by path)");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		xasprintf(&path, "%s/%s", vmsd_conf->state_dir, subs[i]);
		if (mkdir_p(path, strcmp(subs[i], "keys") == 0 ? 0700 :
		    0755) != 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	/* Leftovers of deploys interrupted by a crash. */
	for (i = 0; i < 2; i++) {
		xasprintf(&path, "%s/%s", vmsd_conf->state_dir, subs[i]);
		if ((d = opendir(path)) == NULL) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			char *sub;
			if (strncmp(de->d_name, ".deploy-", 8) != 0)
				continue;
			xasprintf(&sub, "%s/%s", path, de->d_name);
			log_info("removing the leftover of an interrupted "
			    "deploy: %s", sub);
			if (rm_rf(sub) != 0)
				log_warn("%s", sub);
			free(sub);
		}
		closedir(d);
		free(path);
	}
	xasprintf(&path, "%s/contracts", vmsd_conf->state_dir);
	if ((d = opendir(path)) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!valid_contract_name(de->d_name)) {
			log_warnx("%s/%s: not a contract name, ignored", path,
			    de->d_name);
			continue;
		}
		scan_one(de->d_name);
	}
	closedir(d);
	free(path);
	log_info("%zu contracts in %s", ncontracts, vmsd_conf->state_dir);
	return 0;
}

static void
check_shutdown_done(void)
{
	void (*done)(void) = shutdown_done;

	if (done == NULL || !LIST_EMPTY(&procs))
		return;
	shutdown_done = NULL;
	done();
}

void
supervisor_shutdown(void (*done)(void))
{
	struct contract *c, *next;

	shutdown_done = done;
	for (c = TAILQ_FIRST(&contracts); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		evtimer_del(c->timer);
		pump(c);
	}
	check_shutdown_done();
}

void
supervisor_free(void)
{
	struct contract *c;
	struct proc *p;

	while ((p = LIST_FIRST(&procs)) != NULL) {
		LIST_REMOVE(p, entry);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		bufferevent_free(p->bev);
		if (p->req)
			rpcreq_error(p->req, RPC_UNAVAILABLE, NULL,
			    "vmsd is shutting down");
		if (p->deploy) {
			rm_rf(p->tmpdir);
			unlink(p->tmpkey);
		}
		if (p->c->worker == p)
			p->c->worker = NULL;
		json_decref(p->reply);
		free(p->tmpdir);
		free(p->tmpkey);
		free(p);
	}
	if (exe_fd >= 0) {
		close(exe_fd);
		exe_fd = -1;
	}
	while ((c = TAILQ_FIRST(&contracts)) != NULL) {
		if (c->replace_req)
			rpcreq_error(c->replace_req, RPC_UNAVAILABLE, NULL,
			    "vmsd is shutting down");
		if (c->replace_tmpdir)
			rm_rf(c->replace_tmpdir);
		if (c->replace_tmpkey)
			unlink(c->replace_tmpkey);
		contract_free(c);
	}
}
