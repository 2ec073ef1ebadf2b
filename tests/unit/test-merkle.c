/*
 * test-merkle.c — RFC 6962 / RFC 9162 §2.1 hashing, proofs, verification and
 * the compact frontier, against RFC 9162 §2.1.5's worked example and an
 * independent naive recursive reference written straight from RFC 6962
 * §2.1 (MTH, PATH, PROOF/SUBPROOF) for every tree size 1..64.
 */
#include <stdint.h>

#include <sodium.h>

#include "merkle.h"
#include "test.h"

#define MAXN 64

static merkle_hash leaves[MAXN];
static merkle_hash roots[MAXN + 1];	/* ref_mth of the first n */

/* ---- naive reference (RFC 6962 §2.1 definitions, recursive) ---- */

static uint64_t
ref_k(uint64_t n)
{
	uint64_t k = 1;

	while (2 * k < n)
		k *= 2;
	return k;
}

static void
ref_mth(const merkle_hash *d, uint64_t n, merkle_hash out)
{
	uint8_t buf[65];
	merkle_hash l, r;
	uint64_t k;

	if (n == 0) {
		crypto_hash_sha256(out, (const uint8_t *)"", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], 32);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	crypto_hash_sha256(out, buf, 65);
}

static void
ref_path(uint64_t m, const merkle_hash *d, uint64_t n, merkle_hash *p,
    size_t *np)
{
	uint64_t k;

	if (n == 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, p, np);
		ref_mth(d + k, n - k, p[(*np)++]);
	} else {
		ref_path(m - k, d + k, n - k, p, np);
		ref_mth(d, k, p[(*np)++]);
	}
}

static void
ref_subproof(uint64_t m, const merkle_hash *d, uint64_t n, int b,
    merkle_hash *p, size_t *np)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, m, p[(*np)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, p, np);
		ref_mth(d + k, n - k, p[(*np)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, 0, p, np);
		ref_mth(d, k, p[(*np)++]);
	}
}

/* The range source for the library's proof generators. */
static int
range_cb(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	const merkle_hash *d = ctx;

	if (start >= end || end > MAXN)
		return -1;
	ref_mth(d + start, end - start, out);
	return 0;
}

static void
setup_leaves(void)
{
	char buf[32];
	int i;

	for (i = 0; i < MAXN; i++) {
		int n = snprintf(buf, sizeof(buf), "leaf %d", i);
		merkle_leaf_hash(buf, (size_t)n, leaves[i]);
	}
	for (i = 0; i <= MAXN; i++)
		ref_mth(leaves, (uint64_t)i, roots[i]);
}

