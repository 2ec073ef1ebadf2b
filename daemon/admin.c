/*
 * admin.c — the supervisor's administrative operations: deploy (a one-shot
 * worker builds the contract in a temporary directory, renamed into place
 * only on success; a replace swaps ledgers once the old worker has
 * answered its in-flight calls and exited), stop and start (recorded in
 * the contract's `status` file), and remove (the ledger moved to removed/
 * or purged). The registry and the workers are supervisor.c's.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "util.h"
#include "vmsd.h"
#include "supervisor.h"

/* <state>/removed/<name>.<unix-time>[.N], not yet existing. */
static char *
removed_path(const char *name)
{
	char *p;
	long long t = (long long)time(NULL);
	int i;

	xasprintf(&p, "%s/removed/%s.%lld", vmsd_conf->state_dir, name, t);
	for (i = 1; access(p, F_OK) == 0; i++) {
		free(p);
		xasprintf(&p, "%s/removed/%s.%lld.%d", vmsd_conf->state_dir,
		    name, t, i);
	}
	return p;
}

/* Replace: the new ledger is ready and the old worker has exited. */
void
finish_replace(struct contract *c)
{
	char err[VMS_ERRLEN], *removed;
	struct rpcreq *req = c->replace_req;
	int ok = 1;

	removed = removed_path(c->name);
	if (rename(c->dir, removed) != 0) {
		seterr(err, sizeof(err), "move old ledger aside: %s",
		    strerror(errno));
		ok = 0;
	} else if (rename(c->replace_tmpdir, c->dir) != 0 ||
	    rename(c->replace_tmpkey, c->keypath) != 0) {
		seterr(err, sizeof(err), "install new ledger: %s",
		    strerror(errno));
		ok = 0;
	}
	if (ok) {
		log_info("%s: replaced; old ledger kept in %s", c->name,
		    removed);
		fsync_parent(c->dir);
		fsync_parent(removed);
		fsync_parent(c->keypath);
		set_cache(c, c->replace_result);
		c->failed = 0;
		c->admin_stopped = 0;
		c->ncrashes = 0;
		c->not_before = 0;
		rpcreq_result(req, json_incref(c->replace_result));
	} else {
		log_warnx("%s: replace failed: %s", c->name, err);
		rm_rf(c->replace_tmpdir);
		unlink(c->replace_tmpkey);
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "replace failed: %s",
		    err);
	}
	free(removed);
	json_decref(c->replace_result);
	c->replace_result = NULL;
	c->replace_req = NULL;
	free(c->replace_tmpdir);
	free(c->replace_tmpkey);
	c->replace_tmpdir = c->replace_tmpkey = NULL;
	c->op = OP_NONE;
}

void
finish_remove(struct contract *c)
{
	char *removed = NULL;
	struct rpcreq *req;
	int ok = 1;

	if (c->purge) {
		if (rm_rf(c->dir) != 0) {
			log_warn("%s: purge %s", c->name, c->dir);
			ok = 0;
		}
	} else {
		removed = removed_path(c->name);
		if (rename(c->dir, removed) != 0) {
			log_warn("%s: move %s aside", c->name, c->dir);
			ok = 0;
		} else
			fsync_parent(removed);
	}
	if (ok && unlink(c->keypath) != 0 && errno != ENOENT)
		log_warn("%s: unlink %s", c->name, c->keypath);
	fsync_parent(c->dir);
	if (ok)
		log_info("%s: removed%s%s", c->name, removed ?
		    ", ledger kept in " : " and purged", removed ? removed : "");
	while ((req = TAILQ_FIRST(&c->waiters)) != NULL) {
		TAILQ_REMOVE(&c->waiters, req, qentry);
		if (ok)
			rpcreq_result(req, json_pack("{s:s,s:b,s:b}", "name",
			    c->name, "removed", 1, "purged", c->purge));
		else
			rpcreq_error(req, RPC_INTERNAL_ERROR, NULL,
			    "remove %s failed: see the daemon's log",
			    c->name);
	}
	free(removed);
	if (ok)
		contract_free(c);
	else
		c->op = OP_NONE;
	vmsd_update_status();
}

