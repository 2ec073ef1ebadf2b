/*
 * cmd-remove.c — vmsctl remove NAME [--purge]: remove a contract; its
 * ledger is kept unless --purge.
 */
#include <getopt.h>

#include "vmsctl.h"

static int cmd_remove(struct ctl *, int, char **);

const struct cmd_entry cmd_remove_entry = {
	"remove", "NAME [--purge]",
	"remove a contract (its ledger is kept unless --purge)", cmd_remove
};

static int
cmd_remove(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "purge",	no_argument,	NULL, 'p' },
		{ NULL,		0,		NULL, 0 }
	};
	int ch, purge = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'p')
			return ctl_usage(&cmd_remove_entry);
		purge = 1;
	}
	if (argc - optind != 1)
		return ctl_usage(&cmd_remove_entry);
	return ctl_simple(c, PM_REMOVE, json_pack("{s:s,s:b}", "contract",
	    argv[optind], "purge", purge));
}
