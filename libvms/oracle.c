/*
 * oracle.c — oracle requests, outputs, records and signatures (oracle.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "oracle.h"
#include "util.h"

int
oracle_valid_name(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > ORACLE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

char *
oracle_request(const char *oracle, const json_t *args, const char *caller,
    const char *contract, const char *origin, uint64_t index, uint64_t seq,
    uint64_t time_ms, size_t *len)
{
	json_t *r;
	char *s;

	r = json_pack("{s:O,s:o,s:s,s:I,s:s,s:o,s:I,s:I,s:i}", "args",
	    (json_t *)(uintptr_t)args, "caller", caller ? json_string(caller) :
	    json_null(), "contract", contract, "index", (json_int_t)index,
	    "oracle", oracle, "origin", origin ? json_string(origin) :
	    json_null(), "seq", (json_int_t)seq, "time", (json_int_t)time_ms,
	    "v", 1);
	if (r == NULL)
		return NULL;
	s = json_canonical(r, len);
	json_decref(r);
	return s;
}

uint8_t *
oracle_message(const char *req, size_t reqlen, const char *answer,
    size_t anslen, size_t *len)
{
	uint8_t *m, *p;

	if (reqlen > UINT32_MAX || anslen > UINT32_MAX)
		return NULL;
	*len = ORACLE_DOMAIN_LEN + 8 + reqlen + anslen;
	p = m = xmalloc(*len);
	memcpy(p, ORACLE_DOMAIN, ORACLE_DOMAIN_LEN);	/* with its NUL */
	p += ORACLE_DOMAIN_LEN;
	p = put_lp32(p, req, reqlen);
	put_lp32(p, answer, anslen);
	return m;
}

int
oracle_verify(const uint8_t key[32], const uint8_t sig[64], const char *req,
    size_t reqlen, const char *answer, size_t anslen, char *err,
    size_t errlen)
{
	uint8_t *m;
	size_t len;
	int r;

	if ((m = oracle_message(req, reqlen, answer, anslen, &len)) == NULL) {
		seterr(err, errlen, "the signed message is too long");
		return -1;
	}
	r = crypto_sign_verify_detached(sig, m, len, key);
	free(m);
	if (r != 0) {
		seterr(err, errlen, "the signature does not verify (over the "
		    "request and the canonical answer)");
		return -1;
	}
	return 0;
}

void
oracle_sign(const uint8_t sk[64], const char *req, size_t reqlen,
    const char *answer, size_t anslen, uint8_t sig[64])
{
	uint8_t *m;
	size_t len;

	if ((m = oracle_message(req, reqlen, answer, anslen, &len)) == NULL) {
		memset(sig, 0, 64);
		return;
	}
	crypto_sign_detached(sig, NULL, m, len, sk);
	free(m);
}

