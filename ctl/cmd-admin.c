/*
 * cmd-admin.c — the small admin commands: vmsctl stop NAME, start NAME,
 * remove NAME [--purge], and ping (is the daemon there?).
 */
#include <getopt.h>
#include <stdio.h>

#include "vmsctl.h"

static int cmd_stop(struct ctl *, int, char **);
static int cmd_start(struct ctl *, int, char **);
static int cmd_remove(struct ctl *, int, char **);
static int cmd_ping(struct ctl *, int, char **);

const struct cmd_entry cmd_stop_entry = {
	"stop", "NAME", "stop a contract's worker; calls are refused",
	cmd_stop
};
const struct cmd_entry cmd_start_entry = {
	"start", "NAME", "start a stopped contract again", cmd_start
};
const struct cmd_entry cmd_remove_entry = {
	"remove", "NAME [--purge]",
	"remove a contract (its ledger is kept unless --purge)", cmd_remove
};
const struct cmd_entry cmd_ping_entry = {
	"ping", "", "check that the daemon answers; print its version",
	cmd_ping
};

static int
simple(struct ctl *c, const char *method, json_t *params)
{
	json_t *res;
	int rc;

	if ((rc = ctl_rpc(c, method, params, &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else if (json_object_get(res, "removed") != NULL)
		printf("%s: removed%s\n", ctl_str(res, "name"),
		    json_is_true(json_object_get(res, "purged")) ?
		    " and purged" : " (ledger kept)");
	else if (json_object_get(res, "version") != NULL)
		printf("vmsd %s\n", ctl_str(res, "version"));
	else
		printf("%s: %s\n", ctl_str(res, "name"), ctl_str(res, "status"));
	json_decref(res);
	return EXIT_OK;
}

static int
cmd_stop(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage(&cmd_stop_entry);
	return simple(c, "stop", ctl_contract_params(argv[1]));
}

static int
cmd_start(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage(&cmd_start_entry);
	return simple(c, "start", ctl_contract_params(argv[1]));
}

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
	return simple(c, "remove", json_pack("{s:s,s:b}", "contract",
	    argv[optind], "purge", purge));
}

static int
cmd_ping(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_usage(&cmd_ping_entry);
	return simple(c, "ping", json_object());
}
