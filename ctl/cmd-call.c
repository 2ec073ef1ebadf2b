/*
 * cmd-call.c — vmsctl call [--receipt FILE] NAME METHOD [ARG ...]: each ARG
 * is JSON if it parses as JSON, else a string; prints the method's result
 * as JSON. The call (signed or not) is call.c's. With --receipt, the
 * call's receipt (its entry, the checkpoint that covers it and the
 * inclusion proof) is checked and saved to FILE as a C2SP tlog-proof, also
 * when the contract raised an error (the call is recorded all the same).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "receipt.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_call(struct ctl *, int, char **);

const struct cmd_entry cmd_call_entry = {
	"call", "[--receipt FILE] NAME METHOD [ARG ...]",
	"call a contract method; ARGs are JSON if valid JSON, else strings; "
	"--receipt saves the call's receipt (tlog-proof)",
	cmd_call
};

/* Check the receipt's math and write it; EXIT_OK or EXIT_FAILED. */
static int
save_receipt(const json_t *rc, const char *path)
{
	struct tlog_proof p;
	char err[VMS_ERRLEN] = "";

	if (rc == NULL) {
		ctl_errx("the reply carries no receipt (an older vmsd?)");
		return EXIT_FAILED;
	}
	if (receipt_from_json(rc, &p, err, sizeof(err)) != 0 ||
	    !p.has_extra || receipt_check_math(&p, p.extra, p.extralen, err,
	    sizeof(err)) != 0 || receipt_save(path, &p, err,
	    sizeof(err)) != 0) {
		ctl_errx("receipt: %s", err[0] ? err :
		    "the reply's receipt holds no entry");
		tlog_proof_free(&p);
		return EXIT_FAILED;
	}
	tlog_proof_free(&p);
	return EXIT_OK;
}

static int
cmd_call(struct ctl *c, int argc, char **argv)
{
	struct client_error e;
	const char *receipt = NULL;
	json_t *args, *res, *v;
	int i, j, rc, dashdash = 0;

	/* Options anywhere up to "--" (removed); negative numbers and "-"
	 * are arguments; an unknown option is refused before any call. */
	for (i = j = 1; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && strncmp(argv[i], "--receipt=", 10) == 0) {
			receipt = argv[i] + 10;
			continue;
		}
		if (!dashdash && strcmp(argv[i], "--receipt") == 0) {
			if (i + 1 >= argc)
				return ctl_usage(&cmd_call_entry);
			receipt = argv[++i];
			continue;
		}
		if (!dashdash && ctl_is_option(argv[i])) {
			ctl_errx("call: unknown option \"%s\" (an argument that "
			    "starts with '-' goes after \"--\")", argv[i]);
			return ctl_usage(&cmd_call_entry);
		}
		argv[j++] = argv[i];
	}
	argc = j;
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
	memset(&e, 0, sizeof(e));
	if ((rc = ctl_call(c, argv[1], argv[2], args, receipt != NULL ?
	    CTL_CALL_ENTRY : 0, &res, &e)) != EXIT_OK) {
		/* a contract error is recorded: it has a receipt too */
		if (receipt != NULL && e.data != NULL &&
		    json_object_get(e.data, "receipt") != NULL &&
		    save_receipt(json_object_get(e.data, "receipt"),
		    receipt) != EXIT_OK)
			rc = EXIT_FAILED;
		json_decref(e.data);
		return rc;
	}
	if (receipt != NULL && save_receipt(json_object_get(res, "receipt"),
	    receipt) != EXIT_OK) {
		json_decref(res);
		return EXIT_FAILED;
	}
	if (c->json)
		ctl_print_json(res);
	else {
		v = json_object_get(res, "value");
		ctl_print_json(v ? v : json_null());
	}
	json_decref(res);
	return EXIT_OK;
}