TEST(hash_primitives)
{
	merkle_hash h, e;
	uint8_t buf[65];
	char hex[65];
	size_t i;

	/* SHA-256("") */
	merkle_empty_root(e);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", e[i]);
	CHECK_EQ_STR(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* leaf of the empty string = SHA-256(0x00) */
	merkle_leaf_hash("", 0, h);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CHECK_EQ_STR(hex,
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	buf[0] = 1;
	memcpy(buf + 1, leaves[0], 32);
	memcpy(buf + 33, leaves[1], 32);
	crypto_hash_sha256(e, buf, 65);
	merkle_node_hash(leaves[0], leaves[1], h);
	CHECK(memcmp(e, h, 32) == 0);
	merkle_root(leaves, 0, h);
	merkle_empty_root(e);
	CHECK(memcmp(e, h, 32) == 0);
}

/*
 * RFC 9162 §2.1.5: seven leaves d0..d6, leaf hashes a..f and d6, inner
 * nodes g=(a,b) h=(c,d) i=(e,f) j=d6 k=(g,h) l=(i,j) root=(k,l).
 */
TEST(rfc9162_example)
{
	merkle_hash a, b, c, d, e, f, j, g, h, i, k, l, root, r, p[8];
	merkle_hash t3, t4, t6;
	size_t n;

	memcpy(a, leaves[0], 32); memcpy(b, leaves[1], 32);
	memcpy(c, leaves[2], 32); memcpy(d, leaves[3], 32);
	memcpy(e, leaves[4], 32); memcpy(f, leaves[5], 32);
	memcpy(j, leaves[6], 32);
	merkle_node_hash(a, b, g);
	merkle_node_hash(c, d, h);
	merkle_node_hash(e, f, i);
	merkle_node_hash(g, h, k);
	merkle_node_hash(i, j, l);
	merkle_node_hash(k, l, root);
	merkle_root(leaves, 7, r);
	CHECK(memcmp(r, root, 32) == 0);

	/* inclusion of d0: [b, h, l] */
	CHECK(merkle_inclusion_proof(range_cb, leaves, 0, 7, p, &n) == 0);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(p[0], b, 32) == 0 && memcmp(p[1], h, 32) == 0 &&
	    memcmp(p[2], l, 32) == 0);
	CHECK(merkle_verify_inclusion(a, 0, 7, p, n, root) == 0);
	/* d3: [c, g, l] */
	CHECK(merkle_inclusion_proof(range_cb, leaves, 3, 7, p, &n) == 0);
	CHECK(n == 3 && memcmp(p[0], c, 32) == 0 && memcmp(p[1], g, 32) == 0 &&
	    memcmp(p[2], l, 32) == 0);
	CHECK(merkle_verify_inclusion(d, 3, 7, p, n, root) == 0);
	/* d4: [f, j, k] */
	CHECK(merkle_inclusion_proof(range_cb, leaves, 4, 7, p, &n) == 0);
	CHECK(n == 3 && memcmp(p[0], f, 32) == 0 && memcmp(p[1], j, 32) == 0 &&
	    memcmp(p[2], k, 32) == 0);
	CHECK(merkle_verify_inclusion(e, 4, 7, p, n, root) == 0);
	/* d6: [i, k] */
	CHECK(merkle_inclusion_proof(range_cb, leaves, 6, 7, p, &n) == 0);
	CHECK(n == 2 && memcmp(p[0], i, 32) == 0 && memcmp(p[1], k, 32) == 0);
	CHECK(merkle_verify_inclusion(j, 6, 7, p, n, root) == 0);

	/* consistency 3 -> 7: [c, d, g, l] */
	merkle_root(leaves, 3, t3);
	CHECK(merkle_consistency_proof(range_cb, leaves, 3, 7, p, &n) == 0);
	CHECK(n == 4 && memcmp(p[0], c, 32) == 0 && memcmp(p[1], d, 32) == 0 &&
	    memcmp(p[2], g, 32) == 0 && memcmp(p[3], l, 32) == 0);
	CHECK(merkle_verify_consistency(3, 7, t3, root, p, n) == 0);
	/* 4 -> 7: [l] */
	merkle_root(leaves, 4, t4);
	CHECK(memcmp(t4, k, 32) == 0);
	CHECK(merkle_consistency_proof(range_cb, leaves, 4, 7, p, &n) == 0);
	CHECK(n == 1 && memcmp(p[0], l, 32) == 0);
	CHECK(merkle_verify_consistency(4, 7, t4, root, p, n) == 0);
	/* 6 -> 7: [i, j, k] */
	merkle_root(leaves, 6, t6);
	CHECK(merkle_consistency_proof(range_cb, leaves, 6, 7, p, &n) == 0);
	CHECK(n == 3 && memcmp(p[0], i, 32) == 0 && memcmp(p[1], j, 32) == 0 &&
	    memcmp(p[2], k, 32) == 0);
	CHECK(merkle_verify_consistency(6, 7, t6, root, p, n) == 0);
}

TEST(roots_1_to_64)
{
	merkle_hash a, b, c;
	struct merkle_frontier f;
	uint64_t n;

	merkle_frontier_init(&f);
	merkle_frontier_root(&f, a);
	ref_mth(leaves, 0, b);
	CHECK(memcmp(a, b, 32) == 0);
	for (n = 1; n <= MAXN; n++) {
		merkle_frontier_push(&f, leaves[n - 1]);
		ref_mth(leaves, n, a);
		merkle_root(leaves, n, b);
		merkle_frontier_root(&f, c);
		CHECK_MSG(memcmp(a, b, 32) == 0, "merkle_root n=%" PRIu64, n);
		CHECK_MSG(memcmp(a, c, 32) == 0, "frontier n=%" PRIu64, n);
		CHECK_EQ_INT(f.size, n);
		CHECK_EQ_INT(f.npeaks, __builtin_popcountll(n));
	}
}

static int
same_proof(const merkle_hash *a, size_t na, const merkle_hash *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * 32) == 0);
}

