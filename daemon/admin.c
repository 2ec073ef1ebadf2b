/*
 * admin.c — the administrative operations (admin.h). Deploy: a one-shot
 * deploy worker (proc.c) builds the contract (ledger, key, signed head)
 * under temporary names, installed only on success; a replace swaps
 * ledgers once the old worker has answered its in-flight calls and
 * exited. Installs and removes are crash-atomic (intent.c). Stop and
 * start are recorded in the contract's `status` file. Remove moves the
 * ledger to removed/ (or purges it). An operation in progress is the
 * contract's `admin`; one that waits for the worker to exit sets its exit
 * hook, which the supervisor runs once it has.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "contract.h"
#include "intent.h"
#include "log.h"
#include "proc.h"
#include "proto.h"
#include "supervisor.h"
#include "util.h"
#include "vmsd.h"
#include "wire.h"

struct admin_op {
	struct contract		*c;
	struct rpcreq		*req;		/* deploy: its request */
	struct proc		*deployer;
	json_t			*result;	/* the deploy worker's reply */
	json_t			*error;
	char			*tmpdir, *tmpkey, *tmphead;
	int			 purge;
	LIST_ENTRY(admin_op)	 entry;
};

static LIST_HEAD(, admin_op) ops = LIST_HEAD_INITIALIZER(ops);

static void deploy_msg(struct proc *, struct wire_reply *, void *);
static void deploy_gone(struct proc *, int, void *);

static const struct proc_ops deploy_ops = { deploy_msg, deploy_gone,
    NULL };

static struct admin_op *
op_new(struct contract *c)
{
	struct admin_op *op = xcalloc(1, sizeof(*op));

	op->c = c;
	c->admin = op;
	LIST_INSERT_HEAD(&ops, op, entry);
	return op;
}

static void
op_free(struct admin_op *op)
{
	if (op->c != NULL && op->c->admin == op)
		op->c->admin = NULL;
	LIST_REMOVE(op, entry);
	json_decref(op->result);
	json_decref(op->error);
	free(op->tmpdir);
	free(op->tmpkey);
	free(op->tmphead);
	free(op);
}

/* The deploy worker's files, before they are installed (or after a
 * failure). */
static void
discard_new(struct admin_op *op)
{
	rm_rf(op->tmpdir);
	unlink(op->tmpkey);
	unlink(op->tmphead);
}

static void
info_from(struct contract *c, const json_t *res)
{
	json_t *v = json_object_get(res, "size");

	contract_set_info(c, json_is_integer(v) ?
	    (uint64_t)json_integer_value(v) : c->size,
	    json_string_value(json_object_get(res, "vkey")),
	    json_string_value(json_object_get(res, "origin")));
}

/*
 * Install the deploy worker's ledger (intent.c). On failure before the
 * intent, nothing changed and the new files are discarded; after it, the
 * contract is unavailable until the next start completes the install.
 */
static int
install(struct admin_op *op, char **removed, char *err, size_t errlen)
{
	struct contract *c = op->c;
	const char *vkey = json_string_value(json_object_get(op->result,
	    "vkey"));
	char *why;

	if (vkey == NULL) {
		seterr(err, errlen, "the deploy worker named no vkey");
		discard_new(op);
		return -1;
	}
	switch (intent_install(c->name, vkey, removed, err, errlen)) {
	case 0:
		return 0;
	case -1:
		/* nothing changed: the old contract, if any, stays */
		discard_new(op);
		return -1;
	}
	xasprintf(&why, "the install of its new ledger was interrupted (%s); "
	    "vmsd completes it at its next start", err);
	free(c->refused);
	c->refused = why;
	return -1;
}

/* Replace: the new ledger is ready and the old worker has exited. */
static enum contract_fate
replace_done(struct contract *c)
{
	struct admin_op *op = c->admin;
	char err[VMS_ERRLEN], *removed = NULL;

	if (install(op, &removed, err, sizeof(err)) == 0) {
		log_info("%s: replaced%s%s", c->name, removed ?
		    "; old ledger kept in " : "", removed ? removed : "");
		info_from(c, op->result);
		c->failed = 0;
		c->admin_stopped = 0;
		free(c->refused);
		c->refused = NULL;
		restart_forget(&c->restart);
		c->not_before = 0;
		rpcreq_result(op->req, json_incref(op->result));
	} else {
		log_warnx("%s: replace failed: %s", c->name, err);
		rpcreq_error(op->req, RPC_INTERNAL_ERROR, NULL, "replace "
		    "failed: %s", err);
	}
	free(removed);
	op_free(op);
	contracts_changed();
	return CONTRACT_KEPT;
}

