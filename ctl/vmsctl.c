/*
 * vmsctl.c — the CLI's entry point: global options, the command table,
 * help and usage. Each command lives in its own cmd-*.c file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "vmsctl.h"
#include "vmsd_paths.h"

#define VMSCTL_VERSION	"0.1.0"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_deploy_entry,
	&cmd_call_entry,
	&cmd_repl_entry,
	&cmd_list_entry,
	&cmd_info_entry,
	&cmd_methods_entry,
	&cmd_log_entry,
	&cmd_checkpoint_entry,
	&cmd_read_entry,
	&cmd_ls_entry,
	&cmd_stop_entry,
	&cmd_start_entry,
	&cmd_remove_entry,
	&cmd_audit_entry,
	&cmd_ping_entry,
	&cmd_keygen_entry,
	&cmd_whoami_entry,
	NULL
};

static void
main_usage(FILE *f)
{
	const struct cmd_entry *const *e;

	fprintf(f, "usage: vmsctl [-s SOCKET|--remote URL] [--json] [--user NAME] "
	    "[--sign|--no-sign] [--identity FILE]\n"
	    "              [-h|--help] [-V] COMMAND [ARG ...]\n\ncommands:\n");
	for (e = cmd_table; *e != NULL; e++)
		fprintf(f, "  %-11s %s\n", (*e)->name, (*e)->help);
	fprintf(f, "  %-11s %s\n", "help", "help [COMMAND]: show help");
	fprintf(f, "\nsocket: -s, else $VMSD_SOCKET, else %s; "
	    "an http:// or https:// URL (-s or --remote) for the HTTP port.\n"
	    "calls to a URL are signed with the identity (vmsctl keygen) if "
	    "there is one.\n"
	    "exit: 0 ok, 1 failed, 2 usage, 3 cannot reach the daemon.\n",
	    VMSD_SOCKET);
}

static const struct cmd_entry *
find_cmd(const char *name)
{
	const struct cmd_entry *const *e;

	for (e = cmd_table; *e != NULL; e++)
		if (strcmp((*e)->name, name) == 0)
			return *e;
	return NULL;
}

int
ctl_usage(const struct cmd_entry *e)
{
	fprintf(stderr, "usage: vmsctl %s %s\n", e->name, e->args);
	return EXIT_USAGE;
}

void
ctl_help(const struct cmd_entry *e)
{
	printf("usage: vmsctl %s %s\n  %s\n(see vmsctl(1))\n", e->name,
	    e->args, e->help);
}

int
ctl_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "remote",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "sign",	no_argument,		NULL, 'S' },
		{ "no-sign",	no_argument,		NULL, 'N' },
		{ "identity",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const struct cmd_entry *e;
	struct ctl c;
	uint64_t t;
	int ch, rc;

	log_init("vmsctl", LOG_MODE_PLAIN, 0);
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n", argv[0]);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.socket = getenv("VMSD_SOCKET");
	if (c.socket == NULL || *c.socket == '\0')
		c.socket = VMSD_SOCKET;
	c.timeout_ms = 120000;
	while ((ch = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'u':
			c.user = optarg;
			break;
		case 'S':
			c.sign = 1;
			break;
		case 'N':
			c.sign = -1;
			break;
		case 'i':
			c.identity = optarg;
			break;
		case 't':
			if (ctl_parse_u64(optarg, &t) != 0 || t > 86400) {
				ctl_errx("bad --timeout \"%s\": want seconds",
				    optarg);
				return EXIT_USAGE;
			}
			c.timeout_ms = (int)t * 1000;
			break;
		case 'h':
			main_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vmsctl %s\n", VMSCTL_VERSION);
			return EXIT_OK;
		default:
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			main_usage(stdout);
			return EXIT_OK;
		}
		if ((e = find_cmd(argv[1])) == NULL) {
			ctl_errx("unknown command \"%s\" (try vmsctl help)",
			    argv[1]);
			return EXIT_USAGE;
		}
		ctl_help(e);
		return EXIT_OK;
	}
	if ((e = find_cmd(argv[0])) == NULL) {
		ctl_errx("unknown command \"%s\" (try vmsctl help)", argv[0]);
		return EXIT_USAGE;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		ctl_help(e);
		return EXIT_OK;
	}
	optind = 0;	/* glibc: reinitialise getopt for the command */
	rc = e->exec(&c, argc, argv);
	client_close(c.client);
	free(c.origin_of);
	fflush(stdout);
	if (ferror(stdout)) {
		ctl_errx("error writing to standard output");
		if (rc == EXIT_OK)
			rc = EXIT_FAILED;
	}
	return rc;
}
