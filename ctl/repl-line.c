/*
 * repl-line.c — what one line of `vmsctl repl` asks for (repl.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repl.h"
#include "util.h"
#include "vmsctl.h"

static int
ident_start(int ch)
{
	return isalpha(ch) || ch == '_';
}

static int
ident_char(int ch)
{
	return isalnum(ch) || ch == '_';
}

/* METHOD(...): JSON arguments between the parentheses. */
static void
parse_paren(const char *p, size_t n, const char *open, const char *end,
    struct repl_line *r, char *err, size_t errlen)
{
	json_error_t jerr;
	char *text;
	size_t in = (size_t)(end - open - 1);

	text = xmalloc(in + 3);
	text[0] = '[';
	memcpy(text + 1, open + 1, in);
	text[in + 1] = ']';
	text[in + 2] = '\0';
	r->args = json_loads(text, 0, &jerr);
	free(text);
	if (r->args == NULL) {
		seterr(err, errlen, "arguments are not JSON: %s (column %d)",
		    jerr.text, jerr.column > 1 ? jerr.column - 1 : 1);
		r->kind = REPL_ERROR;
		return;
	}
	r->method = xstrndup(p, n);
	r->kind = REPL_CALL;
}

/* The next shell-like word at *s (quotes group, backslash escapes), or
 * NULL at the end; -1 in *bad on an unclosed quote. */
static char *
next_word(const char **s, int *bad)
{
	const char *p = *s;
	char *w, *o, q = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	o = w = xmalloc(strlen(p) + 1);
	for (; *p != '\0'; p++) {
		if (q == 0 && (*p == ' ' || *p == '\t'))
			break;
		if (q == 0 && (*p == '"' || *p == '\'')) {
			q = *p;
			continue;
		}
		if (q != 0 && *p == q) {
			q = 0;
			continue;
		}
		if (*p == '\\' && q != '\'' && p[1] != '\0') {
			*o++ = *++p;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	*s = p;
	if (q != 0)
		*bad = 1;
	return w;
}

void
repl_parse(const char *line, struct repl_line *r, char *err, size_t errlen)
{
	const char *p = line, *end, *q, *open;
	char *w;
	json_t *v;
	int bad = 0;
	size_t n;

	memset(r, 0, sizeof(*r));
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && (isspace((unsigned char)end[-1]) || end[-1] == ';'))
		end--;
	if (p == end || *p == '#') {
		r->kind = REPL_EMPTY;
		return;
	}
	if (strncmp(p, "client.", 7) == 0 && ident_start((unsigned char)p[7]))
		p += 7;
	/* METHOD ( ... ) */
	for (q = p; q < end && ident_char((unsigned char)*q); q++)
		;
	n = (size_t)(q - p);
	for (open = q; open < end && (*open == ' ' || *open == '\t'); open++)
		;
	if (n > 0 && ident_start((unsigned char)*p) && open < end &&
	    *open == '(') {
		if (end[-1] != ')') {
			seterr(err, errlen, "missing ')' at the end of the "
			    "line");
			r->kind = REPL_ERROR;
			return;
		}
		parse_paren(p, n, open, end - 1, r, err, errlen);
		return;
	}
	/* METHOD ARG ... */
	{
		char *copy = xstrndup(p, (size_t)(end - p));
		const char *s = copy;

		w = next_word(&s, &bad);
		if (w == NULL || bad) {
			free(w);
			free(copy);
			seterr(err, errlen, "unclosed quote");
			r->kind = REPL_ERROR;
			return;
		}
		if (strcmp(w, "help") == 0 || strcmp(w, "?") == 0)
			r->kind = REPL_HELP;
		else if (strcmp(w, "methods") == 0)
			r->kind = REPL_METHODS;
		else if (strcmp(w, "quit") == 0 || strcmp(w, "exit") == 0)
			r->kind = REPL_QUIT;
		if (r->kind != REPL_EMPTY) {
			free(w);
			free(copy);
			return;
		}
		r->kind = REPL_CALL;
		r->method = w;
		r->args = json_array();
		while ((w = next_word(&s, &bad)) != NULL) {
			if (bad || (v = ctl_arg(w)) == NULL) {
				seterr(err, errlen, bad ? "unclosed quote" :
				    "argument is not valid UTF-8");
				free(w);
				free(copy);
				repl_line_clear(r);
				r->kind = REPL_ERROR;
				return;
			}
			json_array_append_new(r->args, v);
			free(w);
		}
		free(copy);
	}
}

void
repl_line_clear(struct repl_line *r)
{
	free(r->method);
	json_decref(r->args);
	memset(r, 0, sizeof(*r));
}
