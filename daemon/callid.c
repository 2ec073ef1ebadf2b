/*
 * callid.c — who a call is from (callid.h).
 */
#include <stdio.h>
#include <string.h>

#include "callid.h"
#include "callsig.h"
#include "proto.h"
#include "util.h"

/*
 * A signed call: its shape, and the origin when this contract's is known,
 * are checked here, before it is queued; the nonce order (which depends on
 * the ledger) and the signature are checked by the worker's engine, the
 * one place that decides what is recorded, exactly as the audit's replay
 * does. The caller is the signing key's id.
 */
static int
signed_caller(json_t *params, const json_t *obj,
    const struct callid_peer *p, char **caller, json_t **data, char *err,
    size_t errlen)
{
	struct callsig cs;
	char why[VMS_ERRLEN], id[CALLSIG_ID_LEN + 1];

	if (json_object_get(params, "user") != NULL &&
	    !json_is_null(json_object_get(params, "user"))) {
		seterr(err, errlen, "parameters \"user\" and \"signed\" "
		    "exclude each other");
		return RPC_INVALID_PARAMS;
	}
	if (callsig_parse(obj, &cs, why, sizeof(why)) != 0) {
		seterr(err, errlen, "bad signed call: %s", why);
		return RPC_BAD_SIGNATURE;
	}
	if (p->origin != NULL && strcmp(p->origin, cs.origin) != 0) {
		*data = json_pack("{s:s}", "origin", p->origin);
		seterr(err, errlen, "signed for origin \"%s\", not this "
		    "contract's \"%s\"", cs.origin, p->origin);
		return RPC_WRONG_ORIGIN;
	}
	callsig_caller_id(cs.key, id);
	*caller = xstrdup(id);
	return 0;
}

int
callid_decide(json_t *params, const struct callid_peer *p, char **caller,
    const char **auth, int *changed, json_t **data, char *err,
    size_t errlen)
{
	const char *user = json_string_value(json_object_get(params, "user"));
	json_t *args = json_object_get(params, "args");
	json_t *sig = json_object_get(params, "signed");
	int rc;

	*caller = NULL;
	*auth = NULL;
	*data = NULL;
	if (args == NULL || json_is_null(args)) {
		json_object_set_new(params, "args", json_array());
		*changed = 1;
	}
	if (sig != NULL && json_is_null(sig)) {
		json_object_del(params, "signed");
		*changed = 1;
	} else if (sig != NULL) {
		if ((rc = signed_caller(params, sig, p, caller, data, err,
		    errlen)) != 0)
			return rc;
		*auth = CALLSIG_AUTH;
		return 0;
	}
	if (user != NULL) {
		if (!p->debug_auth) {
			seterr(err, errlen, "parameter \"user\" needs "
			    "debug_auth = yes in vmsd.conf");
			return RPC_INVALID_PARAMS;
		}
		*caller = xstrdup(user);
		*auth = "debug";
	} else if (!p->tcp && p->ident != NULL) {
		*caller = xstrdup(p->ident);
		*auth = "peercred";
	} else
		*auth = "anonymous";
	return 0;
}
