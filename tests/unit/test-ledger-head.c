/*
 * test-ledger-head.c — the signed head (ledger_head.c, #16 item 4): created
 * when missing, kept by every commit; a ledger behind its head by more
 * than its journal holds, or with another history under it, is refused;
 * a torn record falls back to the others; all damaged is refused; a
 * failed head write acknowledges nothing, and discards the batch or keeps
 * it as the record held it or not; a head file of the first format is
 * rewritten, one of eight 64 KiB slots (before the ring) read as it is;
 * a record's CRC-32C covers its batch, and records of the format before
 * (SHA-256) are read.
 * The head's journal and commits in flight: test-ledger-journal.c. The
 * helpers are tests/unit/htest.h's.
 */
#include "htest.h"
#include "crc32c.h"
#include "sha256.h"

TEST(created_and_kept)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 5, "a");
	struct stat st;

	CHECK(l != NULL);
	if (l != NULL)
		ledger_close(l);
	CHECK(stat(hp, &st) == 0 &&
	    st.st_size == LEDGER_HEAD_FILE && (st.st_mode & 0777) == 0600);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

TEST(ledger_behind_refused)
{
	char *d = path("d"), *old = path("old"), *hp = path("h"),
	    err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 3, "a");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	CHECK(copy_dir(d, old) == 0);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	{
		int created;
		uint64_t rep;

		CHECK(ledger_head_attach(l, hp, &created, &rep, err,
		    sizeof(err)) == 0 && !created);
	}
	/* more commits than the head's ring has pages: its journal no
	 * longer holds the first ones */
	CHECK(commit_n(l, LEDGER_HEAD_PAGES + 3, "a") == 0);
	ledger_close(l);
	CHECK(copy_dir(old, d) == 0);		/* ledger back to 3 */
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "holds 3 committed entries, but a checkpoint of "
	    "size 134 was signed");
	CHECK_CONTAINS(err, "the storage lost entries it had synced");
	free(d);
	free(old);
	free(hp);
}

TEST(other_history_refused)
{
	char *d = path("d"), *hp = path("h"), *d2 = path("d2"),
	    *hp2 = path("h2"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 4, "a"), *l2 = make(d2, hp2, 6, "b");

	if (l == NULL || l2 == NULL) { CHECK(0); return; }
	ledger_close(l);
	ledger_close(l2);
	/* the same key, another history of more entries: the head's 4
	 * entries are not its first 5 */
	CHECK(reattach(d2, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "the first 4 entries of the ledger in");
	CHECK_CONTAINS(err, "are not the ones a checkpoint signed");
	free(d);
	free(hp);
	free(d2);
	free(hp2);
}

static int
flip(const char *p, off_t off)
{
	uint8_t b;
	int fd = open(p, O_RDWR), r = -1;

	if (fd >= 0 && pread(fd, &b, 1, off) == 1) {
		b ^= 0x40;
		r = pwrite(fd, &b, 1, off) == 1 ? 0 : -1;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

TEST(torn_record_falls_back)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 4, "a");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	/* 4 commits after the initial head (seq 0, page 0), a page each
	 * (one small entry): the newest is seq 4, on page 4 */
	CHECK(flip(hp, 4 * LEDGER_HEAD_PAGE + 100) == 0);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	/* all damaged: refused */
	CHECK(flip(hp, 100) == 0 && flip(hp, LEDGER_HEAD_PAGE + 100) == 0 &&
	    flip(hp, 2 * LEDGER_HEAD_PAGE + 100) == 0 &&
	    flip(hp, 3 * LEDGER_HEAD_PAGE + 100) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "is damaged: none of its records holds a "
	    "checkpoint signed by the ledger's key");
	free(d);
	free(hp);
}

/* The head's descriptors can no longer be written (0), or again (1). */
static void
head_writable(struct ledger *l, const char *hp, int on, int saved[2])
{
	int i, fd;

	for (i = 0; i < 2; i++) {
		if (!on) {
			saved[i] = dup(l->head_fds[i]);
			fd = open(hp, O_RDONLY);
		} else
			fd = saved[i];
		CHECK(fd >= 0 && dup2(fd, l->head_fds[i]) >= 0);
		if (fd >= 0)
			close(fd);
	}
}

TEST(failed_head_write_discards_batch)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	int saved[2];

	if (l == NULL) { CHECK(0); return; }
	/* a slot that holds its batch is written at prepare: failing, the
	 * batch is discarded, nothing was flushed, the ledger goes on */
	head_writable(l, hp, 0, saved);
	CHECK(ledger_append(l, "{\"x\":1}", 7, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "writing the signed head: Bad file descriptor; 1 "
	    "uncommitted entries discarded");
	CHECK_EQ_INT(ledger_size(l), 2);
	head_writable(l, hp, 1, saved);
	CHECK(ledger_append(l, "{\"x\":2}", 7, NULL, err, sizeof(err)) == 0);
	CHECK_MSG(ledger_commit(l, err, sizeof(err)) == 0, "%s", err);
	ledger_close(l);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_committed_size(l), 3);
		ledger_close(l);
	}
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