void
answer_waiters(struct contract *c, json_t *result)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(&c->waiters)) != NULL) {
		TAILQ_REMOVE(&c->waiters, req, qentry);
		rpcreq_result(req, json_deep_copy(result));
	}
	json_decref(result);
}

/* What follows a deploy worker's exit. */
void
deployer_gone(struct contract *c, struct proc *p)
{
	json_t *res = json_object_get(p->reply, "result");
	json_t *e = json_object_get(p->reply, "error");
	struct rpcreq *req = p->req;
	int ok = json_is_object(res) && WIFEXITED(p->status) &&
	    WEXITSTATUS(p->status) == 0;

	c->deployer = NULL;
	if (!ok) {
		rm_rf(p->tmpdir);
		unlink(p->tmpkey);
		if (json_is_object(e))
			rpcreq_error_obj(req, e);
		else
			rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "deploy "
			    "worker crashed; nothing was deployed");
		if (c->hidden)
			contract_free(c);
		else
			pump(c);
		return;
	}
	if (c->hidden) {
		if (rename(p->tmpdir, c->dir) != 0 ||
		    rename(p->tmpkey, c->keypath) != 0) {
			log_warn("%s: install deployed contract", c->name);
			rm_rf(p->tmpdir);
			rm_rf(c->dir);
			unlink(p->tmpkey);
			rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "deploy: "
			    "cannot install the new contract: %s",
			    strerror(errno));
			contract_free(c);
			return;
		}
		fsync_parent(c->dir);
		fsync_parent(c->keypath);
		c->hidden = 0;
		set_cache(c, res);
		log_info("%s: deployed (%s)", c->name, c->vkey ? c->vkey : "");
		rpcreq_result(req, json_incref(res));
		vmsd_update_status();
		pump(c);
		return;
	}
	/* Replace: swap once the old worker is gone. */
	c->op = OP_REPLACE;
	c->replace_req = req;
	c->replace_result = json_incref(res);
	c->replace_tmpdir = p->tmpdir;
	c->replace_tmpkey = p->tmpkey;
	p->tmpdir = p->tmpkey = NULL;
	if (c->worker)
		pump(c);	/* stops it once in-flight calls are answered */
	else {
		finish_replace(c);
		pump(c);
	}
}

void
supervisor_deploy(struct rpcreq *req, const char *name, const char *code,
    json_t *limits, int replace)
{
	struct contract *c = contract_find(name);
	struct proc *p;
	char err[VMS_ERRLEN], *origin, *tmpdir, *tmpkey;
	int created = 0;

	if (vmsd_shutting_down) {
		json_decref(limits);
		rpcreq_error(req, RPC_UNAVAILABLE, NULL,
		    "vmsd is shutting down");
		return;
	}
	if (c && (c->deployer || c->hidden || c->op != OP_NONE)) {
		json_decref(limits);
		rpcreq_error(req, RPC_BUSY, NULL, "busy, retry later: another "
		    "operation on %s is in progress", name);
		return;
	}
	if (c && !replace) {
		json_decref(limits);
		rpcreq_error(req, RPC_EXISTS, NULL, "contract %s exists "
		    "(deploy with replace to start a new ledger)", name);
		return;
	}
	if (c == NULL) {
		c = contract_new(name);
		c->hidden = 1;
		created = 1;
	}
	tmpdir = state_path("contracts/.deploy-", name, "");
	tmpkey = state_path("keys/.deploy-", name, ".key");
	rm_rf(tmpdir);
	unlink(tmpkey);
	xasprintf(&origin, "%s/%s", vmsd_conf->origin_prefix, name);
	if ((p = proc_spawn(c, 1, tmpdir, tmpkey, err, sizeof(err))) == NULL) {
		free(tmpdir);
		free(tmpkey);
		free(origin);
		json_decref(limits);
		if (created)
			contract_free(c);
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "deploy: %s", err);
		return;
	}
	p->req = req;
	p->tmpdir = tmpdir;
	p->tmpkey = tmpkey;
	c->deployer = p;
	proc_send(p, json_pack("{s:i,s:s,s:{s:s,s:s,s:o,s:s},s:s?,s:s}",
	    "id", 1, "method", M_DEPLOY, "params", "name", name, "code", code,
	    "limits", limits, "origin", origin, "caller", req->caller,
	    "auth", req->auth ? req->auth : "anonymous"));
	free(origin);
}

