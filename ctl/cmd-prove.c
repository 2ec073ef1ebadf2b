/*
 * cmd-prove.c — vmsctl prove NAME INDEX [--size N] [-o FILE]: a receipt for
 * any entry, after the fact: the entry's bytes (`log`), the signed
 * checkpoint of the latest size or of size N (`checkpoint`) and the
 * inclusion proof (`prove`), checked and written as a C2SP tlog-proof,
 * the same file `vmsctl call --receipt` saves.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receipt.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_prove(struct ctl *, int, char **);

const struct cmd_entry cmd_prove_entry = {
	"prove", "NAME INDEX [--size N] [-o FILE] [--json]",
	"a receipt (tlog-proof) for entry INDEX in the latest or an older "
	"signed checkpoint",
	cmd_prove
};

static int
cmd_prove(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size",	required_argument,	NULL, 's' },
		{ "output",	required_argument,	NULL, 'o' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL,		0,			NULL, 0 }
	};
	const char *out = NULL, *note, *leaf;
	uint64_t index, size = 0;
	int ch, rc, have_size = 0;
	json_t *res = NULL, *entry = NULL, *proof = NULL, *rcpt;
	struct tlog_proof p;
	char err[VMS_ERRLEN], *text;
	size_t len;

	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (ctl_parse_u64(optarg, &size) != 0) {
				ctl_errx("bad --size \"%s\"", optarg);
				return EXIT_USAGE;
			}
			have_size = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		default:
			return ctl_usage(&cmd_prove_entry);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || ctl_parse_u64(argv[1], &index) != 0)
		return ctl_usage(&cmd_prove_entry);
	rcpt = ctl_contract_params(argv[0]);
	if (have_size)
		json_object_set_new(rcpt, "size", json_integer((json_int_t)size));
	if ((rc = ctl_rpc(c, PM_CHECKPOINT, rcpt, &res, NULL)) != EXIT_OK)
		return rc;
	note = json_string_value(json_object_get(res, "note"));
	size = (uint64_t)json_integer_value(json_object_get(res, "size"));
	if (note == NULL) {
		ctl_errx("malformed checkpoint reply");
		rc = EXIT_FAILED;
		goto out;
	}
	if (index >= size) {
		ctl_errx("entry %" PRIu64 " is not in the checkpoint of size %"
		    PRIu64, index, size);
		rc = EXIT_FAILED;
		goto out;
	}
	if ((rc = ctl_rpc(c, PM_LOG, json_pack("{s:s,s:I,s:I}", "contract",
	    argv[0], "from", (json_int_t)index, "count", (json_int_t)1),
	    &entry, NULL)) != EXIT_OK)
		goto out;
	if ((rc = ctl_rpc(c, PM_PROVE, json_pack("{s:s,s:I,s:I}", "contract",
	    argv[0], "index", (json_int_t)index, "size", (json_int_t)size),
	    &proof, NULL)) != EXIT_OK)
		goto out;
	leaf = json_string_value(json_object_get(json_array_get(
	    json_object_get(entry, "entries"), 0), "leaf"));
	rcpt = json_pack("{s:I,s:s,s:O,s:s?}", "index", (json_int_t)index,
	    "checkpoint", note, "proof", json_object_get(proof, "proof") ?
	    json_object_get(proof, "proof") : json_null(), "entry", leaf);
	rc = EXIT_FAILED;
	if (rcpt == NULL || leaf == NULL ||
	    receipt_from_json(rcpt, &p, err, sizeof(err)) != 0 ||
	    receipt_check_math(&p, p.extra, p.extralen, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s: entry %" PRIu64 ": %s", argv[0], index, rcpt &&
		    leaf ? err : "malformed replies");
		json_decref(rcpt);
		tlog_proof_free(&p);
		goto out;
	}
	if (out != NULL) {
		if (receipt_save(out, &p, err, sizeof(err)) != 0)
			ctl_errx("%s", err);
		else
			rc = EXIT_OK;
	} else if (c->json) {
		json_object_set_new(rcpt, "size", json_integer((json_int_t)size));
		ctl_print_json(rcpt);
		rc = EXIT_OK;
	} else {
		text = tlog_proof_format(&p, &len);
		fwrite(text, 1, len, stdout);
		free(text);
		rc = EXIT_OK;
	}
	json_decref(rcpt);
	tlog_proof_free(&p);
out:
	json_decref(res);
	json_decref(entry);
	json_decref(proof);
	return rc;
}
