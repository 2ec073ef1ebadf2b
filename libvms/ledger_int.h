/*
 * ledger_int.h — private to ledger*.c: the struct ledger and the helpers
 * the ledger files share (stored-hash layout, history). Not an interface.
 */
#ifndef VMS_LEDGER_INT_H
#define VMS_LEDGER_INT_H

#include <stdint.h>

#include "ledger.h"

#define LEDGER_HPEAKS		64
#define LEDGER_HPEAK_LEVEL	6
/* The signed head's file: a ring of pages (ledger_head.c) */
#define LEDGER_HEAD_FILE	(512u << 10)
#define LEDGER_HEAD_PAGE	4096u
#define LEDGER_HEAD_PAGES	(LEDGER_HEAD_FILE / LEDGER_HEAD_PAGE)

/* A growing byte buffer (appends not yet written). */
struct ledger_wbuf {
	uint8_t			*buf;
	size_t			 len, cap;
};


/*
 * A prepared commit, not yet finished: what it signs (size, root,
 * frontier, note), where its commit record ends in `entries`, the signed
 * head's slot it writes (in head_cap bytes: written at prepare when it
 * holds its batch; else by phase 2 after `entries` is synced, sync_ent)
 * and whether writing it failed, and the sync point it
 * carries (anchor) and whether that failed.
 */
#define LEDGER_INFLIGHT	2
struct ledger_pend {
	uint64_t		 size, ent_end;
	struct merkle_frontier	 front;
	merkle_hash		 root;
	char			*note;
	uint8_t			*head;
	size_t			 head_cap;
	int			 head_errno, sync_ent;
	size_t			 head_page, head_npages;	/* its record's */
	char			*anchor;
	int			 anchor_errno;
};

struct ledger {
	char			*dir;
	char			*vkey;		/* one line, no '\n' */
	struct note_verifier	 ver;		/* from the vkey file */
	const struct note_signer *signer;	/* NULL: read-only */
	int			 fd_ent, fd_idx, fd_hash, fd_hist;
	int			 broken;	/* a commit half-failed */
	int			 err_no;	/* of the last failed write */
	int			 need_rollback;	/* an append's write failed */
	struct ledger_recovery	 rec;		/* what the open repaired */
	void			(*warn_fn)(void *, const char *);
	void			*warn_arg;

	uint64_t		 size;		/* appended entries */
	uint64_t		 csize;		/* under the checkpoint */
	uint64_t		 ent_end;	/* end of the last record */
	uint64_t		 ent_alloc;	/* `entries` holds zeros up to
						 * here past ent_end (writable) */
	uint64_t		 cent_end;	/* same, committed */
	struct merkle_frontier	 front, cfront;
	merkle_hash		 croot;		/* root of the checkpoint */
	char			*checkpoint;	/* signed note, verbatim */

	uint64_t		 hist_end;	/* length of `checkpoints` */

