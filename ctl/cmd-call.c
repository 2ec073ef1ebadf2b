/*
 * cmd-call.c — vmsctl call NAME METHOD [ARG ...]: each ARG is JSON if it
 * parses as JSON, else a string; prints the method's result as JSON. The
 * call is signed with the identity (identity.c) when talking to a remote
 * URL and one exists, or always with --sign, never with --no-sign.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "proto.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_call(struct ctl *, int, char **);

const struct cmd_entry cmd_call_entry = {
	"call", "NAME METHOD [ARG ...]",
	"call a contract method; ARGs are JSON if valid JSON, else strings",
	cmd_call
};

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

/* The contract's origin, which the signature names. */
static int
contract_origin(struct ctl *c, const char *name, char *out, size_t len)
{
	json_t *res;
	const char *o;
	int rc;

	if ((rc = ctl_rpc(c, PM_INFO, ctl_contract_params(name), &res,
	    NULL)) != EXIT_OK)
		return rc;
	o = json_string_value(json_object_get(res, "origin"));
	if (o == NULL || strlen(o) >= len) {
		ctl_errx("%s: the daemon did not say the contract's origin",
		    name);
		json_decref(res);
		return EXIT_FAILED;
	}
	snprintf(out, len, "%s", o);
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
    const char *method, json_t *args, json_t **res)
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
		if (callsig_sign(&cs, sk, nonce, origin, method, args, err,
		    sizeof(err)) != 0) {
			ctl_errx("cannot sign the call: %s", err);
			return EXIT_FAILED;
		}
		params = json_pack("{s:s,s:s,s:O,s:o}", "contract", name,
		    "method", method, "args", args, "signed",
		    callsig_to_json(&cs));
		st = ctl_rpc_try(c, PM_CALL, params, res, &e, err,
		    sizeof(err));
		if (st == CLIENT_OK)
			return EXIT_OK;
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
		return ctl_rpc_fail(c, st, &e, err, NULL);
	}
}

static int
cmd_call(struct ctl *c, int argc, char **argv)
{
	json_t *args, *params, *res, *v;
	uint8_t sk[64];
	int i, rc;

	if (argc < 3)
		return ctl_usage(&cmd_call_entry);
	args = json_array();
	for (i = 3; i < argc; i++) {
		v = json_loads(argv[i], JSON_DECODE_ANY, NULL);
		if (v == NULL)
			v = json_string(argv[i]);
		if (v == NULL) {
			ctl_errx("argument %d is not valid UTF-8", i - 2);
			json_decref(args);
			return EXIT_USAGE;
		}
		json_array_append_new(args, v);
	}
	if (signing_key(c, sk, &rc)) {
		rc = call_signed(c, sk, argv[1], argv[2], args, &res);
		sodium_memzero(sk, sizeof(sk));
		json_decref(args);
		if (rc != EXIT_OK)
			return rc;
	} else if (rc != EXIT_OK) {
		json_decref(args);
		return rc;
	} else {
		params = json_pack("{s:s,s:s,s:o}", "contract", argv[1],
		    "method", argv[2], "args", args);
		if (c->user != NULL)
			json_object_set_new(params, "user",
			    json_string(c->user));
		if ((rc = ctl_rpc(c, PM_CALL, params, &res, NULL)) != EXIT_OK)
			return rc;
	}
	if (c->json)
		ctl_print_json(res);
	else {
		v = json_object_get(res, "value");
		ctl_print_json(v ? v : json_null());
	}
	json_decref(res);
	return EXIT_OK;
}
