/*
 * cmd-read.c — vmsctl read NAME PATH: a file of the contract's state, raw
 * bytes on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmsctl.h"

static int cmd_read(struct ctl *, int, char **);

const struct cmd_entry cmd_read_entry = {
	"read", "NAME PATH", "write a file of the contract's state to stdout",
	cmd_read
};

static int
cmd_read(struct ctl *c, int argc, char **argv)
{
	json_t *res;
	const char *b64;
	uint8_t *buf;
	size_t len;
	int rc;

	if (argc != 3)
		return ctl_usage(&cmd_read_entry);
	if ((rc = ctl_rpc(c, PM_READ, json_pack("{s:s,s:s}", "contract",
	    argv[1], "path", argv[2]), &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json) {
		ctl_print_json(res);
		json_decref(res);
		return EXIT_OK;
	}
	b64 = json_string_value(json_object_get(res, "data"));
	if (b64 == NULL || b64_decode(b64, strlen(b64), &buf, &len) != 0) {
		ctl_errx("malformed read reply");
		json_decref(res);
		return EXIT_FAILED;
	}
	if (len > 0 && fwrite(buf, 1, len, stdout) != len)
		rc = EXIT_FAILED;
	free(buf);
	json_decref(res);
	return rc;
}
