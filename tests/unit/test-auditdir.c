/*
 * test-auditdir.c — the ledger-directory audit source (audit/audit-dir.c)
 * on an `entries` file truncated or rewritten while it is being audited:
 * the source reads with pread, so each case is a clear error naming the
 * file and the offset, never SIGBUS (the mapped reader it replaced died
 * here). Also where and why the readable records end.
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
	RUN(missing_entries_file);
	return test_summary();
}
