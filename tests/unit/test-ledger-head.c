/*
 * test-ledger-head.c — the signed head (ledger_head.c, #16 item 4): created
 * when missing, kept by every commit; a ledger behind its head by what
 * its journal holds is put back, further behind or with another history
 * under it is refused; a torn slot falls back to the others; all damaged
 * is refused; a failed head write acknowledges nothing, keeps the batch
 * and never leaves the head ahead; `entries` is synced before a slot
 * holding a batch it may lack is written again, and for a batch too
 * large for a slot; a head file of the first format is rewritten.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "ledger_int.h"	/* head_fd, for the failing write */
#include "log.h"
#include "test.h"
#include "util.h"

#define ORIGIN "test.example/head"

static char tmpdir[] = "/tmp/test-ledger-head.XXXXXX";
static struct note_signer *signer;
static int n;

static char *
path(const char *what)
{
	char *p;

	xasprintf(&p, "%s/%s%d", tmpdir, what, n);
	return p;
}

/* Commit `count` entries, one commit each, tagged "tag". */
static int
commit_n(struct ledger *l, int count, const char *tag)
{
	char buf[64], err[VMS_ERRLEN];
	int i;

	for (i = 0; i < count; i++) {
		snprintf(buf, sizeof(buf), "{\"%s\":%llu}", tag,
		    (unsigned long long)ledger_size(l));
		if (ledger_append(l, buf, strlen(buf), NULL, err,
		    sizeof(err)) != 0 || ledger_commit(l, err,
		    sizeof(err)) != 0)
			return -1;
	}
	return 0;
}