	/*
	 * Sync point: the size of the `checkpoint` file on disk. index,
	 * hashes and checkpoints are durable up to it; past it only
	 * `entries` is (commits fdatasync it alone), see ledger_sync().
	 */
	uint64_t		 anchor_size;
	uint64_t		 unsynced_commits;
	uint64_t		 unsynced_bytes;
	/*
	 * Sync points in commits (ledger_sync_in_commits): one is due; the
	 * last note appended to `checkpoints` (the anchor it can take); the
	 * one a ticket carries, and whether its work failed.
	 */
	int			 sync_in_commits, sync_due;
	char			*hist_last;
	char			*anchor_path;
	/*
	 * Appends are buffered here and written with one pwrite per file
	 * when the batch is committed (or read, or the buffer is large):
	 * records for `entries` from offset w_ent, index and hashes from
	 * entry w_size on. Empty buffers: everything is in the files.
	 */
	struct ledger_wbuf	 wb_ent, wb_idx, wb_hash;
	uint64_t		 w_size, w_ent;
	/*
	 * The newest stored hashes, stored indices [hc_start, hc_start +
	 * hc_n), as appended (ledger_hcache_add); with the frontier's peaks
	 * they are every hash a new batch's inclusion proofs need, so
	 * receipts read nothing from `hashes`. Emptied by a rollback.
	 */
	merkle_hash		*hc;
	uint64_t		 hc_start;
	size_t			 hc_n, hc_cap;
	/* ledger_inclusion_proofs' table of the subtree hashes a batch's
	 * proofs share, kept from batch to batch (ledger_hashes.c) */
	struct memo_slot	*memo;
	/* Older peaks the appends merged (levels >= LEDGER_HPEAK_LEVEL;
	 * lower ones are in hc) and those at the open: the left siblings
	 * a new leaf's proof needs beyond hc's reach. */
	struct {
		uint64_t	 idx;		/* stored index + 1; 0: free */
		merkle_hash	 h;
	}			 hpeak[LEDGER_HPEAKS];
	unsigned		 hpeak_next;
	/*
	 * Prepared commits (ledger_commit_prepare), not yet finished,
	 * oldest first: pend[(pfirst + i) % LEDGER_INFLIGHT] for i <
	 * npend, at most inflight of them (ledger_commits_in_flight).
	 * Tickets point into their entry, which never moves.
	 */
	struct ledger_pend	 pend[LEDGER_INFLIGHT];
	unsigned		 pfirst, npend, inflight;
	/*
	 * The signed head (ledger_head.c), -1 if none is attached, and a
	 * second descriptor of it (head_fds[1]) for a second commit in
	 * flight: a writeback error is reported once per open file, so
	 * each flush in flight needs its own to see every one. A record
	 * may carry its batch's bytes (the head's journal): head_end[k] is
	 * where the batch of the record on page k ends in `entries` if
	 * `entries` may not hold it durably yet (0 if it does);
	 * ent_durable: `entries` is synced up to there. A commit whose
	 * record would cover such a page, or whose batch does not fit a
	 * record, syncs `entries` first (sync_ent). The next record starts
	 * on page head_next (or on page 0 if it does not fit before the
	 * end).
	 */
	int			 head_fd;
	int			 head_fds[LEDGER_INFLIGHT];
	uint64_t		 head_seq, head_size;
	merkle_hash		 head_root;
	uint64_t		 head_end[LEDGER_HEAD_PAGES];
	size_t			 head_next;
	uint64_t		 ent_durable;
	/* Checkpoints of batches `entries` may not hold durably yet, not
	 * yet in the history (ledger_history_defer). */
	char			*hq[LEDGER_HEAD_PAGES + 1];
	size_t			 hq_n;
	/* History index, built on first use: sizes and record offsets. */
	int			 hist_loaded;
	size_t			 hist_n, hist_cap;
	uint64_t		*hist_size, *hist_off;
};

/*
 * The signed head (ledger_head.c; vms-ledger(5)): records of at most
 * LEDGER_HEAD_RECORD bytes, each from a page boundary of the file's ring
 * of LEDGER_HEAD_PAGES pages on. The bytes a record takes for a note and
 * a batch (0 if they do not fit). Encode one into slot (that many bytes):
 * the note and, unless batch is NULL, the batch's bytes as written to
 * `entries` at offset at; its length, or 0 if it does not fit. Write a
 * ticket's (an errno).
 */
#define LEDGER_HEAD_RECORD	65536u
size_t	 ledger_head_len(size_t notelen, size_t batchlen);
/* The pages of the ring a record of len bytes takes. */
static inline size_t
ledger_head_pages(size_t len)
{
	return (len + LEDGER_HEAD_PAGE - 1) / LEDGER_HEAD_PAGE;
}
size_t	 ledger_head_encode(uint8_t *slot, uint64_t seq, const char *note,
	    const uint8_t *batch, size_t batchlen, uint64_t at);
int	 ledger_head_write(const struct ledger_ticket *);

/* Test hook: when set, ledger_commit's data fsync fails with EIO. */
extern int ledger_fault_fsync;

/* A record in `entries` whose length has this bit set is a signed
 * checkpoint note (the commit record), not an entry. */
#define LEDGER_REC_NOTE		0x80000000u
/* ledger_commit runs a sync point after this many commits, entries or
 * bytes since the last one (bounds the tail an open must rehash). */
#define LEDGER_SYNC_COMMITS	256
#define LEDGER_SYNC_ENTRIES	8192
#define LEDGER_SYNC_BYTES	(8u << 20)

/* "dir/name", malloc'd (ledger.c). */
char	*ledger_path(const struct ledger *, const char *name);
/* Cut entries, index and hashes back to the committed size
 * (ledger_commit.c). */
