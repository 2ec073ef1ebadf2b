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
	struct jbuf b;

	jbuf_init(&b);
	if (v == NULL || jbuf_value(&b, v) == -1) {
		jbuf_free(&b);
		return NULL;
	}
	if (b.s == NULL)
		jbuf_raw(&b, "", 0);
	if (len)
		*len = b.len;
	return b.s;
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
jbuf_uint(struct jbuf *b, uint64_t v)
{
	char num[24], *p = num + sizeof(num);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	jbuf_raw(b, p, (size_t)(num + sizeof(num) - p));
}

void
jbuf_int(struct jbuf *b, long long v)
{
	if (v < 0) {
		jbuf_lit(b, "-");
		/* -(v + 1) + 1: LLONG_MIN's magnitude without overflow */
		jbuf_uint(b, (uint64_t)-(v + 1) + 1);
	} else
		jbuf_uint(b, (uint64_t)v);
}

/* p's base64 (b64_put, written in place: no copy of its own). */
void
jbuf_b64(struct jbuf *b, const void *p, size_t n)
{
	grow(b, B64_LEN(n));
	b->len += b64_put(b->s + b->len, p, n);
	b->s[b->len] = '\0';
}

static int
dump_cb(const char *p, size_t n, void *arg)
{
	jbuf_raw(arg, p, n);
	return 0;
}

/* jansson's own text of v: canonical, or with keys in the objects' own
 * order (!sorted). */
static int
jansson_value(struct jbuf *b, const json_t *v, int sorted)
{
	return json_dump_callback(v, dump_cb, b, (sorted ? JSON_FLAGS_CANON :
	    JSON_COMPACT | JSON_REAL_PRECISION(17)) | JSON_ENCODE_ANY) == 0 ?
	    0 : -1;
}

/*
 * The canonical text written here rather than by jansson's dumper (which
 * sorts keys through a malloc'd array and qsort, and records every
 * container it enters in a hash table keyed by its address printed with
 * snprintf): the same bytes (tests/unit/test-canon.c compares the two on
 * many random values). jansson sorts an object's keys by memcmp of the
 * common length, then the shorter first; escapes strings as jbuf_str does;
 * writes integers with "%lld". Reals are left to jansson itself (their
 * formatting is its own), and so is anything nested deeper than
 * CANON_DEPTH (returns 1: the caller starts over with jansson).
 */
#define CANON_DEPTH	64
#define CANON_KEYS	32	/* keys sorted on the stack */

struct ckey {
	const char	*k;
	size_t		 len;
	json_t		*v;
};

static int
ckey_less(const struct ckey *a, const struct ckey *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->k, b->k, n);

	return r != 0 ? r < 0 : a->len < b->len;
}

static int
ckey_cmp(const void *a, const void *b)
{
	return ckey_less(a, b) ? -1 : ckey_less(b, a) ? 1 : 0;
}

static int value_rec(struct jbuf *, const json_t *, int, int);

static int
object_rec(struct jbuf *b, const json_t *v, int depth, int sorted)
{
	struct ckey stack[CANON_KEYS], *keys = stack, t;
	size_t n = json_object_size(v), i, j;
	void *it;
	int r = 0;

	if (n == 0) {
		jbuf_lit(b, "{}");
		return 0;
	}
	if (n > CANON_KEYS)
		keys = xcalloc(n, sizeof(*keys));
	for (i = 0, it = json_object_iter((json_t *)v); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)v, it), i++) {
		keys[i].k = json_object_iter_key(it);
		keys[i].len = json_object_iter_key_len(it);
		keys[i].v = json_object_iter_value(it);
	}
	n = i;
	if (!sorted)
		;	/* the object's own (insertion) order */
	else if (n > CANON_KEYS)
		qsort(keys, n, sizeof(*keys), ckey_cmp);
	else
		for (i = 1; i < n; i++) {	/* insertion sort */
			t = keys[i];
			for (j = i; j > 0 && ckey_less(&t, &keys[j - 1]); j--)
				keys[j] = keys[j - 1];
			keys[j] = t;
		}
	jbuf_lit(b, "{");
	for (i = 0; i < n && r == 0; i++) {
		if (i > 0)
			jbuf_lit(b, ",");
		if ((r = jbuf_str(b, keys[i].k, keys[i].len)) != 0)
			break;
		jbuf_lit(b, ":");
		r = value_rec(b, keys[i].v, depth + 1, sorted);
	}
	if (r == 0)
		jbuf_lit(b, "}");
	if (keys != stack)
		free(keys);
	return r;
}

static int
value_rec(struct jbuf *b, const json_t *v, int depth, int sorted)
{
	size_t i, n;
	int r;

	if (v == NULL)
		return -1;
	if (depth > CANON_DEPTH)
		return 1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return object_rec(b, v, depth, sorted);
	case JSON_ARRAY:
		n = json_array_size(v);
		jbuf_lit(b, "[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				jbuf_lit(b, ",");
			if ((r = value_rec(b, json_array_get(v, i),
			    depth + 1, sorted)) != 0)
				return r;
		}
		jbuf_lit(b, "]");
		return 0;
	case JSON_STRING:
		return jbuf_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		jbuf_int(b, (long long)json_integer_value(v));
		return 0;
	case JSON_TRUE:
		jbuf_lit(b, "true");
		return 0;
	case JSON_FALSE:
		jbuf_lit(b, "false");
		return 0;
	case JSON_NULL:
		jbuf_lit(b, "null");
		return 0;
	default:	/* JSON_REAL */
		return jansson_value(b, v, sorted);
	}
}

static int
encode(struct jbuf *b, const json_t *v, int sorted)
{
	size_t start = b->len;
	int r = value_rec(b, v, 0, sorted);

	if (r == 1) {		/* deep: jansson's own dumper */
		b->len = start;
		if (b->s != NULL)
			b->s[start] = '\0';
		r = jansson_value(b, v, sorted);
	}
	if (r != 0) {
		b->len = start;
		if (b->s != NULL)
			b->s[start] = '\0';
	}
	return r == 0 ? 0 : -1;
}

int
jbuf_value(struct jbuf *b, const json_t *v)
{
	return encode(b, v, 1);
}

int
jbuf_value_ordered(struct jbuf *b, const json_t *v)
{
	return encode(b, v, 0);
}
