/*
 * cmd-checkpoint.c — vmsctl checkpoint NAME: the latest signed checkpoint
 * note, verbatim.
 */
#include <stdio.h>
#include <string.h>

#include "vmsctl.h"

static int cmd_checkpoint(struct ctl *, int, char **);

const struct cmd_entry cmd_checkpoint_entry = {
	"checkpoint", "NAME", "print the contract's signed checkpoint verbatim",
	cmd_checkpoint
};

static int
cmd_checkpoint(struct ctl *c, int argc, char **argv)
{
	json_t *res;
	const char *note;
	int rc;

	if (argc != 2)
		return ctl_usage(&cmd_checkpoint_entry);
	if ((rc = ctl_rpc(c, PM_CHECKPOINT, ctl_contract_params(argv[1]), &res,
	    NULL)) != EXIT_OK)
		return rc;
	note = json_string_value(json_object_get(res, "note"));
	if (note == NULL) {
		ctl_errx("malformed checkpoint reply");
		json_decref(res);
		return EXIT_FAILED;
	}
	if (c->json)
		ctl_print_json(res);
	else
		fwrite(note, 1, strlen(note), stdout);
	json_decref(res);
	return EXIT_OK;
}