int	 ledger_truncate_committed(struct ledger *);

/* Write the buffered appends (ledger_commit.c); -1 with errno. */
int	 ledger_wflush(struct ledger *);
/* Drop them (rollback). */
void	 ledger_wdiscard(struct ledger *);
#define LEDGER_WBUF_MAX		(1u << 20)	/* write through above this */
/*
 * `entries` is extended with zeros ahead of its records, an eighth of its
 * size but at least LEDGER_PREALLOC_MIN and at most LEDGER_PREALLOC_MAX
 * (to a page boundary), so that most commits' fdatasyncs overwrite space
 * already written instead of growing the file: no new size to sync (on
 * this project's test VM, 146 against 243 us per fdatasync; bench-ledger's
 * disk lines). A zero length ends the records (vms-ledger(5)); close and
 * a writable open cut the zeros.
 */
#define LEDGER_PREALLOC_MIN	(16u << 10)
#define LEDGER_PREALLOC_MAX	(256u << 10)

/* Go sumdb/tlog stored-hash layout (post-order). */
uint64_t ledger_stored_index(int level, uint64_t n);
uint64_t ledger_stored_count(uint64_t n);
/*
 * The stored hashes kept in memory (ledger_hashes.c): n hashes appended at
 * stored index `first`; a peak of `level`, index n, merged by an append;
 * forget what lies at or past stored index `end` (rollback).
 */
#define LEDGER_HCACHE_MAX	2048	/* 64 KiB: the last ~1,000 entries */
void	 ledger_hcache_add(struct ledger *, uint64_t first,
	    const merkle_hash *, size_t n);
void	 ledger_hcache_peak(struct ledger *, int level, uint64_t n,
	    const merkle_hash);
void	 ledger_hcache_cut(struct ledger *, uint64_t end);
/* ... and the frontier's peaks, after an open: the first batch's proofs
 * need the ones it merges. */
void	 ledger_hcache_frontier(struct ledger *);

void	 ledger_put_be32(uint8_t *, uint32_t);
void	 ledger_put_be64(uint8_t *, uint64_t);
uint32_t ledger_get_be32(const uint8_t *);
uint64_t ledger_get_be64(const uint8_t *);

int	 ledger_read_hash(struct ledger *, int level, uint64_t n,
	    merkle_hash out);
/* Hash of leaves [start, end) from stored subtree hashes (merkle_range_fn). */
int	 ledger_range_hash(void *ledger, uint64_t start, uint64_t end,
	    merkle_hash out);
/* Frontier of the first `size` leaves from the O(log n) stored peaks. */
int	 ledger_load_frontier(struct ledger *, uint64_t size,
	    struct merkle_frontier *);

/* Sign the checkpoint of (size, root) with the signer's name as origin;
 * the note is malloc'd (ledger_create.c). */
char	*ledger_sign_checkpoint(const struct note_signer *, uint64_t size,
	    const merkle_hash root, char *err, size_t errlen);

/* History (ledger_history.c). */
/* Append a note; fsync only if sync is set. */
int	 ledger_history_append(struct ledger *, const char *note, int sync,
	    char *err, size_t errlen);
/*
 * A commit whose batch `entries` may not hold durably (the signed head's
 * journal does) gets its history record once it does: the history never
 * proves more than a crash leaves in `entries` (ledger_history_repair's
 * check). Defer the note (copied); flush the deferred ones, in order,
 * once `entries` is synced (-1 with err: not all were appended).
 */
void	 ledger_history_defer(struct ledger *, const char *note);
int	 ledger_history_flush(struct ledger *, char *err, size_t errlen);
int	 ledger_history_check(struct ledger *, char *err, size_t errlen);
/* At open, after the tail scan: make the history end with the anchor note
 * followed by the notes recovered from `entries` (size order). *dirty is
 * set when the file was changed (it then needs a sync). */
int	 ledger_history_repair(struct ledger *, const char *anchor,
	    char *const *notes, size_t nnotes, int *dirty, char *err,
	    size_t errlen);
int	 ledger_history_verify(struct ledger *, char *err, size_t errlen);
void	 ledger_history_free(struct ledger *);

/* ledger.c: report trouble that is not the call's error (see
 * ledger_on_warning). */
void	ledger_warn(struct ledger *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