TEST(inclusion_all)
{
	merkle_hash p[MERKLE_MAX_PROOF + 2], q[MERKLE_MAX_PROOF], root, r2;
	uint64_t n, i, bad[4];
	size_t np, nq, x, y;
	int ok = 1, rejected = 1, checked = 0;

	for (n = 1; n <= MAXN; n++) {
		ref_mth(leaves, n, root);
		for (i = 0; i < n; i++) {
			nq = 0;
			ref_path(i, leaves, n, q, &nq);
			if (merkle_inclusion_proof(range_cb, leaves, i, n, p,
			    &np) != 0 || !same_proof(p, np, q, nq)) {
				FAILF("proof(%" PRIu64 ",%" PRIu64 ") differs",
				    i, n);
				ok = 0;
				continue;
			}
			if (merkle_verify_inclusion(leaves[i], i, n, p, np,
			    root) != 0) {
				FAILF("verify(%" PRIu64 ",%" PRIu64 ")", i, n);
				ok = 0;
			}
			checked++;
			/* wrong leaf */
			if (merkle_verify_inclusion(leaves[(i + 1) % MAXN], i,
			    n, p, np, root) == 0)
				rejected = 0;
			/* wrong index */
			for (x = 0; x < n; x++)
				if (x != i && merkle_verify_inclusion(
				    leaves[i], x, n, p, np, root) == 0) {
					FAILF("wrong index %zu accepted "
					    "(%" PRIu64 ",%" PRIu64 ")", x, i,
					    n);
					rejected = 0;
				}
			/* index >= size */
			if (merkle_verify_inclusion(leaves[i], n, n, p, np,
			    root) == 0)
				rejected = 0;
			/* wrong size, against that size's true root */
			bad[0] = n + 1; bad[1] = n - 1; bad[2] = n * 2;
			bad[3] = n / 2;
			for (x = 0; x < 4; x++) {
				if (bad[x] <= i || bad[x] == n ||
				    bad[x] > MAXN)
					continue;
				memcpy(r2, roots[bad[x]], 32);
				if (merkle_verify_inclusion(leaves[i], i,
				    bad[x], p, np, r2) == 0) {
					FAILF("wrong size %" PRIu64 " accepted "
					    "(%" PRIu64 ",%" PRIu64 ")",
					    bad[x], i, n);
					rejected = 0;
				}
			}
			/* flipped bit in every hash */
			for (x = 0; x < np; x++)
				for (y = 0; y < 256; y += 37) {
					p[x][y / 8] ^= (uint8_t)(1 << (y % 8));
					if (merkle_verify_inclusion(leaves[i],
					    i, n, p, np, root) == 0)
						rejected = 0;
					p[x][y / 8] ^= (uint8_t)(1 << (y % 8));
				}
			/* flipped root */
			root[5] ^= 0x40;
			if (merkle_verify_inclusion(leaves[i], i, n, p, np,
			    root) == 0)
				rejected = 0;
			root[5] ^= 0x40;
			/* truncated, first dropped, extra hash */
			if (np > 0 && merkle_verify_inclusion(leaves[i], i, n,
			    p, np - 1, root) == 0)
				rejected = 0;
			if (np > 0 && merkle_verify_inclusion(leaves[i], i, n,
			    p + 1, np - 1, root) == 0)
				rejected = 0;
			memcpy(p[np], leaves[0], 32);
			if (merkle_verify_inclusion(leaves[i], i, n, p, np + 1,
			    root) == 0)
				rejected = 0;
			memcpy(p[np], root, 32);
			if (merkle_verify_inclusion(leaves[i], i, n, p, np + 1,
			    root) == 0)
				rejected = 0;
		}
		/* out of range generation */
		if (merkle_inclusion_proof(range_cb, leaves, n, n, p, &np) == 0)
			rejected = 0;
	}
	CHECK(ok);
	CHECK(rejected);
	CHECK_EQ_INT(checked, MAXN * (MAXN + 1) / 2);
}

