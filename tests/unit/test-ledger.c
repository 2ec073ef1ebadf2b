/*
 * test-ledger.c — the on-disk ledger: append, commit, reopen, history,
 * proofs against the signed checkpoint, crash-tail recovery at every byte
 * offset, corruption detection (truncation, bit flips, wrong keys).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "ledger_int.h"	/* ledger_fault_fsync */
#include "log.h"
#include "test.h"
#include "util.h"

#define ORIGIN "test.example/ledger"

static char tmpdir[] = "/tmp/test-ledger.XXXXXX";
static struct note_signer *signer, *other;
static struct note_verifier ver;
static int dircount;

static char *
new_dir(void)
{
	char *d;

	xasprintf(&d, "%s/l%d", tmpdir, dircount++);
	return d;
}

static size_t
make_entry(uint64_t i, char *buf, size_t cap)
{
	size_t pad = (size_t)((i * 7) % 53), n;

	n = (size_t)snprintf(buf, cap, "{\"i\":%" PRIu64 ",\"pad\":\"", i);
	memset(buf + n, 'a' + (int)(i % 26), pad);
	n += pad;
	n += (size_t)snprintf(buf + n, cap - n, "\"}");
	return n;
}

static int
append_n(struct ledger *l, uint64_t from, uint64_t n)
{
	char buf[256], err[VMS_ERRLEN];
	uint64_t i, idx;

	for (i = from; i < from + n; i++) {
		size_t len = make_entry(i, buf, sizeof(buf));
		if (ledger_append(l, buf, len, &idx, err, sizeof(err)) != 0 ||
		    idx != i)
			return -1;
	}
	return 0;
}

static int
read_all_ok(struct ledger *l)
{
	char buf[256], err[VMS_ERRLEN];
	uint8_t *data;
	size_t len, want;
	uint64_t i;

	for (i = 0; i < ledger_size(l); i++) {
		want = make_entry(i, buf, sizeof(buf));
		if (ledger_read(l, i, &data, &len, err, sizeof(err)) != 0)
			return -1;
		if (len != want || memcmp(data, buf, len) != 0) {
			free(data);
			return -1;
		}
		free(data);
	}
	return 0;
}

static uint64_t
fsize(const char *dir, const char *name)
{
	struct stat st;
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	if (stat(p, &st) != 0)
		st.st_size = -1;
	free(p);
	return (uint64_t)st.st_size;
}

/* Whole-directory snapshot of the files we damage. */
struct snap {
	uint8_t	*data[6];
	size_t	 len[6];
};
static const char *snap_files[6] = {
	"entries", "index", "hashes", "checkpoint", "checkpoints", "vkey"
};

static void
snap_take(const char *dir, struct snap *s)
{
	char err[VMS_ERRLEN], *p;
	int i;

	for (i = 0; i < 6; i++) {
		xasprintf(&p, "%s/%s", dir, snap_files[i]);
		if (read_file(p, 1 << 26, &s->data[i], &s->len[i], err,
		    sizeof(err)) != 0)
			fatalx("snap: %s", err);
		free(p);
	}
}

static void
snap_restore(const char *dir, const struct snap *s)
{
	char *p;
	int i, fd;

	for (i = 0; i < 6; i++) {
		xasprintf(&p, "%s/%s", dir, snap_files[i]);
		fd = open(p, O_WRONLY | O_TRUNC);
		if (fd < 0 || write_all(fd, s->data[i], s->len[i]) != 0)
			fatal("restore %s", p);
		close(fd);
		free(p);
	}
}

static void
snap_free(struct snap *s)
{
	int i;

	for (i = 0; i < 6; i++)
		free(s->data[i]);
}

static void
trunc_file(const char *dir, const char *name, uint64_t len)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	if (truncate(p, (off_t)len) != 0)
		fatal("truncate %s", p);
	free(p);
}

static void
flip_bit(const char *dir, const char *name, uint64_t off, int bit)
{
	uint8_t b;
	char *p;
	int fd;

	xasprintf(&p, "%s/%s", dir, name);
	if ((fd = open(p, O_RDWR)) < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		fatal("flip %s", p);
	b ^= (uint8_t)(1 << bit);
	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		fatal("flip %s", p);
	close(fd);
	free(p);
}

/* Offset of entry i's record in `entries`, from the index file. */
static uint64_t
idx_off(const char *dir, uint64_t i)
{
	uint8_t b[8];
	char *p;
	int fd;

	xasprintf(&p, "%s/index", dir);
	if ((fd = open(p, O_RDONLY)) < 0 || pread(fd, b, 8, (off_t)(i * 8))
	    != 8)
		fatal("idx_off %s", p);
	close(fd);
	free(p);
	return ledger_get_be64(b);
}

/* Create a ledger with `n` committed entries in batches of `batch`. */
static char *
make_ledger(uint64_t n, uint64_t batch)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = new_dir();
	uint64_t i;

	if (ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) != 0)
		fatalx("create: %s", err);
	for (i = 0; i < n; i += batch) {
		uint64_t k = n - i < batch ? n - i : batch;
		if (append_n(l, i, k) != 0 ||
		    ledger_commit(l, err, sizeof(err)) != 0)
			fatalx("append/commit: %s", err);
	}
	ledger_close(l);
	return d;
}

static int
checkpoint_of(const char *note, struct checkpoint *cp)
{
	char err[VMS_ERRLEN];
	size_t tl;

	if (note_verify(note, strlen(note), &ver, 1, &tl, NULL, err,
	    sizeof(err)) != 0)
		return -1;
	return checkpoint_parse(note, tl, cp, err, sizeof(err));
}

