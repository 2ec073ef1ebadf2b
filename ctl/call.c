/*
 * call.c — a contract call as vmsctl makes it, shared by `vmsctl call` and
 * `vmsctl repl`: command-line words become JSON arguments, and the call
 * goes to the daemon with the identity the options give: --user (debug),
 * or signed with the Ed25519 identity (identity.c) when talking to a URL
 * and one exists, always with --sign, never with --no-sign; else the
 * socket's peer credentials (or anonymous over HTTP).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "util.h"
#include "vmsctl.h"

json_t *
ctl_arg(const char *word)
{
	json_t *v = json_loads(word, JSON_DECODE_ANY, NULL);

	return v != NULL ? v : json_string(word);
}

/* Sign this call? 1 with sk filled, 0 not, or an exit code (printed). */
static int
signing_key(struct ctl *c, uint8_t sk[64], int *rc)
{
	char path[PATH_MAX], err[VMS_ERRLEN];
	int r;

	*rc = EXIT_OK;
	if (c->sign < 0 || (c->sign == 0 && (!ctl_is_remote(c) ||
	    c->user != NULL)))
		return 0;
	if (c->sign > 0 && c->user != NULL) {
		ctl_errx("--sign and --user exclude each other");
		*rc = EXIT_USAGE;
		return 0;
	}
	if (ctl_identity_path(c, path, sizeof(path), err, sizeof(err)) != 0)
		r = -1;
	else
		r = ctl_identity_load(path, sk, err, sizeof(err));
	if (r == 0)
		return 1;
	if (r == 1 && c->sign == 0)
		return 0;	/* no identity: an anonymous remote call */
	ctl_errx("%s", err);
	*rc = EXIT_FAILED;
	return 0;
}

/* The contract's origin, which the signature names (asked once per
 * contract and run: the REPL makes many calls). */
static int
contract_origin(struct ctl *c, const char *name, char *out, size_t len)
{
	json_t *res;
	const char *o;
	int rc;

	if (c->origin_of != NULL && strcmp(c->origin_of, name) == 0) {
		snprintf(out, len, "%s", c->origin);
		return EXIT_OK;
	}
	if ((rc = ctl_rpc(c, PM_INFO, ctl_contract_params(name), &res,
	    NULL)) != EXIT_OK)
		return rc;
	o = json_string_value(json_object_get(res, "origin"));
	if (o == NULL || strlen(o) >= len || strlen(o) >= sizeof(c->origin)) {
		ctl_errx("%s: the daemon did not say the contract's origin",
		    name);
		json_decref(res);
		return EXIT_FAILED;
	}
	snprintf(out, len, "%s", o);
	snprintf(c->origin, sizeof(c->origin), "%s", o);
	free(c->origin_of);
	c->origin_of = xstrdup(name);
	json_decref(res);
	return EXIT_OK;
}

/*
 * A signed call. A nonce refused as not above the last accepted one means
 * this request was not executed (another call of this identity overtook
 * it, or the clock is behind): it is signed again once with a nonce above
 * that one. Nothing else is ever sent twice.
 */
static int
call_signed(struct ctl *c, const uint8_t sk[64], const char *name,
    const char *method, json_t *args, json_t **res,
    struct client_error *rerr)
{
	char origin[CALLSIG_ORIGIN_MAX + 1], err[VMS_ERRLEN];
	struct client_error e;
	enum client_status st;
	struct callsig cs;
	uint64_t nonce = ctl_nonce_now(), last;
	json_t *params;
	int rc, attempt;

	if ((rc = contract_origin(c, name, origin, sizeof(origin))) != EXIT_OK)
		return rc;
	for (attempt = 0;; attempt++) {
		if (nonce <= c->last_nonce)
			nonce = c->last_nonce + 1;
		c->last_nonce = nonce;
		if (callsig_sign(&cs, sk, nonce, origin, method, args, err,
		    sizeof(err)) != 0) {
			ctl_errx("cannot sign the call: %s", err);
			return EXIT_FAILED;
		}
		params = json_pack("{s:s,s:s,s:O,s:o}", "contract", name,
		    "method", method, "args", args, "signed",
		    callsig_to_json(&cs));
		if (params == NULL) {
			ctl_errx("cannot encode the call (not valid UTF-8?)");
			return EXIT_USAGE;
		}
		st = ctl_rpc_try(c, PM_CALL, params, res, &e, err,
		    sizeof(err));
		if (st == CLIENT_OK) {
			if (rerr != NULL)
				memset(rerr, 0, sizeof(*rerr));
			return EXIT_OK;
		}
		if (st == CLIENT_RPC_ERROR && e.code == RPC_STALE_NONCE &&
		    attempt == 0 && json_is_integer(json_object_get(e.data,
		    "last_nonce"))) {
			last = (uint64_t)json_integer_value(json_object_get(
			    e.data, "last_nonce"));
			json_decref(e.data);
			nonce = ctl_nonce_now();
			if (nonce <= last)
				nonce = last + 1;
			continue;
		}
		return ctl_rpc_fail(c, st, &e, err, rerr);
	}
}

int
ctl_call(struct ctl *c, const char *contract, const char *method,
    json_t *args, json_t **result, struct client_error *rerr)
{
	json_t *params;
	uint8_t sk[64];
	int rc;

	*result = NULL;
	if (signing_key(c, sk, &rc)) {
		rc = call_signed(c, sk, contract, method, args, result, rerr);
		sodium_memzero(sk, sizeof(sk));
		json_decref(args);
		return rc;
	}
	if (rc != EXIT_OK) {
		json_decref(args);
		return rc;
	}
	params = json_pack("{s:s,s:s,s:o}", "contract", contract,
	    "method", method, "args", args);
	if (params == NULL) {
		ctl_errx("cannot encode the call (not valid UTF-8?)");
		return EXIT_USAGE;
	}
	if (c->user != NULL)
		json_object_set_new(params, "user", json_string(c->user));
	return ctl_rpc(c, PM_CALL, params, result, rerr);
}
