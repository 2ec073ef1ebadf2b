/*
 * cmd-ping.c — vmsctl ping: does the daemon answer? Prints its version.
 */
#include "vmsctl.h"

static int cmd_ping(struct ctl *, int, char **);

const struct cmd_entry cmd_ping_entry = {
	"ping", "", "check that the daemon answers; print its version",
	cmd_ping
};

static int
cmd_ping(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage(&cmd_ping_entry);
	return ctl_simple(c, PM_PING, json_object());
}