TEST(create_append_reopen)
{
	struct ledger *l;
	struct ledger_recovery rec;
	struct checkpoint cp;
	merkle_hash leaves[10], root, r2;
	char err[VMS_ERRLEN], buf[256], *d = new_dir(), *vk;
	uint64_t i;
	int nv;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	if (l == NULL) {
		FAILF("create: %s", err);
		free(d);
		return;
	}
	CHECK_EQ_INT(ledger_size(l), 0);
	CHECK_EQ_STR(ledger_origin(l), ORIGIN);
	vk = note_vkey_format(&ver);
	CHECK_EQ_STR(ledger_vkey(l), vk);
	free(vk);
	CHECK(checkpoint_of(ledger_checkpoint(l), &cp) == 0 && cp.size == 0);
	merkle_empty_root(root);
	CHECK(memcmp(cp.root, root, 32) == 0);
	/* empty entries are allowed */
	CHECK(ledger_append(l, "", 0, &i, err, sizeof(err)) == 0 && i == 0);
	CHECK(ledger_rollback(l, err, sizeof(err)) == 0);
	CHECK(append_n(l, 0, 10) == 0);
	CHECK_EQ_INT(ledger_size(l), 10);
	CHECK_EQ_INT(ledger_committed_size(l), 0);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 10);
	CHECK(checkpoint_of(ledger_checkpoint(l), &cp) == 0 && cp.size == 10);
	for (i = 0; i < 10; i++)
		merkle_leaf_hash(buf, make_entry(i, buf, sizeof(buf)),
		    leaves[i]);
	merkle_root(leaves, 10, root);
	CHECK(memcmp(cp.root, root, 32) == 0);
	CHECK(ledger_root(l, 10, r2) == 0 && memcmp(r2, root, 32) == 0);
	CHECK(ledger_leaf_hash(l, 3, r2) == 0 && memcmp(r2, leaves[3], 32)
	    == 0);
	CHECK(ledger_leaf_hash(l, 10, r2) == -1);
	CHECK(ledger_read(l, 10, (uint8_t **)&vk, &i, err, sizeof(err)) == -1);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	/* a second writer is refused while the first is open */
	{
		struct ledger *l2;
		CHECK(ledger_open(d, signer, &l2, NULL, err, sizeof(err)) ==
		    -1);
		CHECK_CONTAINS(err, "open for writing by another process");
	}
	ledger_close(l);

	CHECK(ledger_open(d, signer, &l, &rec, err, sizeof(err)) == 0);
	CHECK(rec.dropped_entries == 0 && rec.dropped_bytes == 0);
	CHECK_EQ_INT(ledger_size(l), 10);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_root(l, 10, r2) == 0 && memcmp(r2, root, 32) == 0);
	for (i = 1; i <= 10; i++) {
		merkle_root(leaves, i, root);
		CHECK(ledger_root(l, i, r2) == 0 && memcmp(r2, root, 32) == 0);
	}
	ledger_close(l);

	/* read-only */
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_size(l), 10);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_append(l, "x", 1, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "read-only");
	CHECK(ledger_commit(l, err, sizeof(err)) == -1);
	CHECK(note_verify(ledger_checkpoint(l), strlen(ledger_checkpoint(l)),
	    &ver, 1, NULL, &nv, err, sizeof(err)) == 0 && nv == 1);
	ledger_close(l);

	/* create refuses an existing ledger, and a foreign origin */
	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "already holds a ledger");
	free(d);
	d = new_dir();
	CHECK(ledger_create(d, "other.origin", signer, &l, err, sizeof(err))
	    == -1);
	free(d);
}

