/*
 * fastjson.h — JSON decoding on the hot paths (a client's request in vmsd,
 * the same request on the worker wire, an entry's arguments and signature
 * in a replay, the writes a parallel audit skips by, System.json.decode in
 * a contract, the replies vmsctl reads): the common subset decoded straight
 * into jansson values, everything else handed to jansson's json_loadb(),
 * which stays the parser of record.
 *
 * The fast path takes objects, arrays, strings of printable ASCII with the
 * escapes \" \\ \/ \b \f \n \r \t, integers of at most 18 digits (not -0),
 * true, false and null, nested at most FASTJSON_DEPTH deep, with no
 * duplicate key. On anything else (a real number, \u, a byte outside
 * printable ASCII in a string, an error of any kind) it gives up and the
 * whole text goes to json_loadb(), so the result, and every error and its
 * message, are jansson's. What the fast path returns equals what
 * json_loadb() returns for the same text and flags: the same values, the
 * same types, the same key order (tests/unit/test-fastjson.c checks it
 * against jansson on generated and mutated texts).
 */
#ifndef VMS_FASTJSON_H
#define VMS_FASTJSON_H

#include <stddef.h>

#include <jansson.h>

#define FASTJSON_DEPTH	32

/* json_loadb(buf, len, flags, err) with the fast path first. flags: any
 * of jansson's; only JSON_REJECT_DUPLICATES and JSON_DECODE_ANY take the
 * fast path. */
json_t	*fastjson_loadb(const char *buf, size_t len, size_t flags,
	    json_error_t *err);

/* The fast path alone: NULL where it gives up (for the tests). */
json_t	*fastjson_try(const char *buf, size_t len, size_t flags);

#endif