char *
oracle_clean_error(const char *s, size_t len)
{
	char *out = xmalloc(ORACLE_ERROR_MAX + 1);
	size_t i = 0, o = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_seq((const uint8_t *)s + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f) {
			/* invalid bytes and control characters: a space */
			n = n ? n : 1;
			if (o + 1 > ORACLE_ERROR_MAX)
				break;
			out[o++] = ' ';
		} else {
			if (o + n > ORACLE_ERROR_MAX)
				break;
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

void
oracle_output_clear(struct oracle_output *o)
{
	json_decref(o->answer);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

int
oracle_output_parse(const uint8_t *buf, size_t len, struct oracle_output *o,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j, *answer, *error, *sig;
	const char *k;
	json_t *v;

	memset(o, 0, sizeof(*o));
	if (!utf8_valid(buf, len) || memchr(buf, '\0', len) != NULL) {
		seterr(err, errlen, "the output is not UTF-8 text");
		return -1;
	}
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		seterr(err, errlen, "the output is not JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		seterr(err, errlen, "the output is not a JSON object");
		return -1;
	}
	json_object_foreach(j, k, v)
		if (strcmp(k, "answer") != 0 && strcmp(k, "error") != 0 &&
		    strcmp(k, "sig") != 0) {
			seterr(err, errlen, "the output has an unknown member "
			    "\"%.40s\"", k);
			json_decref(j);
			return -1;
		}
	answer = json_object_get(j, "answer");
	error = json_object_get(j, "error");
	sig = json_object_get(j, "sig");
	if ((answer == NULL) == (error == NULL) || (error != NULL &&
	    sig != NULL)) {
		json_decref(j);
		seterr(err, errlen, "the output must have \"answer\" (and "
		    "optionally \"sig\") or \"error\"");
		return -1;
	}
	if (error != NULL) {
		if (!json_is_string(error)) {
			json_decref(j);
			seterr(err, errlen, "\"error\" must be a string");
			return -1;
		}
		o->error = oracle_clean_error(json_string_value(error),
		    json_string_length(error));
		if (o->error[0] == '\0') {
			free(o->error);
			o->error = xstrdup("(no message)");
		}
		json_decref(j);
		return 0;
	}
	if (sig != NULL) {
		if (!json_is_string(sig) || b64url_decode_fixed(
		    json_string_value(sig), json_string_length(sig), o->sig,
		    64) != 0) {
			json_decref(j);
			seterr(err, errlen, "\"sig\" must be 64 bytes in "
			    "unpadded base64url (86 characters)");
			return -1;
		}
		o->has_sig = 1;
	}
	o->answer = json_incref(answer);
	json_decref(j);
	return 0;
}

int
oracle_record_parse(const json_t *rec, struct oracle_record *r, char *err,
    size_t errlen)
{
	const json_t *key, *sig, *error;
	const char *k;
	json_t *v;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(rec)) {
		seterr(err, errlen, "an oracle record must be an object");
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)rec, k, v)
		if (strcmp(k, "answer") != 0 && strcmp(k, "args") != 0 &&
		    strcmp(k, "error") != 0 && strcmp(k, "key") != 0 &&
		    strcmp(k, "name") != 0 && strcmp(k, "sig") != 0) {
			seterr(err, errlen, "an oracle record has an unknown "
			    "member \"%.40s\"", k);
			return -1;
		}
	r->name = json_string_value(json_object_get(rec, "name"));
	r->args = json_object_get(rec, "args");
	r->answer = json_object_get(rec, "answer");
	error = json_object_get(rec, "error");
	key = json_object_get(rec, "key");
	sig = json_object_get(rec, "sig");
	if (!oracle_valid_name(r->name) || !json_is_array(r->args)) {
		seterr(err, errlen, "an oracle record needs a valid \"name\" "
		    "and an \"args\" array");
		return -1;
	}
	if ((r->answer == NULL) == (error == NULL) || (error != NULL &&
	    (!json_is_string(error) || key != NULL || sig != NULL)) ||
	    ((key == NULL) != (sig == NULL))) {
		seterr(err, errlen, "an oracle record has \"answer\" (with "
		    "both or neither of \"key\" and \"sig\") or an \"error\" "
		    "string");
		return -1;
	}
	if (error != NULL) {
		r->error = json_string_value(error);
		return 0;
	}
	if (key != NULL) {
		if (!json_is_string(key) || b64url_decode_fixed(
		    json_string_value(key), json_string_length(key), r->key,
		    32) != 0 || !json_is_string(sig) || b64url_decode_fixed(
		    json_string_value(sig), json_string_length(sig), r->sig,
		    64) != 0) {
			seterr(err, errlen, "an oracle record's key and sig "
			    "must be 32 and 64 bytes in unpadded base64url");
			return -1;
		}
		r->has_key = 1;
	}
	return 0;
}

json_t *
oracle_record_new(const char *oracle, const json_t *args,
    const json_t *answer, const char *error, const uint8_t *key,
    const uint8_t *sig)
{
	char k[B64URL_LEN(32) + 1], s[B64URL_LEN(64) + 1];
	json_t *r;

	r = json_pack("{s:s,s:O}", "name", oracle, "args",
	    (json_t *)(uintptr_t)args);
	if (r == NULL)
		return NULL;
	if (error != NULL) {
		json_object_set_new(r, "error", json_string(error));
		return r;
	}
	json_object_set(r, "answer", (json_t *)(uintptr_t)answer);
	if (key != NULL && sig != NULL) {
		b64url_encode(key, 32, k);
		b64url_encode(sig, 64, s);
		json_object_set_new(r, "key", json_string(k));
		json_object_set_new(r, "sig", json_string(s));
	}
	return r;
}