TEST(batches_history_proofs)
{
	static const uint64_t batches[] = { 1, 1, 3, 32, 5, 8, 1, 64, 13 };
	uint64_t sizes[16], total = 0, i, j;
	merkle_hash proof[MERKLE_MAX_PROOF], leaf, ri, rj;
	struct checkpoint ci, cj;
	struct ledger *l;
	char err[VMS_ERRLEN], *d = new_dir(), *ni, *nj, buf[256];
	size_t nb = sizeof(batches) / sizeof(batches[0]), k, np;
	int ok = 1;

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	sizes[0] = 0;
	for (k = 0; k < nb; k++) {
		CHECK(append_n(l, total, batches[k]) == 0);
		total += batches[k];
		CHECK(ledger_commit(l, err, sizeof(err)) == 0);
		sizes[k + 1] = total;
	}
	/* nothing new: no-op, no history record */
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	ledger_close(l);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	for (i = 0; i <= nb; i++) {
		if (ledger_checkpoint_at(l, sizes[i], &ni, err, sizeof(err))
		    != 0 || checkpoint_of(ni, &ci) != 0 ||
		    ci.size != sizes[i]) {
			FAILF("checkpoint_at(%" PRIu64 "): %s", sizes[i], err);
			continue;
		}
		for (j = i; j <= nb; j++) {
			if (ledger_checkpoint_at(l, sizes[j], &nj, err,
			    sizeof(err)) != 0 || checkpoint_of(nj, &cj) != 0) {
				ok = 0;
				continue;
			}
			if (ledger_consistency_proof(l, ci.size, cj.size, proof,
			    &np, err, sizeof(err)) != 0 ||
			    merkle_verify_consistency(ci.size, cj.size, ci.root,
			    cj.root, proof, np) != 0)
				ok = 0;
			free(nj);
		}
		/* inclusion of every entry below this checkpoint */
		for (j = 0; j < ci.size; j++) {
			merkle_leaf_hash(buf, make_entry(j, buf, sizeof(buf)),
			    leaf);
			if (ledger_inclusion_proof(l, j, ci.size, proof, &np,
			    err, sizeof(err)) != 0 ||
			    merkle_verify_inclusion(leaf, j, ci.size, proof,
			    np, ci.root) != 0)
				ok = 0;
		}
		free(ni);
	}
	CHECK(ok);
	CHECK(ledger_checkpoint_at(l, 3, &ni, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "no checkpoint was signed at size 3");
	CHECK(ledger_inclusion_proof(l, total, total, proof, &np, err,
	    sizeof(err)) == -1);
	CHECK(ledger_consistency_proof(l, 2, total + 1, proof, &np, err,
	    sizeof(err)) == -1);
	/* roots at arbitrary sizes agree with the in-memory reference */
	{
		merkle_hash *lv = xcalloc(total, sizeof(merkle_hash));
		for (j = 0; j < total; j++)
			merkle_leaf_hash(buf, make_entry(j, buf, sizeof(buf)),
			    lv[j]);
		for (j = 0; j <= total; j++) {
			merkle_root(lv, j, ri);
			if (ledger_root(l, j, rj) != 0 ||
			    memcmp(ri, rj, 32) != 0)
				FAILF("root at %" PRIu64, j);
		}
		free(lv);
	}
	ledger_close(l);
	free(d);
}

TEST(rollback)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(5, 5);

	uint64_t cend = fsize(d, "entries");

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_append(l, "junk1", 5, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_append(l, "junk2", 5, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_size(l), 7);
	CHECK(ledger_rollback(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_size(l), 5);
	CHECK_EQ_INT(fsize(d, "entries"), cend);
	CHECK_EQ_INT(fsize(d, "index"), 5 * 8);
	CHECK(append_n(l, 5, 3) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	free(d);
}

/*
 * A crash after appending an uncommitted record, with the entries file cut
 * at every byte offset of that record: open recovers to the checkpoint.
 */
TEST(torn_tail_every_offset)
{
	struct ledger *l;
	struct ledger_recovery rec;
	struct snap s;
	char err[VMS_ERRLEN], *d = make_ledger(6, 3);
	uint64_t cend, eend, t, iend, hend;
	int ok = 1;

	cend = fsize(d, "entries");
	iend = fsize(d, "index");
	hend = fsize(d, "hashes");
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(append_n(l, 6, 2) == 0);	/* two uncommitted, 7 is a carry */
	ledger_close(l);		/* "crash": no commit */
	eend = fsize(d, "entries");
	CHECK(eend > cend);
	snap_take(d, &s);
	for (t = cend; t <= eend; t++) {
		snap_restore(d, &s);
		trunc_file(d, "entries", t);
		/* read-only: reported, ignored, nothing cut */
		if (ledger_open(d, NULL, &l, &rec, err, sizeof(err)) != 0 ||
		    ledger_size(l) != 6 || rec.dropped_bytes != t - cend ||
		    rec.dropped_entries != 2 || fsize(d, "entries") != t) {
			FAILF("read-only open at %" PRIu64 ": %s", t, err);
			ok = 0;
		}
		ledger_close(l);
		if (ledger_open(d, signer, &l, &rec, err, sizeof(err)) != 0) {
			FAILF("open at %" PRIu64 ": %s", t, err);
			ok = 0;
			continue;
		}
		if (ledger_size(l) != 6 || rec.dropped_bytes != t - cend ||
		    rec.dropped_entries != 2 || read_all_ok(l) != 0 ||
		    fsize(d, "entries") != cend || fsize(d, "index") != iend ||
		    fsize(d, "hashes") != hend) {
			FAILF("recovery at %" PRIu64 " wrong", t);
			ok = 0;
		}
		/* the ledger is writable again */
		if (append_n(l, 6, 1) != 0 ||
		    ledger_commit(l, err, sizeof(err)) != 0 ||
		    ledger_verify_all(l, err, sizeof(err)) != 0)
			ok = 0;
		ledger_close(l);
		if (ledger_open(d, NULL, &l, &rec, err, sizeof(err)) != 0 ||
		    ledger_size(l) != 7 || rec.dropped_entries != 0)
			ok = 0;
		ledger_close(l);
	}
	CHECK(ok);
	/* torn index and hashes tails, at every byte */
	for (t = iend; t < iend + 16; t++) {
		snap_restore(d, &s);
		trunc_file(d, "index", t);
		if (ledger_open(d, signer, &l, &rec, err, sizeof(err)) != 0 ||
		    ledger_size(l) != 6 || fsize(d, "index") != iend ||
		    fsize(d, "entries") != cend)
			FAILF("index cut at %" PRIu64 ": %s", t, err);
		ledger_close(l);
	}
	for (t = hend; t < hend + 32 * 4; t++) {
		snap_restore(d, &s);
		trunc_file(d, "hashes", t);
		if (ledger_open(d, signer, &l, &rec, err, sizeof(err)) != 0 ||
		    ledger_size(l) != 6 || fsize(d, "hashes") != hend ||
		    rec.dropped_entries != 2)
			FAILF("hashes cut at %" PRIu64 ": %s", t, err);
		ledger_close(l);
	}
	snap_free(&s);
	free(d);
}

/*
 * Cutting into data under the sync point (the `checkpoint` file) can
 * never be "recovered": it signs it. Every offset inside the last entry
 * record (with and without an uncommitted record after it) is refused as
 * corrupt. (Cutting its commit record after it loses nothing: the
 * checkpoint file holds the same note.)
 */
TEST(truncated_committed_refused)
{
	struct ledger *l;
	struct snap s;
	char err[VMS_ERRLEN], *d = make_ledger(5, 5), want[256];
	uint64_t cend, last, lend, t, iend, hend;
	int ok = 1, pass;

	cend = fsize(d, "entries");
	iend = fsize(d, "index");
	hend = fsize(d, "hashes");
	last = idx_off(d, 4);
	lend = last + 4 + make_entry(4, want, sizeof(want));
	CHECK(lend < cend);	/* then the commit record of the batch */
	snprintf(want, sizeof(want), "ledger corrupt: %s/entries is truncated "
	    "inside committed entry 4", d);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			CHECK(ledger_open(d, signer, &l, NULL, err,
			    sizeof(err)) == 0);
			CHECK(append_n(l, 5, 1) == 0);
			ledger_close(l);
		}
		snap_take(d, &s);
		for (t = last; t < lend; t++) {
			snap_restore(d, &s);
			trunc_file(d, "entries", t);
			if (ledger_open(d, signer, &l, NULL, err, sizeof(err))
			    == 0) {
				ledger_close(l);
				FAILF("cut at %" PRIu64 " accepted", t);
				ok = 0;
			} else if (strncmp(err, want, strlen(want)) != 0) {
				FAILF("cut at %" PRIu64 ": %s", t, err);
				ok = 0;
			}
			if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) ==
			    0) {
				ledger_close(l);
				ok = 0;
			}
		}
		/* nothing was truncated by the refused opens */
		CHECK_EQ_INT(fsize(d, "entries"), lend - 1);
		snap_restore(d, &s);
		snap_free(&s);
	}
	CHECK(ok);
	/* committed index / hashes cut */
	snap_take(d, &s);
	trunc_file(d, "index", iend - 1);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "index holds 4 entries, the checkpoint 5");
	snap_restore(d, &s);
	trunc_file(d, "hashes", hend - 1);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "hashes is");
	snap_restore(d, &s);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	ledger_close(l);
	snap_free(&s);
	free(d);
}

