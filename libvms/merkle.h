/*
 * merkle.h — RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, proofs and their
 * verification. Pure functions over hashes: no I/O.
 *
 *   leaf  = SHA-256(0x00 || entry bytes)
 *   node  = SHA-256(0x01 || left || right)
 *   empty = SHA-256("")
 *   split at the largest power of two strictly below n.
 */
#ifndef VMS_MERKLE_H
#define VMS_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_MAX_PROOF 64	/* hashes; enough for any 2^64 tree */

typedef uint8_t merkle_hash[MERKLE_HASH_LEN];

void	merkle_leaf_hash(const void *data, size_t len, merkle_hash out);
void	merkle_node_hash(const merkle_hash l, const merkle_hash r,
	    merkle_hash out);
void	merkle_empty_root(merkle_hash out);

/* Root of n leaf hashes held in memory (tests, small trees). */
void	merkle_root(const merkle_hash *leaves, uint64_t n, merkle_hash out);

/*
 * Proof generation over any source that can return the hash of the complete
 * or partial subtree covering leaves [start, end). Returns 0 or -1 (the
 * source failed, or arguments out of range). *n receives the proof length.
 */
typedef int (*merkle_range_fn)(void *ctx, uint64_t start, uint64_t end,
    merkle_hash out);
int	merkle_inclusion_proof(merkle_range_fn, void *ctx, uint64_t index,
	    uint64_t size, merkle_hash *proof, size_t *n);
int	merkle_consistency_proof(merkle_range_fn, void *ctx, uint64_t m,
	    uint64_t n, merkle_hash *proof, size_t *plen);

/*
 * MTH(D[start:end]) for a range RFC 6962's recursion visits (start a
 * multiple of a power of two >= end - start, start < end) from stored
 * perfect subtrees: the maximal aligned ones, left to right, each fetched
 * by fn(ctx, level, index, out) (0, or -1 to fail), folded from the
 * right. The ledger's stored hashes and a log's tiles are such stores.
 */
typedef int	(*merkle_subtree_fn)(void *ctx, int level, uint64_t index,
		    merkle_hash out);
int	merkle_range_from_subtrees(merkle_subtree_fn fn, void *ctx,
	    uint64_t start, uint64_t end, merkle_hash out);

/* RFC 9162 §2.1.3.2 and §2.1.4.2. Return 0 if the proof verifies, else -1. */
int	merkle_verify_inclusion(const merkle_hash leaf, uint64_t index,
	    uint64_t size, const merkle_hash *proof, size_t n,
	    const merkle_hash root);
int	merkle_verify_consistency(uint64_t m, uint64_t n,
	    const merkle_hash old_root, const merkle_hash new_root,
	    const merkle_hash *proof, size_t plen);

/*
 * A compact range from leaf 0: the roots of the perfect subtrees that make
 * up the first `size` leaves (one per set bit of size). Appending is O(log n)
 * amortised O(1); the root is O(log n). Used by the ledger and the auditor.
 */
struct merkle_frontier {
	uint64_t	size;
	int		npeaks;
	merkle_hash	peaks[64];	/* largest subtree first */
};
void	merkle_frontier_init(struct merkle_frontier *);
void	merkle_frontier_push(struct merkle_frontier *, const merkle_hash leaf);
void	merkle_frontier_root(const struct merkle_frontier *, merkle_hash out);

#endif
