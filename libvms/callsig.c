/*
 * callsig.c — signed calls (callsig.h): the message a caller signs, the
 * "signed" object, the caller id, base64url.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "util.h"

void
b64url_encode(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2base64(out, B64URL_LEN(n) + 1, in, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
b64url_decode_fixed(const char *in, size_t inlen, uint8_t *out, size_t n)
{
	char again[B64URL_LEN(64) + 1];
	const char *end;
	size_t got;

	if (n > 64 || inlen != B64URL_LEN(n) || memchr(in, '\0', inlen))
		return -1;
	if (sodium_base642bin(out, n, in, inlen, NULL, &got, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || got != n ||
	    end != in + inlen)
		return -1;
	/* one spelling per key: the unused low bits must be zero */
	b64url_encode(out, n, again);
	return memcmp(again, in, inlen) == 0 ? 0 : -1;
}

void
callsig_caller_id(const uint8_t key[32], char out[CALLSIG_ID_LEN + 1])
{
	memcpy(out, CALLSIG_ID_PREFIX, sizeof(CALLSIG_ID_PREFIX) - 1);
	b64url_encode(key, 32, out + sizeof(CALLSIG_ID_PREFIX) - 1);
}

int
callsig_parse(const json_t *obj, struct callsig *out, char *err,
    size_t errlen)
{
	const json_t *key, *nonce, *origin, *sig;
	size_t olen;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		seterr(err, errlen, "\"signed\" must be an object");
		return -1;
	}
	key = json_object_get(obj, "key");
	nonce = json_object_get(obj, "nonce");
	origin = json_object_get(obj, "origin");
	sig = json_object_get(obj, "sig");
	if (key == NULL || nonce == NULL || origin == NULL || sig == NULL ||
	    json_object_size(obj) != 4) {
		seterr(err, errlen, "\"signed\" must have exactly the members "
		    "key, nonce, origin and sig");
		return -1;
	}
	if (!json_is_string(key) || b64url_decode_fixed(json_string_value(key),
	    json_string_length(key), out->key, 32) != 0) {
		seterr(err, errlen, "signed.key must be 32 bytes in unpadded "
		    "base64url (43 characters)");
		return -1;
	}
	if (!json_is_string(sig) || b64url_decode_fixed(json_string_value(sig),
	    json_string_length(sig), out->sig, 64) != 0) {
		seterr(err, errlen, "signed.sig must be 64 bytes in unpadded "
		    "base64url (86 characters)");
		return -1;
	}
	if (!json_is_integer(nonce) || json_integer_value(nonce) < 1) {
		seterr(err, errlen, "signed.nonce must be an integer from 1 "
		    "to 2^63-1");
		return -1;
	}
	out->nonce = (uint64_t)json_integer_value(nonce);
	olen = json_string_length(origin);
	if (!json_is_string(origin) || olen == 0 || olen > CALLSIG_ORIGIN_MAX ||
	    strlen(json_string_value(origin)) != olen) {
		seterr(err, errlen, "signed.origin must be a string of 1 to "
		    "%d bytes", CALLSIG_ORIGIN_MAX);
		return -1;
	}
	memcpy(out->origin, json_string_value(origin), olen + 1);
	return 0;
}

json_t *
callsig_to_json(const struct callsig *c)
{
	char key[B64URL_LEN(32) + 1], sig[B64URL_LEN(64) + 1];

	b64url_encode(c->key, 32, key);
	b64url_encode(c->sig, 64, sig);
	return json_pack("{s:s,s:I,s:s,s:s}", "key", key, "nonce",
	    (json_int_t)c->nonce, "origin", c->origin, "sig", sig);
}

uint8_t *
callsig_message(const uint8_t key[32], uint64_t nonce, const char *origin,
    const char *method, const char *args, size_t argslen, size_t *len)
{
	size_t olen = strlen(origin), mlen = strlen(method);
	uint8_t *m, *p;
	int i;

	if (olen > UINT32_MAX || mlen > UINT32_MAX || argslen > UINT32_MAX)
		return NULL;
	*len = CALLSIG_DOMAIN_LEN + 32 + 8 + 12 + olen + mlen + argslen;
	p = m = xmalloc(*len);
	memcpy(p, CALLSIG_DOMAIN, CALLSIG_DOMAIN_LEN);	/* with its NUL */
	p += CALLSIG_DOMAIN_LEN;
	memcpy(p, key, 32);
	p += 32;
	for (i = 7; i >= 0; i--)
		*p++ = (uint8_t)(nonce >> (8 * i));
	p = put_lp32(p, origin, olen);
	p = put_lp32(p, method, mlen);
	put_lp32(p, args, argslen);
	return m;
}

int
callsig_verify(const struct callsig *c, const char *method, const char *args,
    size_t argslen, char *err, size_t errlen)
{
	uint8_t *m;
	size_t len;
	int r;

	if ((m = callsig_message(c->key, c->nonce, c->origin, method, args,
	    argslen, &len)) == NULL) {
		seterr(err, errlen, "the signed message is too long");
		return -1;
	}
	r = crypto_sign_verify_detached(c->sig, m, len, c->key);
	free(m);
	if (r != 0) {
		seterr(err, errlen, "the signature does not verify (over the "
		    "key, nonce, origin, method and canonical arguments)");
		return -1;
	}
	return 0;
}

int
callsig_sign(struct callsig *out, const uint8_t sk[64], uint64_t nonce,
    const char *origin, const char *method, const json_t *args, char *err,
    size_t errlen)
{
	uint8_t *m;
	char *a;
	size_t len, alen;

	memset(out, 0, sizeof(*out));
	if (nonce < 1 || nonce > CALLSIG_NONCE_MAX) {
		seterr(err, errlen, "nonce out of range");
		return -1;
	}
	if (strlen(origin) == 0 || strlen(origin) > CALLSIG_ORIGIN_MAX) {
		seterr(err, errlen, "origin must be 1 to %d bytes",
		    CALLSIG_ORIGIN_MAX);
		return -1;
	}
	if (!json_is_array(args) || (a = json_canonical(args, &alen)) == NULL) {
		seterr(err, errlen, "args must be a JSON array");
		return -1;
	}
	memcpy(out->key, sk + 32, 32);
	out->nonce = nonce;
	snprintf(out->origin, sizeof(out->origin), "%s", origin);
	m = callsig_message(out->key, nonce, origin, method, a, alen, &len);
	free(a);
	if (m == NULL) {
		seterr(err, errlen, "the signed message is too long");
		return -1;
	}
	crypto_sign_detached(out->sig, NULL, m, len, sk);
	free(m);
	return 0;
}