TEST(bitflips)
{
	struct ledger *l;
	struct snap s;
	char err[VMS_ERRLEN], *d = make_ledger(100, 10), e7[256];
	uint8_t *data;
	size_t len;
	uint64_t off;

	snap_take(d, &s);
	/* a bit in the middle of entry 37: open is fine, reading 37 is not */
	off = idx_off(d, 37);
	flip_bit(d, "entries", off + 4 + 3, 2);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK(ledger_read(l, 36, &data, &len, err, sizeof(err)) == 0);
		free(data);
		CHECK(ledger_read(l, 37, &data, &len, err, sizeof(err)) == -1);
		CHECK_EQ_STR(err, "ledger corrupt: entry 37 does not match its "
		    "leaf hash");
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		CHECK_EQ_STR(err, "ledger corrupt: entry 37 does not match its "
		    "leaf hash");
		ledger_close(l);
	}
	/* a flipped length field */
	snap_restore(d, &s);
	flip_bit(d, "entries", off + 3, 0);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK(ledger_read(l, 37, &data, &len, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "entry 37");
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "entry 37");
		ledger_close(l);
	}
	/* the last committed entry is checked at open */
	snap_restore(d, &s);
	flip_bit(d, "entries", idx_off(d, 99) + 4 + make_entry(99, e7,
	    sizeof(e7)) - 2, 5);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == -1);
	CHECK_EQ_STR(err, "ledger corrupt: entry 99 does not match its leaf "
	    "hash");
	/* hashes: size 100 = 64+32+4; the level-6 peak is stored hash 126 */
	snap_restore(d, &s);
	flip_bit(d, "hashes", 126 * 32 + 7, 1);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "do not match the signed checkpoint");
	/* a non-peak leaf hash (entry 10 = stored 18): read and verify */
	snap_restore(d, &s);
	flip_bit(d, "hashes", 18 * 32, 0);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK(ledger_read(l, 10, &data, &len, err, sizeof(err)) == -1);
		CHECK_EQ_STR(err, "ledger corrupt: entry 10 does not match its "
		    "leaf hash");
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		ledger_close(l);
	}
	/* an inner stored hash (level 1 over entries 10,11 = stored 20) */
	snap_restore(d, &s);
	flip_bit(d, "hashes", 20 * 32 + 31, 7);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK(read_all_ok(l) == 0);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		CHECK_EQ_STR(err, "ledger corrupt: stored hash 20 (completed by "
		    "entry 11) is wrong");
		ledger_close(l);
	}
	/* every byte of the checkpoint */
	{
		int accepted = 0;
		size_t b;

		for (b = 0; b < s.len[3]; b++) {
			snap_restore(d, &s);
			flip_bit(d, "checkpoint", b, (int)(b % 8));
			if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) ==
			    0) {
				ledger_close(l);
				accepted++;
			}
		}
		CHECK_EQ_INT(accepted, 0);
	}
	/* the index of the last committed entry pointing at an identical
	 * earlier record must not make committed data look like a tail */
	{
		struct ledger *w;
		char *d2 = new_dir();
		uint8_t ib[8];
		uint64_t elen2;
		int fd;
		char *ip;

		CHECK(ledger_create(d2, ORIGIN, signer, &w, err, sizeof(err))
		    == 0);
		CHECK(ledger_append(w, "same", 4, NULL, err, sizeof(err)) == 0);
		CHECK(ledger_append(w, "other", 5, NULL, err, sizeof(err)) ==
		    0);
		CHECK(ledger_append(w, "same", 4, NULL, err, sizeof(err)) == 0);
		CHECK(ledger_commit(w, err, sizeof(err)) == 0);
		ledger_close(w);
		elen2 = fsize(d2, "entries");
		xasprintf(&ip, "%s/index", d2);
		memset(ib, 0, 8);	/* entry 2 -> offset 0 (entry 0) */
		fd = open(ip, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, ib, 8, 16) == 8);
		close(fd);
		free(ip);
		CHECK(ledger_open(d2, signer, &w, NULL, err, sizeof(err)) ==
		    -1);
		CHECK_CONTAINS(err, "entries 1 and 2 are not adjacent");
		CHECK_EQ_INT(fsize(d2, "entries"), elen2);
		CHECK(elen2 > 3 * 4 + 13);
		free(d2);
	}
	/* index entry pointing elsewhere */
	snap_restore(d, &s);
	flip_bit(d, "index", 50 * 8 + 7, 3);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK(ledger_read(l, 50, &data, &len, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "entry 50");
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		ledger_close(l);
	}
	snap_restore(d, &s);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	snap_free(&s);
	free(d);
}

TEST(wrong_keys)
{
	struct ledger *l;
	struct snap s;
	struct checkpoint cp;
	struct note_signer *impostor;
	char err[VMS_ERRLEN], *d = make_ledger(4, 2), *text, *note, *p;
	uint8_t seed[32];
	size_t tl;

	snap_take(d, &s);
	/* the ledger refuses a signer that is not its key */
	CHECK(ledger_open(d, other, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "is not the ledger's key");
	/* a checkpoint signed by another key with the same name */
	randombytes_buf(seed, 32);
	impostor = note_signer_new(ORIGIN, seed);
	CHECK(note_verify((char *)s.data[3], s.len[3], &ver, 1, &tl, NULL, err,
	    sizeof(err)) == 0);
	CHECK(checkpoint_parse((char *)s.data[3], tl, &cp, err, sizeof(err))
	    == 0);
	text = checkpoint_format(&cp);
	note = note_sign(impostor, text, strlen(text), err, sizeof(err));
	xasprintf(&p, "%s/checkpoint", d);
	CHECK(write_file_atomic(p, note, strlen(note), 0644, err, sizeof(err))
	    == 0);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "no signature by a known key");
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == -1);
	free(p);
	free(note);
	free(text);
	/* a checkpoint with a different size signed by the right key */
	snap_restore(d, &s);
	cp.size = 3;
	text = checkpoint_format(&cp);
	note = note_sign(signer, text, strlen(text), err, sizeof(err));
	xasprintf(&p, "%s/checkpoint", d);
	CHECK(write_file_atomic(p, note, strlen(note), 0644, err, sizeof(err))
	    == 0);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "do not match the signed checkpoint");
	free(p);
	free(note);
	free(text);
	snap_restore(d, &s);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	ledger_close(l);
	note_signer_free(impostor);
	snap_free(&s);
	free(d);
}

TEST(history_repair)
{
	struct ledger *l;
	struct snap s;
	char err[VMS_ERRLEN], *d = make_ledger(9, 3), *n;
	uint64_t hlen, cplen;

	snap_take(d, &s);
	hlen = s.len[4];
	cplen = s.len[3];
	/* the checkpoint was renamed but the history append was lost */
	trunc_file(d, "checkpoints", hlen - 4 - cplen);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(fsize(d, "checkpoints"), hlen);
	CHECK(ledger_checkpoint_at(l, 6, &n, err, sizeof(err)) == 0);
	free(n);
	ledger_close(l);
	/* a torn history append after it */
	snap_restore(d, &s);
	trunc_file(d, "checkpoints", hlen - 10);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	ledger_close(l);
	CHECK_EQ_INT(fsize(d, "checkpoints"), hlen - 10);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(fsize(d, "checkpoints"), hlen);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	/* a tampered historic checkpoint is found by verify_all */
	snap_restore(d, &s);
	flip_bit(d, "checkpoints", 4 + 3, 0);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "checkpoints: record at offset 0");
	ledger_close(l);
	snap_free(&s);
	free(d);
}

