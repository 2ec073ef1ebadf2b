/*
 * supervisor.c — the flow of requests to contract workers.
 *
 * Each contract has at most one worker (proc.c), started lazily by the
 * first request and stopped after idle_timeout. Its requests wait in a
 * bounded FIFO (queue_limit, then RPC_BUSY) and are sent in arrival order,
 * a window at a time, so the worker can group-commit what is waiting;
 * replies come back in the same order. A worker that dies is restarted
 * after a backoff (restart.c); the requests it had been sent are answered
 * RPC_UNAVAILABLE (never a false success), the queued ones are retried.
 * After max_restarts crashes within restart_window the contract is
 * "failed" until an admin starts it. A worker that answers nothing for
 * call_timeout seconds while calls are in flight (stopped, stuck) is
 * killed: its in-flight calls are answered RPC_UNAVAILABLE saying so (and
 * that they may or may not have been committed), and it is restarted like
 * a crashed one; every answer restarts that watchdog. Contracts without a
 * worker (stopped, failed) still answer ledger-only reads. An admin
 * operation that needs the worker gone (admin.c) sets the contract's
 * exit_hook: nothing more is sent, the worker is stopped once its in-flight
 * calls are answered, and the hook runs when it has exited.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "contract.h"
#include "ledger.h"
#include "ledgerq.h"
#include "log.h"
#include "proc.h"
#include "proto.h"
#include "supervisor.h"
#include "util.h"
#include "vmsd.h"
#include "wire.h"

static void (*on_child)(struct contract *, const char *, const char *,
    uint64_t, const char *, const char *);

void
supervisor_on_child(void (*fn)(struct contract *, const char *,
    const char *, uint64_t, const char *, const char *))
{
	on_child = fn;
}

static void (*on_back)(int, const char *, size_t, const char *);

void
supervisor_on_back(void (*fn)(int, const char *, size_t, const char *))
{
	on_back = fn;
}

static void worker_msg(struct proc *, struct wire_reply *, void *);
static void worker_gone(struct proc *, int, void *);
static void worker_back(struct proc *, int, const char *, size_t,
    const char *, void *);
static void answer_unavailable(struct contract *);

static const struct proc_ops worker_ops = { worker_msg, worker_gone,
    worker_back };

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct contract *c = arg;

	if (c->worker && c->state == C_RUNNING && c->nqueue == 0 &&
	    c->ninflight == 0 && c->exit_hook == NULL) {
		log_debug("%s: idle for %us, stopping worker", c->name,
		    vmsd_conf->idle_timeout);
		c->state = C_STOPPING;
		proc_stop(c->worker);
		return;
	}
	supervisor_pump(c);
}

static void
ctimer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct contract *c = arg;

	if (c->worker == NULL || c->ninflight == 0 || c->timed_out ||
	    proc_finished(c->worker))
		return;
	log_warnx("%s: worker %ld answered nothing for %us with %u calls in "
	    "flight (stopped or stuck): killing it", c->name,
	    (long)proc_pid(c->worker), vmsd_conf->call_timeout,
	    c->ninflight);
	c->timed_out = 1;
	proc_kill(c->worker);
}

static void
ensure_timers(struct contract *c)
{
	if (c->timer == NULL &&
	    (c->timer = evtimer_new(vmsd_base, timer_cb, c)) == NULL)
		fatalx("evtimer_new");
	if (c->ctimer == NULL &&
	    (c->ctimer = evtimer_new(vmsd_base, ctimer_cb, c)) == NULL)
		fatalx("evtimer_new");
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
 * answer. (Re)armed on every answer and when the first call is sent.
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

void
supervisor_start_worker(struct contract *c)
{
	struct proc_spec spec = { c->name, c->dir, c->keypath, c->headpath,
	    0 };
	char err[VMS_ERRLEN];

	if (c->worker || c->failed || c->admin_stopped || c->refused)
		return;
	ensure_timers(c);
	if ((c->worker = proc_spawn(&spec, &worker_ops, c, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s: cannot start worker: %s", c->name, err);
		c->not_before = mono_msec() + 1000;
		return;
	}
	log_info("%s: contract worker started, pid %ld", c->name,
	    (long)proc_pid(c->worker));
	c->state = C_STARTING;
	contracts_changed();
}

/*
 * The attach channel's datagram for req's connection (wire.h: what the
 * worker needs to serve it, then the bytes the client sent) and the
 * connection itself, given up by its front end (conn_handoff; own: vmsd's
 * hand-over of a call, not an attach). 0, or -1 with err (nothing given
 * up, b empty).
 */
