/*
 * cmd-ls.c — vmsctl ls NAME [PATH] [-R]: list the contract's files: type,
 * size and path per line.
 */
#include <getopt.h>
#include <stdio.h>

#include "vmsctl.h"

static int cmd_ls(struct ctl *, int, char **);

const struct cmd_entry cmd_ls_entry = {
	"ls", "NAME [PATH] [-R]", "list a directory of the contract's state",
	cmd_ls
};

static int
cmd_ls(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "recursive",	no_argument,	NULL, 'R' },
		{ NULL,		0,		NULL, 0 }
	};
	json_t *res, *params, *v;
	int ch, rec = 0, rc;
	size_t i;

	while ((ch = getopt_long(argc, argv, "R", opts, NULL)) != -1) {
		switch (ch) {
		case 'R':
			rec = 1;
			break;
		default:
			return ctl_usage(&cmd_ls_entry);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return ctl_usage(&cmd_ls_entry);
	params = json_pack("{s:s,s:s,s:b}", "contract", argv[optind], "path",
	    argc - optind == 2 ? argv[optind + 1] : "/", "recursive", rec);
	if ((rc = ctl_rpc(c, PM_LS, params, &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else
		json_array_foreach(json_object_get(res, "entries"), i, v)
			printf("%-4s %10" JSON_INTEGER_FORMAT " %s\n",
			    ctl_str(v, "type"), ctl_int(v, "size"),
			    ctl_str(v, "path"));
	json_decref(res);
	return EXIT_OK;
}