/* File `name` in dir holds exactly these bytes. */
static int
file_is(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char err[VMS_ERRLEN], *p;
	uint8_t *buf;
	size_t n;
	int eq;

	xasprintf(&p, "%s/%s", dir, name);
	if (read_file(p, 1 << 26, &buf, &n, err, sizeof(err)) != 0)
		fatalx("file_is: %s", err);
	free(p);
	eq = n == len && memcmp(buf, data, len) == 0;
	free(buf);
	return eq;
}

/*
 * A "crash" after three commits past a sync point: make_ledger(6, 3)
 * syncs at close (size 6); then commits of sizes 8, 9 and 12 and a
 * snapshot taken before ledger_close's sync point. The checkpoint file
 * still says 6; index, hashes and history are complete (page cache).
 */
struct crash {
	char		*d;
	struct snap	 s;
	uint64_t	 iend6, hend6, hist6, cend6;
	char		*note12;
};

static void
crash_make(struct crash *c)
{
	struct ledger *l;
	char err[VMS_ERRLEN];

	c->d = make_ledger(6, 3);
	c->iend6 = fsize(c->d, "index");
	c->hend6 = fsize(c->d, "hashes");
	c->hist6 = fsize(c->d, "checkpoints");
	c->cend6 = fsize(c->d, "entries");
	if (ledger_open(c->d, signer, &l, NULL, err, sizeof(err)) != 0 ||
	    append_n(l, 6, 2) != 0 || ledger_commit(l, err, sizeof(err)) != 0 ||
	    append_n(l, 8, 1) != 0 || ledger_commit(l, err, sizeof(err)) != 0 ||
	    append_n(l, 9, 3) != 0 || ledger_commit(l, err, sizeof(err)) != 0)
		fatalx("crash_make: %s", err);
	c->note12 = xstrdup(ledger_checkpoint(l));
	snap_take(c->d, &c->s);
	ledger_close(l);
}

static void
crash_free(struct crash *c)
{
	snap_free(&c->s);
	free(c->note12);
	free(c->d);
}

/* The state after a crash that lost the sync point: recovered. */
TEST(recover_lost_sync_point)
{
	struct crash c;
	struct ledger *l;
	struct ledger_recovery rec;
	struct checkpoint cp;
	char err[VMS_ERRLEN], *n;

	crash_make(&c);
	/* the commits did not touch `checkpoint`: one fdatasync each */
	CHECK(checkpoint_of((char *)c.s.data[3], &cp) == 0);
	CHECK_EQ_INT(cp.size, 6);
	CHECK(c.s.len[0] > c.cend6);
	snap_restore(c.d, &c.s);
	CHECK(ledger_open(c.d, NULL, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_size(l), 12);
		CHECK_EQ_STR(ledger_checkpoint(l), c.note12);
		CHECK(read_all_ok(l) == 0);
		ledger_close(l);
	}
	CHECK(file_is(c.d, "checkpoint", c.s.data[3], c.s.len[3]));
	CHECK(ledger_open(c.d, signer, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_size(l), 12);
		CHECK_EQ_INT(ledger_committed_size(l), 12);
		CHECK_EQ_INT(rec.recovered_entries, 6);
		CHECK_EQ_INT(rec.dropped_entries, 0);
		CHECK_EQ_STR(ledger_checkpoint(l), c.note12);
		CHECK(read_all_ok(l) == 0);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
		CHECK(ledger_checkpoint_at(l, 8, &n, err, sizeof(err)) == 0);
		free(n);
		CHECK(ledger_checkpoint_at(l, 9, &n, err, sizeof(err)) == 0);
		free(n);
		/* the open ran the sync point: `checkpoint` is the latest */
		CHECK(file_is(c.d, "checkpoint", (uint8_t *)c.note12,
		    strlen(c.note12)));
		CHECK(append_n(l, 12, 1) == 0);
		CHECK(ledger_commit(l, err, sizeof(err)) == 0);
		ledger_close(l);
	}
	CHECK(ledger_open(c.d, NULL, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_size(l), 13);
		CHECK_EQ_INT(rec.recovered_entries, 0);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
		ledger_close(l);
	}
	crash_free(&c);
}

/* index and hashes cut anywhere past the sync point: rebuilt, same bytes. */
TEST(recover_index_hashes_behind)
{
	struct crash c;
	struct ledger *l;
	struct ledger_recovery rec;
	char err[VMS_ERRLEN];
	uint64_t t, ro;
	int ok = 1, which;

	crash_make(&c);
	for (which = 1; which <= 3; which++) {
		uint64_t lo = which == 2 ? c.hend6 : c.iend6;
		uint64_t hi = which == 2 ? c.s.len[2] : c.s.len[1];

		for (t = lo; t <= hi; t++) {
			snap_restore(c.d, &c.s);
			if (which != 2)
				trunc_file(c.d, "index", t);
			if (which != 1)
				trunc_file(c.d, "hashes", which == 2 ? t :
				    c.hend6 + (t - c.iend6) * 3);
			/*
			 * read-only: the last commit the index and hashes
			 * hold (found from the end of the index), else the
			 * tail only if they are complete, else the sync point
			 */
			ro = 6;
			if (which == 1)
				ro = t / 8 >= 12 ? 12 : t / 8 >= 9 ? 9 :
				    t / 8 >= 8 ? 8 : 6;
			else if (which == 2 && t == hi)
				ro = 12;
			err[0] = '\0';
			if (ledger_open(c.d, NULL, &l, &rec, err,
			    sizeof(err)) != 0 || ledger_size(l) != ro ||
			    read_all_ok(l) != 0) {
				FAILF("read-only, cut %d at %" PRIu64 ": size "
				    "%" PRIu64 ", want %" PRIu64 " %s", which, t,
				    l ? ledger_size(l) : 0, ro, err);
				ok = 0;
			}
			ledger_close(l);
			if (ledger_open(c.d, signer, &l, &rec, err,
			    sizeof(err)) != 0) {
				FAILF("cut %d at %" PRIu64 ": %s", which, t,
				    err);
				ok = 0;
				continue;
			}
			if (ledger_size(l) != 12 || rec.recovered_entries != 6 ||
			    read_all_ok(l) != 0 ||
			    ledger_verify_all(l, err, sizeof(err)) != 0 ||
			    !file_is(c.d, "index", c.s.data[1], c.s.len[1]) ||
			    !file_is(c.d, "hashes", c.s.data[2], c.s.len[2])) {
				FAILF("cut %d at %" PRIu64 ": not rebuilt",
				    which, t);
				ok = 0;
			}
			ledger_close(l);
		}
	}
	CHECK(ok);
	crash_free(&c);
}

