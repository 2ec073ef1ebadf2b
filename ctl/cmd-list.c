/*
 * cmd-list.c — vmsctl list: every contract with its status, ledger size
 * and worker pid.
 */
#include <stdio.h>

#include "vmsctl.h"

static int cmd_list(struct ctl *, int, char **);

const struct cmd_entry cmd_list_entry = {
	"list", "", "list contracts: name, status, ledger size, worker pid",
	cmd_list
};

static int
cmd_list(struct ctl *c, int argc, char **argv)
{
	json_t *res, *v;
	size_t i;
	int rc;

	if (argc != 1)
		return ctl_usage(&cmd_list_entry);
	if ((rc = ctl_rpc(c, PM_LIST, json_object(), &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json) {
		ctl_print_json(res);
		json_decref(res);
		return EXIT_OK;
	}
	printf("%-24s %-8s %10s %8s\n", "NAME", "STATUS", "SIZE", "PID");
	json_array_foreach(json_object_get(res, "contracts"), i, v) {
		json_t *pid = json_object_get(v, "pid");
		char pidbuf[32] = "-";

		if (json_is_integer(pid))
			snprintf(pidbuf, sizeof(pidbuf), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(pid));
		printf("%-24s %-8s %10" JSON_INTEGER_FORMAT " %8s\n",
		    ctl_str(v, "name"),
		    ctl_str(v, "status"),
		    ctl_int(v, "size"), pidbuf);
	}
	json_decref(res);
	return EXIT_OK;
}
