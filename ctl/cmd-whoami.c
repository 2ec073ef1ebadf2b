/*
 * cmd-whoami.c — vmsctl whoami: the caller id that signed calls get from
 * this identity ("ed25519:" and the public key in base64url).
 */
#include <limits.h>
#include <stdio.h>

#include <sodium.h>

#include "callsig.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_whoami(struct ctl *, int, char **);

const struct cmd_entry cmd_whoami_entry = {
	"whoami", "",
	"print the caller id of this identity (signed calls)",
	cmd_whoami
};

static int
cmd_whoami(struct ctl *c, int argc, char **argv)
{
	char path[PATH_MAX], err[VMS_ERRLEN], id[CALLSIG_ID_LEN + 1];
	uint8_t sk[64];
	json_t *o;

	if (argc != 1)
		return ctl_usage(&cmd_whoami_entry);
	if (ctl_identity_path(c, path, sizeof(path), err, sizeof(err)) != 0 ||
	    ctl_identity_load(path, sk, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAILED;
	}
	callsig_caller_id(sk + 32, id);
	sodium_memzero(sk, sizeof(sk));
	if (c->json) {
		o = json_pack("{s:s,s:s}", "identity", path, "id", id);
		ctl_print_json(o);
		json_decref(o);
	} else
		printf("%s\n", id);
	return EXIT_OK;
}