/* A torn or missing history tail: completed from `entries`. */
TEST(recover_torn_history)
{
	struct crash c;
	struct ledger *l;
	char err[VMS_ERRLEN], *n;
	uint64_t t;
	int ok = 1;

	crash_make(&c);
	for (t = c.hist6 - 40; t <= c.s.len[4]; t++) {
		snap_restore(c.d, &c.s);
		trunc_file(c.d, "checkpoints", t);
		if (ledger_open(c.d, signer, &l, NULL, err, sizeof(err)) != 0) {
			FAILF("history cut at %" PRIu64 ": %s", t, err);
			ok = 0;
			continue;
		}
		if (ledger_size(l) != 12 || !file_is(c.d, "checkpoints",
		    c.s.data[4], c.s.len[4]) || ledger_checkpoint_at(l, 9, &n,
		    err, sizeof(err)) != 0) {
			FAILF("history cut at %" PRIu64 ": not repaired", t);
			ok = 0;
		} else
			free(n);
		ledger_close(l);
	}
	CHECK(ok);
	crash_free(&c);
}

/*
 * `entries` cut anywhere past the sync point, the history never written
 * (it is appended after the commit's fdatasync): the ledger keeps every
 * batch whose commit record is whole and drops the rest. With the
 * history still naming a later checkpoint, the cut is corruption.
 */
