/*
 * callsig.h — signed calls (vmsd-protocol(7), "Signed calls"): the one
 * definition of what a caller's Ed25519 key signs, of the "signed" object
 * that carries it in a request and in a ledger entry, and of the caller id
 * a key gives. vmsctl signs with it, the engine verifies with it (on
 * execution and on replay), nobody else spells the format.
 *
 * The message signed (all integers big-endian):
 *   "vmsd-call/v1" 0x00                 13 bytes, the domain
 *   key                                 32 bytes, the caller's public key
 *   nonce                                8 bytes, unsigned
 *   uint32 length || origin             the contract's checkpoint origin
 *   uint32 length || method             the contract method
 *   uint32 length || args               canonical JSON of the args array
 * Pure Ed25519 (RFC 8032) over those bytes. The "signed" object is
 *   {"key":B64URL(key),"nonce":N,"origin":O,"sig":B64URL(signature)}
 * with base64url without padding (RFC 4648 §5); N is 1 .. 2^63-1. The
 * caller id is "ed25519:" B64URL(key).
 */
#ifndef VMS_CALLSIG_H
#define VMS_CALLSIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CALLSIG_DOMAIN		"vmsd-call/v1"	/* followed by one 0x00 */
#define CALLSIG_DOMAIN_LEN	13		/* with the 0x00 */
#define CALLSIG_AUTH		"ed25519"	/* the entry's "auth" */
#define CALLSIG_ID_PREFIX	"ed25519:"
#define CALLSIG_ID_LEN		51		/* "ed25519:" + 43 */
#define CALLSIG_ORIGIN_MAX	255		/* bytes, as checkpoint origins */
#define CALLSIG_NONCE_MAX	INT64_MAX	/* a JSON integer everywhere */

struct callsig {
	uint8_t		key[32];
	uint64_t	nonce;
	char		origin[CALLSIG_ORIGIN_MAX + 1];
	uint8_t		sig[64];
};

/*
 * Parse a "signed" object: exactly the four members, key and sig in
 * canonical unpadded base64url of 32 and 64 bytes, nonce 1..2^63-1, origin
 * a non-empty string of at most 255 bytes. 0, or -1 with err.
 */
int	 callsig_parse(const json_t *obj, struct callsig *out, char *err,
	    size_t errlen);
/* The "signed" object of a parsed one (a new reference). */
json_t	*callsig_to_json(const struct callsig *);

/* The message the key signs (malloc'd, *len bytes). args is the
 * canonical JSON text of the args array. NULL if a part is too long. */
uint8_t	*callsig_message(const uint8_t key[32], uint64_t nonce,
	    const char *origin, const char *method, const char *args,
	    size_t argslen, size_t *len);

/* The signature verifies over (key, nonce, origin, method, args text).
 * 0, or -1 with err. */
int	 callsig_verify(const struct callsig *, const char *method,
	    const char *args, size_t argslen, char *err, size_t errlen);

/* Sign a call with a libsodium secret key (64 bytes: seed || public key):
 * fills out (origin copied). 0, or -1 with err. */
int	 callsig_sign(struct callsig *out, const uint8_t sk[64],
	    uint64_t nonce, const char *origin, const char *method,
	    const json_t *args, char *err, size_t errlen);

/* "ed25519:" B64URL(key), NUL-terminated. */
void	 callsig_caller_id(const uint8_t key[32],
	    char out[CALLSIG_ID_LEN + 1]);

/* Unpadded base64url (RFC 4648 §5) of exactly n bytes; decoding refuses
 * padding, other alphabets and non-canonical trailing bits. */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)	/* characters, without NUL */
void	 b64url_encode(const uint8_t *in, size_t n,
	    char *out /* B64URL_LEN(n) + 1 */);
int	 b64url_decode_fixed(const char *in, size_t inlen, uint8_t *out,
	    size_t n);

#endif
