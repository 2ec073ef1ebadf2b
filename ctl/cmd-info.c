/*
 * cmd-info.c — vmsctl info NAME: status, methods, ledger size, checkpoint,
 * vkey, limits, worker pid.
 */
#include <stdio.h>

#include "vmsctl.h"

static int cmd_info(struct ctl *, int, char **);

const struct cmd_entry cmd_info_entry = {
	"info", "NAME",
	"show a contract: status, methods, size, checkpoint, vkey, limits, pid",
	cmd_info
};

static void
print_list(const json_t *a)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		printf("%s%s", i ? " " : "", json_string_value(v) ?
		    json_string_value(v) : "?");
	printf("\n");
}

static int
cmd_info(struct ctl *c, int argc, char **argv)
{
	json_t *res, *v, *pid;
	const char *k;
	int rc;

	if (argc != 2)
		return ctl_usage(&cmd_info_entry);
	if ((rc = ctl_rpc(c, PM_INFO, ctl_contract_params(argv[1]), &res,
	    NULL)) != EXIT_OK)
		return rc;
	if (c->json) {
		ctl_print_json(res);
		json_decref(res);
		return EXIT_OK;
	}
	printf("name:     %s\n", ctl_str(res, "name"));
	printf("status:   %s\n", ctl_str(res, "status"));
	if (json_is_string(json_object_get(res, "reason")))
		printf("reason:   %s\n", ctl_str(res, "reason"));
	printf("size:     %" JSON_INTEGER_FORMAT "\n", ctl_int(res, "size"));
	printf("origin:   %s\n", ctl_str(res, "origin"));
	printf("vkey:     %s\n", ctl_str(res, "vkey"));
	printf("methods:  ");
	print_list(json_object_get(res, "methods"));
	printf("limits:  ");
	json_object_foreach(json_object_get(res, "limits"), k, v)
		printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
	printf("\n");
	pid = json_object_get(res, "pid");
	if (json_is_integer(pid))
		printf("pid:      %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(pid));
	else
		printf("pid:      -\n");
	printf("restarts: %" JSON_INTEGER_FORMAT "\n", ctl_int(res, "restarts"));
	printf("queue:    %" JSON_INTEGER_FORMAT "\n", ctl_int(res, "queue"));
	if (json_is_integer(json_object_get(res, "attached")))
		printf("attached: %" JSON_INTEGER_FORMAT "\n",
		    ctl_int(res, "attached"));
	printf("dir:      %s\n", ctl_str(res, "dir"));
	printf("checkpoint:\n%s", ctl_str(res, "checkpoint"));
	json_decref(res);
	return EXIT_OK;
}
