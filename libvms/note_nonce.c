/*
 * note_nonce.c — Ed25519 signing with its nonces made ahead of the text.
 *
 * Signing (RFC 8032 5.1.6) spends nearly all its time on R = rB, the
 * fixed-base scalar multiplication, with r = SHA-512(prefix || M) mod L:
 * about 35 us on the machines vmsd is measured on, once per batch, on the
 * worker's critical path. A signer given a pool (note_signer_pool) keeps
 * up to `cap` nonces made beforehand by whichever thread calls
 * note_nonce_refill (the worker's nonce thread, worker_nonce.c):
 *
 *   r = SHA-512(prefix || Z) mod L, Z = 32 bytes from randombytes_buf,
 *   R = rB,
 *
 * hedged like RFC 8032's (the key's secret prefix keeps r secret even from
 * a weak random source) and fresh for every signature. note_sign() then
 * takes one and computes only k = SHA-512(R || A || M) mod L and
 * S = (r + k a) mod L: a standard Ed25519 signature, checked by every
 * verifier as any other, but not RFC 8032's deterministic one (the same
 * text signed twice gets two different signatures; nothing in vmsd
 * compares signatures, only verifies them). A nonce is wiped as it is
 * taken and never used twice; with the pool empty, note_sign signs as
 * crypto_sign_detached does. The nonces, like the key, live in
 * sodium_malloc'd memory: one nonce and the signature made with it give
 * away the key. tests/unit/test-note.c checks the arithmetic against
 * libsodium's: with RFC 8032's own nonce, the signature is the same bytes.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "note.h"
#include "util.h"

struct nonce {
	uint8_t		 r[32];		/* secret, reduced mod L */
	uint8_t		 R[32];		/* rB, encoded */
};

/* sodium_malloc'd: the key's halves as signing uses them, then the pool */
struct pool_secret {
	uint8_t		 a[32];		/* the secret scalar, mod L */
	uint8_t		 prefix[32];	/* the second half of SHA-512(seed) */
	struct nonce	 v[];
};

struct note_pool {
	pthread_mutex_t	 mtx;
	size_t		 n, cap;	/* nonces in v[0..n) */
	uint64_t	 used, missed;	/* signatures with one, without */
	struct pool_secret *sec;
};

/* a and prefix from the signer's seed, as crypto_sign_detached derives
 * them */
static void
expand_key(const struct note_signer *s, struct pool_secret *sec)
{
	uint8_t h[64], wide[64];

	crypto_hash_sha512(h, s->sk, 32);	/* sk = seed || pk */
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	memset(wide, 0, sizeof(wide));
	memcpy(wide, h, 32);
	crypto_core_ed25519_scalar_reduce(sec->a, wide);
	memcpy(sec->prefix, h + 32, 32);
	sodium_memzero(h, sizeof(h));
	sodium_memzero(wide, sizeof(wide));
}

