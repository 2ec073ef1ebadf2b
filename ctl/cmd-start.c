/*
 * cmd-start.c — vmsctl start NAME: start a stopped contract again.
 */
#include "vmsctl.h"

static int cmd_start(struct ctl *, int, char **);

const struct cmd_entry cmd_start_entry = {
	"start", "NAME", "start a stopped contract again", cmd_start
};

static int
cmd_start(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage(&cmd_start_entry);
	return ctl_simple(c, PM_START, ctl_contract_params(argv[1]));
}