TEST(failed_head_write_keeps_batch)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	int saved[2];

	if (l == NULL) { CHECK(0); return; }
	/* a batch too large for its slot: `entries` synced, then the slot
	 * written without it (phase 2); failing, the batch may be durable */
	head_writable(l, hp, 0, saved);
	CHECK(append_big(l, err, sizeof(err)) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "writing the signed head: Bad file descriptor; the "
	    "batch of 1 entries may be durable but is not acknowledged");
	CHECK(ledger_append(l, "{\"x\":2}", 7, NULL, err, sizeof(err)) != 0);
	head_writable(l, hp, 1, saved);
	ledger_close(l);
	/* reopened: the batch is there, the head is behind it, fine */
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_committed_size(l), 3);
		ledger_close(l);
	}
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

/* A slot of the first format: "VMSHEAD1" || seq || len || note || SHA. */
static void
v1_slot(uint8_t *slot, uint64_t seq, const char *note)
{
	size_t len = strlen(note);

	memset(slot, 0, 4096);
	memcpy(slot, "VMSHEAD1", 8);
	ledger_put_be64(slot + 8, seq);
	ledger_put_be32(slot + 16, (uint32_t)len);
	memcpy(slot + 20, note, len);
	crypto_hash_sha256(slot + 20 + len, slot, 20 + len);
}

TEST(first_format_rewritten)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 3, "a");
	uint8_t v1[8192];
	struct stat st;

	if (l == NULL) { CHECK(0); return; }
	v1_slot(v1, 6, ledger_checkpoint(l));
	v1_slot(v1 + 4096, 5, ledger_checkpoint(l));
	v1[4096 + 30] ^= 1;		/* the older one torn */
	ledger_close(l);
	CHECK(write_file_atomic(hp, v1, sizeof(v1), 0600, err,
	    sizeof(err)) == 0);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK(stat(hp, &st) == 0 && st.st_size == LEDGER_HEAD_FILE);
	CHECK_EQ_INT(l->head_seq, 6);
	CHECK(commit_n(l, 2, "a") == 0);
	ledger_close(l);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	/* an empty ledger behind a head of the first format (3 entries):
	 * no journal there, refused as before */
	CHECK(rm_rf(d) == 0 && ledger_create(d, ORIGIN, signer, &l, err,
	    sizeof(err)) == 0);
	if (l != NULL)
		ledger_close(l);
	CHECK(write_file_atomic(hp, v1, sizeof(v1), 0600, err,
	    sizeof(err)) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "holds 0 committed entries, but a checkpoint of "
	    "size 3 was signed");
	free(d);
	free(hp);
}

/* The seq of the record on page k of the head file, or -1. */
static int64_t
seq_on_page(const char *hp, size_t k)
{
	uint8_t r[16];
	int fd = open(hp, O_RDONLY);
	int64_t seq = -1;

	if (fd >= 0 && pread(fd, r, sizeof(r), (off_t)(k *
	    LEDGER_HEAD_PAGE)) == (ssize_t)sizeof(r) &&
	    (memcmp(r, "VMSHEAD3", 8) == 0 || memcmp(r, "VMSHEAD2", 8) == 0))
		seq = (int64_t)ledger_get_be64(r + 8);
	if (fd >= 0)
		close(fd);
	return seq;
}

/* A head file of the layout before the ring (eight slots of 64 KiB,
 * seq's record at (seq % 8) * 64 KiB) is read as it is, and the next
 * record goes on the page after its head's. */
TEST(slots_before_the_ring_read)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 3, "a");
	uint8_t *file = xcalloc(1, LEDGER_HEAD_FILE);

	if (l == NULL) { CHECK(0); free(file); return; }
	CHECK(ledger_head_encode(file + 2 * 65536, 10, ledger_checkpoint(l),
	    NULL, 0, 0) > 0);
	CHECK(ledger_head_encode(file + 3 * 65536, 11, ledger_checkpoint(l),
	    NULL, 0, 0) > 0);
	ledger_close(l);
	CHECK(write_file_atomic(hp, file, LEDGER_HEAD_FILE, 0600, err,
	    sizeof(err)) == 0);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l != NULL) {
		CHECK_EQ_INT(l->head_seq, 11);
		CHECK(commit_n(l, 2, "a") == 0);
		ledger_close(l);
	}
	/* its head was on page 48 (one page): 12 and 13 follow it */
	CHECK(seq_on_page(hp, 48) == 11 && seq_on_page(hp, 49) == 12 &&
	    seq_on_page(hp, 50) == 13 && seq_on_page(hp, 32) == 10);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(file);
	free(d);
	free(hp);
}

/*
 * The head file's image (LEDGER_HEAD_FILE bytes, malloc'd) and the
 * offset in it of the batch of the record on page k, or 0 if none.
 */
static uint8_t *
head_image(const char *hp)
{
	uint8_t *f = xcalloc(1, LEDGER_HEAD_FILE);
	int fd = open(hp, O_RDONLY);

	if (fd < 0 || pread(fd, f, LEDGER_HEAD_FILE, 0) !=
	    (ssize_t)LEDGER_HEAD_FILE) {
		free(f);
		f = NULL;
	}
	if (fd >= 0)
		close(fd);
	return f;
}