static struct contract *
admin_target(struct rpcreq *req, const char *name)
{
	struct contract *c = contract_find(name);

	if (c == NULL || c->hidden) {
		rpcreq_error(req, RPC_NO_CONTRACT, NULL, "no such contract: %s",
		    name);
		return NULL;
	}
	if (c->op != OP_NONE || c->deployer) {
		rpcreq_error(req, RPC_BUSY, NULL, "busy, retry later: another "
		    "operation on %s is in progress", name);
		return NULL;
	}
	return c;
}

static int
write_status(struct contract *c, const char *status)
{
	char *path, err[VMS_ERRLEN];
	int rc = 0;

	xasprintf(&path, "%s/status", c->dir);
	if (status == NULL) {
		if (unlink(path) != 0 && errno != ENOENT) {
			log_warn("unlink %s", path);
			rc = -1;
		}
	} else if (write_file_atomic(path, status, strlen(status), 0644, err,
	    sizeof(err)) != 0) {
		log_warnx("%s", err);
		rc = -1;
	}
	free(path);
	return rc;
}

void
supervisor_stop(struct rpcreq *req, const char *name)
{
	struct contract *c;
	char msg[256];

	if ((c = admin_target(req, name)) == NULL)
		return;
	if (write_status(c, "stopped\n") != 0) {
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "cannot record "
		    "the stopped state of %s", name);
		return;
	}
	c->admin_stopped = 1;
	snprintf(msg, sizeof(msg), "contract %s is stopped", name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE, msg);
	log_info("%s: stopped by %s", name, rpcreq_who(req));
	if (c->worker == NULL) {
		rpcreq_result(req, json_pack("{s:s,s:s}", "name", name,
		    "status", "stopped"));
		return;
	}
	c->op = OP_STOP;
	TAILQ_INSERT_TAIL(&c->waiters, req, qentry);
	pump(c);
}

void
supervisor_start(struct rpcreq *req, const char *name)
{
	struct contract *c;

	if ((c = admin_target(req, name)) == NULL)
		return;
	if (write_status(c, NULL) != 0) {
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "cannot clear "
		    "the stopped state of %s", name);
		return;
	}
	c->admin_stopped = 0;
	c->failed = 0;
	c->ncrashes = 0;
	c->not_before = 0;
	worker_start(c);
	log_info("%s: started by %s", name, rpcreq_who(req));
	rpcreq_result(req, json_pack("{s:s,s:s}", "name", name, "status",
	    status_of(c)));
}

void
supervisor_remove(struct rpcreq *req, const char *name, int purge)
{
	struct contract *c;
	char msg[256];

	if ((c = admin_target(req, name)) == NULL)
		return;
	log_info("%s: remove%s requested by %s", name, purge ? " --purge" : "",
	    req->peer && req->peer->ident ?
	    req->peer->ident : "admin");
	c->op = OP_REMOVE;
	c->purge = purge;
	snprintf(msg, sizeof(msg), "contract %s was removed", name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE, msg);
	TAILQ_INSERT_TAIL(&c->waiters, req, qentry);
	if (c->worker == NULL)
		finish_remove(c);
	else
		pump(c);
}
