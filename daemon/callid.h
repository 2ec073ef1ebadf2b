/*
 * callid.h — who a call is from (vmsd-protocol(7), "call"): the key of a
 * signed call, a name given in "user" (debug_auth only), the peer's
 * credentials on the control socket, or no one. The one place that
 * decides it, for both places that take calls: methods.c (vmsd's front
 * ends) and worker_conn.c (connections attached to a contract's worker).
 */
#ifndef VMSD_CALLID_H
#define VMSD_CALLID_H

#include <stddef.h>

#include <jansson.h>

struct callid_peer {
	const char	*ident;		/* "unix:alice", NULL if unknown */
	int		 tcp;		/* a remote client */
	int		 debug_auth;	/* "user" is allowed */
	const char	*origin;	/* the contract's, NULL if unknown */
};

/*
 * Decide the caller of a call whose params passed the method table:
 * params are normalized first ("args": null becomes [], "signed": null is
 * removed; *changed is then set). *caller (malloc'd, or NULL for an
 * anonymous call) and *auth ("ed25519", "debug", "peercred",
 * "anonymous"). 0, or the JSON-RPC error code with err and *data (the
 * error's data, or NULL; the caller owns it).
 */
int	 callid_decide(json_t *params, const struct callid_peer *,
	    char **caller, const char **auth, int *changed, json_t **data,
	    char *err, size_t errlen);

#endif
