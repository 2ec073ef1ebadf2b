/*
 * note.h — C2SP signed-note with Ed25519 keys (libsodium), C2SP vkeys, and
 * C2SP tlog-checkpoint bodies.
 *
 *   note  = text (ends in "\n") + "\n" + signature lines
 *   line  = "— " name " " base64(keyID[4] || sig[64]) "\n"   (U+2014)
 *   keyID = SHA-256(name || "\n" || 0x01 || pubkey)[:4]
 *   vkey  = name "+" hex(keyID) "+" base64(0x01 || pubkey)
 *   checkpoint text = origin "\n" size "\n" base64(root) "\n"
 */
#ifndef VMS_NOTE_H
#define VMS_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define NOTE_NAME_MAX	255
#define NOTE_MAX_SIGS	100	/* verifier accepts at least 16 */
#define NOTE_MAX_LEN	65536

struct note_pool;

/* The secret half lives in sodium_malloc'ed, mlock'ed memory. */
struct note_signer {
	char		 name[NOTE_NAME_MAX + 1];
	uint8_t		 keyid[4];
	uint8_t		 pk[32];
	uint8_t		*sk;		/* sodium_malloc, 64 bytes */
	struct note_pool *pool;		/* nonces made ahead, or NULL */
};

struct note_verifier {
	char		name[NOTE_NAME_MAX + 1];
	uint8_t		keyid[4];
	uint8_t		pk[32];
};

/* Key names: non-empty, no spaces, no '+', printable UTF-8, <= 255 bytes. */
int	note_valid_name(const char *name);

/* seed: 32 random bytes (the on-disk secret). Returns NULL on bad name. */
struct note_signer *note_signer_new(const char *name, const uint8_t seed[32]);
void	note_signer_free(struct note_signer *);
/* Generate a fresh seed and write it 0600 to path (must not exist). */
int	note_keyfile_create(const char *path, char *err, size_t errlen);
/* Load a seed written by note_keyfile_create into a new signer. */
struct note_signer *note_signer_load(const char *path, const char *name,
	    char *err, size_t errlen);

void	note_verifier_from_signer(const struct note_signer *,
	    struct note_verifier *);
char   *note_vkey_format(const struct note_verifier *);	/* malloc'd */
int	note_vkey_parse(const char *vkey, struct note_verifier *,
	    char *err, size_t errlen);

/*
 * Sign: text must be valid note text (UTF-8, no control chars but \n, ends
 * with \n, no blank line). Returns the full note, malloc'd, or NULL.
 */
char   *note_sign(const struct note_signer *, const char *text, size_t len,
	    char *err, size_t errlen);

/*
 * note_nonce.c: signing with nonces made ahead. note_signer_pool gives the
 * signer room for cap of them (0, or -1 with why); note_nonce_refill
 * makes one if there is room (1 made, 0 full or no pool, -1 failed), on
 * any thread, while note_sign takes them (note_nonce_sign: 0 signed, 1 no
 * nonce ready). note_nonce_pooled: how many are ready; note_nonce_counts:
 * how many signatures took one, and how many found none. The signatures
 * are standard Ed25519 but not RFC 8032's deterministic ones; with the
 * pool empty note_sign makes those. note_nonce_sign_rfc8032: the same
 * arithmetic with RFC 8032's nonce (tests compare it with libsodium's).
 */
int	note_signer_pool(struct note_signer *, size_t cap, char *err,
	    size_t errlen);
void	note_pool_free(struct note_pool *);
int	note_nonce_refill(const struct note_signer *);
size_t	note_nonce_pooled(const struct note_signer *);
/* Signatures made with a pooled nonce, and without (the pool was empty). */
void	note_nonce_counts(const struct note_signer *, uint64_t *used,
	    uint64_t *missed);
int	note_nonce_sign(const struct note_signer *, const uint8_t *m,
	    size_t mlen, uint8_t sig[64]);
int	note_nonce_sign_rfc8032(const struct note_signer *, const uint8_t *m,
	    size_t mlen, uint8_t sig[64]);

/*
 * Verify a note against a set of known keys. Unknown signatures are ignored;
 * a known key whose signature fails rejects the note; at least one known
 * signature must verify. On success *text_len is the length of the signed
 * text (a prefix of note). nverified, if not NULL, receives how many known
 * signatures verified.
 */
int	note_verify(const char *note, size_t len,
	    const struct note_verifier *keys, size_t nkeys, size_t *text_len,
	    int *nverified, char *err, size_t errlen);

struct checkpoint {
	char		origin[NOTE_NAME_MAX + 1];
	uint64_t	size;
	merkle_hash	root;
};

char   *checkpoint_format(const struct checkpoint *);	/* text, malloc'd */
/* The tree size of a checkpoint or of a signed checkpoint note (its
 * second line), without parsing or verifying the rest: 0, or -1 if that
 * line is not a valid size. The same rules as checkpoint_parse. */
int	checkpoint_note_size(const char *note, size_t len, uint64_t *size);
int	checkpoint_parse(const char *text, size_t len, struct checkpoint *,
	    char *err, size_t errlen);

#endif
