/*
 * cmd-checkpoint.c — vmsctl checkpoint NAME [--size N]: the latest signed
 * checkpoint note, or the one signed at size N, verbatim.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vmsctl.h"

static int cmd_checkpoint(struct ctl *, int, char **);

const struct cmd_entry cmd_checkpoint_entry = {
	"checkpoint", "NAME [--size N]",
	"print the contract's signed checkpoint (or the one of size N) "
	"verbatim",
	cmd_checkpoint
};

static int
cmd_checkpoint(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size",	required_argument,	NULL, 's' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t *res, *params;
	const char *note, *size = NULL;
	uint64_t n = 0;
	int rc, ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			size = optarg;
			if (ctl_parse_u64(size, &n) != 0) {
				ctl_errx("bad --size \"%s\"", size);
				return EXIT_USAGE;
			}
			break;
		default:
			return ctl_usage(&cmd_checkpoint_entry);
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 2)
		return ctl_usage(&cmd_checkpoint_entry);
	params = ctl_contract_params(argv[1]);
	if (size != NULL)
		json_object_set_new(params, "size", json_integer((json_int_t)n));
	if ((rc = ctl_rpc(c, PM_CHECKPOINT, params, &res, NULL)) != EXIT_OK)
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
