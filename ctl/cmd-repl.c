/*
 * cmd-repl.c — vmsctl repl NAME [--exec LINE]: an interactive prompt for
 * one contract, on libedit: line editing, history (kept in
 * $XDG_STATE_HOME/vmsctl/history), Tab completes method names. Each line
 * is a call (repl-line.c): `RSVP("bob", false, "x")` with JSON arguments,
 * or `RSVP bob false x` as for vmsctl call; `help`, `methods`, `quit`.
 * Without a terminal it reads lines from standard input, with no prompt.
 * Calls go through ctl_call, so they carry the same identity as vmsctl
 * call (peer credentials, --user, or a signed remote identity).
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <histedit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_repl(struct ctl *, int, char **);

const struct cmd_entry cmd_repl_entry = {
	"repl", "NAME [--exec LINE]",
	"interactive calls: METHOD(JSON, ...) or METHOD ARG ...; Tab completes",
	cmd_repl
};

struct repl {
	struct ctl	*c;
	const char	*name;
	char		 prompt[128];
	char		**methods;	/* for completion */
	size_t		 nmethods;
	int		 last;		/* exit code of the last line */
};

static struct repl *current;	/* for libedit's callbacks */

static int
load_methods(struct repl *r)
{
	json_t *res, *m;
	size_t i;
	int rc;

	if ((rc = ctl_rpc(r->c, PM_METHODS, ctl_contract_params(r->name),
	    &res, NULL)) != EXIT_OK)
		return rc;
	m = json_object_get(res, "methods");
	r->methods = xcalloc(json_array_size(m) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(m); i++)
		if (json_is_string(json_array_get(m, i)))
			r->methods[r->nmethods++] = xstrdup(json_string_value(
			    json_array_get(m, i)));
	json_decref(res);
	return EXIT_OK;
}

static void
print_help(struct repl *r)
{
	printf("Calls to %s, one per line:\n"
	    "  METHOD(ARG, ...)   arguments in JSON: RSVP(\"bob\", false, "
	    "\"x\")\n"
	    "  METHOD ARG ...     as vmsctl call: each ARG JSON if valid, "
	    "else a string\n"
	    "  methods            list the contract's methods (Tab completes "
	    "them)\n"
	    "  help, quit         this text; leave (or Ctrl-D)\n", r->name);
}

/* One line: returns 1 to quit. */
static int
run_line(struct repl *r, const char *line)
{
	struct repl_line l;
	struct client_error e;
	char err[VMS_ERRLEN];
	json_t *res, *v;
	size_t i;
	int rc;

	repl_parse(line, &l, err, sizeof(err));
	switch (l.kind) {
	case REPL_EMPTY:
		return 0;
	case REPL_QUIT:
		return 1;
	case REPL_HELP:
		print_help(r);
		r->last = EXIT_OK;
		return 0;
	case REPL_METHODS:
		for (i = 0; i < r->nmethods; i++)
			printf("%s\n", r->methods[i]);
		r->last = EXIT_OK;
		return 0;
	case REPL_ERROR:
		ctl_errx("%s", err);
		r->last = EXIT_USAGE;
		return 0;
	case REPL_CALL:
		break;
	}
	memset(&e, 0, sizeof(e));
	rc = ctl_call(r->c, r->name, l.method, l.args, &res, &e);
	l.args = NULL;
	json_decref(e.data);
	repl_line_clear(&l);
	r->last = rc;
	if (rc == EXIT_OK) {
		if (r->c->json)
			ctl_print_json(res);
		else {
			v = json_object_get(res, "value");
			ctl_print_json(v ? v : json_null());
		}
		json_decref(res);
	}
	fflush(stdout);
	/* the daemon is gone: nothing more can work */
	return rc == EXIT_UNREACHABLE;
}

static char *
prompt_fn(EditLine *el)
{
	return current->prompt;
}

