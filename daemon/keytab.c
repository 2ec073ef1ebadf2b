/*
 * keytab.c — records keyed by strings (keytab.h): chained hashing with a
 * table that doubles as it fills, so that a flood of distinct keys (many
 * addresses) costs O(1) per lookup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"
#include "util.h"

struct kent {
	struct kent	*next;
	char		*key;
	/* the record follows, max_align_t aligned */
};

struct keytab {
	struct kent	**b;
	size_t		 nb, n, valsize, off;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

struct keytab *
keytab_new(size_t valsize)
{
	struct keytab *t = xcalloc(1, sizeof(*t));
	size_t a = _Alignof(max_align_t);

	t->nb = 64;
	t->b = xcalloc(t->nb, sizeof(*t->b));
	t->valsize = valsize;
	t->off = (sizeof(struct kent) + a - 1) / a * a;
	return t;
}

void
keytab_free(struct keytab *t)
{
	struct kent *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nb; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	free(t->b);
	free(t);
}

static void
grow(struct keytab *t)
{
	struct kent **nb, *e, *next;
	size_t i, n = t->nb * 2, h;

	nb = xcalloc(n, sizeof(*nb));
	for (i = 0; i < t->nb; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			h = hash(e->key) & (n - 1);
			e->next = nb[h];
			nb[h] = e;
		}
	free(t->b);
	t->b = nb;
	t->nb = n;
}

void *
keytab_get(struct keytab *t, const char *key, int create)
{
	struct kent *e;
	size_t h = hash(key) & (t->nb - 1);

	for (e = t->b[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return (char *)e + t->off;
	if (!create)
		return NULL;
	if (t->n >= t->nb) {
		grow(t);
		h = hash(key) & (t->nb - 1);
	}
	e = xcalloc(1, t->off + t->valsize);
	e->key = xstrdup(key);
	e->next = t->b[h];
	t->b[h] = e;
	t->n++;
	return (char *)e + t->off;
}

void
keytab_del(struct keytab *t, const char *key)
{
	struct kent **pp, *e;

	for (pp = &t->b[hash(key) & (t->nb - 1)]; (e = *pp) != NULL;
	    pp = &e->next)
		if (strcmp(e->key, key) == 0) {
			*pp = e->next;
			free(e->key);
			free(e);
			t->n--;
			return;
		}
}

void
keytab_sweep(struct keytab *t, int (*drop)(void *, void *), void *arg)
{
	struct kent **pp, *e;
	size_t i;

	for (i = 0; i < t->nb; i++)
		for (pp = &t->b[i]; (e = *pp) != NULL; ) {
			if (drop((char *)e + t->off, arg)) {
				*pp = e->next;
				free(e->key);
				free(e);
				t->n--;
			} else
				pp = &e->next;
		}
}

size_t
keytab_count(const struct keytab *t)
{
	return t->n;
}
