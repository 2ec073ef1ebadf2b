/*
 * test-ledger-corrupt.c — corruption the ledger must refuse, not repair:
 * committed data cut, bit flips in every file (entries, lengths, stored
 * hashes, the checkpoint, the index), checkpoints signed by the wrong key
 * or for the wrong size, and a commit record repeated under the
 * checkpoint. Each is named as corrupt by the open, by ledger_read or by
 * ledger_verify_all. The helpers are tests/unit/ltest.h's.
 */
#include "ltest.h"

static struct note_signer *other;	/* a key that is not the ledger's */

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

int
main(void)
{
	uint8_t seed[32];

	if (lt_init("test-ledger-corrupt") != 0)
		return 2;
	randombytes_buf(seed, 32);
	other = note_signer_new(ORIGIN, seed);
	RUN(truncated_committed_refused);
	RUN(bitflips);
	RUN(wrong_keys);
	RUN(duplicate_commit_record_inside);
	note_signer_free(other);
	return lt_done();
}
