/*
 * test-auditdir.c — the ledger-directory audit source (audit/audit-dir.c)
 * on an `entries` file truncated or rewritten while it is being audited:
 * the source reads with pread, so each case is a clear error naming the
 * file and the offset, never SIGBUS (the mapped reader it replaced died
 * here). Also where and why the readable records end, and the read-ahead
 * windows of dir_entry and of the threads' entry_copy.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "audit.h"
#include "test.h"
#include "util.h"

static char dir[64], epath[128];

/* Append one record (length prefix, HI ORed into it) to `entries`. */
static void
put(FILE *f, uint32_t hi, const char *s)
{
	uint32_t l = (uint32_t)strlen(s) | hi;
	uint8_t b[4] = { l >> 24, l >> 16 & 0xff, l >> 8 & 0xff, l & 0xff };

	fwrite(b, 1, 4, f);
	fwrite(s, 1, strlen(s), f);
}

/*
 * entries: "aaaa" (offset 0), a commit note (offset 8), "bbbbbbbb"
 * (offset 8 + 4 + 20 = 32), "cc" (offset 44): 50 bytes.
 */
static void
make_dir(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/vms-test-auditdir.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(epath, sizeof(epath), "%s/entries", dir);
	if ((f = fopen(epath, "wb")) == NULL) {
		perror(epath);
		exit(1);
	}
	put(f, 0, "aaaa");
	put(f, 0x80000000u, "o.example/x\n1\nroot=\n");
	put(f, 0, "bbbbbbbb");
	put(f, 0, "cc");
	if (fclose(f) != 0) {
		perror(epath);
		exit(1);
	}
}

static void
rm_dir(void)
{
	unlink(epath);
	rmdir(dir);
}

static struct audit_source *
open_src(void)
{
	struct audit_source *s = NULL;
	char err[VMS_ERRLEN];

	if (audit_dir_source(dir, &s, err, sizeof(err)) != 0)
		FAILF("audit_dir_source: %s", err);
	return s;
}

TEST(reads_every_record)
{
	struct audit_source *s;
	const uint8_t *b;
	size_t l;
	char err[VMS_ERRLEN], want[256];

	make_dir();
	if ((s = open_src()) == NULL)
		goto out;
	CHECK_EQ_INT(s->entry(s->ctx, 0, &b, &l, err, sizeof(err)), 0);
	CHECK(l == 4 && memcmp(b, "aaaa", 4) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 2, &b, &l, err, sizeof(err)), 0);
	CHECK(l == 2 && memcmp(b, "cc", 2) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 1, &b, &l, err, sizeof(err)), 0);
	CHECK(l == 8 && memcmp(b, "bbbbbbbb", 8) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 3, &b, &l, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "%s holds 3 entries: the file ends at "
	    "offset 50, after a complete record", epath);
	CHECK_EQ_STR(err, want);
	audit_source_free(s);
 out:
	rm_dir();
}

