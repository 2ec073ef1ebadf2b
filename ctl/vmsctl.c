/*
 * vmsctl.c — the CLI's entry point: global options, the command table,
 * help and usage. Each command lives in its own cmd-*.c file.
 *
 * Options: an argument that looks like an option is one, wherever it is
 * on the line, up to a literal "--"; everything after "--" is an operand
 * (a contract argument, a file name). Global options are taken out of the
 * line first; what is left goes to the command, which either parses its
 * own options (getopt_long) or has none, and then vmsctl refuses any:
 * nothing like "--json" is ever sent to a contract by mistake.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "util.h"
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
	&cmd_prove_entry,
	&cmd_read_entry,
	&cmd_ls_entry,
	&cmd_stop_entry,
	&cmd_start_entry,
	&cmd_remove_entry,
	&cmd_audit_entry,
	&cmd_export_entry,
	&cmd_verify_receipt_entry,
	&cmd_ping_entry,
	&cmd_keygen_entry,
	&cmd_whoami_entry,
	NULL
};

/*
 * The commands that parse options of their own (getopt_long, which stops
 * at "--"), with the long options they have of the same name as a global
 * one: after the command's name those are the command's. The other
 * commands get no options: vmsctl refuses any left for them.
 */
static const struct {
	const struct cmd_entry	*e;
	const char		*own;	/* " name name " */
} getopt_cmds[] = {
	{ &cmd_deploy_entry,	"" },
	{ &cmd_repl_entry,	"" },
	{ &cmd_keygen_entry,	"" },
	{ &cmd_log_entry,	"" },
	{ &cmd_ls_entry,	"" },
	{ &cmd_remove_entry,	"" },
	{ &cmd_audit_entry,	" timeout json remote " },
	{ &cmd_call_entry,	"" },
	{ &cmd_checkpoint_entry, "" },
	{ &cmd_prove_entry,	"" },
	{ &cmd_verify_receipt_entry, "" },
	{ &cmd_export_entry,	"" },
};

static int
has_options(const struct cmd_entry *e)
{
	size_t i;

	for (i = 0; i < sizeof(getopt_cmds) / sizeof(getopt_cmds[0]); i++)
		if (getopt_cmds[i].e == e)
			return 1;
	return 0;
}

/* Is arg (--name or --name=value) an option of the command e's own? */
static int
own_option(const struct cmd_entry *e, const char *arg)
{
	char name[64];
	size_t i, n;

	if (e == NULL || arg[0] != '-' || arg[1] != '-')
		return 0;
	n = strcspn(arg + 2, "=");
	if (n == 0 || n + 3 > sizeof(name))
		return 0;
	name[0] = ' ';
	memcpy(name + 1, arg + 2, n);
	name[n + 1] = ' ';
	name[n + 2] = '\0';
	for (i = 0; i < sizeof(getopt_cmds) / sizeof(getopt_cmds[0]); i++)
		if (getopt_cmds[i].e == e)
			return strstr(getopt_cmds[i].own, name) != NULL;
	return 0;
}