static int
take_conn(struct rpcreq *req, int own, struct jbuf *b, int *fd,
    char **input, size_t *inputlen, char *err, size_t errlen)
{
	const struct vmsd_config *cf = vmsd_conf;
	const uint64_t lim[WIRE_ATTACH_LIMITS] = { cf->max_message,
	    cf->max_output, cf->client_idle_timeout,
	    cf->client_request_timeout, cf->max_connections,
	    cf->max_connections_per_uid, cf->memory_budget };

	if (wire_put_attach(b, own ? NULL : req->id, req->peer->ident,
	    req->peer->uid, cf->debug_auth, own, lim, err, errlen) != 0 ||
	    req->handoff(req, req->owner, own, fd, input, inputlen, err,
	    errlen) != 0) {
		jbuf_free(b);
		return -1;
	}
	if (*inputlen > 0)
		jbuf_raw(b, *input, *inputlen);
	return 0;
}

/*
 * attach, its worker ready: the client's connection goes over the attach
 * channel with what the worker needs to serve it, and the worker answers
 * the request on it. The client that left meanwhile is forgotten.
 */
static void
attach_one(struct contract *c, struct rpcreq *req)
{
	struct jbuf b = { NULL, 0, 0 };
	char err[VMS_ERRLEN], *input = NULL;
	size_t inputlen = 0;
	int fd;

	if (req->owner == NULL) {
		rpcreq_reply_raw(req, NULL, 0);		/* frees it */
		return;
	}
	if (take_conn(req, 0, &b, &fd, &input, &inputlen, err,
	    sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_REQUEST, NULL, "%s", err);
		return;
	}
	if (proc_attach(c->worker, fd, b.s, b.len, err, sizeof(err)) != 0)
		log_warnx("%s: a connection to attach is closed: %s", c->name,
		    err);
	close(fd);
	free(input);
	jbuf_free(&b);
	rpcreq_reply_raw(req, NULL, 0);	/* orphaned by the handoff: freed */
}

/*
 * A call of a control socket client, its worker ready: rather than relay
 * it and every call after it, hand the connection over as attach does,
 * the call's own line first (vmsd.conf(5) "handoff", wire.h). The worker
 * then serves the client's calls of its contract directly, and gives the
 * connection back at the first line that is anything else. 0 if handed
 * over (the request is freed); -1 if the front end keeps the connection
 * (see conn_handoff for when), and the call is relayed.
 */
static int
handoff_one(struct contract *c, struct rpcreq *req)
{
	struct jbuf b = { NULL, 0, 0 };
	char err[VMS_ERRLEN], *input = NULL;
	size_t inputlen = 0;
	int fd;

	if (!vmsd_conf->handoff || req->handoff == NULL ||
	    req->owner == NULL || req->peer == NULL || req->peer->tcp ||
	    req->parent != NULL || proc_finished(c->worker) ||
	    take_conn(req, 1, &b, &fd, &input, &inputlen, err,
	    sizeof(err)) != 0)
		return -1;
	if (proc_attach(c->worker, fd, b.s, b.len, err, sizeof(err)) != 0)
		/* served here after all, from its call on */
		worker_back(c->worker, fd, input, inputlen, err, c);
	else
		close(fd);
	free(input);
	jbuf_free(&b);
	rpcreq_reply_raw(req, NULL, 0);	/* orphaned by the handoff: freed */
	return 0;
}

/* A connection handed over on vmsd's own comes back from the worker (or
 * never went: handoff_one), for the front end to serve. */
static void
worker_back(struct proc *p, int fd, const char *input, size_t inputlen,
    const char *why, void *arg)
{
	if (on_back != NULL)
		on_back(fd, input, inputlen, why);
	else
		close(fd);
}

