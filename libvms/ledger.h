/*
 * ledger.h — one contract's append-only, signed ledger on disk.
 *
 * Directory layout (see man/vms-ledger.5), none of it secret:
 *   entries      records: uint32 BE length || bytes. An entry record (the
 *                leaf data) has the top bit of the length clear; a commit
 *                record (top bit set) holds the signed checkpoint note of
 *                every entry record before it
 *   index        uint64 BE file offset of each entry record in `entries`
 *   hashes       RFC 6962 tree hashes in post-order ("stored hash" layout of
 *                Go's sumdb/tlog): appending a leaf writes it and the parents
 *                it completes; 32 bytes each
 *   checkpoint   a signed checkpoint at a sync point, replaced atomically
 *   checkpoints  every signed checkpoint ever: uint32 BE length || note
 *   vkey         the C2SP verifier key of the ledger, one line
 *
 * Appends are written to entries/index/hashes (not synced; buffered until
 * the commit, see ledger_append). ledger_commit()
 * signs the checkpoint of the new size, appends it to `entries` as a commit
 * record and makes it durable with ONE fdatasync of `entries`: that is the
 * commit point, and the only sync on the critical path. It then appends the
 * note to `checkpoints` (not synced). index, hashes and checkpoints are
 * derivable from `entries`; they are synced, and `checkpoint` replaced, at
 * a sync point: ledger_sync(), ledger_close(), or automatically every
 * LEDGER_SYNC_* commits/entries/bytes. ledger_checkpoint() is always the
 * latest commit's note; the `checkpoint` file may lag behind it.
 *
 * Open never rehashes the ledger: it checks the `checkpoint` file (the last
 * sync point) against the O(log n) stored hashes and the last record, then
 * scans `entries` past it, hashing only that tail: entries up to the last
 * commit record whose signature, size and root verify are committed (index
 * and hashes are rebuilt for them, the missing notes re-appended to the
 * history; a read-only open first tries the last commit record found from
 * the end of `index`, checked in O(log n)); anything after it was never acknowledged and is reported and
 * truncated. A valid commit record whose root does not match, or a history
 * note beyond what `entries` proves, is corruption and refused. Every read
 * verifies the entry's leaf hash against the stored hash, so a flipped bit
 * anywhere is refused with the entry's index; ledger_verify_all() rehashes
 * everything.
 */
#ifndef VMS_LEDGER_H
#define VMS_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "note.h"
#include "tile.h"

#define LEDGER_MAX_ENTRY	(16u << 20)	/* hard cap of the format */

struct ledger;

/* What an open found and repaired. The library does not log: the caller
 * reports it (ledger_recovery_text), once. */
struct ledger_recovery {
	uint64_t	dropped_entries;	/* appended past the checkpoint */
	uint64_t	dropped_bytes;		/* bytes cut from `entries` */
	uint64_t	zero_bytes;		/* zeros past the records (space
						   a writer preallocated, or a
						   crash left): not data; cut by
						   a writable open */
	uint64_t	recovered_entries;	/* committed past the sync point:
						   index/hashes rebuilt */
	uint64_t	ignored_entries;	/* read-only open: committed past
						   the sync point, not indexed:
						   not visible */
	uint64_t	history_dropped;	/* bytes cut from `checkpoints`
						   (torn or past the last record) */
	int		history_appended;	/* the current checkpoint was
						   missing from `checkpoints` */
};

/* The recovery as one line of sentences, "" if nothing happened. */
void	ledger_recovery_text(const struct ledger_recovery *, char *buf,
	    size_t len);
/* Where an open ledger reports trouble that is not an error of the call
 * at hand (a commit is durable but its history record or sync point
 * failed; a sync at close failed). Without it, such trouble is only
 * visible to the next open, which repairs it. */
void	ledger_on_warning(struct ledger *, void (*fn)(void *arg,
	    const char *msg), void *arg);

