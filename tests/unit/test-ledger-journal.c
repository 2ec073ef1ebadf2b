/*
 * test-ledger-journal.c — the signed head's journal (ledger_head.c): a
 * crash that loses unsynced writes to `entries` is put back from it, also
 * with two commits in flight (whose rules are tested here: a third
 * refused, none beside a record without its batch, a descriptor each,
 * finished in order, an older failure leaving the ledger to reopen);
 * `entries` is synced before a page of a record holding a batch it may
 * lack is written again (about once a round of the ring), and for a
 * batch too large for a record; a journal batch its commit record does
 * not sign is refused. The helpers are
 * tests/unit/htest.h's.
 */
#include "htest.h"

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
	int i, nsync = 0;

	_Static_assert(2 * LEDGER_HEAD_PAGES + 3 > LEDGER_SYNC_COMMITS,
	    "the loop below passes a sync point");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	if (l == NULL) { CHECK(0); return; }
	e0 = l->cent_end;
	/* round the ring twice and a bit, a page a commit: each page is
	 * written again only once `entries` holds its batch durably, so
	 * `entries` is synced about once a round (and at the sync point of
	 * ledger_commit, every LEDGER_SYNC_COMMITS); the history waits for
	 * `entries` a round at most */
	for (i = 0; i < 2 * (int)LEDGER_HEAD_PAGES + 3; i++) {
		uint64_t before = l->ent_durable;

		CHECK(commit_n(l, 1, "a") == 0);
		CHECK(l->hq_n <= LEDGER_HEAD_PAGES);
		maxq = l->hq_n > maxq ? l->hq_n : maxq;
		nsync += l->ent_durable != before;
	}
	CHECK_MSG(maxq >= LEDGER_HEAD_PAGES - 2, "%zu", maxq);
	CHECK_MSG(nsync >= 2 && nsync <= 3, "%d", nsync);
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
			CHECK(rep > 0 && rep < LEDGER_HEAD_PAGES);
			ledger_close(r);
		}
		r = open_attached(d, hp, err, sizeof(err));
		CHECK_MSG(r != NULL, "%s", err);
		if (r != NULL) {
			CHECK_EQ_INT(ledger_committed_size(r),
			    1 + 2 * LEDGER_HEAD_PAGES + 3);
			CHECK(entries_are(r, 0, ledger_committed_size(r), "a"));
			ledger_close(r);
		}
	}
	/* losing synced data too: what was synced with it proves more
	 * than `entries` holds (the index of the sync point the 256th
	 * commit ran, LEDGER_SYNC_COMMITS; without one, the history);
	 * refused at open */
	CHECK(copy_dir(keep, d) == 0);
	CHECK(lose_entries(d, e0, 0) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == -2);
	CHECK_CONTAINS(err, "is truncated inside committed entry");
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
	uint8_t *slot = xmalloc(LEDGER_HEAD_RECORD), *batch;
	uint64_t e0, seq;
	size_t blen, len, page;
	struct stat st;
	int fd;

	if (l == NULL) { CHECK(0); free(slot); return; }
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	if (l == NULL) { CHECK(0); free(slot); return; }
	e0 = l->cent_end;
	CHECK(commit_n(l, 1, "a") == 0);
	seq = l->head_seq;
	/* (its record, a page: the one before the next's) */
	page = (l->head_next + LEDGER_HEAD_PAGES - 1) % LEDGER_HEAD_PAGES;
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
	/* the record again, signed as before, one byte of its entry
	 * changed: its commit record no longer signs what it holds */
	batch[6] ^= 1;
	len = ledger_head_encode(slot, seq, ledger_checkpoint(l), batch, blen,
	    e0);
	CHECK(len > 0 && len <= LEDGER_HEAD_PAGE);
	crash(l);
	fd = open(hp, O_RDWR);
	CHECK(fd >= 0 && pwrite(fd, slot, len, (off_t)(page *
	    LEDGER_HEAD_PAGE)) == (ssize_t)len);
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

TEST(reopen_syncs_before_reusing_a_page)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 1, "a");

	if (l == NULL) { CHECK(0); return; }
	/* a full round of batches `entries` may not hold durably, a page
	 * each, then the process dies (the page cache keeps its writes) */
	CHECK(commit_n(l, LEDGER_HEAD_PAGES, "a") == 0);
	crash(l);
	/* the open syncs nothing (a fast start)... */
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK_EQ_INT(l->ent_durable, 0);
	/* ...the first commit that takes a page holding a batch does */
	CHECK(commit_n(l, 1, "a") == 0);
	CHECK(l->ent_durable == l->cent_end);
	ledger_close(l);
	free(d);
	free(hp);
}

int
main(void)
{
	if (lt_init("test-ledger-journal") != 0)
		return 2;
	n++; RUN(journal_puts_back_lost_batches);
	n++; RUN(two_commits_in_flight);
	n++; RUN(two_in_flight_journal);
	n++; RUN(journal_wraps_after_a_sync);
	n++; RUN(large_batch_syncs_entries);
	n++; RUN(journal_checked_before_written);
	n++; RUN(reopen_syncs_before_reusing_a_page);
	return lt_done();
}