static void
send_one(struct contract *c, struct rpcreq *req)
{
	char err[VMS_ERRLEN];

	if (req->pm->id == PM_ATTACH) {
		attach_one(c, req);
		return;
	}
	if (req->pm->id == PM_CALL && handoff_one(c, req) == 0)
		return;

	req->wid = ++c->next_wid;
	if (proc_request(c->worker, req->wid, req->pm->name, req->caller,
	    req->auth, req->params, req->ptext, req->ptextlen, err,
	    sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	TAILQ_INSERT_TAIL(&c->inflight, req, qentry);
	if (c->ninflight++ == 0)
		arm_call_timer(c);
}

/* Move requests along; start or stop the worker as the state asks. */
void
supervisor_pump(struct contract *c)
{
	struct rpcreq *req;
	unsigned window = vmsd_conf->batch_max * 2;
	uint64_t now;

	if (c->hidden)
		return;
	ensure_timers(c);
	if (c->worker == NULL) {
		if (c->nqueue == 0 || c->exit_hook != NULL)
			return;
		if (vmsd_shutting_down) {
			rpcreq_fail_list(&c->queue, &c->nqueue,
			    RPC_UNAVAILABLE, "vmsd is shutting down");
			return;
		}
		now = mono_msec();
		if (now < c->not_before) {
			/* Re-armed even if pending: it may be the idle timer
			 * of the worker that just died, due much later. */
			arm_timer(c, c->not_before - now);
			return;
		}
		supervisor_start_worker(c);
		return;
	}
	/* A worker that has exited or closed its end gets nothing more: what
	 * is still queued goes to its successor. */
	if (c->state != C_RUNNING || proc_finished(c->worker))
		return;
	while (c->exit_hook == NULL && c->ninflight < window &&
	    (req = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, req, qentry);
		c->nqueue--;
		send_one(c, req);
	}
	if ((c->exit_hook != NULL && c->ninflight == 0) ||
	    (vmsd_shutting_down && c->nqueue == 0 && c->ninflight == 0)) {
		evtimer_del(c->timer);
		/* EOF tells the worker to commit, snapshot and exit. */
		c->state = C_STOPPING;
		proc_stop(c->worker);
		log_debug("%s: stopping worker %ld", c->name,
		    (long)proc_pid(c->worker));
	} else if (c->nqueue == 0 && c->ninflight == 0 &&
	    c->nattached == 0 && vmsd_conf->idle_timeout > 0)
		arm_timer(c, (uint64_t)vmsd_conf->idle_timeout * 1000);
	else
		evtimer_del(c->timer);
}

/* info from the worker, completed with what only vmsd knows. */
static json_t *
augment_info(struct contract *c, json_t *result)
{
	if (!json_is_object(result))
		return result;
	json_object_set_new(result, "status",
	    json_string(contract_status(c)));
	json_object_set_new(result, "pid", c->worker ?
	    json_integer(proc_pid(c->worker)) : json_null());
	json_object_set_new(result, "restarts",
	    json_integer(c->restart.restarts));
	json_object_set_new(result, "queue",
	    json_integer(c->nqueue + c->ninflight));
	json_object_set_new(result, "attached", json_integer(c->nattached));
	json_object_set_new(result, "dir", json_string(c->dir));
	if (c->refused)
		json_object_set_new(result, "reason",
		    json_string(c->refused));
	return result;
}

static void
worker_msg(struct proc *p, struct wire_reply *r, void *arg)
{
	struct contract *c = arg;
	struct rpcreq *req;
	json_error_t jerr;
	json_t *res;

	if (r->kind == WIRE_CHILD) {
		if (on_child != NULL)
			on_child(c, r->child, r->name, r->size, r->vkey,
			    r->origin);
		return;
	}
	if (r->kind == WIRE_REFUSED) {
		/* It exits next: worker_gone answers what waits. */
		free(c->refused);
		c->refused = xstrdup(r->reason);
		log_warnx("%s: contract unavailable: %s", c->name, r->reason);
		return;
	}
	if (r->kind == WIRE_ATTACHED) {
		/* calls of attached clients grow the ledger; while any is
		 * attached, the worker is busy (no idle stop) */
		c->nattached = (unsigned)r->id;
		if (r->size > c->size)
			c->size = r->size;
		supervisor_pump(c);
		return;
	}
	if (r->kind == WIRE_READY) {
		contract_set_info(c, r->size, r->vkey, r->origin);
		c->state = C_RUNNING;
		log_debug("%s: worker %ld ready", c->name, (long)proc_pid(p));
		supervisor_pump(c);
		return;
	}
	req = TAILQ_FIRST(&c->inflight);
	if (req == NULL || r->id != req->wid) {
		log_warnx("%s: worker %ld answered out of order: killing it",
		    c->name, (long)proc_pid(p));
		proc_kill(p);
		return;
	}
	TAILQ_REMOVE(&c->inflight, req, qentry);
	c->ninflight--;
	arm_call_timer(c);
	c->size = r->size;
	if (r->kind == WIRE_ERROR)
		rpcreq_error_obj(req, r->msg);
	else if (req->pm->id != PM_INFO)
		rpcreq_result_text(req, r->result, r->resultlen);
	else if ((res = json_loadb(r->result, r->resultlen, JSON_DECODE_ANY,
	    &jerr)) == NULL)
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "info: the worker's "
		    "reply does not parse: %s", jerr.text);
	else
		rpcreq_result(req, augment_info(c, res));
	supervisor_pump(c);
}

static void
crashed(struct contract *c)
{
	uint64_t delay;
	unsigned recent;
	char msg[256];

	if (restart_crash(&c->restart, mono_msec(), vmsd_conf->max_restarts,
	    vmsd_conf->restart_window, &delay, &recent) == RESTART_FAILED) {
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
	c->not_before = mono_msec() + delay;
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

static void
worker_gone(struct proc *p, int status, void *arg)
{
	struct contract *c = arg;
	int clean = c->state == C_STOPPING && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	contract_hook hook;

	c->worker = NULL;
	c->state = C_IDLE;
	c->nattached = 0;	/* its attached connections closed with it */
	evtimer_del(c->ctimer);
	if (c->timed_out)
		fail_timed_out(c);
	c->timed_out = 0;
	rpcreq_fail_list(&c->inflight, &c->ninflight, RPC_UNAVAILABLE,
	    "worker crashed, call not executed or not acknowledged");
	if (c->refused) {
		/* Not a crash: no restart until an admin starts it. */
		log_debug("%s: worker %ld exited after refusing", c->name,
		    (long)proc_pid(p));
		answer_unavailable(c);
	} else if (!clean) {
		if (WIFSIGNALED(status))
			log_warnx("%s: worker %ld killed by signal %d",
			    c->name, (long)proc_pid(p), WTERMSIG(status));
		else
			log_warnx("%s: worker %ld exited with status %d",
			    c->name, (long)proc_pid(p), WEXITSTATUS(status));
		crashed(c);
	} else
		log_debug("%s: worker %ld stopped", c->name,
		    (long)proc_pid(p));
	if ((hook = c->exit_hook) != NULL) {
		c->exit_hook = NULL;
		if (hook(c) == CONTRACT_FREED)
			return;
	}
	contracts_changed();
	supervisor_pump(c);
}

static void offline_read(struct contract *, struct rpcreq *);

static void
unavailable(struct contract *c, struct rpcreq *req)
{
	rpcreq_error(req, RPC_UNAVAILABLE, json_pack("{s:s,s:s}", "reason",
	    "refused", "detail", c->refused), "contract %s is unavailable: %s",
	    c->name, c->refused);
}

/* The worker refused the contract: what waited for it is answered now,
 * ledger-only reads from the ledger. */
static void
answer_unavailable(struct contract *c)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, req, qentry);
		c->nqueue--;
		if (req->pm->flags & PM_LEDGER)
			offline_read(c, req);
		else
			unavailable(c, req);
	}
}

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
	code = ledgerq(l, c->name, req->pm->id, req->params, &r, err,
	    sizeof(err));
	ledger_close(l);
	if (code != 0) {
		rpcreq_error(req, code, NULL, "%s", err);
		return;
	}
	if (req->pm->id == PM_INFO)
		r = augment_info(c, r);
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
	if (c->removing) {
		rpcreq_error(req, RPC_UNAVAILABLE, NULL, "contract %s is being "
		    "removed", name);
		return;
	}
	if (c->failed || c->admin_stopped || c->refused) {
		if ((req->pm->flags & PM_LEDGER) && c->worker == NULL) {
			offline_read(c, req);
			return;
		}
		if (c->refused)
			unavailable(c, req);
		else if (c->failed)
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
	supervisor_pump(c);
}

void
supervisor_list(struct rpcreq *req)
{
	struct contract *c;
	json_t *a = json_array();

	for (c = contract_first(); c != NULL; c = contract_next(c)) {
		if (c->hidden)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:o}",
		    "name", c->name, "status", contract_status(c), "size",
		    (json_int_t)c->size, "pid", c->worker ?
		    json_integer(proc_pid(c->worker)) : json_null()));
	}
	rpcreq_result(req, json_pack("{s:o}", "contracts", a));
}

int
supervisor_init(char *err, size_t errlen)
{
	const char *subs[] = { "contracts", "keys", "removed", "intents" };
	char *path;
	size_t i;

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
	proc_init();
	return 0;
}

void
supervisor_shutdown(void (*done)(void))
{
	struct contract *c, *next;

	for (c = contract_first(); c != NULL; c = next) {
		next = contract_next(c);
		if (c->timer)
			evtimer_del(c->timer);
		supervisor_pump(c);
	}
	proc_when_none(done);
}

void
supervisor_sigchld(void)
{
	proc_sigchld();
}