/*
 * Create a new ledger in dir (created 0755 if missing; must not already hold
 * a ledger). origin is the checkpoint origin and the key name. Signs an
 * initial checkpoint of size 0.
 */
int	ledger_create(const char *dir, const char *origin,
	    const struct note_signer *signer, struct ledger **out,
	    char *err, size_t errlen);

/*
 * Open an existing ledger. signer may be NULL (read-only: appends refused,
 * nothing truncated; a torn tail is then only reported). rec may be NULL.
 */
int	ledger_open(const char *dir, const struct note_signer *signer,
	    struct ledger **out, struct ledger_recovery *rec,
	    char *err, size_t errlen);
void	ledger_close(struct ledger *);

uint64_t ledger_size(const struct ledger *);
uint64_t ledger_committed_size(const struct ledger *);
const char *ledger_origin(const struct ledger *);
const char *ledger_vkey(const struct ledger *);

/* Appends are buffered in memory and written to the files (one pwrite per
 * file) by the next commit, read, flush or close; they are never durable
 * before their commit anyway. */
int	ledger_append(struct ledger *, const void *entry, size_t len,
	    uint64_t *index, char *err, size_t errlen);
/* The same, for a caller that has just computed the entry's RFC 6962 leaf
 * hash (the worker: the engine hashes each entry it makes, for the next
 * one's seed): it is not computed again. leaf must be
 * merkle_leaf_hash(entry, len); the audit would name the entry if not. */
int	ledger_append_leaf(struct ledger *, const void *entry, size_t len,
	    const merkle_hash leaf, uint64_t *index, char *err, size_t errlen);
/* Write the buffered appends now (not synced, not committed). */
int	ledger_flush(struct ledger *, char *err, size_t errlen);
/* Sign + append the commit record + one fdatasync of `entries` + append
 * to the history (unsynced); a sync point every LEDGER_SYNC_* commits.
 * No-op if nothing new. On failure the uncommitted entries are discarded
 * (truncated). */
int	ledger_commit(struct ledger *, char *err, size_t errlen);
/*
 * The same commit in three phases, so that the fdatasync (phase 2) can run
 * in another thread while the owner appends the next batch:
 *   ledger_commit_prepare  (owner) sign the checkpoint of every appended
 *                          entry, append the commit record (unsynced):
 *                          COMMIT_TICKET with a ticket, COMMIT_NOTHING if
 *                          nothing was appended, COMMIT_FAILED (err)
 *   ledger_commit_fsync    (any thread) the commit point: without a
 *                          signed head, fdatasync `entries`; with one,
 *                          fdatasync the head, whose slot prepare wrote
 *                          with the batch in it (one flush); or, when
 *                          the slot is needed for a batch `entries` may
 *                          not hold durably yet or the batch does not
 *                          fit, sync `entries`, then write the slot
 *                          without it and sync the head; touches only
 *                          the ticket; 0 or an errno
 *   ledger_commit_finish   (owner) with the errno of phase 2: the
 *                          checkpoint becomes the committed one (history,
 *                          sync point). If the fsync failed, the batch and
 *                          everything appended after it are discarded;
 *                          if the signed head's write failed, the batch
 *                          may be durable, nothing is discarded, and the
 *                          ledger must be reopened.
 * One commit may be in flight at a time, or two (ledger_commits_in_flight);
 * entries appended meanwhile go into the next one. Commits finish in the
 * order they were prepared. Rollback is refused while one is in flight;
 * finish them before ledger_close().
 */
