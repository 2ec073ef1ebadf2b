/*
 * cmd-log.c — vmsctl log NAME [--from N] [--count N] [--raw]: the ledger's
 * entries, one per line: the entry's JSON (each leaf's bytes are decoded
 * and checked to be JSON), or with --raw the leaf's exact bytes in base64.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmsctl.h"

#define LOG_PAGE	1000

static int cmd_log(struct ctl *, int, char **);

const struct cmd_entry cmd_log_entry = {
	"log", "NAME [--from N] [--count N] [--raw]",
	"print ledger entries as JSON lines (--raw: exact leaf bytes, base64)",
	cmd_log
};

static int
print_entry(struct ctl *c, uint64_t want, const json_t *e, int raw)
{
	const char *b64 = json_string_value(json_object_get(e, "leaf"));
	json_t *idx = json_object_get(e, "index"), *v;
	uint8_t *buf;
	size_t len;
	char *enc;

	if (b64 == NULL || !json_is_integer(idx) ||
	    (uint64_t)json_integer_value(idx) != want) {
		ctl_errx("malformed log reply at entry %" PRIu64, want);
		return -1;
	}
	if (b64_decode(b64, strlen(b64), &buf, &len) != 0) {
		ctl_errx("entry %" PRIu64 ": leaf is not valid base64", want);
		return -1;
	}
	if (raw) {
		/* Re-encode what we decoded: the exact bytes, canonically. */
		enc = b64_encode(buf, len);
		if (c->json)
			printf("{\"index\":%" PRIu64 ",\"leaf\":\"%s\"}\n",
			    want, enc);
		else
			printf("%s\n", enc);
		free(enc);
		free(buf);
		return 0;
	}
	if ((v = json_loadb((const char *)buf, len, 0, NULL)) == NULL) {
		ctl_errx("entry %" PRIu64 " is not JSON (use --raw)", want);
		free(buf);
		return -1;
	}
	if (c->json) {
		json_t *o = json_pack("{s:I,s:o}", "index", (json_int_t)want,
		    "entry", v);

		ctl_print_json(o);
		json_decref(o);
	} else {
		fwrite(buf, 1, len, stdout);
		putchar('\n');
		json_decref(v);
	}
	free(buf);
	return 0;
}

static int
cmd_log(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from",	required_argument,	NULL, 'f' },
		{ "count",	required_argument,	NULL, 'n' },
		{ "raw",	no_argument,		NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	uint64_t from = 0, count = UINT64_MAX, done = 0, page, size;
	json_t *res, *params, *entries, *e;
	int ch, raw = 0, rc;
	size_t i, n;

	while ((ch = getopt_long(argc, argv, "f:n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (ctl_parse_u64(optarg, &from) != 0) {
				ctl_errx("bad --from \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (ctl_parse_u64(optarg, &count) != 0) {
				ctl_errx("bad --count \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			raw = 1;
			break;
		default:
			return ctl_usage(&cmd_log_entry);
		}
	}
	if (argc - optind != 1)
		return ctl_usage(&cmd_log_entry);
	while (done < count) {
		page = count - done < LOG_PAGE ? count - done : LOG_PAGE;
		params = json_pack("{s:s,s:I,s:I,s:I}", "contract",
		    argv[optind], "from", (json_int_t)(from + done), "count",
		    (json_int_t)page, "max_bytes", (json_int_t)PROTO_PAGE_BYTES);
		if ((rc = ctl_rpc(c, PM_LOG, params, &res, NULL)) != EXIT_OK)
			return rc;
		entries = json_object_get(res, "entries");
		size = (uint64_t)ctl_int(res, "size");
		if (!json_is_array(entries)) {
			ctl_errx("malformed log reply");
			json_decref(res);
			return EXIT_FAILED;
		}
		json_array_foreach(entries, i, e) {
			if (print_entry(c, from + done, e, raw) != 0) {
				json_decref(res);
				return EXIT_FAILED;
			}
			done++;
		}
		n = json_array_size(entries);	/* res owns entries */
		json_decref(res);
		if (n == 0 || from + done >= size)
			break;
	}
	return EXIT_OK;
}
