/*
 * ledger_commit.c — the write side of an open ledger: append entries,
 * commit them (sign a checkpoint, append the commit record, one fdatasync:
 * of `entries`, or of the signed head holding the batch), sync points and
 * rollback. See ledger.h.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_int.h"
#include "util.h"

int ledger_fault_fsync;

static int
data_fdatasync(int fd)
{
	if (ledger_fault_fsync) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

int
ledger_truncate_committed(struct ledger *l)
{
	ledger_hcache_cut(l, ledger_stored_count(l->csize));
	if (ftruncate(l->fd_ent, (off_t)l->cent_end) != 0 ||
	    ftruncate(l->fd_idx, (off_t)(l->csize * 8)) != 0 ||
	    ftruncate(l->fd_hash, (off_t)(ledger_stored_count(l->csize) *
	    MERKLE_HASH_LEN)) != 0)
		return -1;
	l->ent_alloc = l->cent_end;
	return 0;
}

/*
 * The records now end at `end`: if that is past the zeros already there,
 * write zeros from it to an eighth of the file further (ledger_int.h). The
 * fdatasync of the commit that follows syncs them and the new size once;
 * the commits after it overwrite them in place. If the storage refuses
 * them (full), the file ends where the writes stopped and the next flush
 * tries again: a ledger without preallocated space only costs more per
 * sync.
 */
static void
prealloc(struct ledger *l, uint64_t end)
{
	static const uint8_t zeros[65536];
	uint64_t to, off, ahead = end / 8;
	size_t n;
	int e = errno;

	if (end <= l->ent_alloc)
		return;
	if (ahead < LEDGER_PREALLOC_MIN)
		ahead = LEDGER_PREALLOC_MIN;
	if (ahead > LEDGER_PREALLOC_MAX)
		ahead = LEDGER_PREALLOC_MAX;
	to = (end + ahead + 4095) / 4096 * 4096;
	for (off = end; off < to; off += n) {
		n = to - off < sizeof(zeros) ? (size_t)(to - off) :
		    sizeof(zeros);
		if (pwrite_full(l->fd_ent, zeros, n, (off_t)off) != 0)
			break;
	}
	l->ent_alloc = off;
	errno = e;
}

static void
wb_add(struct ledger_wbuf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 > 4096 ? (b->len + len) * 2 : 4096;
		b->buf = xrealloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
}

/* Start buffering at the current end, if not already. */
static void
wb_begin(struct ledger *l)
{
	if (l->wb_ent.len == 0 && l->wb_idx.len == 0 && l->wb_hash.len == 0) {
		l->w_size = l->size;
		l->w_ent = l->ent_end;
	}
}

/*
 * Index and hashes first, then the records: a reader walking the index
 * back from its end (ro_last_commit) tolerates entries not yet written,
 * and the commit record comes last.
 */
int
ledger_wflush(struct ledger *l)
{
	uint64_t at = ledger_stored_count(l->w_size) * MERKLE_HASH_LEN;

	if ((l->wb_idx.len > 0 && pwrite_full(l->fd_idx, l->wb_idx.buf,
	    l->wb_idx.len, (off_t)(l->w_size * 8)) != 0) ||
	    (l->wb_hash.len > 0 && pwrite_full(l->fd_hash, l->wb_hash.buf,
	    l->wb_hash.len, (off_t)at) != 0) ||
	    (l->wb_ent.len > 0 && pwrite_full(l->fd_ent, l->wb_ent.buf,
	    l->wb_ent.len, (off_t)l->w_ent) != 0))
		return -1;
	if (l->wb_ent.len > 0)
		prealloc(l, l->w_ent + l->wb_ent.len);
	ledger_wdiscard(l);
	return 0;
}

