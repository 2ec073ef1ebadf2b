/*
 * engine_nonce.c — the last nonce the contract accepted from each signing
 * key (vmsd-protocol(7), "Signed calls"): an open-addressing table keyed
 * by the 32-byte public key. It is derived from the ledger alone (every
 * accepted signed entry raises its key's nonce), kept in the snapshot and
 * rebuilt by engine_apply/engine_replay, so it is exact after any restart.
 * Keys are chosen by callers: slots are picked with SipHash under a key
 * drawn at random per table, so nobody can aim keys at one chain. The
 * hash only places keys; nothing recorded depends on it.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "engine_int.h"
#include "util.h"

struct nonce_slot {
	uint8_t		key[32];
	uint64_t	nonce;		/* 0: empty slot (accepted nonces are >= 1) */
};

struct eng_nonces {
	struct nonce_slot	*slot;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;
	uint8_t			 hkey[crypto_shorthash_KEYBYTES];
};

struct eng_nonces *
eng_nonces_new(void)
{
	struct eng_nonces *t = xcalloc(1, sizeof(*t));

	if (sodium_init() < 0)	/* idempotent (as state_new) */
		abort();
	randombytes_buf(t->hkey, sizeof(t->hkey));
	return t;
}

void
eng_nonces_free(struct eng_nonces *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	free(t);
}

static size_t
slot_of(const struct eng_nonces *t, const uint8_t key[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int i;

	crypto_shorthash(h, key, 32, t->hkey);
	for (i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return (size_t)(v & (t->cap - 1));
}

static struct nonce_slot *
find(const struct eng_nonces *t, const uint8_t key[32])
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	for (i = slot_of(t, key); t->slot[i].nonce != 0;
	    i = (i + 1) & (t->cap - 1))
		if (memcmp(t->slot[i].key, key, 32) == 0)
			return &t->slot[i];
	return NULL;
}

uint64_t
eng_nonce_get(const struct eng_nonces *t, const uint8_t key[32])
{
	const struct nonce_slot *s = find(t, key);

	return s ? s->nonce : 0;
}

static void
grow(struct eng_nonces *t)
{
	struct nonce_slot *old = t->slot;
	size_t oldcap = t->cap, i, j;

	t->cap = oldcap ? oldcap * 2 : 64;
	t->slot = xcalloc(t->cap, sizeof(*t->slot));
	for (i = 0; i < oldcap; i++) {
		if (old[i].nonce == 0)
			continue;
		for (j = slot_of(t, old[i].key); t->slot[j].nonce != 0;
		    j = (j + 1) & (t->cap - 1))
			;
		t->slot[j] = old[i];
	}
	free(old);
}

void
eng_nonce_set(struct eng_nonces *t, const uint8_t key[32], uint64_t nonce)
{
	struct nonce_slot *s;
	size_t i;

	if (nonce == 0)
		return;
	if ((s = find(t, key)) != NULL) {
		s->nonce = nonce;
		return;
	}
	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	for (i = slot_of(t, key); t->slot[i].nonce != 0;
	    i = (i + 1) & (t->cap - 1))
		;
	memcpy(t->slot[i].key, key, 32);
	t->slot[i].nonce = nonce;
	t->n++;
}

size_t
eng_nonce_count(const struct eng_nonces *t)
{
	return t->n;
}

static int
by_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Every (key, nonce) in key order: 40 bytes each (key, nonce big-endian),
 * into out (eng_nonce_count() * 40 bytes). */
void
eng_nonce_dump(const struct eng_nonces *t, uint8_t *out)
{
	struct nonce_slot *v = xcalloc(t->n ? t->n : 1, sizeof(*v));
	size_t i, k = 0;
	int b;

	for (i = 0; i < t->cap; i++)
		if (t->slot[i].nonce != 0)
			v[k++] = t->slot[i];
	qsort(v, k, sizeof(*v), by_key);
	for (i = 0; i < k; i++) {
		memcpy(out, v[i].key, 32);
		out += 32;
		for (b = 7; b >= 0; b--)
			*out++ = (uint8_t)(v[i].nonce >> (8 * b));
	}
	free(v);
}
