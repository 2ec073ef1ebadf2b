/*
 * merkle.c — RFC 6962 / RFC 9162 §2.1 hashing, proofs and verification.
 */
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "sha256.h"

void
merkle_leaf_hash(const void *data, size_t len, merkle_hash out)
{
	struct vms_sha256 st;
	static const uint8_t prefix = 0x00;

	vms_sha256_init(&st);
	vms_sha256_update(&st, &prefix, 1);
	vms_sha256_update(&st, data, len);
	vms_sha256_final(&st, out);
}

void
merkle_node_hash(const merkle_hash l, const merkle_hash r, merkle_hash out)
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, r, MERKLE_HASH_LEN);
	vms_sha256(buf, sizeof(buf), out);
}

void
merkle_empty_root(merkle_hash out)
{
	vms_sha256("", 0, out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

void
merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out)
{
	struct merkle_frontier f;
	uint64_t i;

	merkle_frontier_init(&f);
	for (i = 0; i < n; i++)
		merkle_frontier_push(&f, leaves[i]);
	merkle_frontier_root(&f, out);
}

/*
 * RFC 6962 §2.1.1 PATH(m, D[start:start+n]), iteratively from the root
 * down; the siblings are collected top-down and emitted leaf-first.
 */
int
merkle_inclusion_proof(merkle_range_fn fn, void *ctx, uint64_t index,
    uint64_t size, merkle_hash *proof, size_t *n)
{
	merkle_hash sib[MERKLE_MAX_PROOF];
	uint64_t start = 0, len = size, m = index, k;
	size_t depth = 0, i;

	*n = 0;
	if (index >= size)
		return -1;
	while (len > 1) {
		if (depth >= MERKLE_MAX_PROOF)
			return -1;
		k = split_point(len);
		if (m < k) {
			if (fn(ctx, start + k, start + len, sib[depth]) != 0)
				return -1;
			len = k;
		} else {
			if (fn(ctx, start, start + k, sib[depth]) != 0)
				return -1;
			start += k;
			m -= k;
			len -= k;
		}
		depth++;
	}
	for (i = 0; i < depth; i++)
		memcpy(proof[i], sib[depth - 1 - i], MERKLE_HASH_LEN);
	*n = depth;
	return 0;
}

/*
 * RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), iteratively.
 * The recursion only appends after descending, so collect top-down and
 * emit in reverse, with the final MTH(D[m]) (when b is false) first.
 */
int
merkle_consistency_proof(merkle_range_fn fn, void *ctx, uint64_t m,
    uint64_t n, merkle_hash *proof, size_t *plen)
{
	merkle_hash sib[MERKLE_MAX_PROOF], base;
	uint64_t start = 0, len = n, k;
	size_t depth = 0, out = 0, i;
	int b = 1, have_base = 0;

	*plen = 0;
	if (m > n)
		return -1;
	if (m == 0 || m == n)
		return 0;
	while (m != len) {
		if (depth >= MERKLE_MAX_PROOF - 1)
			return -1;
		k = split_point(len);
		if (m <= k) {
			if (fn(ctx, start + k, start + len, sib[depth]) != 0)
				return -1;
			len = k;
		} else {
			if (fn(ctx, start, start + k, sib[depth]) != 0)
				return -1;
			start += k;
			m -= k;
			len -= k;
			b = 0;
		}
		depth++;
	}
	if (!b) {
		if (fn(ctx, start, start + len, base) != 0)
			return -1;
		have_base = 1;
	}
	if (have_base)
		memcpy(proof[out++], base, MERKLE_HASH_LEN);
	for (i = 0; i < depth; i++)
		memcpy(proof[out++], sib[depth - 1 - i], MERKLE_HASH_LEN);
	*plen = out;
	return 0;
}

/* RFC 9162 §2.1.3.2. */
int
merkle_verify_inclusion(const merkle_hash leaf, uint64_t index,
    uint64_t size, const merkle_hash *proof, size_t n,
    const merkle_hash root)
{
	merkle_hash r;
	uint64_t fn, sn;
	size_t i;

	if (index >= size || n > MERKLE_MAX_PROOF)
		return -1;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			merkle_node_hash(r, proof[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;
	return sodium_memcmp(r, root, MERKLE_HASH_LEN) == 0 ? 0 : -1;
}

/*
 * RFC 9162 §2.1.4.2, with the edge cases of the RFC text: m > n fails;
 * m == n needs an empty proof and equal roots; m == 0 (the empty tree,
 * consistent with every tree) needs an empty proof and the empty root.
 */
int
merkle_verify_consistency(uint64_t m, uint64_t n,
    const merkle_hash old_root, const merkle_hash new_root,
    const merkle_hash *proof, size_t plen)
{
	merkle_hash fr, sr, empty;
	uint64_t fn, sn;
	size_t i;

	if (m > n || plen > MERKLE_MAX_PROOF)
		return -1;
	if (m == 0) {
		merkle_empty_root(empty);
		if (plen != 0)
			return -1;
		return sodium_memcmp(old_root, empty, MERKLE_HASH_LEN) == 0 ?
		    0 : -1;
	}
	if (m == n) {
		if (plen != 0)
			return -1;
		return sodium_memcmp(old_root, new_root, MERKLE_HASH_LEN) == 0 ?
		    0 : -1;
	}
	if (plen == 0)
		return -1;
	i = 0;
	if ((m & (m - 1)) == 0) {
		/* m is a power of two: the path starts at old_root. */
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < plen; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			merkle_node_hash(sr, proof[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;
	if (sodium_memcmp(fr, old_root, MERKLE_HASH_LEN) != 0 ||
	    sodium_memcmp(sr, new_root, MERKLE_HASH_LEN) != 0)
		return -1;
	return 0;
}

void
merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

/*
 * peaks[] holds one perfect subtree per set bit of size, largest first;
 * the smallest is last. Pushing a leaf merges equal-sized trailing peaks
 * exactly as the carries of size + 1.
 */
void
merkle_frontier_push(struct merkle_frontier *f, const merkle_hash leaf)
{
	uint64_t s = f->size;

	memcpy(f->peaks[f->npeaks++], leaf, MERKLE_HASH_LEN);
	while (s & 1) {
		f->npeaks--;
		merkle_node_hash(f->peaks[f->npeaks - 1], f->peaks[f->npeaks],
		    f->peaks[f->npeaks - 1]);
		s >>= 1;
	}
	f->size++;
}

void
merkle_frontier_root(const struct merkle_frontier *f, merkle_hash out)
{
	merkle_hash r;
	int i;

	if (f->npeaks == 0) {
		merkle_empty_root(out);
		return;
	}
	memcpy(r, f->peaks[f->npeaks - 1], MERKLE_HASH_LEN);
	for (i = f->npeaks - 2; i >= 0; i--)
		merkle_node_hash(f->peaks[i], r, r);
	memcpy(out, r, MERKLE_HASH_LEN);
}

int
merkle_range_from_subtrees(merkle_subtree_fn fn, void *ctx, uint64_t start,
    uint64_t end, merkle_hash out)
{
	merkle_hash sub[64];
	int n = 0, level;

	if (start >= end)
		return -1;
	while (start < end) {
		level = 0;
		while (level < 63 && (start & ((2ULL << level) - 1)) == 0 &&
		    end - start >= (2ULL << level))
			level++;
		if (n == 64 || fn(ctx, level, start >> level, sub[n]) != 0)
			return -1;
		n++;
		start += 1ULL << level;
	}
	memcpy(out, sub[n - 1], MERKLE_HASH_LEN);
	for (n -= 2; n >= 0; n--)
		merkle_node_hash(sub[n], out, out);
	return 0;
}
