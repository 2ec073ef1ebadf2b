/*
 * call.c — a contract call as vmsctl makes it, shared by `vmsctl call` and
 * `vmsctl repl`: command-line words become JSON arguments, and the call
 * goes to the daemon with the identity the options give.
 */
#include <stdio.h>
#include <string.h>

#include "vmsctl.h"

json_t *
ctl_arg(const char *word)
{
	json_t *v = json_loads(word, JSON_DECODE_ANY, NULL);

	return v != NULL ? v : json_string(word);
}

int
ctl_call(struct ctl *c, const char *contract, const char *method,
    json_t *args, json_t **result, struct client_error *rerr)
{
	json_t *params = json_pack("{s:s,s:s,s:o}", "contract", contract,
	    "method", method, "args", args);

	*result = NULL;
	if (params == NULL) {
		ctl_errx("cannot encode the call (not valid UTF-8?)");
		return EXIT_USAGE;
	}
	if (c->user != NULL)
		json_object_set_new(params, "user", json_string(c->user));
	return ctl_rpc(c, PM_CALL, params, result, rerr);
}