static void
deploy_msg(struct proc *p, struct wire_reply *r, void *arg)
{
	struct admin_op *op = arg;
	json_error_t jerr;

	switch (r->kind) {
	case WIRE_RESULT:
		json_decref(op->result);
		if ((op->result = json_loadb(r->result, r->resultlen,
		    JSON_DECODE_ANY, &jerr)) == NULL)
			log_warnx("%s: deploy worker's reply does not parse: "
			    "%s", op->c->name, jerr.text);
		break;
	case WIRE_ERROR:
		json_decref(op->error);
		op->error = r->msg;
		r->msg = NULL;
		break;
	case WIRE_READY:
	case WIRE_CHILD:
	case WIRE_REFUSED:
	case WIRE_ATTACHED:
		log_warnx("%s: deploy worker said %s: killing it",
		    op->c->name, r->kind == WIRE_READY ? "ready" :
		    r->kind == WIRE_CHILD ? "child" :
		    r->kind == WIRE_ATTACHED ? "attached" : "refused");
		proc_kill(p);
		break;
	}
}

/* What follows a deploy worker's exit. */
static void
deploy_gone(struct proc *p, int status, void *arg)
{
	struct admin_op *op = arg;
	struct contract *c = op->c;
	int ok = json_is_object(op->result) && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;

	op->deployer = NULL;
	if (!ok) {
		discard_new(op);
		if (op->error != NULL)
			rpcreq_error_obj(op->req, op->error);
		else
			rpcreq_error(op->req, RPC_INTERNAL_ERROR, NULL, "deploy "
			    "worker crashed; nothing was deployed");
		op_free(op);
		if (c->hidden)
			contract_free(c);
		else
			supervisor_pump(c);
		return;
	}
	if (c->hidden) {
		char err[VMS_ERRLEN], *removed = NULL;

		if (install(op, &removed, err, sizeof(err)) != 0) {
			log_warnx("%s: cannot install the deployed contract: %s",
			    c->name, err);
			rpcreq_error(op->req, RPC_INTERNAL_ERROR, NULL, "deploy: "
			    "cannot install the new contract: %s", err);
			op_free(op);
			if (c->refused == NULL) {
				contract_free(c);
				return;
			}
			/* half installed: listed, unavailable */
			c->hidden = 0;
			contracts_changed();
			return;
		}
		free(removed);
		c->hidden = 0;
		info_from(c, op->result);
		log_info("%s: deployed (%s)", c->name, c->vkey ? c->vkey : "");
		rpcreq_result(op->req, json_incref(op->result));
		op_free(op);
		contracts_changed();
		supervisor_pump(c);
		return;
	}
	/* Replace: swap once the old worker is gone. */
	if (c->worker != NULL) {
		c->exit_hook = replace_done;
		supervisor_pump(c);	/* stops it once in-flight calls are
					   answered */
	} else {
		replace_done(c);
		supervisor_pump(c);
	}
}

void
admin_deploy(struct rpcreq *req, const char *name, const char *code,
    json_t *limits, int replace)
{
	struct contract *c = contract_find(name);
	struct proc_spec spec;
	struct admin_op *op;
	char err[VMS_ERRLEN], *origin;
	json_t *params;
	int created = 0;

	if (vmsd_shutting_down) {
		json_decref(limits);
		rpcreq_error(req, RPC_UNAVAILABLE, NULL,
		    "vmsd is shutting down");
		return;
	}
	if (c && (c->admin != NULL || c->hidden)) {
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
	op = op_new(c);
	op->req = req;
	op->tmpdir = contract_path("contracts/.deploy-", name, "");
	op->tmpkey = contract_path("keys/.deploy-", name, ".key");
	op->tmphead = contract_path("keys/.deploy-", name, ".head");
	discard_new(op);
	spec.name = name;
	spec.dir = op->tmpdir;
	spec.key = op->tmpkey;
	spec.head = op->tmphead;
	spec.deploy = 1;
	if ((op->deployer = proc_spawn(&spec, &deploy_ops, op, err,
	    sizeof(err))) == NULL) {
		json_decref(limits);
		op_free(op);
		if (created)
			contract_free(c);
		rpcreq_error(req, RPC_INTERNAL_ERROR, NULL, "deploy: %s", err);
		return;
	}
	log_debug("%s: deploy worker started, pid %ld", name,
	    (long)proc_pid(op->deployer));
	xasprintf(&origin, "%s/%s", vmsd_conf->origin_prefix, name);
	params = json_pack("{s:s,s:s,s:o,s:s}", "name", name, "code", code,
	    "limits", limits, "origin", origin);
	free(origin);
	if (params == NULL || proc_request(op->deployer, 1, proto_method_name(PM_DEPLOY),
	    req->caller, req->auth, params, NULL, 0, err, sizeof(err)) != 0) {
		/* the deploy worker sees EOF and exits: deploy_gone answers */
		log_warnx("%s: deploy request: %s", name, params ? err :
		    "cannot encode");
		proc_stop(op->deployer);
	}
	json_decref(params);
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
	if (c->admin != NULL) {
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

static enum contract_fate
stop_done(struct contract *c)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(&c->waiters)) != NULL) {
		TAILQ_REMOVE(&c->waiters, req, qentry);
		rpcreq_result(req, json_pack("{s:s,s:s}", "name", c->name,
		    "status", "stopped"));
	}
	op_free(c->admin);
	return CONTRACT_KEPT;
}

