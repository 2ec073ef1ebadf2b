/*
 * canon.c — the canonical JSON encoding (canon.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "util.h"

char *
json_canonical(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_FLAGS_CANON | JSON_ENCODE_ANY);

	if (s == NULL)
		return NULL;
	if (len)
		*len = strlen(s);
	return s;
}

void
jbuf_init(struct jbuf *b)
{
	b->s = NULL;
	b->len = b->cap = 0;
}

void
jbuf_free(struct jbuf *b)
{
	free(b->s);
	jbuf_init(b);
}

void
jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

static void
grow(struct jbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = (b->len + more + 1) * 2 + 64;
	b->s = xrealloc(b->s, b->cap);
}

void
jbuf_raw(struct jbuf *b, const void *p, size_t n)
{
	grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

int
jbuf_str(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	char esc[6];

	if (!utf8_valid(s, n))
		return -1;
	grow(b, n + 2);
	b->s[b->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"':  e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			e = esc;
			el = 6;
		}
		jbuf_raw(b, s + run, i - run);
		jbuf_raw(b, e, el);
		run = i + 1;
	}
	jbuf_raw(b, s + run, n - run);
	jbuf_lit(b, "\"");
	return 0;
}

void
jbuf_int(struct jbuf *b, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	jbuf_raw(b, num, (size_t)n);
}

static int
dump_cb(const char *p, size_t n, void *arg)
{
	jbuf_raw(arg, p, n);
	return 0;
}

int
jbuf_value(struct jbuf *b, const json_t *v)
{
	return json_dump_callback(v, dump_cb, b, JSON_FLAGS_CANON |
	    JSON_ENCODE_ANY) == 0 ? 0 : -1;
}