static void
main_usage(FILE *f)
{
	const struct cmd_entry *const *e;

	fprintf(f, "usage: vmsctl [-s SOCKET|--remote URL] [--json] [--user NAME] "
	    "[--sign|--no-sign] [--identity FILE]\n"
	    "              [-h|--help] [-V] COMMAND [ARG ...]\n\ncommands:\n");
	for (e = cmd_table; *e != NULL; e++)
		fprintf(f, "  %-14s %s\n", (*e)->name, (*e)->help);
	fprintf(f, "  %-14s %s\n", "help", "help [COMMAND]: show help");
	fprintf(f, "\nsocket: -s, else $VMSD_SOCKET, else %s; "
	    "an http:// or https:// URL (-s or --remote) for the HTTP port.\n"
	    "calls to a URL are signed with the identity (vmsctl keygen) if "
	    "there is one.\n"
	    "options may come anywhere on the line; after \"--\" every "
	    "argument is an operand.\n"
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


/*
 * The command line without the global options: COMMAND [ARG ...]. A
 * command without options of its own gets its operands only: any option
 * left is refused, and the first "--" is removed.
 */
static int
run(struct ctl *c, int argc, char **argv, int help)
{
	const struct cmd_entry *e;
	int i, j, dashdash = 0;

	if (argc == 0 || (argc >= 1 && strcmp(argv[0], "--") == 0)) {
		if (help) {
			main_usage(stdout);
			return EXIT_OK;
		}
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1 || help) {
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
	if (help) {
		ctl_help(e);
		return EXIT_OK;
	}
	if (!has_options(e)) {
		for (i = j = 1; i < argc; i++) {
			if (!dashdash && strcmp(argv[i], "--") == 0) {
				dashdash = 1;
				continue;
			}
			if (!dashdash && ctl_is_option(argv[i])) {
				ctl_errx("%s: unknown option \"%s\" (an argument "
				    "that starts with '-' goes after \"--\")",
				    e->name, argv[i]);
				return ctl_usage(e);
			}
			argv[j++] = argv[i];
		}
		argc = j;
		argv[argc] = NULL;
	}
	optind = 0;	/* glibc: reinitialise getopt for the command */
	return e->exec(c, argc, argv);
}

enum { G_SOCKET, G_JSON, G_USER, G_TIMEOUT, G_SIGN, G_NOSIGN, G_IDENTITY,
    G_HELP, G_VERSION };

static const struct gopt {
	const char	*lng;		/* --long */
	char		 shrt;		/* -s, or 0 */
	int		 has_arg;
	int		 what;
} gopts[] = {
	{ "socket",	's', 1, G_SOCKET },
	{ "remote",	0,   1, G_SOCKET },
	{ "json",	0,   0, G_JSON },
	{ "user",	0,   1, G_USER },
	{ "timeout",	0,   1, G_TIMEOUT },
	{ "sign",	0,   0, G_SIGN },
	{ "no-sign",	0,   0, G_NOSIGN },
	{ "identity",	0,   1, G_IDENTITY },
	{ "help",	'h', 0, G_HELP },
	{ "version",	'V', 0, G_VERSION },
};

/*
 * If argv[*i] is a global option, apply it (taking its value from the
 * same argument or the next), advance *i past it and return 1; 0 if it is
 * not one; -1 on a bad value or a missing one.
 */
static int
global_option(struct ctl *c, int argc, char **argv, int *i, int *help,
    int *version)
{
	const char *a = argv[*i], *val = NULL, *eq;
	const struct gopt *g = NULL;
	size_t k, n;
	uint64_t t;

	for (k = 0; k < sizeof(gopts) / sizeof(gopts[0]); k++) {
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (strlen(gopts[k].lng) == n &&
			    strncmp(a + 2, gopts[k].lng, n) == 0) {
				g = &gopts[k];
				val = eq ? eq + 1 : NULL;
				break;
			}
		} else if (gopts[k].shrt != 0 && a[1] == gopts[k].shrt) {
			if (a[2] != '\0' && !gopts[k].has_arg)
				continue;
			g = &gopts[k];
			val = a[2] != '\0' ? a + 2 : NULL;
			break;
		}
	}
	if (g == NULL)
		return 0;
	if (g->has_arg && val == NULL) {
		if (*i + 1 >= argc) {
			ctl_errx("option %s needs a value", a);
			return -1;
		}
		val = argv[++*i];
	} else if (!g->has_arg && val != NULL) {
		ctl_errx("option --%s takes no value", g->lng);
		return -1;
	}
	(*i)++;
	switch (g->what) {
	case G_SOCKET:
		c->socket = val;
		break;
	case G_JSON:
		c->json = 1;
		break;
	case G_USER:
		c->user = val;
		break;
	case G_SIGN:
		c->sign = 1;
		break;
	case G_NOSIGN:
		c->sign = -1;
		break;
	case G_IDENTITY:
		c->identity = val;
		break;
	case G_TIMEOUT:
		if (ctl_parse_u64(val, &t) != 0 || t > 86400) {
			ctl_errx("bad --timeout \"%s\": want seconds", val);
			return -1;
		}
		c->timeout_ms = (int)t * 1000;
		break;
	case G_HELP:
		*help = 1;
		break;
	case G_VERSION:
		*version = 1;
		break;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *cur = NULL;
	struct ctl c;
	char **av;
	int ac = 0, i, r, rc, dashdash = 0, help = 0, version = 0;

	log_init("vmsctl", LOG_MODE_PLAIN, 0);
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n", argv[0]);
		return 1;
	}
	/* Commands' getopt_long permutes: options anywhere, up to "--". */
	unsetenv("POSIXLY_CORRECT");
	memset(&c, 0, sizeof(c));
	c.socket = getenv("VMSD_SOCKET");
	if (c.socket == NULL || *c.socket == '\0')
		c.socket = VMSD_SOCKET;
	c.timeout_ms = 120000;

	/* Take the global options out, wherever they are before "--". */
	av = xcalloc((size_t)argc + 1, sizeof(*av));
	av[ac++] = argv[0];
	for (i = 1; i < argc; ) {
		if (dashdash || !ctl_is_option(argv[i])) {
			if (strcmp(argv[i], "--") == 0)
				dashdash = 1;
			else if (ac == 1)
				cur = find_cmd(argv[i]);
			av[ac++] = argv[i++];
			continue;
		}
		if (own_option(cur, argv[i]))
			r = 0;
		else if ((r = global_option(&c, argc, argv, &i, &help,
		    &version)) < 0) {
			free(av);
			return EXIT_USAGE;
		}
		if (r == 0) {
			if (ac == 1) {
				ctl_errx("unknown option \"%s\" (try vmsctl "
				    "help)", argv[i]);
				free(av);
				return EXIT_USAGE;
			}
			av[ac++] = argv[i++];	/* the command's */
		}
	}
	av[ac] = NULL;
	if (version) {
		printf("vmsctl %s\n", VMSCTL_VERSION);
		free(av);
		return EXIT_OK;
	}
	rc = run(&c, ac - 1, av + 1, help);
	free(av);
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
