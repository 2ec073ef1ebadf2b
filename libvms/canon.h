/*
 * canon.h — the canonical JSON encoding: what ledger entries are made of and
 * what anything hashed or signed is computed over. jansson's compact
 * encoding with sorted keys, reals with 17 significant digits, UTF-8 not
 * escaped (vms-ledger(5)). One encoder, used by the engine, the sandbox's
 * JSON values and the protocol alike.
 */
#ifndef VMS_CANON_H
#define VMS_CANON_H

#include <stddef.h>

#include <jansson.h>

/* The flags of the canonical encoding, for json_dumpb()/json_dump_callback(). */
#define JSON_FLAGS_CANON \
	(JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))

/* Canonical text of any JSON value (malloc'd, NUL-terminated; *len, if not
 * NULL, its length), or NULL when jansson cannot encode it. */
char	*json_canonical(const json_t *, size_t *len);

#endif
