/*
 * engine_check.c — what a call may ask, checked before anything runs:
 * the caller's shape (anonymous, a local or debug id, a signed key) and
 * the request (a method the contract exports, arguments as an array of
 * valid UTF-8, within the deploy's limits, a signed call's signature,
 * origin and nonce). engine_call applies them before executing;
 * engine_replay applies the same ones to a recorded call, so a host
 * cannot record a request the engine would have refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsig.h"
#include "canon.h"
#include "engine.h"
#include "engine_int.h"
#include "sandbox.h"
#include "util.h"

static int
method_allowed(const struct engine *e, const char *method)
{
	size_t i;

	if (method == NULL || method[0] == '_' || strcmp(method, "init") == 0)
		return 0;
	for (i = 0; i < json_array_size(e->methods); i++)
		if (strcmp(json_string_value(json_array_get(e->methods, i)),
		    method) == 0)
			return 1;
	return 0;
}

int
eng_caller_check(const struct vms_caller *c, const struct callsig *sig,
    char *err, size_t errlen)
{
	if (c == NULL) {
		if (sig != NULL) {
			seterr(err, errlen, "a signed request needs its caller");
			return -1;
		}
		return 0;
	}
	if (c->id != NULL && !sb_valid_utf8(c->id, strlen(c->id))) {
		seterr(err, errlen, "caller id is not UTF-8");
		return -1;
	}
	if (c->auth != NULL && strcmp(c->auth, "peercred") != 0 &&
	    strcmp(c->auth, "debug") != 0 && strcmp(c->auth, "anonymous") != 0 &&
	    strcmp(c->auth, CALLSIG_AUTH) != 0 &&
	    strcmp(c->auth, "contract") != 0) {
		seterr(err, errlen, "unknown auth \"%s\"", c->auth);
		return -1;
	}
	/* a signed request <=> auth "ed25519", and the id is its key's */
	if ((sig != NULL) != (c->auth != NULL &&
	    strcmp(c->auth, CALLSIG_AUTH) == 0)) {
		seterr(err, errlen, "%s", sig ? "a signed request needs "
		    "auth \"ed25519\"" : "auth \"ed25519\" needs a signed "
		    "request");
		return -1;
	}
	if (sig != NULL) {
		char id[CALLSIG_ID_LEN + 1];

		callsig_caller_id(sig->key, id);
		if (c->id == NULL || strcmp(c->id, id) != 0) {
			seterr(err, errlen, "caller %s is not the signing "
			    "key's id %s", c->id ? c->id : "null", id);
			return -1;
		}
	}
	/* the shapes set_caller() can record: anonymous <=> no id */
	if (c->auth != NULL && (strcmp(c->auth, "anonymous") == 0) !=
	    (c->id == NULL)) {
		seterr(err, errlen, "auth \"%s\" %s a caller id", c->auth,
		    c->id == NULL ? "requires" : "cannot have");
		return -1;
	}
	return 0;
}

/*
 * The request checks engine_call() applies before executing anything;
 * engine_replay() applies the same ones to a recorded call, so a host
 * cannot record a request the engine would have refused. 0, or the
 * engine_status of the refusal (err).
 */
int
eng_request_check(const struct engine *e, const char *method,
    const json_t *args, const struct vms_caller *c, const struct callsig *sig,
    char **argtext, size_t *arglen, char *err, size_t errlen)
{
	char *s, why[VMS_ERRLEN];
	uint64_t last;
	size_t len;

	*argtext = NULL;
	if (!method_allowed(e, method)) {
		seterr(err, errlen, "no such method: %s", method ? method :
		    "(null)");
		return ENGINE_REFUSED;
	}
	if (!json_is_array(args)) {
		seterr(err, errlen, "args must be an array");
		return ENGINE_REFUSED;
	}
	if (eng_caller_check(c, sig, err, errlen) == -1)
		return ENGINE_REFUSED;
	if (c != NULL && c->auth != NULL && strcmp(c->auth, "contract") == 0) {
		seterr(err, errlen, "auth \"contract\" is only a child "
		    "contract's deploy entry's");
		return ENGINE_REFUSED;
	}
	if ((s = json_canonical(args, &len)) == NULL) {
		seterr(err, errlen, "args cannot be encoded");
		return ENGINE_REFUSED;
	}
	if (len > e->limits.args_size) {
		free(s);
		seterr(err, errlen, "limit exceeded: args_size (%llu)",
		    (unsigned long long)e->limits.args_size);
		return ENGINE_REFUSED;
	}
	if (sig == NULL) {
		*argtext = s;
		*arglen = len;
		return 0;
	}
	/* A signed call: for this contract, fresh, then authentic. */
	if (e->origin == NULL || strcmp(sig->origin, e->origin) != 0) {
		free(s);
		seterr(err, errlen, "signed for origin \"%s\", not this "
		    "contract's \"%s\"", sig->origin, e->origin ? e->origin :
		    "(unknown)");
		return ENGINE_WRONG_ORIGIN;
	}
	if (sig->nonce <= (last = eng_nonce_get(e->nonces, sig->key))) {
		free(s);
		seterr(err, errlen, "nonce %llu is not greater than %llu, the "
		    "last this contract accepted from %s",
		    (unsigned long long)sig->nonce, (unsigned long long)last,
		    c ? c->id : "?");
		return ENGINE_STALE_NONCE;
	}
	if (callsig_verify(sig, method, s, len, why, sizeof(why)) != 0) {
		free(s);
		seterr(err, errlen, "bad signature from %s: %s", c ? c->id :
		    "?", why);
		return ENGINE_BAD_SIGNATURE;
	}
	*argtext = s;
	*arglen = len;
	return 0;
}
