/*
 * cmd-stop.c — vmsctl stop NAME: stop a contract's worker; calls are refused.
 */
#include "vmsctl.h"

static int cmd_stop(struct ctl *, int, char **);

const struct cmd_entry cmd_stop_entry = {
	"stop", "NAME", "stop a contract's worker; calls are refused",
	cmd_stop
};

static int
cmd_stop(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage(&cmd_stop_entry);
	return ctl_simple(c, PM_STOP, ctl_contract_params(argv[1]));
}
