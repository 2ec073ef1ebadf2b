/*
 * test-ledger-recovery.c — the ledger after a crash: an uncommitted tail cut
 * at every byte offset, a lost sync point (`checkpoint` behind the commits
 * in `entries`), index, hashes and history cut anywhere past it, `entries`
 * cut past it, a repeated commit record and a tail of zeros: open keeps
 * every batch whose commit record is whole, rebuilds the rest byte for
 * byte and drops the tail, in bounded memory. The helpers are
 * tests/unit/ltest.h's.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "ltest.h"

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
	size_t		 zeros;		/* the copy's preallocated zeros */
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
	/* The copy ends with the zeros the writer keeps ahead of its
	 * records (no record ends with a zero byte); the tests below cut
	 * the records themselves, recover_zeros the zeros. */
	for (c->zeros = 0; c->zeros < c->s.len[0] &&
	    c->s.data[0][c->s.len[0] - 1 - c->zeros] == 0; c->zeros++)
		;
	c->s.len[0] -= c->zeros;
}

static void
crash_free(struct crash *c)
{
	snap_free(&c->s);
	free(c->note12);
	free(c->d);
}

/*
 * A crash copy as the writer left it: its records, then the zeros it keeps
 * ahead of them so that a commit's fdatasync has no new size to sync. Not
 * data: both opens keep every commit and report nothing dropped; the
 * writable one cuts the zeros, and the ledger is writable again.
 */
TEST(recover_zeros)
{
	struct crash c;
	struct ledger *l;
	struct ledger_recovery rec;
	char err[VMS_ERRLEN], *p;
	uint64_t end;
	int fd;

	crash_make(&c);
	CHECK(c.zeros > 0);
	end = c.s.len[0];
	snap_restore(c.d, &c.s);
	xasprintf(&p, "%s/entries", c.d);
	CHECK((fd = open(p, O_WRONLY)) >= 0 &&
	    ftruncate(fd, (off_t)(end + c.zeros)) == 0 && close(fd) == 0);
	free(p);
	CHECK(ledger_open(c.d, NULL, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_size(l), 12);
		CHECK_EQ_INT(rec.dropped_entries, 0);
		CHECK_EQ_INT(rec.dropped_bytes, 0);
		CHECK(read_all_ok(l) == 0);
		ledger_close(l);
	}
	CHECK_EQ_INT(fsize(c.d, "entries"), end + c.zeros);
	CHECK(ledger_open(c.d, signer, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_committed_size(l), 12);
		CHECK_EQ_INT(rec.dropped_entries, 0);
		CHECK_EQ_INT(rec.dropped_bytes, 0);
		CHECK_EQ_INT(rec.zero_bytes, c.zeros);
		CHECK_EQ_INT(fsize(c.d, "entries"), end);
		CHECK(ledger_verify_all(l, err, sizeof(err)) == 0);
		CHECK(append_n(l, 12, 1) == 0 &&
		    ledger_commit(l, err, sizeof(err)) == 0);
		/* open: zeros ahead again; closed: none */
		CHECK(fsize(c.d, "entries") > end);
		ledger_close(l);
		CHECK(fsize(c.d, "entries") < end + 4096);
	}
	CHECK(ledger_open(c.d, signer, &l, &rec, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_committed_size(l), 13);
		CHECK_EQ_INT(rec.zero_bytes, 0);
		CHECK_EQ_INT(rec.dropped_bytes, 0);
		ledger_close(l);
	}
	crash_free(&c);
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
 * memory): 4 MiB of zeros, where the records end. The open cuts it (not
 * data: dropped_bytes 0, zero_bytes 4 MiB); its memory
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
		    rec.dropped_bytes != 0 || rec.zero_bytes != (4u << 20) ||
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
	if (lt_init("test-ledger-recovery") != 0)
		return 2;
	RUN(torn_tail_every_offset);
	RUN(history_repair);
	RUN(recover_zeros);
	RUN(recover_lost_sync_point);
	RUN(recover_index_hashes_behind);
	RUN(recover_torn_history);
	RUN(recover_entries_cut);
	RUN(duplicate_commit_record);
	RUN(garbage_tail_memory);
	return lt_done();
}
