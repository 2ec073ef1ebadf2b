/*
 * methods.c — the protocol's methods (vmsd-protocol(7)): parameter checks,
 * identity and permissions, then hand-off to the supervisor, which routes
 * contract work to the contract's worker.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "callid.h"
#include "contract.h"
#include "engine.h"
#include "log.h"
#include "methods.h"
#include "proto.h"
#include "ratelimit.h"
#include "rpcreq.h"
#include "supervisor.h"
#include "util.h"
#include "vmsd.h"

#define LOG_MAX_COUNT	10000

typedef void	(*handler)(struct rpcreq *, json_t *);

static void m_ping(struct rpcreq *, json_t *);
static void m_deploy(struct rpcreq *, json_t *);
static void m_call(struct rpcreq *, json_t *);
static void m_list(struct rpcreq *, json_t *);
static void m_log(struct rpcreq *, json_t *);
static void m_prove(struct rpcreq *, json_t *);
static void m_submit(struct rpcreq *, json_t *);
static void m_stop(struct rpcreq *, json_t *);
static void m_start(struct rpcreq *, json_t *);
static void m_remove(struct rpcreq *, json_t *);
static void m_attach(struct rpcreq *, json_t *);

/* The handler of each method of the table (libvms/proto.c), which has
 * already checked the parameters' presence and types. */
static const handler handlers[PM_COUNT] = {
	[PM_PING] = m_ping,
	[PM_DEPLOY] = m_deploy,
	[PM_CALL] = m_call,
	[PM_LIST] = m_list,
	[PM_INFO] = m_submit,
	[PM_METHODS] = m_submit,
	[PM_LOG] = m_log,
	[PM_CHECKPOINT] = m_submit,
	[PM_PROVE] = m_prove,
	[PM_READ] = m_submit,
	[PM_LS] = m_submit,
	[PM_STATE] = m_submit,
	[PM_STOP] = m_stop,
	[PM_START] = m_start,
	[PM_REMOVE] = m_remove,
	[PM_ATTACH] = m_attach,
};

static int
in_group(const struct conn_info *p, gid_t gid)
{
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (p->gid == gid)
		return 1;
	if ((pw = getpwuid(p->uid)) == NULL)
		return 0;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

static int
is_admin(const struct conn_info *p, char *why, size_t whylen)
{
	struct group *gr;
	gid_t gid = vmsd_admin_gid;

	if (p->tcp) {
		seterr(why, whylen, "not allowed over TCP");
		return 0;
	}
	if (p->uid == 0 || p->uid == geteuid())
		return 1;
	if (gid != (gid_t)-1 && in_group(p, gid))
		return 1;
	gr = gid != (gid_t)-1 ? getgrgid(gid) : NULL;
	if (gr != NULL)
		seterr(why, whylen, "requires root or group %s", gr->gr_name);
	else
		seterr(why, whylen, "requires root or the admin group");
	return 0;
}

static void
m_ping(struct rpcreq *req, json_t *params)
{
	rpcreq_result(req, json_pack("{s:s}", "version", VMSD_VERSION));
}

static void
m_list(struct rpcreq *req, json_t *params)
{
	supervisor_list(req);
}

/* Resolve deploy limits: config defaults, then the request's. */
static json_t *
deploy_limits(const json_t *given, char *err, size_t errlen)
{
	struct vms_limits lim = vmsd_conf->limits;
	const char *key;
	json_t *v;
	char *kv, why[VMS_ERRLEN];

	if (given != NULL && !json_is_null(given)) {
		if (!json_is_object(given)) {
			seterr(err, errlen, "parameter \"limits\" must be an "
			    "object");
			return NULL;
		}
		json_object_foreach((json_t *)given, key, v) {
			if (json_is_integer(v) && json_integer_value(v) >= 0)
				xasprintf(&kv, "%s=%lld", key,
				    (long long)json_integer_value(v));
			else if (json_is_string(v))
				xasprintf(&kv, "%s=%s", key,
				    json_string_value(v));
			else {
				seterr(err, errlen, "limit \"%s\" must be a "
				    "non-negative integer", key);
				return NULL;
			}
			if (limits_set(&lim, kv, why, sizeof(why)) != 0) {
				seterr(err, errlen, "limits: %s", why);
				free(kv);
				return NULL;
			}
			free(kv);
		}
	}
	return limits_to_json(&lim);
}

static void
m_deploy(struct rpcreq *req, json_t *params)
{
	const struct conn_info *peer = req->peer;
	const char *name, *code;
	json_t *limits;
	int replace;
	char err[VMS_ERRLEN];

	name = json_string_value(json_object_get(params, "name"));
	code = json_string_value(json_object_get(params, "code"));
	replace = json_is_true(json_object_get(params, "replace"));
	if (!valid_contract_name(name)) {
		snprintf(err, sizeof(err), "parameter \"name\": invalid "
		    "contract name '%s' (letters, digits, '_', '-', '.'; "
		    "starts with a letter or digit; at most 64)", name);
		goto bad;
	}
	/* P.x is a child's name: only contract P's calls make it. */
	if (strchr(name, '.') != NULL) {
		snprintf(err, sizeof(err), "parameter \"name\": '%s' has a "
		    "'.': such names belong to child contracts, which only "
		    "their parent creates (System.contracts.deploy)", name);
		goto bad;
	}
	if ((limits = deploy_limits(json_object_get(params, "limits"), err,
	    sizeof(err))) == NULL)
		goto bad;
	/* Entry 0 records who deployed (admins are always peercred). */
	if (peer != NULL && peer->ident != NULL) {
		req->caller = xstrdup(peer->ident);
		req->auth = "peercred";
	} else
		req->auth = "anonymous";
	log_info("deploy of %s%s requested by %s", name,
	    replace ? " (replace)" : "", req->caller ? req->caller : "?");
	admin_deploy(req, name, code, limits, replace);
	return;
bad:
	rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
}

/* Everything a worker needs: method, params, identity. */
static void
m_submit(struct rpcreq *req, json_t *params)
{
	const char *contract = json_string_value(json_object_get(params,
	    "contract"));

	req->params = json_incref(params);
	supervisor_submit(req, contract);
}

static void
m_call(struct rpcreq *req, json_t *params)
{
	const struct conn_info *peer = req->peer;
	const struct contract *c = contract_find(json_string_value(
	    json_object_get(params, "contract")));
	struct callid_peer who = { peer ? peer->ident : NULL,
	    peer ? peer->tcp : 0, vmsd_conf->debug_auth,
	    c ? c->origin : NULL };
	char err[VMS_ERRLEN];
	json_t *data;
	int changed = 0, code;

	code = callid_decide(params, &who, &req->caller, &req->auth, &changed,
	    &data, err, sizeof(err));
	if (changed)
		rpcreq_params_changed(req);
	if (code != 0) {
		rpcreq_error(req, code, data, "%s", err);
		return;
	}
	/* Remote calls: refused here, before any contract runs, so that a
	 * refused call never reaches a ledger. */
	if (peer != NULL && peer->tcp) {
		if (strcmp(req->auth, "anonymous") == 0 &&
		    !vmsd_conf->anonymous_calls) {
			rpcreq_error(req, RPC_PERMISSION, NULL, "permission "
			    "denied: anonymous remote calls are off on this "
			    "host (anonymous_calls = no); sign the call");
			return;
		}
		if (ratelimit_call(req) != 0)
			return;
	}
	m_submit(req, params);
}

/*
 * The connection goes to the contract's worker, which then reads the
 * calls sent on it and answers them itself (vmsd-protocol(7), "attach").
 * Only a connection of the control socket, and the request alone (not in
 * a batch, with an id): the front end reads nothing more from it, and the
 * supervisor hands it over once the worker is ready.
 */
static void
m_attach(struct rpcreq *req, json_t *params)
{
	if (req->parent != NULL || req->notification) {
		rpcreq_error(req, RPC_INVALID_REQUEST, NULL, "attach must be "
		    "a request of its own, with an id (not in a batch)");
		return;
	}
	if (req->handoff == NULL || req->hold == NULL || req->peer == NULL ||
	    req->peer->tcp) {
		rpcreq_error(req, RPC_PERMISSION, NULL, "permission denied: "
		    "only a connection to the control socket can be attached");
		return;
	}
	req->hold(req, req->owner);
	m_submit(req, params);
}

static void
m_log(struct rpcreq *req, json_t *params)
{
	json_t *count = json_object_get(params, "count");

	if (json_is_integer(count) &&
	    json_integer_value(count) > LOG_MAX_COUNT) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "parameter "
		    "\"count\" must be at most %d", LOG_MAX_COUNT);
		return;
	}
	m_submit(req, params);
}

