/*
 * cmd-keygen.c — vmsctl keygen [--force]: make the Ed25519 identity that
 * signs calls (identity.c) and print where it is and the caller id it
 * gives.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "callsig.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_keygen(struct ctl *, int, char **);

const struct cmd_entry cmd_keygen_entry = {
	"keygen", "[--force]",
	"make the Ed25519 identity that signs calls (--force replaces one)",
	cmd_keygen
};

static int
cmd_keygen(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force",	no_argument,	NULL, 'f' },
		{ NULL,		0,		NULL, 0 }
	};
	char path[PATH_MAX], err[VMS_ERRLEN], id[CALLSIG_ID_LEN + 1];
	uint8_t pk[32];
	int ch, force = 0;
	json_t *o;

	while ((ch = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
		if (ch != 'f')
			return ctl_usage(&cmd_keygen_entry);
		force = 1;
	}
	if (optind != argc)
		return ctl_usage(&cmd_keygen_entry);
	if (ctl_identity_path(c, path, sizeof(path), err, sizeof(err)) != 0 ||
	    ctl_identity_create(path, force, pk, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAILED;
	}
	callsig_caller_id(pk, id);
	if (c->json) {
		o = json_pack("{s:s,s:s}", "identity", path, "id", id);
		ctl_print_json(o);
		json_decref(o);
	} else
		printf("identity: %s\ncaller:   %s\n", path, id);
	return EXIT_OK;
}
