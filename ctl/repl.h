/*
 * repl.h — private to `vmsctl repl`: cmd-repl.c (the interactive loop on
 * libedit: prompt, history, completion of method names) and repl-line.c
 * (what one line asks for). The line parser is a pure function, unit
 * tested in tests/unit/test-repl.c.
 */
#ifndef VMSCTL_REPL_H
#define VMSCTL_REPL_H

#include <stddef.h>

#include <jansson.h>

enum repl_kind {
	REPL_EMPTY,		/* blank line or comment */
	REPL_CALL,		/* method, args */
	REPL_HELP,
	REPL_METHODS,
	REPL_QUIT,
	REPL_ERROR		/* err says why */
};

struct repl_line {
	enum repl_kind	 kind;
	char		*method;	/* REPL_CALL (malloc'd) */
	json_t		*args;		/* REPL_CALL: an array (owned) */
};

/*
 * One line: `METHOD(ARG, ...)` with JSON arguments (NodeVMS's
 * `client.METHOD(...)` too), or `METHOD ARG ...` as for vmsctl call (shell
 * quoting; each word JSON if it parses, else a string), or one of help,
 * methods, quit, exit. A line starting with '#' is a comment.
 */
void	 repl_parse(const char *line, struct repl_line *, char *err,
	    size_t errlen);
void	 repl_line_clear(struct repl_line *);

#endif
