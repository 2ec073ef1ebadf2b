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
#include <stdint.h>

#include <jansson.h>

/* The flags of the canonical encoding, for json_dumpb()/json_dump_callback(). */
#define JSON_FLAGS_CANON \
	(JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))

/* Canonical text of any JSON value (malloc'd, NUL-terminated; *len, if not
 * NULL, its length), or NULL when jansson cannot encode it. */
char	*json_canonical(const json_t *, size_t *len);

/*
 * Canonical text written piece by piece, for the engine's entries: the
 * caller writes an object's keys in sorted order itself; strings are
 * escaped exactly as jansson escapes them (", \, \b \f \n \r \t, other
 * control characters as \u00XX, everything else as it is), so the text is
 * the one json_canonical() makes of the same value (tests/unit/test-canon.c).
 * Every function returns 0, or -1 when jansson could not have encoded it
 * (a string that is not UTF-8); the text is then unusable.
 */
struct jbuf {
	char	*s;		/* NUL-terminated */
	size_t	 len, cap;
};
void	 jbuf_init(struct jbuf *);
void	 jbuf_free(struct jbuf *);
void	 jbuf_reset(struct jbuf *);
void	 jbuf_raw(struct jbuf *, const void *, size_t);
#define	 jbuf_lit(b, lit)	jbuf_raw((b), (lit), sizeof(lit) - 1)
int	 jbuf_str(struct jbuf *, const char *, size_t);
void	 jbuf_int(struct jbuf *, long long);
/* v in decimal (as "%llu"; jbuf_int is "%lld"), without snprintf */
void	 jbuf_uint(struct jbuf *, uint64_t);
/* n bytes as base64 with padding (RFC 4648 section 4, as b64_encode),
 * libsodium's encoder writing in place. */
void	 jbuf_b64(struct jbuf *, const void *, size_t n);
int	 jbuf_value(struct jbuf *, const json_t *);
/* The text jansson writes of a value with JSON_COMPACT |
 * JSON_REAL_PRECISION(17) and without JSON_SORT_KEYS: keys in each
 * object's own (insertion) order, the rest as jbuf_value. For replies whose
 * order is the builder's (the worker wire); not canonical. */
int	 jbuf_value_ordered(struct jbuf *, const json_t *);

#endif