/* A ledger of `count` committed entries with its head at hp. */
static struct ledger *
make(const char *dir, const char *hp, int count, const char *tag)
{
	struct ledger *l;
	char err[VMS_ERRLEN];
	uint64_t rep;
	int created;

	if (ledger_create(dir, ORIGIN, signer, &l, err, sizeof(err)) != 0)
		return NULL;
	if (ledger_head_attach(l, hp, &created, &rep, err, sizeof(err)) != 0 ||
	    !created || commit_n(l, count, tag) != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

static int
reattach(const char *dir, const char *hp, char *err, size_t errlen)
{
	struct ledger *l;
	uint64_t rep;
	int created, r;

	if (ledger_open(dir, signer, &l, NULL, err, errlen) != 0)
		return -2;
	r = ledger_head_attach(l, hp, &created, &rep, err, errlen);
	ledger_close(l);
	return r;
}

/* Open dir and attach hp: the ledger, or NULL (err). */
static struct ledger *
open_attached(const char *dir, const char *hp, char *err, size_t errlen)
{
	struct ledger *l;
	uint64_t rep;
	int created;

	if (ledger_open(dir, signer, &l, NULL, err, errlen) != 0)
		return NULL;
	if (ledger_head_attach(l, hp, &created, &rep, err, errlen) != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

/* The process dies: nothing more is written or synced by it. */
static void
crash(struct ledger *l)
{
	l->broken = 1;
	ledger_close(l);
}

/* A crash lost every write to `entries` past off that was not synced:
 * the file cut there, or zeros from there on (preallocated space). */
static int
lose_entries(const char *dir, uint64_t off, int zeros)
{
	char *p;
	struct stat st;
	int fd, r = -1;
	uint8_t z[4096] = { 0 };
	off_t at;

	xasprintf(&p, "%s/entries", dir);
	if ((fd = open(p, O_RDWR)) >= 0 && fstat(fd, &st) == 0) {
		r = 0;
		if (!zeros)
			r = ftruncate(fd, (off_t)off);
		for (at = (off_t)off; zeros && at < st.st_size; at += 4096)
			if (pwrite(fd, z, st.st_size - at < 4096 ?
			    (size_t)(st.st_size - at) : 4096, at) < 0)
				r = -1;
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

static int
copy_dir(const char *from, const char *to)
{
	char *cmd;
	int r;

	xasprintf(&cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

TEST(created_and_kept)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 5, "a");
	struct stat st;

	CHECK(l != NULL);
	if (l != NULL)
		ledger_close(l);
	CHECK(stat(hp, &st) == 0 &&
	    st.st_size == LEDGER_HEAD_SLOTS * LEDGER_HEAD_SLOT &&
	    (st.st_mode & 0777) == 0600);
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
	/* more commits than the head has slots: its journal no longer
	 * holds the first ones */
	CHECK(commit_n(l, LEDGER_HEAD_SLOTS + 3, "a") == 0);
	ledger_close(l);
	CHECK(copy_dir(old, d) == 0);		/* ledger back to 3 */
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "holds 3 committed entries, but a checkpoint of "
	    "size 14 was signed");
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

TEST(torn_slot_falls_back)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 4, "a");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	/* 4 commits after the initial head (seq 0, slot 0): the newest is
	 * seq 4, in slot 4 */
	CHECK(flip(hp, 4 * LEDGER_HEAD_SLOT + 100) == 0);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	/* all damaged: refused */
	CHECK(flip(hp, 100) == 0 && flip(hp, LEDGER_HEAD_SLOT + 100) == 0 &&
	    flip(hp, 2 * LEDGER_HEAD_SLOT + 100) == 0 &&
	    flip(hp, 3 * LEDGER_HEAD_SLOT + 100) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "is damaged: none of its slots holds a "
	    "checkpoint signed by the ledger's key");
	free(d);
	free(hp);
}

/* Append an entry too large for a slot of the head (its batch is then
 * synced in `entries` before the slot, which goes without it). */
static int
append_big(struct ledger *l, char *err, size_t errlen)
{
	size_t len = LEDGER_HEAD_SLOT + 100;
	char *big = xmalloc(len);
	int r;

	memset(big, ' ', len);
	big[0] = '[';
	big[len - 1] = ']';
	r = ledger_append(l, big, len, NULL, err, errlen);
	free(big);
	return r;
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

/* Entries [0, count) read back: "tag":i each. */
static int
entries_are(struct ledger *l, uint64_t from, uint64_t count, const char *tag)
{
	char want[64], err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	uint64_t i;
	int ok = 1;

	for (i = from; i < count && ok; i++) {
		snprintf(want, sizeof(want), "{\"%s\":%llu}", tag,
		    (unsigned long long)i);
		ok = ledger_read(l, i, &buf, &len, err, sizeof(err)) == 0 &&
		    len == strlen(want) && memcmp(buf, want, len) == 0;
		if (ok)
			free(buf);
	}
	return ok;
}

/* Reopen after a crash: 2 (put back) then 0, with `want` entries. */
static void
check_put_back(const char *d, const char *hp, uint64_t want,
    uint64_t nput, const char *tag)
{
	struct ledger *l;
	char err[VMS_ERRLEN], msg[128];
	uint64_t rep = 0;
	int created;

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	CHECK(ledger_committed_size(l) < want);
	CHECK_EQ_INT(ledger_head_attach(l, hp, &created, &rep, err,
	    sizeof(err)), 2);
	CHECK_EQ_INT(rep, nput);
	snprintf(msg, sizeof(msg), "%llu entries put back from the head's "
	    "journal", (unsigned long long)nput);
	CHECK_CONTAINS(err, msg);
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK_EQ_INT(ledger_committed_size(l), want);
	CHECK_MSG(ledger_verify_all(l, err, sizeof(err)) == 0, "%s", err);
	CHECK(entries_are(l, 0, want, tag));
	/* and it goes on committing */
	CHECK(commit_n(l, 2, tag) == 0);
	CHECK(entries_are(l, 0, want + 2, tag));
	ledger_close(l);
}

TEST(journal_puts_back_lost_batches)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	uint64_t e0, d0, want;
	int zeros;

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	for (zeros = 0; zeros < 2; zeros++) {
		l = open_attached(d, hp, err, sizeof(err));
		CHECK_MSG(l != NULL, "%s", err);
		if (l == NULL)
			break;
		/* (the first commit may sync `entries`: its slot holds a
		 * batch of the last run, which may not be durable yet) */
		CHECK(commit_n(l, 1, "a") == 0);
		e0 = l->cent_end;
		d0 = l->ent_durable;
		want = ledger_committed_size(l) + 5;
		/* five commits, none of them syncing `entries` */
		CHECK(commit_n(l, 5, "a") == 0);
		CHECK(l->ent_durable == d0 && d0 <= e0 && l->cent_end > e0);
		crash(l);
		/* the power went: `entries` as synced */
		CHECK(lose_entries(d, e0, zeros) == 0);
		check_put_back(d, hp, want, 5, "a");
	}
	free(d);
	free(hp);
}

/* Append {"tag":size} and prepare its commit. */
static enum commit_prepared
append_prepare(struct ledger *l, const char *tag, struct ledger_ticket *t,
    char *err, size_t errlen)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "{\"%s\":%llu}", tag,
	    (unsigned long long)ledger_size(l));
	if (ledger_append(l, buf, strlen(buf), NULL, err, errlen) != 0)
		return COMMIT_FAILED;
	return ledger_commit_prepare(l, t, err, errlen);
}

TEST(two_commits_in_flight)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	struct ledger_ticket t1, t2, t3;
	const char *cp;

	if (l == NULL) { CHECK(0); return; }
	/* one at a time unless asked */
	CHECK(append_prepare(l, "a", &t1, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(!ledger_commit_room(l));
	CHECK(append_prepare(l, "a", &t2, err, sizeof(err)) == COMMIT_FAILED);
	CHECK_CONTAINS(err, "a commit is already in flight");
	CHECK(ledger_commit_finish(l, &t1, ledger_commit_fsync(&t1), err,
	    sizeof(err)) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 4);

	ledger_commits_in_flight(l, 2);
	CHECK(append_prepare(l, "a", &t1, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(ledger_commit_room(l));
	CHECK(append_prepare(l, "a", &t2, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(!ledger_commit_room(l));
	CHECK(append_prepare(l, "a", &t3, err, sizeof(err)) == COMMIT_FAILED);
	CHECK_CONTAINS(err, "a commit is already in flight");
	/* each flush its own descriptor of the head; slots written */
	CHECK(t1.head_fd >= 0 && t2.head_fd >= 0 && t1.head_fd != t2.head_fd);
	CHECK(t1.head_slot == NULL && t2.head_slot == NULL);
	CHECK(t1.size == 5 && t2.size == 6);
	cp = ledger_prepared_checkpoint(l);
	CHECK(cp != NULL && strstr(cp, "\n6\n") != NULL);
	/* flushed in any order, finished in order */
	CHECK_EQ_INT(ledger_commit_fsync(&t2), 0);
	CHECK_EQ_INT(ledger_commit_fsync(&t1), 0);
	CHECK(ledger_commit_finish(l, &t2, 0, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "no commit of size 6 is in flight");
	CHECK(ledger_commit_finish(l, &t1, 0, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 5);
	CHECK(ledger_commit_finish(l, &t2, 0, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 6);
	/* the entry appended meanwhile, in the next commit */
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(l), 7);

	/* no second after a slot without its batch (written after
	 * `entries` is synced, in phase 2); one may come before it */
	CHECK(append_prepare(l, "a", &t1, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(append_big(l, err, sizeof(err)) == 0);
	CHECK(ledger_commit_prepare(l, &t2, err, sizeof(err)) ==
	    COMMIT_TICKET);
	CHECK(t2.sync_entries && t2.head_slot != NULL);
	CHECK(!ledger_commit_room(l));
	CHECK_EQ_INT(ledger_commit_fsync(&t1), 0);
	CHECK_EQ_INT(ledger_commit_fsync(&t2), 0);
	CHECK(ledger_commit_finish(l, &t1, 0, err, sizeof(err)) == 0);
	CHECK(!ledger_commit_room(l));
	CHECK(ledger_commit_finish(l, &t2, 0, err, sizeof(err)) == 0);
	CHECK(ledger_commit_room(l));
	CHECK_EQ_INT(ledger_committed_size(l), 9);

	/* the older fails: the younger may be durable; reopen */
	CHECK(append_prepare(l, "b", &t1, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(append_prepare(l, "b", &t2, err, sizeof(err)) == COMMIT_TICKET);
	CHECK_EQ_INT(ledger_commit_fsync(&t2), 0);
	CHECK(ledger_commit_finish(l, &t1, EIO, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "fsync: Input/output error; the batch of 1 "
	    "entries may be durable but is not acknowledged");
	CHECK(ledger_commit_finish(l, &t2, 0, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "a commit in flight before this one failed");
	CHECK(ledger_append(l, "{\"x\":1}", 7, NULL, err, sizeof(err)) != 0);
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l != NULL) {
		/* (both written, so both kept) */
		CHECK_EQ_INT(ledger_committed_size(l), 11);
		CHECK_MSG(ledger_verify_all(l, err, sizeof(err)) == 0, "%s",
		    err);
		ledger_close(l);
	}
	free(d);
	free(hp);
}

TEST(two_in_flight_journal)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	struct ledger_ticket t1, t2;
	uint64_t e0, want;

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK(commit_n(l, 1, "a") == 0);
	e0 = l->cent_end;
	want = ledger_committed_size(l) + 2;
	ledger_commits_in_flight(l, 2);
	CHECK(append_prepare(l, "a", &t1, err, sizeof(err)) == COMMIT_TICKET);
	CHECK(append_prepare(l, "a", &t2, err, sizeof(err)) == COMMIT_TICKET);
	/* each slot holds its batch: the younger's starts where the older's
	 * ends, not at the committed end */
	CHECK(!t1.sync_entries && !t2.sync_entries);
	/* the younger's flush returns first (it makes the older's slot,
	 * written before it, durable too); then the process dies and the
	 * power goes: `entries` as synced */
	CHECK_EQ_INT(ledger_commit_fsync(&t2), 0);
	crash(l);
	CHECK(lose_entries(d, e0, 0) == 0);
	check_put_back(d, hp, want, 2, "a");
	free(d);
	free(hp);
}

TEST(journal_wraps_after_a_sync)
{
	char *d = path("d"), *hp = path("h"), *keep = path("keep"),
	    err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 1, "a");
	uint64_t e0, durable;
	size_t maxq = 0;
	int i;

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	if (l == NULL) { CHECK(0); return; }
	e0 = l->cent_end;
	/* round the slots twice and a bit: each one is written again only
	 * once `entries` holds its batch durably; the history waits for
	 * `entries` a round at most */
	for (i = 0; i < 2 * LEDGER_HEAD_SLOTS + 3; i++) {
		CHECK(commit_n(l, 1, "a") == 0);
		CHECK(l->hq_n <= LEDGER_HEAD_SLOTS);
		maxq = l->hq_n > maxq ? l->hq_n : maxq;
	}
	CHECK_EQ_INT(maxq, LEDGER_HEAD_SLOTS);
	durable = l->ent_durable;
	CHECK(durable > e0 && durable < l->cent_end);
	crash(l);
	/* losing what was not synced: put back */
	CHECK(copy_dir(d, keep) == 0);
	CHECK(lose_entries(d, durable, 0) == 0);
	{
		/* (every commit after the last synced one is in the journal) */
		struct ledger *r;
		uint64_t rep;
		int created;

		CHECK(ledger_open(d, signer, &r, NULL, err, sizeof(err)) == 0);
		if (r != NULL) {
			CHECK_EQ_INT(ledger_head_attach(r, hp, &created, &rep,
			    err, sizeof(err)), 2);
			CHECK(rep > 0 && rep < LEDGER_HEAD_SLOTS);
			ledger_close(r);
		}
		r = open_attached(d, hp, err, sizeof(err));
		CHECK_MSG(r != NULL, "%s", err);
		if (r != NULL) {
			CHECK_EQ_INT(ledger_committed_size(r),
			    1 + 2 * LEDGER_HEAD_SLOTS + 3);
			CHECK(entries_are(r, 0, ledger_committed_size(r), "a"));
			ledger_close(r);
		}
	}
	/* losing synced data too: the history, synced with it, proves
	 * more than `entries` holds; refused at open */
	CHECK(copy_dir(keep, d) == 0);
	CHECK(lose_entries(d, e0, 0) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == -2);
	CHECK_CONTAINS(err, "holds a signed checkpoint past the last one");
	free(d);
	free(hp);
	free(keep);
}

TEST(large_batch_syncs_entries)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 1, "a");

	if (l == NULL) { CHECK(0); return; }
	CHECK(commit_n(l, 1, "a") == 0);
	CHECK(l->ent_durable < l->cent_end);
	/* (the slot's buffer is what the batches needed, not a slot) */
	CHECK(l->pend[0].head_cap > 0 && l->pend[0].head_cap < 1024);
	CHECK(append_big(l, err, sizeof(err)) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) == 0);
	/* too large for a slot: synced in `entries` before the head */
	CHECK(l->ent_durable == l->cent_end);
	CHECK(l->pend[0].head_cap < 1024 && l->pend[1].head_cap < 1024);
	ledger_close(l);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

TEST(journal_checked_before_written)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	uint8_t *slot = xmalloc(LEDGER_HEAD_SLOT), *batch;
	uint64_t e0, seq;
	size_t blen, len;
	struct stat st;
	int fd;

	if (l == NULL) { CHECK(0); free(slot); return; }
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	if (l == NULL) { CHECK(0); free(slot); return; }
	e0 = l->cent_end;
	CHECK(commit_n(l, 1, "a") == 0);
	seq = l->head_seq;
	blen = (size_t)(l->cent_end - e0);
	batch = xmalloc(blen);
	{
		char *ep;
		int efd;

		xasprintf(&ep, "%s/entries", d);
		efd = open(ep, O_RDONLY);
		CHECK(efd >= 0 && pread(efd, batch, blen, (off_t)e0) ==
		    (ssize_t)blen);
		if (efd >= 0)
			close(efd);
		free(ep);
	}
	/* the slot again, signed as before, one byte of its entry changed:
	 * its commit record no longer signs what it holds */
	batch[6] ^= 1;
	len = ledger_head_encode(slot, seq, ledger_checkpoint(l), batch, blen,
	    e0);
	CHECK(len > 0);
	crash(l);
	fd = open(hp, O_RDWR);
	CHECK(fd >= 0 && pwrite(fd, slot, len, (off_t)(seq %
	    LEDGER_HEAD_SLOTS) * LEDGER_HEAD_SLOT) == (ssize_t)len);
	if (fd >= 0)
		close(fd);
	CHECK(lose_entries(d, e0, 0) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "holds 2 committed entries, but a checkpoint of "
	    "size 3 was signed");
	{
		char *ep;

		xasprintf(&ep, "%s/entries", d);
		CHECK(stat(ep, &st) == 0 && (uint64_t)st.st_size == e0);
		free(ep);
	}
	free(batch);
	free(slot);
	free(d);
	free(hp);
}

TEST(reopen_syncs_before_reusing_a_slot)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 1, "a");

	if (l == NULL) { CHECK(0); return; }
	/* a full round of batches `entries` may not hold durably, then the
	 * process dies (the page cache keeps its writes) */
	CHECK(commit_n(l, LEDGER_HEAD_SLOTS, "a") == 0);
	crash(l);
	/* the open syncs nothing (a fast start)... */
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK_EQ_INT(l->ent_durable, 0);
	/* ...the first commit that takes a slot holding a batch does */
	CHECK(commit_n(l, 1, "a") == 0);
	CHECK(l->ent_durable == l->cent_end);
	ledger_close(l);
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
	CHECK(stat(hp, &st) == 0 &&
	    st.st_size == LEDGER_HEAD_SLOTS * LEDGER_HEAD_SLOT);
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

int
main(void)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return 2;
	log_init("test-ledger-head", LOG_MODE_PLAIN, 0);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	randombytes_buf(seed, 32);
	signer = note_signer_new(ORIGIN, seed);
	n++; RUN(created_and_kept);
	n++; RUN(ledger_behind_refused);
	n++; RUN(other_history_refused);
	n++; RUN(torn_slot_falls_back);
	n++; RUN(failed_head_write_discards_batch);
	n++; RUN(failed_head_write_keeps_batch);
	n++; RUN(journal_puts_back_lost_batches);
	n++; RUN(two_commits_in_flight);
	n++; RUN(two_in_flight_journal);
	n++; RUN(journal_wraps_after_a_sync);
	n++; RUN(large_batch_syncs_entries);
	n++; RUN(first_format_rewritten);
	n++; RUN(journal_checked_before_written);
	n++; RUN(reopen_syncs_before_reusing_a_slot);
	note_signer_free(signer);
	rm_rf(tmpdir);
	return test_summary();
}