TEST(consistency_all)
{
	merkle_hash p[MERKLE_MAX_PROOF + 2], q[MERKLE_MAX_PROOF], rm, rn, r2;
	merkle_hash empty;
	uint64_t m, n, bad;
	size_t np, nq, x, y;
	int ok = 1, rejected = 1, checked = 0;

	merkle_empty_root(empty);
	for (n = 1; n <= MAXN; n++) {
		ref_mth(leaves, n, rn);
		for (m = 0; m <= n; m++) {
			ref_mth(leaves, m, rm);
			nq = 0;
			if (m > 0 && m < n)
				ref_subproof(m, leaves, n, 1, q, &nq);
			if (merkle_consistency_proof(range_cb, leaves, m, n, p,
			    &np) != 0 || !same_proof(p, np, q, nq)) {
				FAILF("proof(%" PRIu64 ",%" PRIu64 ") differs",
				    m, n);
				ok = 0;
				continue;
			}
			if (merkle_verify_consistency(m, n, rm, rn, p, np)
			    != 0) {
				FAILF("verify(%" PRIu64 ",%" PRIu64 ")", m, n);
				ok = 0;
			}
			checked++;
			/* m > n */
			if (merkle_verify_consistency(n + 1, n, rm, rn, p, np)
			    == 0)
				rejected = 0;
			/* swapped roots */
			if (m != n && merkle_verify_consistency(m, n, rn, rm, p,
			    np) == 0)
				rejected = 0;
			/* wrong old size / new size against true roots */
			for (bad = 0; bad <= MAXN; bad++) {
				if (bad != m && bad <= n) {
					memcpy(r2, roots[bad], 32);
					if (merkle_verify_consistency(bad, n,
					    r2, rn, p, np) == 0 &&
					    !(np == 0 && (bad == 0 ||
					    bad == n))) {
						FAILF("old size %" PRIu64
						    " accepted (%" PRIu64 ",%"
						    PRIu64 ")", bad, m, n);
						rejected = 0;
					}
				}
				if (bad != n && bad >= m && bad > 0) {
					memcpy(r2, roots[bad], 32);
					if (merkle_verify_consistency(m, bad,
					    rm, r2, p, np) == 0 &&
					    !(m == 0 && np == 0)) {
						FAILF("new size %" PRIu64
						    " accepted (%" PRIu64 ",%"
						    PRIu64 ")", bad, m, n);
						rejected = 0;
					}
				}
			}
			/* flipped bits */
			for (x = 0; x < np; x++)
				for (y = 3; y < 256; y += 41) {
					p[x][y / 8] ^= (uint8_t)(1 << (y % 8));
					if (merkle_verify_consistency(m, n, rm,
					    rn, p, np) == 0)
						rejected = 0;
					p[x][y / 8] ^= (uint8_t)(1 << (y % 8));
				}
			rm[0] ^= 1;
			if (merkle_verify_consistency(m, n, rm, rn, p, np) == 0)
				rejected = 0;
			rm[0] ^= 1;
			rn[31] ^= 0x80;
			if (m > 0 && merkle_verify_consistency(m, n, rm, rn, p,
			    np) == 0)
				rejected = 0;
			rn[31] ^= 0x80;
			/* truncated, first dropped, extra */
			if (np > 0 && merkle_verify_consistency(m, n, rm, rn, p,
			    np - 1) == 0)
				rejected = 0;
			if (np > 0 && merkle_verify_consistency(m, n, rm, rn,
			    p + 1, np - 1) == 0)
				rejected = 0;
			memcpy(p[np], rn, 32);
			if (merkle_verify_consistency(m, n, rm, rn, p, np + 1)
			    == 0)
				rejected = 0;
		}
		/* generation refuses m > n */
		if (merkle_consistency_proof(range_cb, leaves, n + 1, n, p, &np)
		    == 0)
			rejected = 0;
	}
	/* edge cases spelled out */
	ref_mth(leaves, 5, rn);
	CHECK(merkle_verify_consistency(0, 5, empty, rn, NULL, 0) == 0);
	CHECK(merkle_verify_consistency(0, 5, rn, rn, NULL, 0) == -1);
	CHECK(merkle_verify_consistency(0, 5, empty, rn, &rn, 1) == -1);
	CHECK(merkle_verify_consistency(0, 0, empty, empty, NULL, 0) == 0);
	CHECK(merkle_verify_consistency(5, 5, rn, rn, NULL, 0) == 0);
	CHECK(merkle_verify_consistency(5, 5, rn, rn, &rn, 1) == -1);
	CHECK(merkle_verify_consistency(4, 5, rn, rn, NULL, 0) == -1);
	CHECK(merkle_verify_consistency(6, 5, rn, rn, NULL, 0) == -1);
	CHECK(ok);
	CHECK(rejected);
	CHECK_EQ_INT(checked, MAXN * (MAXN + 3) / 2);
}