struct ledger_ticket {
	int		 fd;	/* `entries` */
	uint64_t	 size;	/* the size its checkpoint signs */
	/* the signed head's slot (head_fd -1: no signed head attached),
	 * head_len bytes at head_off; sync_entries: fdatasync `entries`
	 * before writing it */
	int		 head_fd;
	long long	 head_off;
	const uint8_t	*head_slot;
	size_t		 head_len;
	int		 sync_entries;
	int		*head_errno;	/* set if that write failed */
	/* a sync point riding on the commit (ledger_sync_in_commits), done
	 * after the commit point: fdatasync index, hashes and checkpoints,
	 * then `checkpoint` (anchor_path) replaced by anchor, a note the
	 * history holds; anchor_errno set if that failed. anchor NULL:
	 * none. */
	int		 fd_idx, fd_hash, fd_hist;
	const char	*anchor, *anchor_path;
	int		*anchor_errno;
};
enum commit_prepared {
	COMMIT_FAILED = -1,
	COMMIT_TICKET = 0,
	COMMIT_NOTHING = 1
};
enum commit_prepared ledger_commit_prepare(struct ledger *,
	    struct ledger_ticket *, char *err, size_t errlen);
int	ledger_commit_fsync(const struct ledger_ticket *);
/*
 * Up to n (1, the default, or 2) commits in flight: a second is prepared
 * while the first's fdatasync runs, and its own runs beside it (the disk
 * takes nearly twice as many flushes a second from two threads: bench/
 * README.md, round 16). Only with a signed head attached (each flush has
 * its own descriptor of it), and only after a commit whose slot holds
 * its batch: the slots are written in order at prepare, so that a
 * durable head never skips a batch. If the older of two fails, the
 * younger may still be durable: the ledger must then be reopened, as
 * after a failed write of the head.
 */
void	ledger_commits_in_flight(struct ledger *, unsigned n);
/* Can a commit be prepared now (none in flight, or room for a second)? */
int	ledger_commit_room(const struct ledger *);
/* The signed checkpoint note of the newest prepared commit (covering
 * ticket.size entries, owned by the ledger), or NULL if none is in
 * flight: receipts for the batch can be built while its fdatasync runs. */
const char *ledger_prepared_checkpoint(const struct ledger *);
int	ledger_commit_finish(struct ledger *, const struct ledger_ticket *,
	    int sync_errno, char *err, size_t errlen);
/* Sync point: fdatasync entries, index, hashes and checkpoints, then
 * replace the `checkpoint` file atomically with the latest commit's note.
 * Not needed for durability (a commit is durable when ledger_commit
 * returns); it bounds the work of the next open and refreshes `checkpoint`
 * for readers of the directory. ledger_close() does it. */
int	ledger_sync(struct ledger *, char *err, size_t errlen);
/*
 * For a writer that runs phase 2 on another thread (vmsd's worker): the
 * automatic sync points (every LEDGER_SYNC_* commits, entries or bytes)
 * ride on the next commits' tickets instead of running in phase 3 on the
 * owner's thread: ledger_commit_fsync does the fdatasyncs and replaces
 * `checkpoint` after the commit point, with the newest note the history
 * holds (a few commits behind the latest; never one `entries`, index,
 * hashes and checkpoints do not hold durably). Off by default.
 */
void	ledger_sync_in_commits(struct ledger *, int on);
/* Discard appended, uncommitted entries. */
int	ledger_rollback(struct ledger *, char *err, size_t errlen);
/*
 * The errno of the last write, sync or commit of this ledger that failed
 * (ENOSPC, EDQUOT: the storage is full), 0 if none. Such a failure loses
 * nothing committed: a failed commit has discarded its batch (see
 * ledger_commit_finish); an append whose write failed (its batch was over
 * LEDGER_WBUF_MAX) refuses further appends and commits until
 * ledger_rollback(), once any commit in flight is finished. The ledger
 * is then usable again, e.g. once space is freed.
 */
int	ledger_errno(const struct ledger *);