int
ledger_flush(struct ledger *l, char *err, size_t errlen)
{
	if (ledger_wflush(l) != 0) {
		seterr(err, errlen, "%s: writing appended entries: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
ledger_wdiscard(struct ledger *l)
{
	l->wb_ent.len = l->wb_idx.len = l->wb_hash.len = 0;
}

int
ledger_errno(const struct ledger *l)
{
	return l->err_no;
}

int
ledger_rollback(struct ledger *l, char *err, size_t errlen)
{
	if (l->npend > 0) {
		seterr(err, errlen, "%s: rollback: a commit is in flight",
		    l->dir);
		return -1;
	}
	ledger_wdiscard(l);
	ledger_hcache_cut(l, ledger_stored_count(l->csize));
	if (l->size == l->csize && !l->need_rollback)
		return 0;
	l->need_rollback = 0;
	l->size = l->csize;
	l->ent_end = l->cent_end;
	l->front = l->cfront;
	if (ledger_truncate_committed(l) != 0) {
		seterr(err, errlen, "%s: rollback: %s", l->dir,
		    strerror(errno));
		l->broken = 1;
		return -1;
	}
	return 0;
}

int
ledger_append(struct ledger *l, const void *entry, size_t len,
    uint64_t *index, char *err, size_t errlen)
{
	merkle_hash leaf;

	merkle_leaf_hash(entry, len, leaf);
	return ledger_append_leaf(l, entry, len, leaf, index, err, errlen);
}

int
ledger_append_leaf(struct ledger *l, const void *entry, size_t len,
    const merkle_hash leaf, uint64_t *index, char *err, size_t errlen)
{
	merkle_hash hashes[65];
	uint8_t hdr[4], ib[8];
	uint64_t s;
	size_t nh = 1;
	int k;

	if (l->signer == NULL || l->broken || l->need_rollback) {
		seterr(err, errlen, "%s: %s", l->dir, l->broken ?
		    "ledger unusable after a failed commit; reopen it" :
		    l->need_rollback ? "a write failed: roll back first" :
		    "ledger is open read-only");
		return -1;
	}
	if (len > LEDGER_MAX_ENTRY) {
		seterr(err, errlen, "entry too large (%zu bytes, max %u)", len,
		    LEDGER_MAX_ENTRY);
		return -1;
	}
	/* a zero length ends the records (preallocated space) */
	if (len == 0) {
		seterr(err, errlen, "empty entry (an entry has 1 to %u bytes)",
		    LEDGER_MAX_ENTRY);
		return -1;
	}
	/* The leaf and every parent it completes, in stored order. */
	memcpy(hashes[0], leaf, MERKLE_HASH_LEN);
	for (s = l->size, k = l->front.npeaks - 1; s & 1; s >>= 1, k--, nh++) {
		/* the peak of level nh - 1 merged here is node s - 1 */
		if (nh - 1 >= LEDGER_HPEAK_LEVEL)
			ledger_hcache_peak(l, (int)(nh - 1), s - 1,
			    l->front.peaks[k]);
		merkle_node_hash(l->front.peaks[k], hashes[nh - 1],
		    hashes[nh]);
	}
	ledger_put_be32(hdr, (uint32_t)len);
	ledger_put_be64(ib, l->ent_end);
	wb_begin(l);
	wb_add(&l->wb_ent, hdr, 4);
	wb_add(&l->wb_ent, entry, len);
	wb_add(&l->wb_idx, ib, 8);
	wb_add(&l->wb_hash, hashes, nh * MERKLE_HASH_LEN);
	ledger_hcache_add(l, ledger_stored_count(l->size), hashes, nh);
	merkle_frontier_push(&l->front, hashes[0]);
	l->ent_end += 4 + len;
	if (index != NULL)
		*index = l->size;
	l->size++;
	if (l->wb_ent.len >= LEDGER_WBUF_MAX && ledger_wflush(l) != 0) {
		/* Nothing committed is touched: the uncommitted entries are
		 * discarded by the rollback the caller must do. */
		l->err_no = errno;
		l->need_rollback = 1;
		seterr(err, errlen, "%s: append: %s", l->dir,
		    strerror(l->err_no));
		return -1;
	}
	return 0;
}

int
ledger_sync(struct ledger *l, char *err, size_t errlen)
{
	char *p, why[VMS_ERRLEN];
	int rc;

	if (l->signer == NULL || l->broken) {
		seterr(err, errlen, "%s: %s", l->dir, l->broken ?
		    "ledger unusable after a failed commit; reopen it" :
		    "ledger is open read-only");
		return -1;
	}
	if (l->unsynced_commits == 0 && l->anchor_size == l->csize)
		return 0;
	/*
	 * Everything the new `checkpoint` covers must be durable first.
	 * `entries` may not be: the signed head's journal holds the last
	 * batches, and a recovery from a process crash during a commit's
	 * fdatasync keeps unsynced writes.
	 */
	if (fdatasync(l->fd_ent) != 0) {
		seterr(err, errlen, "%s: sync point: fdatasync: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	if (l->ent_durable < l->cent_end)
		l->ent_durable = l->cent_end;
	if (ledger_history_flush(l, err, errlen) != 0)
		return -1;
	if (fdatasync(l->fd_idx) != 0 || fdatasync(l->fd_hash) != 0 ||
	    fdatasync(l->fd_hist) != 0) {
		seterr(err, errlen, "%s: sync point: fdatasync: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	p = ledger_path(l, "checkpoint");
	rc = write_file_atomic(p, l->checkpoint, strlen(l->checkpoint), 0644,
	    why, sizeof(why));
	free(p);
	if (rc != 0) {
		seterr(err, errlen, "%s: sync point: %s", l->dir, why);
		return -1;
	}
	l->anchor_size = l->csize;
	l->unsynced_commits = l->unsynced_bytes = 0;
	l->sync_due = 0;
	return 0;
}

void
ledger_sync_in_commits(struct ledger *l, int on)
{
	l->sync_in_commits = on;
}

/*
 * A due sync point onto the ticket: the newest note the history holds,
 * if it is past the anchor (its entries are durable: a note enters the
 * history only then; its index and hashes were written with its batch).
 */
static void
anchor_prepare(struct ledger *l, struct ledger_pend *p,
    struct ledger_ticket *t)
{
	uint64_t n;
	unsigned i;

	if (!l->sync_in_commits || !l->sync_due || l->hist_last == NULL ||
	    checkpoint_note_size(l->hist_last, strlen(l->hist_last), &n) != 0 ||
	    n <= l->anchor_size)
		return;
	/* one at a time: two would replace `checkpoint` at once */
	for (i = 0; i < l->npend; i++)
		if (l->pend[(l->pfirst + i) % LEDGER_INFLIGHT].anchor != NULL)
			return;
	if (l->anchor_path == NULL)
		l->anchor_path = ledger_path(l, "checkpoint");
	p->anchor = xstrdup(l->hist_last);
	p->anchor_errno = 0;
	t->fd_idx = l->fd_idx;
	t->fd_hash = l->fd_hash;
	t->fd_hist = l->fd_hist;
	t->anchor = p->anchor;
	t->anchor_path = l->anchor_path;
	t->anchor_errno = &p->anchor_errno;
}

/* The ticket's sync point, after its commit point (an errno, 0 if done). */
static int
anchor_write(const struct ledger_ticket *t)
{
	char why[VMS_ERRLEN];

	errno = 0;
	if (fdatasync(t->fd_idx) != 0 || fdatasync(t->fd_hash) != 0 ||
	    fdatasync(t->fd_hist) != 0 ||
	    write_file_atomic(t->anchor_path, t->anchor, strlen(t->anchor),
	    0644, why, sizeof(why)) != 0)
		return errno ? errno : EIO;
	return 0;
}

/* Phase 3's part: the anchor moved, or why not. */
static void
anchor_finish(struct ledger *l, struct ledger_pend *p, int sync_errno)
{
	uint64_t n;

	if (p->anchor == NULL)
		return;
	if (sync_errno == 0 && p->anchor_errno == 0 &&
	    checkpoint_note_size(p->anchor, strlen(p->anchor), &n) == 0) {
		l->anchor_size = n;
		l->unsynced_commits = l->unsynced_bytes = 0;
		l->sync_due = 0;
	} else if (p->anchor_errno != 0)
		ledger_warn(l, "%s: sync point: %s (the commit is durable; "
		    "tried again at the next one)", l->dir,
		    strerror(p->anchor_errno));
	free(p->anchor);
	p->anchor = NULL;
}

static int
writable(struct ledger *l, char *err, size_t errlen)
{
	if (l->signer == NULL || l->broken || l->need_rollback) {
		seterr(err, errlen, "%s: %s", l->dir, l->broken ?
		    "ledger unusable after a failed commit; reopen it" :
		    l->need_rollback ? "a write failed: roll back first" :
		    "ledger is open read-only");
		return -1;
	}
	return 0;
}

/* Where the next record of len bytes goes in the head's ring: after the
 * last one, or from page 0 if it does not fit before the end. */
static void
head_place(const struct ledger *l, size_t len, size_t *page, size_t *npages)
{
	*npages = ledger_head_pages(len);
	*page = l->head_next;
	if (*page + *npages > LEDGER_HEAD_PAGES)
		*page = 0;
}

/*
 * The signed head's record for the batch being prepared (its commit
 * record just buffered; seq the head's sequence number it takes, `from`
 * where the batch starts if it is whole in the buffer): with the batch's
 * bytes (the head's journal) when the buffer holds the whole batch, it
 * fits, and the pages it takes hold no batch `entries` may not hold
 * durably yet; otherwise without, and `entries` is synced before the
 * record is written (phase 2). A record that holds its batch is written
 * now, in order: a later commit's flush of the head then also makes it
 * durable, so that a durable head never skips a batch (two commits in
 * flight, ledger_commits_in_flight). The ring moves on only once the
 * commit is prepared (ledger_commit_prepare): a prepare that fails takes
 * no pages.
 */
static int
head_prepare(struct ledger *l, struct ledger_pend *p, int fd,
    struct ledger_ticket *t, const char *note, uint64_t seq, uint64_t from)
{
	size_t nlen = strlen(note), len, need, page, npages, i;

	need = ledger_head_len(nlen, l->wb_ent.len);
	p->sync_ent = l->w_ent != from || need == 0;
	if (!p->sync_ent) {
		head_place(l, need, &page, &npages);
		for (i = 0; i < npages; i++)
			if (l->head_end[page + i] > l->ent_durable)
				p->sync_ent = 1;
	}
	if (p->sync_ent) {
		if ((need = ledger_head_len(nlen, 0)) == 0)
			return -1;
		head_place(l, need, &page, &npages);
	}
	if (need > p->head_cap) {	/* (what the batches have needed) */
		p->head = xrealloc(p->head, need);
		p->head_cap = need;
	}
	if ((len = ledger_head_encode(p->head, seq, note, p->sync_ent ?
	    NULL : l->wb_ent.buf, l->wb_ent.len, l->w_ent)) == 0)
		return -1;
	p->head_errno = 0;
	p->head_page = page;
	p->head_npages = npages;
	t->head_fd = fd;
	t->head_off = (long long)page * LEDGER_HEAD_PAGE;
	t->head_slot = p->head;
	t->head_len = len;
	t->sync_entries = p->sync_ent;
	t->head_errno = &p->head_errno;
	return 0;
}

/* Write a slot that holds its batch now (head_prepare). 0 or -1 (errno). */
static int
head_write_now(struct ledger_pend *p, struct ledger_ticket *t)
{
	if (p->sync_ent)
		return 0;
	if (pwrite_full(t->head_fd, t->head_slot, t->head_len,
	    (off_t)t->head_off) != 0)
		return -1;
	t->head_slot = NULL;	/* phase 2: the flush alone */
	return 0;
}

/* The i-th oldest prepared commit (0: the oldest). */
static struct ledger_pend *
pend_at(struct ledger *l, unsigned i)
{
	return &l->pend[(l->pfirst + i) % LEDGER_INFLIGHT];
}

void
ledger_commits_in_flight(struct ledger *l, unsigned n)
{
	l->inflight = n < 1 ? 1 : n > LEDGER_INFLIGHT ? LEDGER_INFLIGHT : n;
}

int
ledger_commit_room(const struct ledger *l)
{
	const struct ledger_pend *y;

	if (l->npend == 0)
		return 1;
	if (l->npend >= l->inflight || l->head_fd < 0 || l->broken ||
	    l->need_rollback)
		return 0;
	/* A slot without its batch is written after `entries` is synced:
	 * no later flush may run before that. */
	y = &l->pend[(l->pfirst + l->npend - 1) % LEDGER_INFLIGHT];
	return !y->sync_ent;
}

/* A prepare failed after appending: discard the batch now, or (a commit
 * in flight, whose batch it must not touch) once that is finished. */
static void
prepare_undo(struct ledger *l)
{
	char why[VMS_ERRLEN];

	if (l->npend > 0)
		l->need_rollback = 1;
	else
		(void)ledger_rollback(l, why, sizeof(why));
}

/*
 * Phase 1 (owner's thread): sign the checkpoint of everything appended and
 * append the commit record to `entries`, unsynced. Appends may go on after
 * it; they land past the commit record.
 */
enum commit_prepared
ledger_commit_prepare(struct ledger *l, struct ledger_ticket *t, char *err,
    size_t errlen)
{
	merkle_hash root;
	char *note, why[VMS_ERRLEN];
	uint8_t hdr[4];
	size_t nlen;
	int w;
	unsigned slot = (l->pfirst + l->npend) % LEDGER_INFLIGHT;
	struct ledger_pend *p = &l->pend[slot];
	uint64_t from = l->npend > 0 ? pend_at(l, l->npend - 1)->ent_end :
	    l->cent_end;

	memset(t, 0, sizeof(*t));
	t->fd = t->head_fd = -1;
	if (writable(l, err, errlen) != 0)
		return COMMIT_FAILED;
	if (!ledger_commit_room(l)) {
		seterr(err, errlen, "%s: a commit is already in flight", l->dir);
		return COMMIT_FAILED;
	}
	if (l->size == (l->npend > 0 ? pend_at(l, l->npend - 1)->size :
	    l->csize))
		return COMMIT_NOTHING;
	merkle_frontier_root(&l->front, root);
	/* Never sign a tree inconsistent with the signed head: it was
	 * checked against the ledger when attached, and every commit since
	 * extends it; this catches anything that would not. */
	if (l->head_fd >= 0 && (l->size < l->head_size || l->csize <
	    l->head_size || (l->csize == l->head_size &&
	    sodium_memcmp(l->croot, l->head_root, MERKLE_HASH_LEN) != 0))) {
		seterr(err, errlen, "%s: refusing to sign size %" PRIu64 ": a "
		    "checkpoint of size %" PRIu64 " was signed that this tree "
		    "does not extend", l->dir, l->size, l->head_size);
		prepare_undo(l);
		return COMMIT_FAILED;
	}
	if ((note = ledger_sign_checkpoint(l->signer, l->size, root, why,
	    sizeof(why))) == NULL) {
		seterr(err, errlen, "%s: signing the checkpoint: %s", l->dir,
		    why);
		prepare_undo(l);
		return COMMIT_FAILED;
	}
	nlen = strlen(note);
	ledger_put_be32(hdr, LEDGER_REC_NOTE | (uint32_t)nlen);
	wb_begin(l);
	wb_add(&l->wb_ent, hdr, 4);
	wb_add(&l->wb_ent, note, nlen);
	if (l->head_fd >= 0 && head_prepare(l, p, l->head_fds[slot], t, note,
	    l->head_seq + 1 + l->npend, from) != 0) {
		seterr(err, errlen, "%s: the checkpoint does not fit the "
		    "signed head", l->dir);
		prepare_undo(l);
		free(note);
		return COMMIT_FAILED;
	}
	if ((w = ledger_wflush(l)) != 0 || (l->head_fd >= 0 &&
	    head_write_now(p, t) != 0)) {
		/* (a slot not written whole is never valid: its hash) */
		l->err_no = errno;
		seterr(err, errlen, "%s: writing the %s: %s; %" PRIu64
		    " uncommitted entries discarded", l->dir, w != 0 ? "batch" :
		    "signed head", strerror(l->err_no), l->size - (l->npend > 0 ?
		    pend_at(l, l->npend - 1)->size : l->csize));
		prepare_undo(l);
		free(note);
		return COMMIT_FAILED;
	}
	if (l->head_fd >= 0)
		l->head_next = (p->head_page + p->head_npages) %
		    LEDGER_HEAD_PAGES;
	l->ent_end += 4 + nlen;
	p->size = l->size;
	p->ent_end = l->ent_end;
	p->front = l->front;
	memcpy(p->root, root, MERKLE_HASH_LEN);
	p->note = note;
	l->npend++;
	t->fd = l->fd_ent;
	t->size = l->size;
	anchor_prepare(l, p, t);
	return COMMIT_TICKET;
}

/* The checkpoint of the prepared batch (NULL if none). */
const char *
ledger_prepared_checkpoint(const struct ledger *l)
{
	return l->npend > 0 ? l->pend[(l->pfirst + l->npend - 1) %
	    LEDGER_INFLIGHT].note : NULL;
}

/*
 * Phase 2 (any thread): the commit point. Without a signed head, the
 * fdatasync of `entries`. With one, its slot written and synced: it holds
 * the batch (and a crash that loses the batch's unsynced writes to
 * `entries` leaves it in the head's journal), or `entries` is synced
 * first (a head is never ahead of what its ledger and journal hold but
 * when storage loses synced data). Touches only the ticket and what it
 * points to.
 */
int
ledger_commit_fsync(const struct ledger_ticket *t)
{
	int e;

	if ((t->head_fd < 0 || t->sync_entries) && data_fdatasync(t->fd) != 0)
		return errno ? errno : EIO;
	if (t->head_fd >= 0 && (e = ledger_head_write(t)) != 0) {
		*t->head_errno = e;
		return e;
	}
	if (t->anchor != NULL)
		*t->anchor_errno = anchor_write(t);
	return 0;
}

/*
 * Phase 3 (owner's thread): after the fdatasync, the prepared checkpoint
 * becomes the committed one; the history append and the sync point come
 * after it and are recoverable from `entries`. If the fdatasync failed,
 * the batch and everything appended after it are discarded.
 */
int
ledger_commit_finish(struct ledger *l, const struct ledger_ticket *t,
    int sync_errno, char *err, size_t errlen)
{
	char why[VMS_ERRLEN];
	uint64_t before = l->cent_end;
	struct ledger_pend *p = pend_at(l, 0);
	size_t k;
	int younger;

	if (l->npend == 0 || t->size != p->size || t->fd != l->fd_ent) {
		seterr(err, errlen, "%s: no commit of size %" PRIu64 " is in "
		    "flight", l->dir, t->size);
		return -1;
	}
	l->pfirst = (l->pfirst + 1) % LEDGER_INFLIGHT;
	l->npend--;
	younger = l->npend > 0;
	anchor_finish(l, p, sync_errno);
	if (l->broken) {
		/* (an older commit in flight failed: see below) */
		seterr(err, errlen, "%s: a commit in flight before this one "
		    "failed; this batch of %" PRIu64 " entries may be durable "
		    "but is not acknowledged: reopen the ledger", l->dir,
		    p->size - l->csize);
		free(p->note);
		p->note = NULL;
		return -1;
	}
	if (sync_errno != 0 && (p->head_errno != 0 || younger)) {
		l->err_no = p->head_errno != 0 ? p->head_errno : sync_errno;
		/*
		 * The batch and its signed head may or may not be durable
		 * (and with a younger commit in flight, that one's may be,
		 * which holds this batch too): keep both (a reopen finds the
		 * batch in `entries`, or in the head's journal, or neither)
		 * and acknowledge nothing.
		 */
		seterr(err, errlen, "%s: %s: %s; the batch of %" PRIu64
		    " entries may be durable but is not acknowledged: reopen "
		    "the ledger", l->dir, p->head_errno != 0 ? "writing the "
		    "signed head" : "fsync", strerror(l->err_no),
		    p->size - l->csize);
		free(p->note);
		p->note = NULL;
		l->broken = 1;
		return -1;
	}
	if (sync_errno != 0) {
		/*
		 * Never acknowledged: cut the batch and its commit record.
		 * Should the record survive on disk anyway, it signs exactly
		 * the entries before it, which a later open then keeps.
		 */
		l->err_no = sync_errno;
		seterr(err, errlen, "%s: fsync: %s; %" PRIu64 " uncommitted "
		    "entries discarded", l->dir, strerror(sync_errno),
		    l->size - l->csize);
		free(p->note);
		p->note = NULL;
		/* (its record was not written: its pages are the next's) */
		if (l->head_fd >= 0)
			l->head_next = p->head_page;
		(void)ledger_rollback(l, why, sizeof(why));
		return -1;
	}
	free(l->checkpoint);
	l->checkpoint = p->note;
	p->note = NULL;
	l->csize = p->size;
	l->cent_end = p->ent_end;
	l->cfront = p->front;
	memcpy(l->croot, p->root, MERKLE_HASH_LEN);
	if (l->head_fd >= 0) {
		/* (its record holds the batch until `entries` is synced) */
		for (k = 0; k < p->head_npages; k++)
			l->head_end[p->head_page + k] = p->sync_ent ? 0 :
			    p->ent_end;
		if (p->sync_ent)
			l->ent_durable = p->ent_end;
		l->head_seq++;
		l->head_size = p->size;
		memcpy(l->head_root, p->root, MERKLE_HASH_LEN);
	}
	l->unsynced_commits++;
	l->unsynced_bytes += l->cent_end - before;
	if (l->head_fd >= 0 && !p->sync_ent)
		ledger_history_defer(l, l->checkpoint);
	else if (ledger_history_flush(l, why, sizeof(why)) != 0 ||
	    ledger_history_append(l, l->checkpoint, 0, why,
	    sizeof(why)) != 0)
		ledger_warn(l, "%s: checkpoint of size %" PRIu64 " is committed but "
		    "not yet recorded in the history: %s", l->dir, l->csize,
		    why);
	if (l->unsynced_commits >= LEDGER_SYNC_COMMITS ||
	    l->csize - l->anchor_size >= LEDGER_SYNC_ENTRIES ||
	    l->unsynced_bytes >= LEDGER_SYNC_BYTES) {
		if (l->sync_in_commits)
			l->sync_due = 1;	/* on the next ticket */
		else if (younger)
			;	/* (at the next finish with none in flight) */
		else if (ledger_sync(l, why, sizeof(why)) != 0)
			ledger_warn(l, "%s: %s (the commit is durable)", l->dir,
			    why);
	}
	return 0;
}

/* The three phases in one call. */
int
ledger_commit(struct ledger *l, char *err, size_t errlen)
{
	struct ledger_ticket t;

	switch (ledger_commit_prepare(l, &t, err, errlen)) {
	case COMMIT_NOTHING:
		return 0;
	case COMMIT_FAILED:
		return -1;
	case COMMIT_TICKET:
		break;
	}
	return ledger_commit_finish(l, &t, ledger_commit_fsync(&t), err,
	    errlen);
}