TEST(range_failure_propagates)
{
	merkle_hash p[MERKLE_MAX_PROOF];
	size_t n;

	/* range_cb refuses end > MAXN: a 100-leaf tree cannot be served */
	CHECK(merkle_inclusion_proof(range_cb, leaves, 3, 100, p, &n) == -1);
	CHECK(merkle_consistency_proof(range_cb, leaves, 3, 100, p, &n) == -1);
}

/* A store of perfect subtrees: the subtree at level, index of leaves[]
 * (reference hash), counting the fetches; fails past MAXN. */
static int nfetch;
static int
subtree_cb(void *ctx, int level, uint64_t index, merkle_hash out)
{
	uint64_t w = 1ULL << level;

	(void)ctx;
	nfetch++;
	if (level > 6 || (index + 1) * w > MAXN)
		return -1;
	ref_mth(leaves + index * w, w, out);
	return 0;
}

TEST(range_from_subtrees)
{
	merkle_hash got, want;
	uint64_t start, end, w;
	int checked = 0;

	/* every range RFC 6962's recursion visits: start a multiple of a
	 * power of two w >= end - start */
	for (w = 1; w <= MAXN; w *= 2)
		for (start = 0; start < MAXN; start += w)
			for (end = start + 1; end <= start + w && end <= MAXN;
			    end++) {
				nfetch = 0;
				CHECK(merkle_range_from_subtrees(subtree_cb,
				    NULL, start, end, got) == 0);
				ref_mth(leaves + start, end - start, want);
				CHECK(memcmp(got, want, 32) == 0);
				/* one fetch per set bit of the length */
				CHECK_EQ_INT(nfetch,
				    __builtin_popcountll(end - start));
				checked++;
			}
	CHECK_EQ_INT(checked, 7 * MAXN);	/* w = 1, 2, 4, ..., 64 */
	CHECK(merkle_range_from_subtrees(subtree_cb, NULL, 5, 5, got) == -1);
	CHECK(merkle_range_from_subtrees(subtree_cb, NULL, 60, 70, got) == -1);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 2;
	setup_leaves();
	RUN(hash_primitives);
	RUN(rfc9162_example);
	RUN(roots_1_to_64);
	RUN(inclusion_all);
	RUN(consistency_all);
	RUN(range_failure_propagates);
	RUN(range_from_subtrees);
	return test_summary();
}