void
admin_stop(struct rpcreq *req, const char *name)
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
	op_new(c);
	c->exit_hook = stop_done;
	TAILQ_INSERT_TAIL(&c->waiters, req, qentry);
	supervisor_pump(c);
}

void
admin_start(struct rpcreq *req, const char *name)
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
	free(c->refused);
	c->refused = NULL;
	restart_forget(&c->restart);
	c->not_before = 0;
	supervisor_start_worker(c);
	log_info("%s: started by %s", name, rpcreq_who(req));
	rpcreq_result(req, json_pack("{s:s,s:s}", "name", name, "status",
	    contract_status(c)));
}

static enum contract_fate
remove_done(struct contract *c)
{
	struct admin_op *op = c->admin;
	char err[VMS_ERRLEN], *removed = NULL;
	struct rpcreq *req;
	int ok, r, purge = op->purge;

	r = intent_remove(c->name, c->vkey, purge, &removed, err,
	    sizeof(err));
	ok = r == 0;
	if (ok)
		log_info("%s: removed%s%s", c->name, removed ?
		    ", ledger kept in " : " and purged", removed ? removed : "");
	else
		log_warnx("%s: remove failed: %s", c->name, err);
	while ((req = TAILQ_FIRST(&c->waiters)) != NULL) {
		TAILQ_REMOVE(&c->waiters, req, qentry);
		if (ok)
			rpcreq_result(req, json_pack("{s:s,s:b,s:b}", "name",
			    c->name, "removed", 1, "purged", purge));
		else
			rpcreq_error(req, RPC_INTERNAL_ERROR, NULL,
			    "remove %s failed: %s", c->name, err);
	}
	free(removed);
	op_free(op);
	if (ok || r > 0) {
		/* gone, or going: the next start completes it */
		contract_free(c);
		contracts_changed();
		return CONTRACT_FREED;
	}
	c->removing = 0;
	contracts_changed();
	return CONTRACT_KEPT;
}

void
admin_remove(struct rpcreq *req, const char *name, int purge)
{
	struct contract *c;
	struct admin_op *op;
	char msg[256];

	if ((c = admin_target(req, name)) == NULL)
		return;
	log_info("%s: remove%s requested by %s", name, purge ? " --purge" : "",
	    rpcreq_who(req));
	op = op_new(c);
	op->purge = purge;
	c->removing = 1;
	snprintf(msg, sizeof(msg), "contract %s was removed", name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE, msg);
	TAILQ_INSERT_TAIL(&c->waiters, req, qentry);
	if (c->worker == NULL)
		remove_done(c);
	else {
		c->exit_hook = remove_done;
		supervisor_pump(c);
	}
}

/*
 * A parent's worker made a child (after the entry that asked for it was
 * durable, or again after a restart): register it, or bring its record
 * up to date. Or it stopped one (its status file says so): stop it as
 * admin_stop does, answering nobody.
 */
void
admin_child(struct contract *parent, const char *op, const char *name,
    uint64_t size, const char *vkey, const char *origin)
{
	struct contract *c = contract_find(name);
	char msg[256];

	if (strcmp(op, "deploy") == 0) {
		if (c != NULL && c->hidden) {
			log_warnx("%s: made by %s while a deploy of the same "
			    "name is in progress", name, parent->name);
			return;
		}
		if (c == NULL) {
			c = contract_new(name);
			log_info("%s: created by %s (%s)", name, parent->name,
			    vkey);
		}
		contract_set_info(c, size > c->size ? size : c->size, vkey,
		    origin);
		contracts_changed();
		return;
	}
	if (c == NULL || c->hidden || c->admin_stopped)
		return;
	log_info("%s: stopped by its parent %s", name, parent->name);
	c->admin_stopped = 1;
	snprintf(msg, sizeof(msg), "contract %s is stopped", name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_UNAVAILABLE, msg);
	if (c->worker != NULL && c->admin == NULL && c->exit_hook == NULL) {
		op_new(c);
		c->exit_hook = stop_done;
		supervisor_pump(c);
	}
	contracts_changed();
}

int
admin_recover(char *err, size_t errlen)
{
	return intent_recover(err, errlen);
}

void
admin_free_all(void)
{
	struct admin_op *op;

	while ((op = LIST_FIRST(&ops)) != NULL) {
		if (op->req != NULL)
			rpcreq_error(op->req, RPC_UNAVAILABLE, NULL,
			    "vmsd is shutting down");
		if (op->tmpdir != NULL)
			discard_new(op);
		op_free(op);
	}
}
