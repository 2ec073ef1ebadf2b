/*
 * wire_int.h — private to the worker wire's files:
 *
 *   wire.c       the socketpair's lines: requests, replies, ready, child,
 *                refused, attached
 *   wire_chan.c  the attach channel's datagrams: attach, back
 *
 * What both encode and decode with. Not for anyone else: wire.h is the
 * interface.
 */
#ifndef VMSD_WIRE_INT_H
#define VMSD_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "canon.h"

/* Append s; v's JSON text; s as a JSON string (NULL: null). The last two
 * roll back to mark and return -1 (err names what) when jansson cannot
 * encode it (not UTF-8). */
void	 wire_add_str(struct jbuf *, const char *s);
int	 wire_add_json(struct jbuf *, const json_t *v, size_t mark,
	    const char *what, char *err, size_t errlen);
int	 wire_add_jstr(struct jbuf *, const char *s, size_t mark,
	    const char *what, char *err, size_t errlen);

/* -1 with the message in err. */
int	 wire_bad(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Are o's keys exactly keys[0..n), in that order (one flagged with a
 * leading '?' may be absent)? 0, or -1 (err). */
int	 wire_keys_are(const json_t *o, const char *const *keys, size_t n,
	    const char *what, char *err, size_t errlen);
/* o's key as a non-negative integer: 0, or -1. */
int	 wire_get_uint(const json_t *o, const char *key, uint64_t *v);
/* One JSON object from p: NULL (err) if it is not one. */
json_t	*wire_load(const char *p, size_t n, const char *what, char *err,
	    size_t errlen);

#endif
