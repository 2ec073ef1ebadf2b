/*
 * fuzz-merkle.c — the proof verifiers (libvms/merkle.c) on fuzzed proofs,
 * and the proof generators against an independent recursive RFC 6962
 * reference. Input (binary, short inputs are zero-padded):
 *   bytes 0..7    A, little-endian (leaf index, or old size m)
 *   bytes 8..15   B, little-endian (tree size, or new size n)
 *   byte 16       F (flags: which bit to flip in the tamper checks)
 *   then 32-byte hashes: H0 (leaf or old root), H1 (root or new root),
 *   and the proof (at most MERKLE_MAX_PROOF + 2 hashes are used).
 * 1. merkle_verify_inclusion(H0, A, B, proof, H1) and
 *    merkle_verify_consistency(A, B, H0, H1, proof): any answer, no crash,
 *    in time bounded by the proof length whatever A and B are.
 * 2. A tree of N = 1 + B % 300 leaves (derived from the input): the
 *    frontier root and merkle_root equal the reference; the generated
 *    inclusion proof of leaf A % N and consistency proof from
 *    1 + A % N verify, and fail once one bit of a proof hash or root is
 *    flipped.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "merkle.h"

#define MAXN	300

static merkle_hash leaves[MAXN];

static uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* RFC 6962 MTH(D[start:end]), recursively, from the leaf hashes. */
static void
ref_mth(uint64_t start, uint64_t end, merkle_hash out)
{
	merkle_hash l, r;
	uint64_t n = end - start, k = 1;

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[start], MERKLE_HASH_LEN);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	ref_mth(start, start + k, l);
	ref_mth(start + k, end, r);
	merkle_node_hash(l, r, out);
}

static int
range_fn(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	uint64_t n = *(uint64_t *)ctx;

	if (start >= end || end > n)
		fuzz_fail("range [%llu, %llu) asked of a tree of %llu",
		    (unsigned long long)start, (unsigned long long)end,
		    (unsigned long long)n);
	ref_mth(start, end, out);
	return 0;
}

static void
flip(merkle_hash h, unsigned f)
{
	h[(f >> 3) % MERKLE_HASH_LEN] ^= (uint8_t)(1u << (f & 7));
}

static void
properties(uint64_t a, uint64_t b, unsigned f, const uint8_t *data,
    size_t size)
{
	struct merkle_frontier fr;
	merkle_hash root, ref, rootm, proof[MERKLE_MAX_PROOF], leaf;
	uint64_t n = 1 + b % MAXN, m, idx, i;
	size_t plen, k;

	merkle_frontier_init(&fr);
	m = 1 + a % n;
	for (i = 0; i < n; i++) {
		uint8_t seed[9];

		memcpy(seed, &i, 8);
		seed[8] = size > 0 ? data[i % size] : 0;
		merkle_leaf_hash(seed, sizeof(seed), leaves[i]);
		merkle_frontier_push(&fr, leaves[i]);
		if (i + 1 == m) {
			merkle_frontier_root(&fr, rootm);
			ref_mth(0, m, ref);
			if (memcmp(rootm, ref, MERKLE_HASH_LEN) != 0)
				fuzz_fail("frontier root of %llu differs",
				    (unsigned long long)m);
		}
	}
	merkle_frontier_root(&fr, root);
	ref_mth(0, n, ref);
	if (memcmp(root, ref, MERKLE_HASH_LEN) != 0)
		fuzz_fail("frontier root of %llu differs",
		    (unsigned long long)n);
	merkle_root(leaves, n, root);
	if (memcmp(root, ref, MERKLE_HASH_LEN) != 0)
		fuzz_fail("merkle_root of %llu differs", (unsigned long long)n);

	/* inclusion */
	idx = a % n;
	if (merkle_inclusion_proof(range_fn, &n, idx, n, proof, &plen) != 0)
		fuzz_fail("no inclusion proof for %llu in %llu",
		    (unsigned long long)idx, (unsigned long long)n);
	if (merkle_verify_inclusion(leaves[idx], idx, n, proof, plen,
	    root) != 0)
		fuzz_fail("inclusion proof of %llu in %llu does not verify",
		    (unsigned long long)idx, (unsigned long long)n);
	memcpy(leaf, leaves[idx], MERKLE_HASH_LEN);
	flip(leaf, f);
	if (merkle_verify_inclusion(leaf, idx, n, proof, plen, root) == 0)
		fuzz_fail("inclusion verifies with a flipped leaf");
	if (plen > 0) {
		k = f % plen;
		flip(proof[k], f);
		if (merkle_verify_inclusion(leaves[idx], idx, n, proof, plen,
		    root) == 0)
			fuzz_fail("inclusion verifies with proof[%zu] flipped", k);
		flip(proof[k], f);
		if (merkle_verify_inclusion(leaves[idx], idx, n, proof,
		    plen - 1, root) == 0)
			fuzz_fail("inclusion verifies with a short proof");
	}
	if (merkle_verify_inclusion(leaves[idx], idx + n, n, proof, plen,
	    root) == 0)
		fuzz_fail("inclusion verifies with an index past the size");

	/* consistency */
	if (merkle_consistency_proof(range_fn, &n, m, n, proof, &plen) != 0)
		fuzz_fail("no consistency proof %llu -> %llu",
		    (unsigned long long)m, (unsigned long long)n);
	if (merkle_verify_consistency(m, n, rootm, root, proof, plen) != 0)
		fuzz_fail("consistency %llu -> %llu does not verify",
		    (unsigned long long)m, (unsigned long long)n);
	flip(rootm, f);
	if (merkle_verify_consistency(m, n, rootm, root, proof, plen) == 0)
		fuzz_fail("consistency verifies with a flipped old root");
	flip(rootm, f);
	flip(root, f);
	if (merkle_verify_consistency(m, n, rootm, root, proof, plen) == 0)
		fuzz_fail("consistency verifies with a flipped new root");
	flip(root, f);
	if (plen > 0) {
		k = f % plen;
		flip(proof[k], f);
		if (merkle_verify_consistency(m, n, rootm, root, proof,
		    plen) == 0)
			fuzz_fail("consistency verifies with proof[%zu] flipped",
			    k);
		flip(proof[k], f);
	}
	if (m < n && merkle_verify_consistency(n, m, root, rootm, proof,
	    plen) == 0)
		fuzz_fail("consistency verifies backwards");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[17];
	merkle_hash h[2], proof[MERKLE_MAX_PROOF + 2];
	const uint8_t *p;
	uint64_t a, b;
	size_t n, i;

	fuzz_init();
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	a = get_le64(hdr);
	b = get_le64(hdr + 8);
	p = size > sizeof(hdr) ? data + sizeof(hdr) : data + size;
	n = (size_t)(data + size - p) / MERKLE_HASH_LEN;
	memset(h, 0, sizeof(h));
	for (i = 0; i < 2 && i < n; i++)
		memcpy(h[i], p + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	n = n > 2 ? n - 2 : 0;
	if (n > MERKLE_MAX_PROOF + 2)
		n = MERKLE_MAX_PROOF + 2;
	for (i = 0; i < n; i++)
		memcpy(proof[i], p + (i + 2) * MERKLE_HASH_LEN,
		    MERKLE_HASH_LEN);

	(void)merkle_verify_inclusion(h[0], a, b, proof, n, h[1]);
	(void)merkle_verify_consistency(a, b, h[0], h[1], proof, n);
	properties(a, b, hdr[16], data, size);
	return 0;
}