/* Tab: complete the method name being typed (the first word). */
static unsigned char
complete_fn(EditLine *el, int ch)
{
	const LineInfo *li = el_line(el);
	const char *start = li->buffer, *cur = li->cursor;
	struct repl *r = current;
	size_t len, i, n = 0, common = 0;
	const char *match = NULL;

	while (start < cur && (*start == ' ' || *start == '\t'))
		start++;
	if (strncmp(start, "client.", 7) == 0 && start + 7 <= cur)
		start += 7;
	len = (size_t)(cur - start);
	if (memchr(start, ' ', len) != NULL || memchr(start, '(', len) != NULL)
		return CC_ERROR;	/* past the method name */
	for (i = 0; i < r->nmethods; i++) {
		if (strncmp(r->methods[i], start, len) != 0)
			continue;
		if (n++ == 0) {
			match = r->methods[i];
			common = strlen(match);
		} else {
			size_t k = 0;

			while (k < common && match[k] == r->methods[i][k])
				k++;
			common = k;
		}
	}
	if (n == 0)
		return CC_ERROR;
	if (common > len) {
		char *ins = xstrndup(match + len, common - len);

		el_insertstr(el, ins);
		free(ins);
		return CC_REFRESH;
	}
	if (n == 1)
		return CC_REFRESH;
	/* ambiguous: show the candidates */
	fputc('\n', stdout);
	for (i = 0; i < r->nmethods; i++)
		if (strncmp(r->methods[i], start, len) == 0)
			printf("%s  ", r->methods[i]);
	fputc('\n', stdout);
	return CC_REDISPLAY;
}

/* $XDG_STATE_HOME/vmsctl/history, else ~/.local/state/vmsctl/history. */
static int
history_path(char *buf, size_t len)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];

	if (x != NULL && *x == '/')
		snprintf(dir, sizeof(dir), "%s/vmsctl", x);
	else if (home != NULL && *home == '/')
		snprintf(dir, sizeof(dir), "%s/.local/state/vmsctl", home);
	else
		return -1;
	if (mkdir_p(dir, 0700) != 0)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/history", dir) >= len)
		return -1;
	return 0;
}

static void
interactive(struct repl *r)
{
	EditLine *el;
	History *hist;
	HistEvent ev;
	const char *line;
	char hpath[PATH_MAX];
	int count, have_path;

	if ((el = el_init("vmsctl", stdin, stdout, stderr)) == NULL ||
	    (hist = history_init()) == NULL) {
		ctl_errx("cannot set up line editing");
		if (el != NULL)
			el_end(el);
		r->last = EXIT_FAILED;
		return;
	}
	have_path = history_path(hpath, sizeof(hpath)) == 0;
	history(hist, &ev, H_SETSIZE, 1000);
	history(hist, &ev, H_SETUNIQUE, 1);
	if (have_path)
		history(hist, &ev, H_LOAD, hpath);	/* none yet: fine */
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_SIGNAL, 1);
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_HIST, history, hist);
	el_set(el, EL_ADDFN, "vms-complete", "complete a method name",
	    complete_fn);
	el_set(el, EL_BIND, "^I", "vms-complete", NULL);
	el_source(el, NULL);	/* the user's ~/.editrc, if any */
	printf("%s: %zu methods; help for help, Tab completes, Ctrl-D "
	    "leaves\n", r->name, r->nmethods);
	while ((line = el_gets(el, &count)) != NULL) {
		char *copy;

		if (count <= 0)
			continue;
		copy = xstrdup(line);
		copy[strcspn(copy, "\n")] = '\0';
		if (copy[strspn(copy, " \t")] != '\0')
			history(hist, &ev, H_ENTER, copy);
		count = run_line(r, copy);
		free(copy);
		if (count)
			break;
	}
	if (have_path && history(hist, &ev, H_SAVE, hpath) < 0)
		ctl_errx("cannot save the history in %s", hpath);
	history_end(hist);
	el_end(el);
	if (line == NULL)
		fputc('\n', stdout);
}

static void
batch(struct repl *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (run_line(r, line))
			break;
	}
	free(line);
}

static int
cmd_repl(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "exec", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	struct repl r;
	const char *exec = NULL;
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			exec = optarg;
			break;
		default:
			return ctl_usage(&cmd_repl_entry);
		}
	}
	if (optind != argc - 1)
		return ctl_usage(&cmd_repl_entry);
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.name = argv[optind];
	if (!valid_contract_name(r.name)) {
		ctl_errx("invalid contract name \"%s\"", r.name);
		return EXIT_USAGE;
	}
	if ((rc = ctl_connect(c)) != EXIT_OK)
		return rc;
	snprintf(r.prompt, sizeof(r.prompt), "%s> ", r.name);
	current = &r;
	if (exec != NULL) {
		r.last = EXIT_OK;
		run_line(&r, exec);
	} else {
		if ((rc = load_methods(&r)) != EXIT_OK)
			return rc;	/* said why */
		if (isatty(STDIN_FILENO))
			interactive(&r);
		else
			batch(&r);
	}
	for (i = 0; i < r.nmethods; i++)
		free(r.methods[i]);
	free(r.methods);
	current = NULL;
	return r.last;
}
