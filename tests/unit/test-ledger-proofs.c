/*
 * test-ledger-proofs.c — the writer's proofs from memory (#15): the
 * receipts of a committed batch need only the newest stored hashes and
 * the frontier's peaks, which the ledger keeps (ledger_hcache_add), so
 * they are made with `hashes` unreadable; every proof and root still
 * agrees with an in-memory reference, across batches larger than the
 * cache, rollbacks and a reopen.
 */
#include "ltest.h"

#define MAXN 4096

static merkle_hash leaves[MAXN];

/* Append entries [from, from + n) tagged `tag` (a rolled-back entry and
 * its replacement differ); their leaves to leaves[]. */
static int
append_tagged(struct ledger *l, uint64_t from, uint64_t n, const char *tag)
{
	char buf[96], err[VMS_ERRLEN];
	uint64_t i;
	int len;

	for (i = from; i < from + n; i++) {
		len = snprintf(buf, sizeof(buf), "{\"%s\":%llu}", tag,
		    (unsigned long long)i);
		if (ledger_append(l, buf, (size_t)len, NULL, err,
		    sizeof(err)) != 0)
			return -1;
		merkle_leaf_hash(buf, (size_t)len, leaves[i]);
	}
	return 0;
}

/* Proofs of entries [first, first + count) in the tree of `size`, each
 * checked against the reference root; with `nofile`, `hashes` cannot be
 * read meanwhile. */
static int
proofs_ok(struct ledger *l, uint64_t first, uint64_t count, uint64_t size,
    int nofile)
{
	merkle_hash (*p)[MERKLE_MAX_PROOF], root;
	size_t *lens = xcalloc(count, sizeof(*lens));
	char err[VMS_ERRLEN];
	int fd = l->fd_hash, rc = 0;
	uint64_t i;

	p = xcalloc(count, sizeof(*p));
	merkle_root(leaves, size, root);
	if (nofile)
		l->fd_hash = -1;
	if (ledger_inclusion_proofs(l, first, count, size, p, lens, err,
	    sizeof(err)) != 0)
		rc = -1;
	l->fd_hash = fd;
	for (i = 0; i < count && rc == 0; i++)
		if (merkle_verify_inclusion(leaves[first + i], first + i, size,
		    p[i], lens[i], root) != 0)
			rc = -1;
	free(p);
	free(lens);
	return rc;
}

static int
roots_ok(struct ledger *l)
{
	merkle_hash want, got;
	uint64_t s;

	for (s = 0; s <= ledger_size(l); s++) {
		merkle_root(leaves, s, want);
		if (ledger_root(l, s, got) != 0 || memcmp(want, got, 32) != 0)
			return -1;
	}
	return 0;
}

static void
test_batches_from_memory(void)
{
	static const uint64_t batches[] = { 1, 1, 2, 3, 5, 8, 13, 100, 1, 400,
	    1, 700, 1500, 7, 64, 1 };
	char err[VMS_ERRLEN], *d = new_dir();
	struct ledger *l;
	uint64_t size = 0, b;
	size_t k;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	for (k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
		b = batches[k];
		CHECK(append_tagged(l, size, b, "a") == 0);
		CHECK(ledger_commit(l, err, sizeof(err)) == 0);
		/* up to 400 entries (800 hashes) the cache holds the batch */
		CHECK_MSG(proofs_ok(l, size, b, size + b, b <= 400) == 0,
		    "batch %zu (%llu entries at %llu): proofs", k,
		    (unsigned long long)b, (unsigned long long)size);
		size += b;
	}
	/* every entry, through the cache where it can */
	CHECK(proofs_ok(l, 0, size, size, 0) == 0);
	CHECK(proofs_ok(l, 0, size / 2, size / 2 + 1, 0) == 0);
	CHECK(roots_ok(l) == 0);
	ledger_close(l);
	/* the files hold what the cache said */
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, 0, size, size, 0) == 0);
	CHECK(roots_ok(l) == 0);
	ledger_close(l);
	free(d);
}

static void
test_rollback_forgets(void)
{
	char err[VMS_ERRLEN], *d = new_dir();
	struct ledger *l;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 0, 37, "a") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	/* appended, rolled back, replaced by other entries */
	CHECK(append_tagged(l, 37, 20, "gone") == 0);
	CHECK(ledger_rollback(l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 37, 20, "b") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, 37, 20, 57, 1) == 0);
	CHECK(proofs_ok(l, 0, 57, 57, 0) == 0);
	CHECK(roots_ok(l) == 0);
	/* a rollback of fewer entries than the cache's last batch */
	CHECK(append_tagged(l, 57, 3, "gone") == 0);
	CHECK(ledger_rollback(l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 57, 9, "c") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, 57, 9, 66, 1) == 0);
	CHECK(roots_ok(l) == 0);
	ledger_close(l);
	free(d);
}

/* A batch that merges the oldest peaks: of a tree of 2^k - 1 grown by
 * small batches, and the first batch after an open. */
static void
test_old_peaks_merged(void)
{
	char err[VMS_ERRLEN], *d = new_dir();
	struct ledger *l;
	uint64_t size = 0;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	while (size + 5 <= 2047) {
		CHECK(append_tagged(l, size, 5, "a") == 0);
		CHECK(ledger_commit(l, err, sizeof(err)) == 0);
		size += 5;
	}
	CHECK(append_tagged(l, size, 2047 - size, "a") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	size = 2047;
	CHECK(append_tagged(l, size, 1, "b") == 0);	/* [0, 1024) merged */
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, size, 1, size + 1, 1) == 0);
	size++;
	CHECK(append_tagged(l, size, 1023, "c") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	size += 1023;				/* 3071 = 2048+512+...+1 */
	ledger_close(l);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, size, 2, "d") == 0);	/* merges every low peak */
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, size, 2, size + 2, 1) == 0);
	CHECK(roots_ok(l) == 0);
	ledger_close(l);
	free(d);
}

/* A batch appended while the previous one's receipts are made (the
 * worker's pipelined commit): proofs at the older size. */
static void
test_older_size_while_appending(void)
{
	char err[VMS_ERRLEN], *d = new_dir();
	struct ledger *l;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 0, 100, "a") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 100, 17, "b") == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(append_tagged(l, 117, 30, "c") == 0);	/* not committed */
	CHECK(proofs_ok(l, 100, 17, 117, 1) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(proofs_ok(l, 117, 30, 147, 1) == 0);
	ledger_close(l);
	free(d);
}

int
main(void)
{
	if (lt_init("test-ledger-proofs") != 0)
		return 2;
	RUN(batches_from_memory);
	RUN(rollback_forgets);
	RUN(old_peaks_merged);
	RUN(older_size_while_appending);
	return lt_done();
}