/*
 * The signed head: the latest checkpoint the ledger's key has signed for a
 * commit, kept in a file apart from the ledger's directory (vmsd keeps it
 * beside the key; format in vms-ledger(5)). Attach it to a ledger open for
 * writing, after ledger_open: it is created from the current checkpoint if
 * missing (*created set), and checked: the ledger must hold every entry
 * the head signs, the same ones. From then on every commit records its
 * checkpoint there, with the batch's bytes when they fit (the head's
 * journal: `entries` is then synced only every few commits), synced
 * before the commit returns, and no checkpoint inconsistent with it is
 * signed. A ledger behind its head (a crash lost writes to `entries` that
 * were not synced yet) is put back from the journal when it holds every
 * missing batch.
 * 0 attached; 2 the ledger was behind its head and the journal put back
 * what it lacked (*repaired entries; err says what): close the ledger,
 * open it again and attach again; 1 refused: the ledger is behind its
 * head beyond what the journal holds, differs from it, or the head is
 * damaged (err says which; storage lost data it had synced, or the ledger
 * was restored from an older copy: the ledger must not be written); -1
 * error (err).
 */
int	ledger_head_attach(struct ledger *, const char *path, int *created,
	    uint64_t *repaired, char *err, size_t errlen);

/* Read entry i (malloc'd), verifying its leaf hash. */
int	ledger_read(struct ledger *, uint64_t index, uint8_t **buf,
	    size_t *len, char *err, size_t errlen);
/*
 * Entries first..end-1 in order, each verified as by ledger_read, read a
 * few thousand at a time (three reads where ledger_read makes three per
 * entry): fn gets each one's bytes, valid during the call, and its leaf
 * hash; a nonzero return stops the reading (and ledger_read_each returns
 * 0). -1 on an error of the files (err), before fn sees the entry.
 */
typedef int	ledger_entry_fn(void *arg, uint64_t index, const uint8_t *entry,
		    size_t len, const merkle_hash leaf);
int	ledger_read_each(struct ledger *, uint64_t first, uint64_t end,
	    ledger_entry_fn *, void *arg, char *err, size_t errlen);
int	ledger_leaf_hash(struct ledger *, uint64_t index, merkle_hash out);
int	ledger_root(struct ledger *, uint64_t size, merkle_hash out);

/* Latest signed checkpoint note, verbatim (owned by the ledger). */
const char *ledger_checkpoint(const struct ledger *);
/* The signed checkpoint of exactly this size from the history, malloc'd;
 * -1 if none was signed at that size. */
int	ledger_checkpoint_at(struct ledger *, uint64_t size, char **note,
	    char *err, size_t errlen);

int	ledger_inclusion_proof(struct ledger *, uint64_t index, uint64_t size,
	    merkle_hash *proof, size_t *n, char *err, size_t errlen);
int	ledger_consistency_proof(struct ledger *, uint64_t m, uint64_t n,
	    merkle_hash *proof, size_t *plen, char *err, size_t errlen);
/* Inclusion proofs of entries [first, first + count) in the tree of
 * `size` entries (a batch's receipts): each shared sibling read once. */
int	ledger_inclusion_proofs(struct ledger *, uint64_t first, uint64_t count,
	    uint64_t size, merkle_hash (*proofs)[MERKLE_MAX_PROOF],
	    size_t *lens, char *err, size_t errlen);

/*
 * A tlog-tiles tile of the committed tree (tile.h; ledger_tiles.c), in
 * O(tile): a hash tile's width * 32 bytes, or an entry bundle (each entry
 * checked against its stored leaf hash; an entry over 65,535 bytes cannot
 * be bundled and is an error). A partial tile of any width that the
 * committed tree completes is served, also once its full tile exists.
 * 0 with *buf (malloc'd), 1 if the committed tree holds no such tile, -1
 * with err.
 */
int	ledger_tile(struct ledger *, const struct tile_id *, uint8_t **buf,
	    size_t *len, char *err, size_t errlen);
/*
 * A read-only ledger (signer NULL) sees the commits made since it was
 * opened: it moves to the newest commit record it can verify, in O(log n)
 * like a read-only open (a commit being written is passed over). The
 * history (ledger_checkpoint_at) stays as it was at open. 0 (also when
 * nothing changed), -1 with err.
 */
int	ledger_refresh(struct ledger *, char *err, size_t errlen);

/* Rehash every entry and every stored hash; names the first bad entry. */
int	ledger_verify_all(struct ledger *, char *err, size_t errlen);

#endif
