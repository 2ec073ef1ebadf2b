/*
 * keytab.h — a table of small fixed-size records keyed by strings
 * (keytab.c): the connection counts per address and per uid (admit.c) and
 * the call buckets per address and per identity (ratelimit.c).
 */
#ifndef VMSD_KEYTAB_H
#define VMSD_KEYTAB_H

#include <stddef.h>

struct keytab;

struct keytab	*keytab_new(size_t valsize);
void		 keytab_free(struct keytab *);
/* The record of key, or NULL; with create, a zeroed new one if absent. */
void		*keytab_get(struct keytab *, const char *key, int create);
void		 keytab_del(struct keytab *, const char *key);
/* Remove every record for which drop(record, arg) is true. */
void		 keytab_sweep(struct keytab *, int (*drop)(void *, void *),
		    void *arg);
size_t		 keytab_count(const struct keytab *);

#endif
