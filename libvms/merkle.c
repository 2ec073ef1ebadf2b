/*
 * merkle.c — RFC 6962 / RFC 9162 §2.1 hashing, proofs and verification.
 */
#include <string.h>

#include <sodium.h>

#include "merkle.h"

void
merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	crypto_hash_sha256_state st;
	static const uint8_t prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void
merkle_node_hash(const merkle_hash l, const merkle_hash r, merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, r, MERKLE_HASH_LEN);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

void
merkle_empty_root(merkle_hash out)
{
	crypto_hash_sha256(out, (const uint8_t *)"", 0);
}
