/*
 * test-repl.c — what one line of `vmsctl repl` asks for (ctl/repl-line.c,
 * from build/libctl.a): JSON calls, vmsctl-call words with quoting,
 * NodeVMS's client.METHOD(...), built-ins, and clear errors.
 */
#include <stdio.h>
#include <string.h>

#include "repl.h"
#include "util.h"

#include "test.h"

/* The line's method and args as "METHOD JSON-ARRAY", or the kind. */
static char *
parse(const char *line, char *err, size_t errlen)
{
	struct repl_line r;
	char *s, *a;

	repl_parse(line, &r, err, errlen);
	switch (r.kind) {
	case REPL_EMPTY:	return xstrdup("EMPTY");
	case REPL_HELP:		return xstrdup("HELP");
	case REPL_METHODS:	return xstrdup("METHODS");
	case REPL_QUIT:		return xstrdup("QUIT");
	case REPL_ERROR:	return xstrdup("ERROR");
	case REPL_CALL:		break;
	}
	a = json_dumps(r.args, JSON_COMPACT);
	xasprintf(&s, "%s %s", r.method, a ? a : "?");
	free(a);
	repl_line_clear(&r);
	return s;
}

TEST(lines)
{
	static const struct { const char *line, *want, *err; } c[] = {
		{ "RSVP(\"bob\", false, \"x\")", "RSVP [\"bob\",false,\"x\"]",
		    NULL },
		{ "  client.RSVP( \"bob\" , true , {\"a\":[1]} ) ; ",
		    "RSVP [\"bob\",true,{\"a\":[1]}]", NULL },
		{ "listRSVPs()", "listRSVPs []", NULL },
		{ "listRSVPs", "listRSVPs []", NULL },
		{ "RSVP bob false 'Washing my hair'",
		    "RSVP [\"bob\",false,\"Washing my hair\"]", NULL },
		{ "RSVP \"bob smith\" 12 null \"--json\"",
		    "RSVP [\"bob smith\",12,null,\"--json\"]", NULL },
		{ "put a\\ b \"[1,2]\"", "put [\"a b\",[1,2]]", NULL },
		{ "", "EMPTY", NULL },
		{ "   # a comment", "EMPTY", NULL },
		{ "help", "HELP", NULL },
		{ "methods", "METHODS", NULL },
		{ "quit", "QUIT", NULL },
		{ "exit", "QUIT", NULL },
		{ "RSVP(1,", "ERROR", "missing ')'" },
		{ "RSVP(1,)", "ERROR", "not JSON" },
		{ "RSVP(bob)", "ERROR", "not JSON" },
		{ "RSVP 'unclosed", "ERROR", "unclosed quote" },
	};
	char err[256], *got;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err[0] = '\0';
		got = parse(c[i].line, err, sizeof(err));
		CHECK_MSG(strcmp(got, c[i].want) == 0, "%s: got %s, want %s",
		    c[i].line, got, c[i].want);
		if (c[i].err != NULL)
			CHECK_MSG(strstr(err, c[i].err) != NULL, "%s: error "
			    "\"%s\" lacks \"%s\"", c[i].line, err, c[i].err);
		free(got);
	}
}

int
main(void)
{
	RUN(lines);
	return test_summary();
}