int
note_signer_pool(struct note_signer *s, size_t cap, char *err,
    size_t errlen)
{
	struct note_pool *p;

	if (s->pool != NULL || cap == 0 || cap > 1024) {
		seterr(err, errlen, "nonce pool: bad size or already made");
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	if ((p->sec = sodium_malloc(sizeof(*p->sec) +
	    cap * sizeof(struct nonce))) == NULL) {
		seterr(err, errlen, "nonce pool: sodium_malloc failed");
		free(p);
		return -1;
	}
	if (pthread_mutex_init(&p->mtx, NULL) != 0) {
		seterr(err, errlen, "nonce pool: mutex");
		sodium_free(p->sec);
		free(p);
		return -1;
	}
	expand_key(s, p->sec);
	p->cap = cap;
	s->pool = p;
	return 0;
}

void
note_pool_free(struct note_pool *p)
{
	if (p == NULL)
		return;
	(void)pthread_mutex_destroy(&p->mtx);
	sodium_free(p->sec);	/* zeroes the nonces and the key */
	free(p);
}

/* S = (r + k a) mod L with k = SHA-512(R || A || M) mod L; sig = R || S */
static void
sign_with(const uint8_t a[32], const uint8_t pk[32], const struct nonce *nc,
    const uint8_t *m, size_t mlen, uint8_t sig[64])
{
	crypto_hash_sha512_state hs;
	uint8_t h[64], k[32], ka[32];

	crypto_hash_sha512_init(&hs);
	crypto_hash_sha512_update(&hs, nc->R, 32);
	crypto_hash_sha512_update(&hs, pk, 32);
	crypto_hash_sha512_update(&hs, m, mlen);
	crypto_hash_sha512_final(&hs, h);
	crypto_core_ed25519_scalar_reduce(k, h);
	crypto_core_ed25519_scalar_mul(ka, k, a);
	memcpy(sig, nc->R, 32);
	crypto_core_ed25519_scalar_add(sig + 32, ka, nc->r);
	sodium_memzero(ka, sizeof(ka));
}

/* r from 64 bytes of hash, R = rB. -1 if r is 0 mod L (never, in
 * practice: then another Z is drawn). */
static int
nonce_from(struct nonce *nc, const uint8_t h[64])
{
	crypto_core_ed25519_scalar_reduce(nc->r, h);
	return crypto_scalarmult_ed25519_base_noclamp(nc->R, nc->r);
}

int
note_nonce_refill(const struct note_signer *s)
{
	struct note_pool *p = s->pool;
	crypto_hash_sha512_state hs;
	struct nonce nc;
	uint8_t z[32], h[64];
	int room, rc;

	if (p == NULL)
		return 0;
	if (pthread_mutex_lock(&p->mtx) != 0)
		return -1;
	room = p->n < p->cap;
	(void)pthread_mutex_unlock(&p->mtx);
	if (!room)
		return 0;
	do {
		randombytes_buf(z, sizeof(z));
		crypto_hash_sha512_init(&hs);
		crypto_hash_sha512_update(&hs, p->sec->prefix, 32);
		crypto_hash_sha512_update(&hs, z, sizeof(z));
		crypto_hash_sha512_final(&hs, h);
		rc = nonce_from(&nc, h);
	} while (rc != 0);
	sodium_memzero(h, sizeof(h));
	sodium_memzero(z, sizeof(z));
	if (pthread_mutex_lock(&p->mtx) != 0) {
		sodium_memzero(&nc, sizeof(nc));
		return -1;
	}
	if ((room = p->n < p->cap))
		p->sec->v[p->n++] = nc;
	(void)pthread_mutex_unlock(&p->mtx);
	sodium_memzero(&nc, sizeof(nc));
	return room;
}

size_t
note_nonce_pooled(const struct note_signer *s)
{
	size_t n;

	if (s->pool == NULL || pthread_mutex_lock(&s->pool->mtx) != 0)
		return 0;
	n = s->pool->n;
	(void)pthread_mutex_unlock(&s->pool->mtx);
	return n;
}

void
note_nonce_counts(const struct note_signer *s, uint64_t *used,
    uint64_t *missed)
{
	*used = *missed = 0;
	if (s->pool == NULL || pthread_mutex_lock(&s->pool->mtx) != 0)
		return;
	*used = s->pool->used;
	*missed = s->pool->missed;
	(void)pthread_mutex_unlock(&s->pool->mtx);
}

int
note_nonce_sign(const struct note_signer *s, const uint8_t *m, size_t mlen,
    uint8_t sig[64])
{
	struct note_pool *p = s->pool;
	struct nonce nc;

	if (p == NULL || pthread_mutex_lock(&p->mtx) != 0)
		return 1;
	if (p->n == 0) {
		p->missed++;
		(void)pthread_mutex_unlock(&p->mtx);
		return 1;
	}
	/* taken out and wiped where it lay: never used twice */
	p->used++;
	nc = p->sec->v[--p->n];
	sodium_memzero(&p->sec->v[p->n], sizeof(nc));
	(void)pthread_mutex_unlock(&p->mtx);
	sign_with(p->sec->a, s->pk, &nc, m, mlen, sig);
	sodium_memzero(&nc, sizeof(nc));
	return 0;
}

int
note_nonce_sign_rfc8032(const struct note_signer *s, const uint8_t *m,
    size_t mlen, uint8_t sig[64])
{
	struct pool_secret *sec;
	crypto_hash_sha512_state hs;
	struct nonce nc;
	uint8_t h[64];
	int rc = -1;

	if ((sec = sodium_malloc(sizeof(*sec))) == NULL)
		return -1;
	expand_key(s, sec);
	crypto_hash_sha512_init(&hs);
	crypto_hash_sha512_update(&hs, sec->prefix, 32);
	crypto_hash_sha512_update(&hs, m, mlen);
	crypto_hash_sha512_final(&hs, h);
	if (nonce_from(&nc, h) == 0) {
		sign_with(sec->a, s->pk, &nc, m, mlen, sig);
		rc = 0;
	}
	sodium_memzero(&nc, sizeof(nc));
	sodium_memzero(h, sizeof(h));
	sodium_free(sec);
	return rc;
}
