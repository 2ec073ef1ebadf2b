/*
 * oracle.h — oracles (vms-contract(7), "Oracles"): the one definition of
 * the request an oracle reads, the output it writes, the record of both in
 * a ledger entry, and the message a signing oracle signs. The worker runs
 * oracles and the engine records and replays their answers with it;
 * nobody else spells the format.
 *
 * The request, one line of canonical JSON on the oracle's standard input:
 *   {"args":[ARG,...],"caller":ID|null,"contract":NAME,"index":I,
 *    "oracle":ORACLE,"origin":O|null,"seq":N,"time":MS,"v":1}
 * (the entry index I and time MS of the call asking, N its requests so
 * far). The output, on standard output: one JSON object,
 *   {"answer":VALUE}  or  {"answer":VALUE,"sig":SIG}  or  {"error":TEXT}
 * SIG is an Ed25519 signature, unpadded base64url (callsig.h), over
 *   "vmsd-oracle/v1" 0x00                15 bytes, the domain
 *   uint32 length || request             the request line, without "\n"
 *   uint32 length || answer              the canonical JSON of VALUE
 * (integers big-endian). A record in an entry's "oracles" array is
 *   {"answer":VALUE,"args":[...],"name":ORACLE[,"key":K,"sig":SIG]}  or
 *   {"args":[...],"error":TEXT,"name":ORACLE}
 * with K the oracle's public key (unpadded base64url) when it signs.
 */
#ifndef VMS_ORACLE_H
#define VMS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define ORACLE_DOMAIN		"vmsd-oracle/v1"	/* followed by 0x00 */
#define ORACLE_DOMAIN_LEN	15			/* with the 0x00 */
#define ORACLE_NAME_MAX		64
#define ORACLE_ERROR_MAX	512	/* bytes of a recorded error */

/* Oracle names: 1..64 of [A-Za-z0-9_-], starting with a letter or digit. */
int	 oracle_valid_name(const char *);

/* The request line (canonical JSON, malloc'd, no "\n"), or NULL if a
 * string is not UTF-8. args is the array of the contract's arguments;
 * caller and origin may be NULL. */
char	*oracle_request(const char *oracle, const json_t *args,
	    const char *caller, const char *contract, const char *origin,
	    uint64_t index, uint64_t seq, uint64_t time_ms, size_t *len);

/* The signed message (malloc'd, *len bytes); NULL if a part is too long. */
uint8_t	*oracle_message(const char *req, size_t reqlen, const char *answer,
	    size_t anslen, size_t *len);
/* 0 if sig verifies under key over (request, canonical answer), else -1
 * with err. */
int	 oracle_verify(const uint8_t key[32], const uint8_t sig[64],
	    const char *req, size_t reqlen, const char *answer, size_t anslen,
	    char *err, size_t errlen);
/* sk: a libsodium secret key (seed || public key). */
void	 oracle_sign(const uint8_t sk[64], const char *req, size_t reqlen,
	    const char *answer, size_t anslen, uint8_t sig[64]);

/* What an oracle wrote, parsed. Exactly one of answer and error is set. */
struct oracle_output {
	json_t		*answer;	/* owned */
	char		*error;		/* malloc'd, at most ORACLE_ERROR_MAX */
	int		 has_sig;
	uint8_t		 sig[64];
};
/* Parse an oracle's standard output (a JSON object as above, trailing
 * white space allowed). 0, or -1 with err saying what is wrong. */
int	 oracle_output_parse(const uint8_t *buf, size_t len,
	    struct oracle_output *, char *err, size_t errlen);
void	 oracle_output_clear(struct oracle_output *);

/* A record of an entry's "oracles" array, parsed (values borrowed from
 * the record). Exactly one of answer and error is set; has_key says a
 * signed answer (key and sig). */
struct oracle_record {
	const char	*name;
	const json_t	*args;
	const json_t	*answer;
	const char	*error;
	int		 has_key;
	uint8_t		 key[32];
	uint8_t		 sig[64];
};
int	 oracle_record_parse(const json_t *, struct oracle_record *,
	    char *err, size_t errlen);
/* A new record (a new reference): answer or error; key/sig NULL for an
 * unsigned answer or an error. */
json_t	*oracle_record_new(const char *oracle, const json_t *args,
	    const json_t *answer, const char *error, const uint8_t *key,
	    const uint8_t *sig);

/* Make an error text fit for a record: valid UTF-8, no control
 * characters, at most ORACLE_ERROR_MAX bytes (malloc'd). */
char	*oracle_clean_error(const char *, size_t len);

#endif
