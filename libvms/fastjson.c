/*
 * fastjson.c — the fast path of JSON decoding (fastjson.h): one pass over
 * the text building jansson values, giving up (NULL) on whatever it does
 * not take, so that jansson decodes that text instead. Giving up is always
 * safe; taking a text that jansson would decode otherwise, or refuse, is
 * the one thing this file must never do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastjson.h"

struct fj {
	const char	*p, *end;
	int		 depth;
	char		*tmp;		/* unescaped strings */
	size_t		 tmpcap;
};

static json_t	*value(struct fj *);

static void
ws(struct fj *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' ||
	    *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

/* After a number or a literal, jansson's next token must start. */
static int
delimited(const struct fj *f)
{
	if (f->p == f->end)
		return 1;
	switch (*f->p) {
	case ' ': case '\t': case '\n': case '\r': case ',': case ']':
	case '}':
		return 1;
	}
	return 0;
}

/*
 * The string opening at f->p: its bytes in *s (into the text, or into
 * f->tmp if it has escapes and esc allows them), *n of them. -1: give up.
 */
static int
string(struct fj *f, const char **s, size_t *n, int esc)
{
	const char *q, *start;
	size_t len = 0;
	char c;

	if (f->p == f->end || *f->p != '"')
		return -1;
	start = ++f->p;
	/* printable ASCII, no escape: the common case, no copy */
	for (q = start; q < f->end; q++) {
		c = *q;
		if (c == '"') {
			*s = start;
			*n = (size_t)(q - start);
			f->p = q + 1;
			return 0;
		}
		if (c == '\\')
			break;
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			return -1;
	}
	if (q == f->end || !esc)
		return -1;
	/* escapes: unescape into tmp (never longer than the text) */
	if (f->tmpcap < (size_t)(f->end - start)) {
		char *t = realloc(f->tmp, (size_t)(f->end - start));

		if (t == NULL)
			return -1;
		f->tmp = t;
		f->tmpcap = (size_t)(f->end - start);
	}
	for (q = start; q < f->end; q++) {
		c = *q;
		if (c == '"') {
			*s = f->tmp;
			*n = len;
			f->p = q + 1;
			return 0;
		}
		if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
			return -1;
		if (c == '\\') {
			if (++q == f->end)
				return -1;
			switch (*q) {
			case '"':  c = '"'; break;
			case '\\': c = '\\'; break;
			case '/':  c = '/'; break;
			case 'b':  c = '\b'; break;
			case 'f':  c = '\f'; break;
			case 'n':  c = '\n'; break;
			case 'r':  c = '\r'; break;
			case 't':  c = '\t'; break;
			default:   return -1;	/* \u and errors: jansson's */
			}
		}
		f->tmp[len++] = c;
	}
	return -1;
}

/* -?(0|[1-9][0-9]{0,17}), not -0, then a delimiter. */
static json_t *
integer(struct fj *f)
{
	const char *q = f->p;
	int neg = 0, digits = 0;
	json_int_t v = 0;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	if (q == f->end || *q < '0' || *q > '9')
		return NULL;
	if (*q == '0') {
		if (neg)
			return NULL;
		q++;
		digits = 1;
	} else
		while (q < f->end && *q >= '0' && *q <= '9') {
			if (++digits > 18)
				return NULL;
			v = v * 10 + (*q - '0');
			q++;
		}
	f->p = q;
	if (!delimited(f))	/* a fraction, an exponent, or an error */
		return NULL;
	return json_integer(neg ? -v : v);
}

static json_t *
literal(struct fj *f, const char *word, size_t n, json_t *(*make)(void))
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
		return NULL;
	f->p += n;
	return delimited(f) ? make() : NULL;
}

/* Past an opening bracket: 1 if close follows at once (taken). */
static int
opened(struct fj *f, char close)
{
	f->p++;
	ws(f);
	if (f->p < f->end && *f->p == close) {
		f->p++;
		return 1;
	}
	return 0;
}

/* After an object's member or an array's element: 1 at close (taken), 0
 * at a comma (taken, with the space after it), -1 at anything else. */
static int
after_member(struct fj *f, char close)
{
	ws(f);
	if (f->p == f->end)
		return -1;
	if (*f->p == close) {
		f->p++;
		return 1;
	}
	if (*f->p != ',')
		return -1;
	f->p++;
	ws(f);
	return 0;
}

static json_t *
object(struct fj *f)
{
	json_t *o, *v;
	const char *k;
	size_t kn;
	int r;

	if ((o = json_object()) == NULL)
		return NULL;
	if (opened(f, '}'))
		return o;
	for (;;) {
		/* (a key with escapes would be in tmp, which its value may
		 * reuse: rare enough to leave to jansson) */
		if (string(f, &k, &kn, 0) != 0)
			goto fail;
		/* a duplicate: an error, or the last one wins; jansson's */
		if (json_object_getn(o, k, kn) != NULL)
			goto fail;
		ws(f);
		if (f->p == f->end || *f->p != ':')
			goto fail;
		f->p++;
		ws(f);
		if ((v = value(f)) == NULL)
			goto fail;
		if (json_object_setn_new_nocheck(o, k, kn, v) != 0)
			goto fail;
		if ((r = after_member(f, '}')) == 1)
			return o;
		if (r == -1)
			goto fail;
	}
fail:
	json_decref(o);
	return NULL;
}

static json_t *
array(struct fj *f)
{
	json_t *a, *v;
	int r;

	if ((a = json_array()) == NULL)
		return NULL;
	if (opened(f, ']'))
		return a;
	for (;;) {
		if ((v = value(f)) == NULL || json_array_append_new(a, v) != 0)
			goto fail;
		if ((r = after_member(f, ']')) == 1)
			return a;
		if (r == -1)
			goto fail;
	}
fail:
	json_decref(a);
	return NULL;
}

static json_t *
value(struct fj *f)
{
	const char *s;
	size_t n;
	json_t *v;

	if (f->p == f->end)
		return NULL;
	switch (*f->p) {
	case '{':
	case '[':
		if (++f->depth > FASTJSON_DEPTH)
			return NULL;
		v = *f->p == '{' ? object(f) : array(f);
		f->depth--;
		return v;
	case '"':
		return string(f, &s, &n, 1) == 0 ? json_stringn_nocheck(s, n) :
		    NULL;
	case 't':
		return literal(f, "true", 4, json_true);
	case 'f':
		return literal(f, "false", 5, json_false);
	case 'n':
		return literal(f, "null", 4, json_null);
	default:
		return integer(f);
	}
}

json_t *
fastjson_try(const char *buf, size_t len, size_t flags)
{
	struct fj f;
	json_t *v;

	if (buf == NULL ||
	    (flags & ~(size_t)(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)))
		return NULL;
	memset(&f, 0, sizeof(f));
	f.p = buf;
	f.end = buf + len;
	ws(&f);
	if (f.p == f.end || (!(flags & JSON_DECODE_ANY) && *f.p != '{' &&
	    *f.p != '['))
		return NULL;
	v = value(&f);
	free(f.tmp);
	if (v == NULL)
		return NULL;
	ws(&f);
	if (f.p != f.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *
fastjson_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t *v = fastjson_try(buf, len, flags);

	return v != NULL ? v : json_loadb(buf, len, flags, err);
}