TEST(truncated_during_audit)
{
	struct audit_source *s;
	const uint8_t *b;
	size_t l;
	char err[VMS_ERRLEN], want[512];

	make_dir();
	if ((s = open_src()) == NULL)
		goto out;
	/* Cut inside entry 1 after the scan: a mapping would SIGBUS. */
	CHECK(truncate(epath, 40) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 0, &b, &l, err, sizeof(err)), 0);
	CHECK(l == 4 && memcmp(b, "aaaa", 4) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 1, &b, &l, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: entry 1 at offset 32 (12 bytes "
	    "with its length) is cut short: the file now ends at offset 40, "
	    "it was 50 bytes when the audit began (truncated during the "
	    "audit)", epath);
	CHECK_EQ_STR(err, want);
	/* Cut to nothing. */
	CHECK(truncate(epath, 0) == 0);
	CHECK_EQ_INT(s->entry(s->ctx, 0, &b, &l, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "entry 0 at offset 0 (8 bytes with its length) "
	    "is cut short: the file now ends at offset 0");
	audit_source_free(s);
 out:
	rm_dir();
}

TEST(rewritten_during_audit)
{
	struct audit_source *s;
	const uint8_t *b;
	size_t l;
	char err[VMS_ERRLEN], want[512];
	int fd;

	make_dir();
	if ((s = open_src()) == NULL)
		goto out;
	/* Entry 2's length prefix changes from 2 to 1. */
	if ((fd = open(epath, O_WRONLY)) == -1 ||
	    pwrite(fd, "\0\0\0\1", 4, 44) != 4 || close(fd) != 0)
		FAILF("cannot rewrite %s", epath);
	CHECK_EQ_INT(s->entry(s->ctx, 2, &b, &l, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: entry 2 at offset 44: its length "
	    "prefix is now 1, it was 2 when the audit began (the file "
	    "changed during the audit)", epath);
	CHECK_EQ_STR(err, want);
	audit_source_free(s);
 out:
	rm_dir();
}

TEST(torn_tail_explained)
{
	struct audit_source *s;
	const uint8_t *b;
	size_t l;
	char err[VMS_ERRLEN], want[256];

	make_dir();
	CHECK(truncate(epath, 48) == 0);	/* "cc" record cut */
	if ((s = open_src()) == NULL)
		goto out;
	CHECK_EQ_INT(s->entry(s->ctx, 1, &b, &l, err, sizeof(err)), 0);
	CHECK_EQ_INT(s->entry(s->ctx, 2, &b, &l, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "%s holds 2 entries: the record at "
	    "offset 44 claims 2 bytes, the file ends at offset 48 (truncated "
	    "mid-record)", epath);
	CHECK_EQ_STR(err, want);
	audit_source_free(s);
	/* A commit record cut short. */
	CHECK(truncate(epath, 20) == 0);
	if ((s = open_src()) == NULL)
		goto out;
	CHECK_EQ_INT(s->entry(s->ctx, 1, &b, &l, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "%s holds 1 entries: the commit record "
	    "at offset 8 claims 20 bytes, the file ends at offset 20 "
	    "(truncated mid-record)", epath);
	CHECK_EQ_STR(err, want);
	audit_source_free(s);
 out:
	rm_dir();
}

/*
 * Entries read in order come out of audit-dir.c's read-ahead window
 * (1 MiB): many records of varied sizes over several windows, one larger
 * than a window (read alone), an earlier entry asked for between two
 * (System.files.history), each with exactly its bytes; a length prefix
 * rewritten beyond the window still read is caught when the window moves.
 */
static void
fill(uint8_t *b, size_t n, uint32_t i)
{
	size_t k;

	for (k = 0; k < n; k++)
		b[k] = (uint8_t)('a' + (i * 7 + k) % 26);
}

static size_t
rec_len(uint32_t i)
{
	return i == 700 ? (size_t)1536 << 10 : 100 + (i * 37) % 3000;
}

/* entries: 4000 records of rec_len(i) bytes, offs[i] each one's offset */
static void
make_varied(uint8_t *want, uint64_t *offs)
{
	uint64_t off = 0;
	uint32_t i;
	size_t n;
	FILE *f;

	make_dir();
	if ((f = fopen(epath, "wb")) == NULL) {
		FAILF("%s", epath);
		return;
	}
	for (i = 0; i < 4000; i++) {
		n = rec_len(i);
		fill(want, n, i);
		uint8_t h[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		    (uint8_t)(n >> 8), (uint8_t)n };
		offs[i] = off;
		fwrite(h, 1, 4, f);
		fwrite(want, 1, n, f);
		off += 4 + n;
	}
	fclose(f);
}

/*
 * The length prefix of the first entry a whole window past entry 1399
 * rewritten (those before may come from a window, it must not): its
 * index.
 */
static uint32_t
rewrite_past_window(const uint64_t *offs)
{
	uint32_t bad;
	int fd;

	for (bad = 1400; bad < 3999 &&
	    offs[bad] < offs[1399] + ((uint64_t)1 << 20); bad++)
		;
	if ((fd = open(epath, O_WRONLY)) == -1 ||
	    pwrite(fd, "\0\0\0\1", 4, (off_t)offs[bad]) != 4 ||
	    close(fd) != 0)
		FAILF("cannot rewrite %s", epath);
	return bad;
}

/* err names entry bad, its offset and its new length prefix. */
static void
check_prefix_error(const char *err, uint32_t bad, const uint64_t *offs)
{
	char what[64];

	snprintf(what, sizeof(what), "entry %u at offset %llu:", bad,
	    (unsigned long long)offs[bad]);
	CHECK_CONTAINS(err, what);
	CHECK_CONTAINS(err, "its length prefix is now 1");
}

TEST(read_ahead_window)
{
	struct audit_source *s;
	const uint8_t *b;
	uint8_t *want = xmalloc((size_t)1536 << 10);
	uint64_t *offs = xcalloc(4000, sizeof(uint64_t));
	size_t l;
	char err[VMS_ERRLEN];
	uint32_t i, ok = 0, bad;

	make_varied(want, offs);
	if ((s = open_src()) == NULL)
		goto out;
	for (i = 0; i < 1400; i++) {
		if (s->entry(s->ctx, i, &b, &l, err, sizeof(err)) != 0)
			break;
		fill(want, rec_len(i), i);
		if (l != rec_len(i) || memcmp(b, want, l) != 0)
			break;
		if (i % 97 == 5) {	/* an earlier one, then on */
			if (s->entry(s->ctx, i / 2, &b, &l, err,
			    sizeof(err)) != 0)
				break;
			fill(want, rec_len(i / 2), i / 2);
			if (l != rec_len(i / 2) || memcmp(b, want, l) != 0)
				break;
		}
		ok++;
	}
	CHECK_EQ_INT(ok, 1400);
	bad = rewrite_past_window(offs);
	for (i = 1400; i < bad; i++)
		if (s->entry(s->ctx, i, &b, &l, err, sizeof(err)) != 0)
			break;
	CHECK_EQ_INT(i, bad);
	CHECK_EQ_INT(s->entry(s->ctx, bad, &b, &l, err, sizeof(err)), -1);
	check_prefix_error(err, bad, offs);
	audit_source_free(s);
 out:
	free(want);
	free(offs);
	rm_dir();
}

/*
 * The same through entry_copy, as the audit's threads read: two readers
 * reading ahead at once (the second a segment further on), each entry
 * with exactly its bytes and the window holding the entries after it; a
 * history read (not ahead) between them leaves the windows alone; the
 * entry larger than a window read alone; a rewritten length prefix past a
 * reader's window caught when it moves.
 */
TEST(copy_read_ahead)
{
	struct audit_source *s;
	struct audit_copybuf a, b2, h;
	uint8_t *want = xmalloc((size_t)1536 << 10);
	uint64_t *offs = xcalloc(4000, sizeof(uint64_t));
	size_t l, o;
	char err[VMS_ERRLEN];
	uint32_t i, ok = 0, windowed = 0, bad;

	memset(&a, 0, sizeof(a));
	memset(&b2, 0, sizeof(b2));
	memset(&h, 0, sizeof(h));
	a.ahead = b2.ahead = 1;
	make_varied(want, offs);
	if ((s = open_src()) == NULL)
		goto out;
	for (i = 0; i < 1400; i++) {
		if (s->entry_copy(s->ctx, i, &a, &o, &l, err,
		    sizeof(err)) != 0)
			break;
		fill(want, rec_len(i), i);
		if (l != rec_len(i) || memcmp(a.buf + o, want, l) != 0)
			break;
		if (o + l < a.have)	/* more than this entry at hand */
			windowed++;
		if (s->entry_copy(s->ctx, i + 2000, &b2, &o, &l, err,
		    sizeof(err)) != 0)
			break;
		fill(want, rec_len(i + 2000), i + 2000);
		if (l != rec_len(i + 2000) ||
		    memcmp(b2.buf + o, want, l) != 0)
			break;
		if (i % 97 == 5) {	/* a history read */
			if (s->entry_copy(s->ctx, i / 2, &h, &o, &l, err,
			    sizeof(err)) != 0)
				break;
			fill(want, rec_len(i / 2), i / 2);
			if (l != rec_len(i / 2) || memcmp(h.buf + o, want,
			    l) != 0 || h.have != 0)
				break;
		}
		ok++;
	}
	CHECK_EQ_INT(ok, 1400);
	/* every entry but the one larger than a window, and the last in
	 * each window, came with the next ones */
	CHECK(windowed > 1300);
	bad = rewrite_past_window(offs);
	for (i = 1400; i < bad; i++)
		if (s->entry_copy(s->ctx, i, &a, &o, &l, err,
		    sizeof(err)) != 0)
			break;
	CHECK_EQ_INT(i, bad);
	CHECK_EQ_INT(s->entry_copy(s->ctx, bad, &a, &o, &l, err,
	    sizeof(err)), -1);
	check_prefix_error(err, bad, offs);
	audit_source_free(s);
 out:
	free(a.buf);
	free(b2.buf);
	free(h.buf);
	free(want);
	free(offs);
	rm_dir();
}

TEST(missing_entries_file)
{
	struct audit_source *s = NULL;
	char err[VMS_ERRLEN];

	make_dir();
	unlink(epath);
	CHECK_EQ_INT(audit_dir_source(dir, &s, err, sizeof(err)), -1);
	CHECK(s == NULL);
	CHECK_CONTAINS(err, "/entries: No such file or directory");
	rm_dir();
}

int
main(void)
{
	RUN(reads_every_record);
	RUN(truncated_during_audit);
	RUN(rewritten_during_audit);
	RUN(torn_tail_explained);
	RUN(read_ahead_window);
	RUN(copy_read_ahead);
	RUN(missing_entries_file);
	return test_summary();
}
