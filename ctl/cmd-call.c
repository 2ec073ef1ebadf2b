/*
 * cmd-call.c — vmsctl call NAME METHOD [ARG ...]: each ARG is JSON if it
 * parses as JSON, else a string; prints the method's result as JSON. The
 * call (signed or not) is call.c's.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "vmsctl.h"

static int cmd_call(struct ctl *, int, char **);

const struct cmd_entry cmd_call_entry = {
	"call", "NAME METHOD [ARG ...]",
	"call a contract method; ARGs are JSON if valid JSON, else strings",
	cmd_call
};

static int
cmd_call(struct ctl *c, int argc, char **argv)
{
	json_t *args, *res, *v;
	int i, rc;

	if (argc < 3)
		return ctl_usage(&cmd_call_entry);
	args = json_array();
	for (i = 3; i < argc; i++) {
		if ((v = ctl_arg(argv[i])) == NULL) {
			ctl_errx("argument %d is not valid UTF-8", i - 2);
			json_decref(args);
			return EXIT_USAGE;
		}
		json_array_append_new(args, v);
	}
	if ((rc = ctl_call(c, argv[1], argv[2], args, &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else {
		v = json_object_get(res, "value");
		ctl_print_json(v ? v : json_null());
	}
	json_decref(res);
	return EXIT_OK;
}