TEST(recover_entries_cut)
{
	struct crash c;
	struct ledger *l;
	struct ledger_recovery rec;
	char err[VMS_ERRLEN];
	uint64_t t, e8, e9, want, wend;
	int ok = 1;

	crash_make(&c);
	snap_restore(c.d, &c.s);
	e8 = idx_off(c.d, 8);	/* end of the commit record of size 8 */
	e9 = idx_off(c.d, 9);
	for (t = c.cend6; t <= c.s.len[0]; t++) {
		want = t == c.s.len[0] ? 12 : t >= e9 ? 9 : t >= e8 ? 8 : 6;
		wend = want == 12 ? c.s.len[0] : want == 9 ? e9 : want == 8 ?
		    e8 : c.cend6;
		snap_restore(c.d, &c.s);
		trunc_file(c.d, "entries", t);
		trunc_file(c.d, "checkpoints", c.hist6);
		if (ledger_open(c.d, NULL, &l, &rec, err, sizeof(err)) != 0 ||
		    ledger_size(l) != want || rec.dropped_bytes != t - wend) {
			FAILF("read-only, entries cut at %" PRIu64 ": %s", t,
			    err);
			ok = 0;
		}
		ledger_close(l);
		if (ledger_open(c.d, signer, &l, &rec, err, sizeof(err)) != 0) {
			FAILF("entries cut at %" PRIu64 ": %s", t, err);
			ok = 0;
			continue;
		}
		if (ledger_size(l) != want || rec.dropped_bytes != t - wend ||
		    fsize(c.d, "entries") != wend || read_all_ok(l) != 0 ||
		    ledger_verify_all(l, err, sizeof(err)) != 0 ||
		    append_n(l, want, 1) != 0 ||
		    ledger_commit(l, err, sizeof(err)) != 0) {
			FAILF("entries cut at %" PRIu64 ": wrong recovery", t);
			ok = 0;
		}
		ledger_close(l);
	}
	CHECK(ok);
	/* the history proves size 9 was committed */
	snap_restore(c.d, &c.s);
	trunc_file(c.d, "entries", e9 - 1);
	CHECK(ledger_open(c.d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "holds a signed checkpoint past the last one");
	CHECK_EQ_INT(fsize(c.d, "entries"), e9 - 1);
	/* a flipped bit in a recovered entry: its commit record disagrees */
	snap_restore(c.d, &c.s);
	flip_bit(c.d, "entries", idx_off(c.d, 10) + 6, 1);
	CHECK(ledger_open(c.d, signer, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "does not match the 12 entries before it");
	crash_free(&c);
}

/* A reader of a ledger open for writing sees the last commit at once. */
TEST(reader_sees_last_commit)
{
	struct ledger *w, *r;
	struct ledger_recovery rec;
	char err[VMS_ERRLEN], *d = make_ledger(5, 5), *n;
	uint64_t i;

	CHECK(ledger_open(d, signer, &w, NULL, err, sizeof(err)) == 0);
	if (w == NULL)
		return;
	for (i = 5; i < 50; i += 5) {
		CHECK(append_n(w, i, 5) == 0);
		CHECK(ledger_commit(w, err, sizeof(err)) == 0);
	}
	CHECK(append_n(w, 50, 3) == 0);	/* a batch not yet committed, */
	CHECK(ledger_flush(w, err, sizeof(err)) == 0);	/* but written */
	CHECK(ledger_open(d, NULL, &r, &rec, err, sizeof(err)) == 0);
	if (r != NULL) {
		CHECK_EQ_INT(ledger_size(r), 50);
		CHECK_EQ_INT(rec.recovered_entries, 45);
		CHECK_EQ_INT(rec.dropped_entries, 3);
		CHECK_EQ_STR(ledger_checkpoint(r), ledger_checkpoint(w));
		CHECK(read_all_ok(r) == 0);
		CHECK(ledger_checkpoint_at(r, 25, &n, err, sizeof(err)) == 0);
		free(n);
		CHECK(ledger_verify_all(r, err, sizeof(err)) == 0);
		ledger_close(r);
	}
	CHECK_EQ_INT(fsize(d, "index"), 53 * 8);	/* the reader cut nothing */
	CHECK(ledger_commit(w, err, sizeof(err)) == 0);
	ledger_close(w);
	free(d);
}

TEST(fsync_failure_rolls_back)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(4, 4), *before;
	uint64_t eend = fsize(d, "entries");

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	before = xstrdup(ledger_checkpoint(l));
	CHECK(append_n(l, 4, 3) == 0);
	ledger_fault_fsync = 1;
	CHECK(ledger_commit(l, err, sizeof(err)) == -1);
	ledger_fault_fsync = 0;
	CHECK_CONTAINS(err, "fsync: Input/output error; 3 uncommitted "
	    "entries discarded");
	CHECK_EQ_INT(ledger_size(l), 4);
	CHECK_EQ_INT(ledger_committed_size(l), 4);
	CHECK_EQ_STR(ledger_checkpoint(l), before);
	CHECK_EQ_INT(fsize(d, "entries"), eend);
	CHECK_EQ_INT(fsize(d, "index"), 32);
	CHECK(append_n(l, 4, 2) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_size(l), 6);
	ledger_close(l);
	/* opening something that is not a ledger */
	CHECK(ledger_open(tmpdir, NULL, &l, NULL, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "vkey: No such file");
	free(before);
	free(d);
}


/*
 * The three-phase commit the worker pipelines: appends made while a commit
 * is in flight go into the next one; they are not committed by it.
 */
TEST(commit_in_phases)
{
	struct ledger *l;
	struct ledger_recovery rec;
	struct ledger_ticket t, t2;
	struct checkpoint cp;
	char err[VMS_ERRLEN], *d = make_ledger(4, 4), *note;

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	/* nothing appended: nothing to prepare */
	CHECK(ledger_commit_prepare(l, &t, err, sizeof(err)) == COMMIT_NOTHING);
	CHECK(append_n(l, 4, 3) == 0);
	CHECK(ledger_commit_prepare(l, &t, err, sizeof(err)) == COMMIT_TICKET);
	CHECK_EQ_INT(t.size, 7);
	CHECK_EQ_INT(ledger_committed_size(l), 4);	/* not yet durable */
	/* one in flight at a time; no rollback under it */
	CHECK(ledger_commit_prepare(l, &t2, err, sizeof(err)) == COMMIT_FAILED);
	CHECK_CONTAINS(err, "already in flight");
	CHECK(ledger_commit(l, err, sizeof(err)) == -1);
	CHECK(ledger_rollback(l, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "in flight");
	/* the next batch executes meanwhile, and is readable */
	CHECK(append_n(l, 7, 2) == 0);
	CHECK(read_all_ok(l) == 0);
	CHECK_EQ_INT(ledger_commit_fsync(&t), 0);
	CHECK(ledger_commit_finish(l, &t, 0, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 7);
	CHECK_EQ_INT(ledger_size(l), 9);
	CHECK(checkpoint_of(ledger_checkpoint(l), &cp) == 0);
	CHECK_EQ_INT(cp.size, 7);
	/* a ticket is finished once */
	CHECK(ledger_commit_finish(l, &t, 0, err, sizeof(err)) == -1);
	ledger_close(l);		/* "crash" before the second commit */
	CHECK(ledger_open(d, signer, &l, &rec, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	CHECK_EQ_INT(ledger_committed_size(l), 7);
	CHECK_EQ_INT(rec.dropped_entries, 2);
	CHECK(ledger_checkpoint_at(l, 7, &note, err, sizeof(err)) == 0);
	free(note);
	CHECK(append_n(l, 7, 2) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	free(d);
}

/* A failed fsync discards its batch and what was appended after it. */
TEST(commit_in_phases_fsync_failure)
{
	struct ledger *l;
	struct ledger_ticket t;
	char err[VMS_ERRLEN], *d = make_ledger(4, 4), *before;
	uint64_t eend = fsize(d, "entries");

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	before = xstrdup(ledger_checkpoint(l));
	CHECK(append_n(l, 4, 3) == 0);
	CHECK(ledger_commit_prepare(l, &t, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(append_n(l, 7, 2) == 0);
	ledger_fault_fsync = 1;
	CHECK_EQ_INT(ledger_commit_fsync(&t), EIO);
	ledger_fault_fsync = 0;
	CHECK(ledger_commit_finish(l, &t, EIO, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "fsync: Input/output error; 5 uncommitted "
	    "entries discarded");
	CHECK_EQ_INT(ledger_size(l), 4);
	CHECK_EQ_INT(ledger_committed_size(l), 4);
	CHECK_EQ_STR(ledger_checkpoint(l), before);
	CHECK_EQ_INT(fsize(d, "entries"), eend);
	CHECK_EQ_INT(fsize(d, "index"), 32);
	CHECK(append_n(l, 4, 1) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	ledger_close(l);
	CHECK(ledger_open(d, NULL, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_size(l), 5);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
		ledger_close(l);
	}
	free(before);
	free(d);
}

/* Appends are buffered: written by the commit (or a read, or a flush). */
TEST(appends_buffered)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(4, 4);
	uint64_t eend = fsize(d, "entries"), iend = fsize(d, "index");
	uint8_t *data;
	size_t len;

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	CHECK(append_n(l, 4, 3) == 0);
	CHECK_EQ_INT(fsize(d, "entries"), eend);
	CHECK_EQ_INT(fsize(d, "index"), iend);
	CHECK(ledger_read(l, 5, &data, &len, err, sizeof(err)) == 0);
	free(data);
	CHECK_EQ_INT(fsize(d, "index"), iend + 3 * 8);	/* the read wrote */
	CHECK(append_n(l, 7, 2) == 0);
	CHECK(ledger_flush(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(fsize(d, "index"), iend + 5 * 8);
	CHECK(ledger_rollback(l, err, sizeof(err)) == 0);
	CHECK(append_n(l, 4, 40) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(fsize(d, "index"), 44 * 8);
	CHECK(read_all_ok(l) == 0);
	CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
	ledger_close(l);
	free(d);
}
TEST(unknown_files_ignored)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(3, 3), *p;

	xasprintf(&p, "%s/state.snap", d);
	CHECK(write_file_atomic(p, "x", 1, 0644, err, sizeof(err)) == 0);
	free(p);
	xasprintf(&p, "%s/status", d);
	CHECK(write_file_atomic(p, "y", 1, 0644, err, sizeof(err)) == 0);
	free(p);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	CHECK(read_all_ok(l) == 0);
	ledger_close(l);
	free(d);
}

TEST(too_large)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = new_dir();
	uint8_t *big = xcalloc(1, LEDGER_MAX_ENTRY + 1);

	CHECK(ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) == 0);
	CHECK(ledger_append(l, big, LEDGER_MAX_ENTRY + 1, NULL, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "too large");
	CHECK_EQ_INT(ledger_size(l), 0);
	ledger_close(l);
	free(big);
	free(d);
}

/*
 * A commit record repeated right after itself (found by fuzz-ledger): the
 * open took both as committed, the next append went after the copy, and
 * then the ledger no longer opened ("entries 3 and 4 are not adjacent").
 * The copy commits nothing: it is dropped as an uncommitted tail.
 */
TEST(duplicate_commit_record)
{
	struct ledger_recovery rec;
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(4, 2), *p;
	uint8_t *ent, hdr[4];
	size_t elen;
	uint64_t off, dup;
	int fd;

	/* the last commit record follows entry 3's record */
	xasprintf(&p, "%s/entries", d);
	CHECK(read_file(p, 1 << 20, &ent, &elen, err, sizeof(err)) == 0);
	off = idx_off(d, 3);
	off += 4 + ledger_get_be32(ent + off);
	dup = elen - off;
	memcpy(hdr, ent + off, 4);
	CHECK(ledger_get_be32(hdr) & LEDGER_REC_NOTE);
	fd = open(p, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write_all(fd, ent + off, dup) == 0);
	close(fd);
	free(ent);
	free(p);

	CHECK(ledger_open(d, signer, &l, &rec, err, sizeof(err)) == 0);
	CHECK_EQ_INT(rec.dropped_bytes, dup);
	CHECK_EQ_INT(ledger_committed_size(l), 4);
	CHECK(append_n(l, 4, 1) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	ledger_close(l);
	if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) != 0) {
		FAILF("reopen after the commit: %s", err);
	} else {
		CHECK_EQ_INT(ledger_committed_size(l), 5);
		CHECK(read_all_ok(l) == 0);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
		ledger_close(l);
	}
	free(d);
}

/*
 * The same under the checkpoint (found by fuzz-ledger): e0 e1 C2 C2 e2 e3
 * C4 with the index moved along. The open checks only the last entries,
 * and ledger_read refuses entry 1 (its record and one commit record must
 * fill the index gap); the full rehash must refuse it too, not pass it.
 */
TEST(duplicate_commit_record_inside)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = make_ledger(4, 2), *p;
	uint8_t *ent, *out, b[8];
	size_t elen;
	uint64_t off, end, dup, i;
	int fd;

	xasprintf(&p, "%s/entries", d);
	CHECK(read_file(p, 1 << 20, &ent, &elen, err, sizeof(err)) == 0);
	off = idx_off(d, 1);
	off += 4 + ledger_get_be32(ent + off);	/* C2 */
	end = idx_off(d, 2);
	dup = end - off;
	out = xmalloc(elen + dup);
	memcpy(out, ent, end);
	memcpy(out + end, ent + off, dup);
	memcpy(out + end + dup, ent + end, elen - end);
	CHECK(write_file_atomic(p, out, elen + dup, 0644, err,
	    sizeof(err)) == 0);
	free(out);
	free(ent);
	free(p);
	xasprintf(&p, "%s/index", d);
	fd = open(p, O_RDWR);
	for (i = 2; i < 4; i++) {
		ledger_put_be64(b, idx_off(d, i) + dup);
		CHECK(pwrite(fd, b, 8, (off_t)(i * 8)) == 8);
	}
	close(fd);
	free(p);

	if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) != 0) {
		FAILF("open: %s", err);
	} else {
		CHECK(ledger_verify_all(l, err, sizeof(err)) == -1);
		CHECK_CONTAINS(err, "second commit record in a row");
		ledger_close(l);
	}
	free(d);
}

/* Resident set of this process now, in KiB (/proc/self/statm). */
static long
rss_kib(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL || fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	if (f != NULL)
		fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * A tail of zeros after the last commit (a file extended by a crash, found
 * by fuzz-ledger as a 14 MB tail that took seconds and 10x its size in
 * memory): 4 MiB of zero-length records. The open drops it; its memory
 * must not grow with the tail (the scan used to keep an offset and a leaf
 * hash, 40 bytes, per 4-byte record). Measured in a child: its peak RSS
 * against the RSS it was forked with.
 */
TEST(garbage_tail_memory)
{
	struct ledger_recovery rec;
	struct ledger *l;
	struct rusage ru;
	char err[VMS_ERRLEN], *d = make_ledger(3, 3), *p;
	uint64_t elen;
	struct stat st;
	long before, grew;
	pid_t pid;
	int status;

	xasprintf(&p, "%s/entries", d);
	CHECK(stat(p, &st) == 0);
	elen = (uint64_t)st.st_size;
	CHECK(truncate(p, (off_t)(elen + (4u << 20))) == 0);
	free(p);
	fflush(stdout);
	before = rss_kib();
	if ((pid = fork()) == 0) {
		if (ledger_open(d, signer, &l, &rec, err, sizeof(err)) != 0 ||
		    rec.dropped_bytes != (4u << 20) ||
		    ledger_committed_size(l) != 3)
			_exit(1);
		ledger_close(l);
		_exit(0);
	}
	CHECK(pid > 0 && wait4(pid, &status, 0, &ru) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	grew = ru.ru_maxrss - before;
	CHECK_MSG(grew < 16 * 1024, "opening grew the RSS by %ld KiB", grew);
	free(d);
}

int
main(void)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return 2;
	log_init("test-ledger", LOG_MODE_PLAIN, 0);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	randombytes_buf(seed, 32);
	signer = note_signer_new(ORIGIN, seed);
	randombytes_buf(seed, 32);
	other = note_signer_new(ORIGIN, seed);
	note_verifier_from_signer(signer, &ver);
	RUN(create_append_reopen);
	RUN(batches_history_proofs);
	RUN(rollback);
	RUN(torn_tail_every_offset);
	RUN(truncated_committed_refused);
	RUN(bitflips);
	RUN(wrong_keys);
	RUN(history_repair);
	RUN(recover_lost_sync_point);
	RUN(recover_index_hashes_behind);
	RUN(recover_torn_history);
	RUN(recover_entries_cut);
	RUN(reader_sees_last_commit);
	RUN(fsync_failure_rolls_back);
	RUN(commit_in_phases);
	RUN(commit_in_phases_fsync_failure);
	RUN(appends_buffered);
	RUN(unknown_files_ignored);
	RUN(too_large);
	RUN(duplicate_commit_record);
	RUN(duplicate_commit_record_inside);
	RUN(garbage_tail_memory);
	note_signer_free(signer);
	note_signer_free(other);
	if (getenv("VMS_TEST_KEEP") == NULL)
		rm_rf(tmpdir);
	return test_summary();
}
