/*
 * cmd-deploy.c — vmsctl deploy FILE.lua [--name NAME] [--limit KEY=VALUE
 * ...] [--replace]: send the code, print the name, vkey and ledger size.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmsctl.h"

static int cmd_deploy(struct ctl *, int, char **);

const struct cmd_entry cmd_deploy_entry = {
	"deploy", "FILE.lua [--name NAME] [--limit KEY=VALUE ...] [--replace]",
	"deploy a contract (runs init once) and print its name, key, size",
	cmd_deploy
};

/* "memory=32M" -> limits["memory"] = 33554432. */
static int
add_limit(json_t *limits, const char *kv)
{
	const char *eq = strchr(kv, '='), *p;
	char key[64], *end;
	unsigned long long v, mul = 1;
	size_t klen;

	if (eq == NULL || eq == kv || (klen = (size_t)(eq - kv)) >= sizeof(key)) {
		ctl_errx("bad --limit \"%s\": want KEY=VALUE", kv);
		return -1;
	}
	for (p = kv; p < eq; p++)
		if (!islower((unsigned char)*p) && *p != '_') {
			ctl_errx("bad --limit key in \"%s\"", kv);
			return -1;
		}
	memcpy(key, kv, klen);
	key[klen] = '\0';
	if (!isdigit((unsigned char)eq[1])) {
		ctl_errx("bad --limit value in \"%s\": want a number with an "
		    "optional K, M or G suffix", kv);
		return -1;
	}
	v = strtoull(eq + 1, &end, 10);
	if (*end == 'K' || *end == 'k')
		mul = 1024ULL, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024ULL * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ULL * 1024 * 1024, end++;
	if (*end != '\0' || v > (unsigned long long)INT64_MAX / mul) {
		ctl_errx("bad --limit value in \"%s\": want a number with an "
		    "optional K, M or G suffix", kv);
		return -1;
	}
	json_object_set_new(limits, key, json_integer((json_int_t)(v * mul)));
	return 0;
}

static int
cmd_deploy(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name",	required_argument,	NULL, 'n' },
		{ "limit",	required_argument,	NULL, 'l' },
		{ "replace",	no_argument,		NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	json_t *limits = json_object(), *params, *res;
	const char *name = NULL, *file, *base;
	char *defname = NULL, err[VMS_ERRLEN];
	uint8_t *code;
	size_t len;
	int ch, replace = 0, rc;

	while ((ch = getopt_long(argc, argv, "n:l:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'l':
			if (add_limit(limits, optarg) != 0) {
				json_decref(limits);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			replace = 1;
			break;
		default:
			json_decref(limits);
			return ctl_usage(&cmd_deploy_entry);
		}
	}
	if (argc - optind != 1) {
		json_decref(limits);
		return ctl_usage(&cmd_deploy_entry);
	}
	file = argv[optind];
	if (name == NULL) {
		base = strrchr(file, '/');
		base = base ? base + 1 : file;
		len = strlen(base);
		if (len > 4 && strcmp(base + len - 4, ".lua") == 0)
			len -= 4;
		defname = xstrndup(base, len);
		name = defname;
	}
	if (!valid_contract_name(name)) {
		ctl_errx("bad contract name \"%s\": want [A-Za-z0-9]"
		    "[A-Za-z0-9_.-]{0,63}%s", name, defname ?
		    " (use --name)" : "");
		free(defname);
		json_decref(limits);
		return EXIT_USAGE;
	}
	if (read_file(file, 64u << 20, &code, &len, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		free(defname);
		json_decref(limits);
		return EXIT_FAILED;
	}
	params = json_pack("{s:s,s:s%,s:o,s:b}", "name", name, "code",
	    (const char *)code, len, "limits", limits, "replace", replace);
	free(code);
	if (params == NULL) {
		ctl_errx("%s: not valid UTF-8 text", file);
		free(defname);
		return EXIT_FAILED;
	}
	rc = ctl_rpc(c, PM_DEPLOY, params, &res, NULL);
	free(defname);
	if (rc != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else {
		printf("name: %s\n", ctl_str(res, "name"));
		printf("vkey: %s\n", ctl_str(res, "vkey"));
		printf("size: %" JSON_INTEGER_FORMAT "\n",
		    ctl_int(res, "size"));
	}
	json_decref(res);
	return EXIT_OK;
}
