/*
 * cmd-methods.c — vmsctl methods NAME: the contract's callable methods
 * (the handshake), one per line.
 */
#include <stdio.h>

#include "vmsctl.h"

static int cmd_methods(struct ctl *, int, char **);

const struct cmd_entry cmd_methods_entry = {
	"methods", "NAME", "list a contract's callable methods (the handshake)",
	cmd_methods
};

static int
cmd_methods(struct ctl *c, int argc, char **argv)
{
	json_t *res, *v;
	size_t i;
	int rc;

	if (argc != 2)
		return ctl_usage(&cmd_methods_entry);
	if ((rc = ctl_rpc(c, PM_METHODS, ctl_contract_params(argv[1]), &res,
	    NULL)) != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else
		json_array_foreach(json_object_get(res, "methods"), i, v)
			printf("%s\n", json_string_value(v) ?
			    json_string_value(v) : "?");
	json_decref(res);
	return EXIT_OK;
}
