/*
 * ledger.h — one contract's append-only, signed ledger on disk.
 *
 * Directory layout (see man/vms-ledger.5), none of it secret:
 *   entries      records: uint32 BE length || entry bytes (the leaf data)
 *   index        uint64 BE file offset of each record in `entries`
 *   hashes       RFC 6962 tree hashes in post-order ("stored hash" layout of
 *                Go's sumdb/tlog): appending a leaf writes it and the parents
 *                it completes; 32 bytes each
 *   checkpoint   the latest C2SP signed checkpoint, replaced atomically
 *   checkpoints  every signed checkpoint ever: uint32 BE length || note
 *   vkey         the C2SP verifier key of the ledger, one line
 *
 * Appends are buffered in the files (written, not synced) and become durable
 * and signed together on ledger_commit(): one fsync per file per batch, then
 * one checkpoint signed and atomically replaced. ledger_size() counts every
 * appended entry; ledger_committed_size() only those under the checkpoint.
 *
 * Open never rehashes the ledger: it recomputes the root from the O(log n)
 * stored subtree hashes and compares it with the signed checkpoint, checks
 * that entries/index/hashes agree in length, and verifies the last record.
 * A torn tail (records past the checkpoint, partial or whole) is reported and
 * truncated back to the checkpoint. Every read verifies the entry's leaf
 * hash against the stored hash, so a flipped bit anywhere is refused with
 * the entry's index; ledger_verify_all() rehashes everything.
 */
#ifndef VMS_LEDGER_H
#define VMS_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "note.h"

#define LEDGER_MAX_ENTRY	(16u << 20)	/* hard cap of the format */

struct ledger;

struct ledger_recovery {
	uint64_t	dropped_entries;	/* appended past the checkpoint */
	uint64_t	dropped_bytes;		/* bytes cut from `entries` */
};

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

int	ledger_append(struct ledger *, const void *entry, size_t len,
	    uint64_t *index, char *err, size_t errlen);
/* fsync + sign + replace checkpoint + append to history. No-op if nothing
 * new. On failure the uncommitted entries are discarded (truncated). */
int	ledger_commit(struct ledger *, char *err, size_t errlen);
/* Discard appended, uncommitted entries. */
int	ledger_rollback(struct ledger *, char *err, size_t errlen);

/* Read entry i (malloc'd), verifying its leaf hash. */
int	ledger_read(struct ledger *, uint64_t index, uint8_t **buf,
	    size_t *len, char *err, size_t errlen);
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

/* Rehash every entry and every stored hash; names the first bad entry. */
int	ledger_verify_all(struct ledger *, char *err, size_t errlen);

#endif