static size_t
batch_at(const uint8_t *f, size_t k)
{
	const uint8_t *r = f + k * LEDGER_HEAD_PAGE;

	if (ledger_get_be32(r + 28) == 0)
		return 0;
	return k * LEDGER_HEAD_PAGE + 32 + ledger_get_be32(r + 16);
}

/* A ledger of 4 commits in d, its head hp, closed; the head's image. */
static uint8_t *
four_commits(const char *d, const char *hp)
{
	struct ledger *l = make(d, hp, 4, "a");

	if (l == NULL)
		return NULL;
	ledger_close(l);
	return head_image(hp);
}

/* The records a commit writes end in a CRC-32C of the record, which
 * covers its batch: a byte flipped there (where no signature looks) and
 * the record is passed over. */
TEST(record_checksum_covers_the_batch)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	uint8_t *f = four_commits(d, hp);
	struct ledger *l = NULL;
	size_t b, len;

	if (f == NULL) { CHECK(0); goto out; }
	/* seq 4 on page 4: "VMSHEAD3" || ... || note || batch || CRC */
	CHECK(memcmp(f + 4 * LEDGER_HEAD_PAGE, "VMSHEAD3", 8) == 0);
	CHECK((b = batch_at(f, 4)) > 0);
	len = b + ledger_get_be32(f + 4 * LEDGER_HEAD_PAGE + 28);
	CHECK(ledger_get_be32(f + len) == vms_crc32c(f + 4 * LEDGER_HEAD_PAGE,
	    len - 4 * LEDGER_HEAD_PAGE));
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL && l->head_seq == 4, "%s", err);
	if (l != NULL)
		ledger_close(l);
	CHECK(flip(hp, (off_t)b + 10) == 0);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l != NULL)
		CHECK_EQ_INT(l->head_seq, 3);	/* seq 4's record passed over */
out:
	if (l != NULL)
		ledger_close(l);
	free(f);
	free(d);
	free(hp);
}

/*
 * Records of the format before ("VMSHEAD2": a SHA-256 where the CRC-32C
 * is) are read as they are, a damaged one passed over; new records
 * follow them in the ring in this format.
 */
TEST(sha256_records_read)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	uint8_t *f = four_commits(d, hp);
	struct ledger *l = NULL;
	size_t k, len;

	if (f == NULL) { CHECK(0); goto out; }
	for (k = 0; k <= 4; k++) {	/* a page each: room for 28 more */
		uint8_t *r = f + k * LEDGER_HEAD_PAGE;

		CHECK(memcmp(r, "VMSHEAD3", 8) == 0);
		len = 32 + ledger_get_be32(r + 16) + ledger_get_be32(r + 28);
		CHECK(len + 32 <= LEDGER_HEAD_PAGE);
		memcpy(r, "VMSHEAD2", 8);
		vms_sha256(r, len, r + len);
	}
	CHECK(write_file_atomic(hp, f, LEDGER_HEAD_FILE, 0600, err,
	    sizeof(err)) == 0);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		goto out;
	CHECK_EQ_INT(l->head_seq, 4);
	CHECK(commit_n(l, 2, "a") == 0);
	ledger_close(l);
	l = NULL;
	free(f);
	if ((f = head_image(hp)) == NULL) { CHECK(0); goto out; }
	CHECK(memcmp(f + 4 * LEDGER_HEAD_PAGE, "VMSHEAD2", 8) == 0 &&
	    memcmp(f + 5 * LEDGER_HEAD_PAGE, "VMSHEAD3", 8) == 0 &&
	    memcmp(f + 6 * LEDGER_HEAD_PAGE, "VMSHEAD3", 8) == 0);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	/* a damaged one: the newest of the old format, seq 4, once 5 and
	 * 6 are gone */
	memset(f + 5 * LEDGER_HEAD_PAGE, 0, 2 * LEDGER_HEAD_PAGE);
	f[batch_at(f, 4) + 10] ^= 0x40;
	CHECK(write_file_atomic(hp, f, LEDGER_HEAD_FILE, 0600, err,
	    sizeof(err)) == 0);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l != NULL)
		CHECK_EQ_INT(l->head_seq, 3);
out:
	if (l != NULL)
		ledger_close(l);
	free(f);
	free(d);
	free(hp);
}

int
main(void)
{
	if (lt_init("test-ledger-head") != 0)
		return 2;
	n++; RUN(created_and_kept);
	n++; RUN(ledger_behind_refused);
	n++; RUN(other_history_refused);
	n++; RUN(torn_record_falls_back);
	n++; RUN(failed_head_write_discards_batch);
	n++; RUN(failed_head_write_keeps_batch);
	n++; RUN(first_format_rewritten);
	n++; RUN(slots_before_the_ring_read);
	n++; RUN(record_checksum_covers_the_batch);
	n++; RUN(sha256_records_read);
	return lt_done();
}