static void
m_prove(struct rpcreq *req, json_t *params)
{
	int has_index = json_object_get(params, "index") != NULL;
	int has_old = json_object_get(params, "old") != NULL;

	if (has_index == has_old) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "prove needs "
		    "exactly one of parameters \"index\" and \"old\"");
		return;
	}
	m_submit(req, params);
}

static void
m_stop(struct rpcreq *req, json_t *params)
{
	admin_stop(req, json_string_value(json_object_get(params,
	    "contract")));
}

static void
m_start(struct rpcreq *req, json_t *params)
{
	admin_start(req, json_string_value(json_object_get(params,
	    "contract")));
}

static void
m_remove(struct rpcreq *req, json_t *params)
{
	admin_remove(req, json_string_value(json_object_get(params,
	    "contract")), json_is_true(json_object_get(params, "purge")));
}

void
methods_dispatch(struct rpcreq *req, const char *name, json_t *params)
{
	const struct conn_info *peer = req->peer;
	const struct proto_method *m = proto_method_find(name);
	const char *contract;
	char err[VMS_ERRLEN], why[VMS_ERRLEN];

	if (m == NULL) {
		rpcreq_error(req, RPC_METHOD_NOT_FOUND, NULL,
		    "method not found: %s", name);
		return;
	}
	if (peer != NULL && peer->tcp && !(m->flags & PM_REMOTE)) {
		rpcreq_error(req, RPC_PERMISSION, NULL, "permission denied: "
		    "%s is not allowed over TCP", name);
		return;
	}
	if ((m->flags & PM_ADMIN) && (peer == NULL ||
	    !is_admin(peer, why, sizeof(why)))) {
		rpcreq_error(req, RPC_PERMISSION, NULL, "permission denied: "
		    "%s %s", name, peer ? why : "");
		return;
	}
	if (proto_check_params(m, params, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	if (m->flags & PM_CONTRACT) {
		contract = json_string_value(json_object_get(params,
		    "contract"));
		if (!valid_contract_name(contract)) {
			rpcreq_error(req, RPC_NO_CONTRACT, NULL,
			    "no such contract: %s", contract);
			return;
		}
	}
	req->pm = m;
	handlers[m->id](req, params);
}
