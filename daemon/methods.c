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

#include "engine.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "vmsd.h"

#define M_ADMIN		0x01	/* root, the daemon's user or admin group */
#define M_TCP		0x02	/* allowed over TCP */
#define M_CONTRACT	0x04	/* needs "contract" and goes to the worker */

#define LOG_MAX_COUNT	10000

static void m_ping(struct rpcreq *, json_t *, const char *);
static void m_deploy(struct rpcreq *, json_t *, const char *);
static void m_call(struct rpcreq *, json_t *, const char *);
static void m_list(struct rpcreq *, json_t *, const char *);
static void m_log(struct rpcreq *, json_t *, const char *);
static void m_checkpoint(struct rpcreq *, json_t *, const char *);
static void m_prove(struct rpcreq *, json_t *, const char *);
static void m_read(struct rpcreq *, json_t *, const char *);
static void m_ls(struct rpcreq *, json_t *, const char *);
static void m_plain(struct rpcreq *, json_t *, const char *);
static void m_stop(struct rpcreq *, json_t *, const char *);
static void m_start(struct rpcreq *, json_t *, const char *);
static void m_remove(struct rpcreq *, json_t *, const char *);

static const struct method {
	const char	*name;
	int		 flags;
	void		(*fn)(struct rpcreq *, json_t *, const char *);
} methods[] = {
	{ M_PING,	M_TCP,			m_ping },
	{ M_DEPLOY,	M_ADMIN,		m_deploy },
	{ M_CALL,	M_TCP | M_CONTRACT,	m_call },
	{ M_LIST,	M_TCP,			m_list },
	{ M_INFO,	M_TCP | M_CONTRACT,	m_plain },
	{ M_METHODS,	M_TCP | M_CONTRACT,	m_plain },
	{ M_LOG,	M_TCP | M_CONTRACT,	m_log },
	{ M_CHECKPOINT,	M_TCP | M_CONTRACT,	m_checkpoint },
	{ M_PROVE,	M_TCP | M_CONTRACT,	m_prove },
	{ M_READ,	M_TCP | M_CONTRACT,	m_read },
	{ M_LS,		M_TCP | M_CONTRACT,	m_ls },
	{ M_STATE,	M_TCP | M_CONTRACT,	m_plain },
	{ M_STOP,	M_ADMIN | M_CONTRACT,	m_stop },
	{ M_START,	M_ADMIN | M_CONTRACT,	m_start },
	{ M_REMOVE,	M_ADMIN | M_CONTRACT,	m_remove },
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
m_ping(struct rpcreq *req, json_t *params, const char *mname)
{
	rpcreq_result(req, json_pack("{s:s}", "version", VMSD_VERSION));
}

static void
m_list(struct rpcreq *req, json_t *params, const char *mname)
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
m_deploy(struct rpcreq *req, json_t *params, const char *mname)
{
	const struct conn_info *peer = req->peer;
	const char *name, *code;
	json_t *limits;
	int replace;
	char err[VMS_ERRLEN];

	if (param_string(params, "name", 1, &name, err, sizeof(err)) != 0 ||
	    param_string(params, "code", 1, &code, err, sizeof(err)) != 0 ||
	    param_bool(params, "replace", 0, &replace, err, sizeof(err)) != 0)
		goto bad;
	if (!valid_contract_name(name)) {
		snprintf(err, sizeof(err), "parameter \"name\": invalid "
		    "contract name '%s' (letters, digits, '_', '-', '.'; "
		    "starts with a letter or digit; at most 64)", name);
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
	supervisor_deploy(req, name, code, limits, replace);
	return;
bad:
	rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
}

/* Everything a worker needs: method, params, identity. */
static void
submit(struct rpcreq *req, json_t *params, const char *method)
{
	const char *contract = json_string_value(json_object_get(params,
	    "contract"));

	req->method = xstrdup(method);
	req->params = json_incref(params);
	supervisor_submit(req, contract);
}

static void
m_call(struct rpcreq *req, json_t *params, const char *mname)
{
	const struct conn_info *peer = req->peer;
	const char *m, *user;
	json_t *args;
	char err[VMS_ERRLEN];

	if (param_string(params, "method", 1, &m, err, sizeof(err)) != 0 ||
	    param_string(params, "user", 0, &user, err, sizeof(err)) != 0)
		goto bad;
	args = json_object_get(params, "args");
	if (args == NULL || json_is_null(args))
		json_object_set_new(params, "args", json_array());
	else if (!json_is_array(args)) {
		snprintf(err, sizeof(err), "parameter \"args\" must be an "
		    "array");
		goto bad;
	}
	if (user != NULL) {
		if (!vmsd_conf->debug_auth) {
			snprintf(err, sizeof(err), "parameter \"user\" needs "
			    "debug_auth = yes in vmsd.conf");
			goto bad;
		}
		req->caller = xstrdup(user);
		req->auth = "debug";
	} else if (peer != NULL && !peer->tcp && peer->ident != NULL) {
		req->caller = xstrdup(peer->ident);
		req->auth = "peercred";
	} else
		req->auth = "anonymous";
	submit(req, params, M_CALL);
	return;
bad:
	rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
}

static void
m_plain(struct rpcreq *req, json_t *params, const char *mname)
{
	submit(req, params, mname);
}

static void
m_log(struct rpcreq *req, json_t *params, const char *mname)
{
	uint64_t from, count;
	char err[VMS_ERRLEN];

	if (param_uint(params, "from", 0, 0, &from, err, sizeof(err)) != 0 ||
	    param_uint(params, "count", 0, 100, &count, err,
	    sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	if (count > LOG_MAX_COUNT) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "parameter "
		    "\"count\" must be at most %d", LOG_MAX_COUNT);
		return;
	}
	submit(req, params, M_LOG);
}

static void
m_checkpoint(struct rpcreq *req, json_t *params, const char *mname)
{
	uint64_t size;
	char err[VMS_ERRLEN];

	if (param_uint(params, "size", 0, 0, &size, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	submit(req, params, M_CHECKPOINT);
}

static void
m_prove(struct rpcreq *req, json_t *params, const char *mname)
{
	uint64_t n;
	char err[VMS_ERRLEN];
	int has_index = json_object_get(params, "index") != NULL;
	int has_old = json_object_get(params, "old") != NULL;

	if (param_uint(params, "size", 1, 0, &n, err, sizeof(err)) != 0 ||
	    param_uint(params, "index", 0, 0, &n, err, sizeof(err)) != 0 ||
	    param_uint(params, "old", 0, 0, &n, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	if (has_index == has_old) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "prove needs "
		    "exactly one of parameters \"index\" and \"old\"");
		return;
	}
	submit(req, params, M_PROVE);
}

static void
m_read(struct rpcreq *req, json_t *params, const char *mname)
{
	const char *path;
	char err[VMS_ERRLEN];

	if (param_string(params, "path", 1, &path, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	submit(req, params, M_READ);
}

static void
m_ls(struct rpcreq *req, json_t *params, const char *mname)
{
	const char *path;
	int rec;
	char err[VMS_ERRLEN];

	if (param_string(params, "path", 0, &path, err, sizeof(err)) != 0 ||
	    param_bool(params, "recursive", 0, &rec, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	submit(req, params, M_LS);
}

static void
m_stop(struct rpcreq *req, json_t *params, const char *mname)
{
	supervisor_stop(req, json_string_value(json_object_get(params,
	    "contract")));
}

static void
m_start(struct rpcreq *req, json_t *params, const char *mname)
{
	supervisor_start(req, json_string_value(json_object_get(params,
	    "contract")));
}

static void
m_remove(struct rpcreq *req, json_t *params, const char *mname)
{
	int purge;
	char err[VMS_ERRLEN];

	if (param_bool(params, "purge", 0, &purge, err, sizeof(err)) != 0) {
		rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
		return;
	}
	supervisor_remove(req, json_string_value(json_object_get(params,
	    "contract")), purge);
}

void
methods_dispatch(struct rpcreq *req, const char *name, json_t *params)
{
	const struct conn_info *peer = req->peer;
	const struct method *m = NULL;
	const char *contract;
	char err[VMS_ERRLEN], why[VMS_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			m = &methods[i];
	if (m == NULL) {
		rpcreq_error(req, RPC_METHOD_NOT_FOUND, NULL,
		    "method not found: %s", name);
		return;
	}
	if (peer != NULL && peer->tcp && !(m->flags & M_TCP)) {
		rpcreq_error(req, RPC_PERMISSION, NULL, "permission denied: "
		    "%s is not allowed over TCP", name);
		return;
	}
	if ((m->flags & M_ADMIN) && (peer == NULL ||
	    !is_admin(peer, why, sizeof(why)))) {
		rpcreq_error(req, RPC_PERMISSION, NULL, "permission denied: "
		    "%s %s", name, peer ? why : "");
		return;
	}
	if (m->flags & M_CONTRACT) {
		if (param_string(params, "contract", 1, &contract, err,
		    sizeof(err)) != 0) {
			rpcreq_error(req, RPC_INVALID_PARAMS, NULL, "%s", err);
			return;
		}
		if (!valid_contract_name(contract)) {
			rpcreq_error(req, RPC_NO_CONTRACT, NULL,
			    "no such contract: %s", contract);
			return;
		}
	}
	m->fn(req, params, m->name);
}
