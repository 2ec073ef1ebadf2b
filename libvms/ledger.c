/*
 * ledger.c — one contract's append-only, signed ledger directory: open
 * (verify the checkpoint against O(log n) stored hashes, recover a torn
 * tail), append, commit (fsync, sign, replace the checkpoint atomically),
 * rollback and verified reads. The on-disk format is in ledger.h and
 * vms-ledger(5); creation is in ledger_create.c, hashes and proofs in
 * ledger_hashes.c, the checkpoint history in ledger_history.c.
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
#include "log.h"
#include "util.h"

int ledger_fault_fsync;

static int
data_fsync(int fd)
{
	if (ledger_fault_fsync) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static char *
path_in(const struct ledger *l, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", l->dir, name);
	return p;
}

static int
open_file(struct ledger *l, const char *name, int *fd, char *err,
    size_t errlen)
{
	char *p = path_in(l, name);

	*fd = open(p, (l->signer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (*fd < 0) {
		seterr(err, errlen, "%s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static int
file_len(int fd, uint64_t *len)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	*len = (uint64_t)st.st_size;
	return 0;
}

/* Load vkey and checkpoint; verify the checkpoint with the ledger key. */
static int
load_checkpoint(struct ledger *l, struct checkpoint *cp, char *err,
    size_t errlen)
{
	uint8_t *buf;
	size_t len, tlen;
	char *p, why[VMS_ERRLEN];

	p = path_in(l, "vkey");
	if (read_file(p, 4096, &buf, &len, err, errlen) != 0) {
		free(p);
		return -1;
	}
	free(p);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen((char *)buf) != len ||
	    note_vkey_parse((char *)buf, &l->ver, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s/vkey: %s", l->dir, why);
		free(buf);
		return -1;
	}
	l->vkey = (char *)buf;
	if (l->signer != NULL && (strcmp(l->signer->name, l->ver.name) != 0 ||
	    sodium_memcmp(l->signer->pk, l->ver.pk, 32) != 0)) {
		seterr(err, errlen, "%s: the signing key \"%s\" is not the "
		    "ledger's key (%s)", l->dir, l->signer->name, l->vkey);
		return -1;
	}
	p = path_in(l, "checkpoint");
	if (read_file(p, NOTE_MAX_LEN, &buf, &len, err, errlen) != 0) {
		free(p);
		return -1;
	}
	free(p);
	l->checkpoint = (char *)buf;
	if (strlen(l->checkpoint) != len || note_verify(l->checkpoint, len,
	    &l->ver, 1, &tlen, NULL, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s/checkpoint: %s", l->dir,
		    strlen(l->checkpoint) != len ? "contains NUL" : why);
		return -1;
	}
	if (checkpoint_parse(l->checkpoint, tlen, cp, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s/checkpoint: %s", l->dir, why);
		return -1;
	}
	if (strcmp(cp->origin, l->ver.name) != 0) {
		seterr(err, errlen, "%s/checkpoint: origin \"%s\" is not the "
		    "key name \"%s\"", l->dir, cp->origin, l->ver.name);
		return -1;
	}
	return 0;
}

/* Count records (whole or partial) in entries[from, to). */
static uint64_t
count_tail_records(int fd, uint64_t from, uint64_t to)
{
	uint8_t hdr[4];
	uint64_t n = 0, off = from;

	while (off < to) {
		n++;
		if (off + 4 > to || pread_full(fd, hdr, 4, (off_t)off) != 0)
			break;
		off += 4 + (uint64_t)ledger_get_be32(hdr);
	}
	return n;
}

static int
truncate_to_committed(struct ledger *l)
{
	if (ftruncate(l->fd_ent, (off_t)l->cent_end) != 0 ||
	    ftruncate(l->fd_idx, (off_t)(l->csize * 8)) != 0 ||
	    ftruncate(l->fd_hash, (off_t)(ledger_stored_count(l->csize) *
	    MERKLE_HASH_LEN)) != 0)
		return -1;
	return 0;
}

/*
 * Check the committed range in O(log n): file lengths, the root from the
 * stored peaks, the last record against its leaf hash. Then handle the
 * tail past the checkpoint.
 */
static int
check_files(struct ledger *l, struct ledger_recovery *rec, char *err,
    size_t errlen)
{
	uint64_t elen, ilen, hlen, n = l->csize, off, need, extra_idx, prev;
	merkle_hash root, leaf, stored;
	uint8_t buf[8], *data;
	uint32_t len;

	if (file_len(l->fd_ent, &elen) != 0 || file_len(l->fd_idx, &ilen) != 0 ||
	    file_len(l->fd_hash, &hlen) != 0) {
		seterr(err, errlen, "%s: fstat: %s", l->dir, strerror(errno));
		return -1;
	}
	if (n > (1ULL << 48)) {
		seterr(err, errlen, "%s/checkpoint: implausible tree size %"
		    PRIu64, l->dir, n);
		return -1;
	}
	if (ilen < n * 8) {
		seterr(err, errlen, "ledger corrupt: %s/index holds %" PRIu64
		    " entries, the checkpoint %" PRIu64, l->dir, ilen / 8, n);
		return -1;
	}
	need = ledger_stored_count(n) * MERKLE_HASH_LEN;
	if (hlen < need) {
		seterr(err, errlen, "ledger corrupt: %s/hashes is %" PRIu64
		    " bytes, the checkpoint needs %" PRIu64, l->dir, hlen,
		    need);
		return -1;
	}
	l->size = n;	/* ledger_range/read_hash bound */
	if (ledger_load_frontier(l, n, &l->front) != 0) {
		seterr(err, errlen, "%s/hashes: %s", l->dir, strerror(errno));
		return -1;
	}
	merkle_frontier_root(&l->front, root);
	if (sodium_memcmp(root, l->croot, MERKLE_HASH_LEN) != 0) {
		seterr(err, errlen, "ledger corrupt: the stored hashes in %s do "
		    "not match the signed checkpoint (size %" PRIu64 ")",
		    l->dir, n);
		return -1;
	}
	l->cent_end = 0;
	if (n > 0) {
		if (pread_full(l->fd_idx, buf, 8, (off_t)((n - 1) * 8)) != 0) {
			seterr(err, errlen, "%s/index: %s", l->dir,
			    strerror(errno));
			return -1;
		}
		off = ledger_get_be64(buf);
		if (off + 4 > elen || pread_full(l->fd_ent, buf, 4,
		    (off_t)off) != 0 || (len = ledger_get_be32(buf)) >
		    LEDGER_MAX_ENTRY || off + 4 + len > elen) {
			seterr(err, errlen, "ledger corrupt: %s/entries is "
			    "truncated inside committed entry %" PRIu64
			    " (%" PRIu64 " bytes)", l->dir, n - 1, elen);
			return -1;
		}
		data = xmalloc(len + 1);
		if (pread_full(l->fd_ent, data, len, (off_t)off + 4) != 0) {
			seterr(err, errlen, "%s/entries: %s", l->dir,
			    strerror(errno));
			free(data);
			return -1;
		}
		merkle_leaf_hash(data, len, leaf);
		free(data);
		if (ledger_read_hash(l, 0, n - 1, stored) != 0 ||
		    sodium_memcmp(leaf, stored, MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " does not match its leaf hash", n - 1);
			return -1;
		}
		l->cent_end = off + 4 + len;
		/*
		 * The record before it must end where it starts, so that a
		 * damaged index cannot make a committed record look like
		 * the tail (and be truncated).
		 */
		if (n > 1 && (pread_full(l->fd_idx, buf, 8,
		    (off_t)((n - 2) * 8)) != 0 || (prev = ledger_get_be64(buf))
		    + 4 > off || pread_full(l->fd_ent, buf, 4, (off_t)prev) !=
		    0 || prev + 4 + ledger_get_be32(buf) != off)) {
			seterr(err, errlen, "ledger corrupt: entries %" PRIu64
			    " and %" PRIu64 " are not adjacent in %s/entries",
			    n - 2, n - 1, l->dir);
			return -1;
		}
	}
	l->ent_end = l->cent_end;
	l->cfront = l->front;
	/* The tail: anything past the checkpoint was never committed. */
	if (elen == l->cent_end && ilen == n * 8 && hlen == need)
		return 0;
	extra_idx = (ilen - n * 8 + 7) / 8;
	if (rec != NULL) {
		rec->dropped_bytes = elen - l->cent_end;
		rec->dropped_entries = count_tail_records(l->fd_ent,
		    l->cent_end, elen);
		if (extra_idx > rec->dropped_entries)
			rec->dropped_entries = extra_idx;
	}
	if (l->signer == NULL)
		return 0;	/* read-only: ignore the tail */
	log_warnx("%s: dropping %" PRIu64 " uncommitted bytes of entries "
	    "past the checkpoint (size %" PRIu64 ")", l->dir,
	    elen - l->cent_end, n);
	if (truncate_to_committed(l) != 0 || fsync(l->fd_ent) != 0 ||
	    fsync(l->fd_idx) != 0 || fsync(l->fd_hash) != 0) {
		seterr(err, errlen, "%s: truncating the uncommitted tail: %s",
		    l->dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
ledger_open(const char *dir, const struct note_signer *signer,
    struct ledger **out, struct ledger_recovery *rec, char *err,
    size_t errlen)
{
	struct ledger *l;
	struct checkpoint cp;

	*out = NULL;
	if (rec != NULL)
		memset(rec, 0, sizeof(*rec));
	l = xcalloc(1, sizeof(*l));
	l->dir = xstrdup(dir);
	l->signer = signer;
	l->fd_ent = l->fd_idx = l->fd_hash = l->fd_hist = -1;
	if (load_checkpoint(l, &cp, err, errlen) != 0)
		goto fail;
	l->csize = cp.size;
	memcpy(l->croot, cp.root, MERKLE_HASH_LEN);
	if (open_file(l, "entries", &l->fd_ent, err, errlen) != 0 ||
	    open_file(l, "index", &l->fd_idx, err, errlen) != 0 ||
	    open_file(l, "hashes", &l->fd_hash, err, errlen) != 0 ||
	    open_file(l, "checkpoints", &l->fd_hist, err, errlen) != 0)
		goto fail;
	if (signer != NULL && flock(l->fd_ent, LOCK_EX | LOCK_NB) != 0) {
		seterr(err, errlen, "%s: %s", dir, errno == EWOULDBLOCK ?
		    "ledger is open for writing by another process" :
		    strerror(errno));
		goto fail;
	}
	if (check_files(l, rec, err, errlen) != 0 ||
	    ledger_history_check(l, err, errlen) != 0)
		goto fail;
	*out = l;
	return 0;
fail:
	ledger_close(l);
	return -1;
}

/* Uncommitted appends stay in the files; the next writable open drops
 * them (they were never signed). */
void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	if (l->fd_ent >= 0)
		close(l->fd_ent);
	if (l->fd_idx >= 0)
		close(l->fd_idx);
	if (l->fd_hash >= 0)
		close(l->fd_hash);
	if (l->fd_hist >= 0)
		close(l->fd_hist);
	ledger_history_free(l);
	free(l->checkpoint);
	free(l->vkey);
	free(l->dir);
	free(l);
}

uint64_t
ledger_size(const struct ledger *l)
{
	return l->size;
}

uint64_t
ledger_committed_size(const struct ledger *l)
{
	return l->csize;
}

const char *
ledger_origin(const struct ledger *l)
{
	return l->ver.name;
}

const char *
ledger_vkey(const struct ledger *l)
{
	return l->vkey;
}

const char *
ledger_checkpoint(const struct ledger *l)
{
	return l->checkpoint;
}

int
ledger_rollback(struct ledger *l, char *err, size_t errlen)
{
	if (l->size == l->csize)
		return 0;
	l->size = l->csize;
	l->ent_end = l->cent_end;
	l->front = l->cfront;
	if (truncate_to_committed(l) != 0) {
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
	merkle_hash hashes[65];
	uint8_t hdr[4], ib[8];
	struct iovec iov[2];
	uint64_t s, at;
	size_t nh = 1;
	int k;
	char why[VMS_ERRLEN];

	if (l->signer == NULL || l->broken) {
		seterr(err, errlen, "%s: %s", l->dir, l->broken ?
		    "ledger unusable after a failed commit; reopen it" :
		    "ledger is open read-only");
		return -1;
	}
	if (len > LEDGER_MAX_ENTRY) {
		seterr(err, errlen, "entry too large (%zu bytes, max %u)", len,
		    LEDGER_MAX_ENTRY);
		return -1;
	}
	/* The leaf and every parent it completes, in stored order. */
	merkle_leaf_hash(entry, len, hashes[0]);
	for (s = l->size, k = l->front.npeaks - 1; s & 1; s >>= 1, k--, nh++)
		merkle_node_hash(l->front.peaks[k], hashes[nh - 1],
		    hashes[nh]);
	ledger_put_be32(hdr, (uint32_t)len);
	ledger_put_be64(ib, l->ent_end);
	iov[0].iov_base = hdr;
	iov[0].iov_len = 4;
	iov[1].iov_base = (void *)(uintptr_t)entry;
	iov[1].iov_len = len;
	at = ledger_stored_count(l->size) * MERKLE_HASH_LEN;
	errno = 0;
	if (pwritev(l->fd_ent, iov, 2, (off_t)l->ent_end) != (ssize_t)(4 + len)
	    || pwrite(l->fd_idx, ib, 8, (off_t)(l->size * 8)) != 8 ||
	    pwrite(l->fd_hash, hashes, nh * MERKLE_HASH_LEN, (off_t)at) !=
	    (ssize_t)(nh * MERKLE_HASH_LEN)) {
		snprintf(why, sizeof(why), "%s", strerror(errno ? errno : EIO));
		/* undo this one append, keep earlier uncommitted ones */
		if (ftruncate(l->fd_ent, (off_t)l->ent_end) != 0 ||
		    ftruncate(l->fd_idx, (off_t)(l->size * 8)) != 0 ||
		    ftruncate(l->fd_hash, (off_t)at) != 0)
			l->broken = 1;
		seterr(err, errlen, "%s: append: %s", l->dir, why);
		return -1;
	}
	merkle_frontier_push(&l->front, hashes[0]);
	l->ent_end += 4 + len;
	if (index != NULL)
		*index = l->size;
	l->size++;
	return 0;
}

int
ledger_commit(struct ledger *l, char *err, size_t errlen)
{
	merkle_hash root;
	char *note, *p, why[VMS_ERRLEN];
	uint8_t *cur = NULL;
	size_t curlen;

	if (l->signer == NULL || l->broken) {
		seterr(err, errlen, "%s: %s", l->dir, l->broken ?
		    "ledger unusable after a failed commit; reopen it" :
		    "ledger is open read-only");
		return -1;
	}
	if (l->size == l->csize)
		return 0;
	if (data_fsync(l->fd_ent) != 0 || data_fsync(l->fd_idx) != 0 ||
	    data_fsync(l->fd_hash) != 0) {
		seterr(err, errlen, "%s: fsync: %s; %" PRIu64 " uncommitted "
		    "entries discarded", l->dir, strerror(errno),
		    l->size - l->csize);
		(void)ledger_rollback(l, why, sizeof(why));
		return -1;
	}
	merkle_frontier_root(&l->front, root);
	if ((note = ledger_sign_checkpoint(l->signer, l->size, root, why,
	    sizeof(why))) == NULL) {
		seterr(err, errlen, "%s: signing the checkpoint: %s", l->dir,
		    why);
		(void)ledger_rollback(l, why, sizeof(why));
		return -1;
	}
	p = path_in(l, "checkpoint");
	if (write_file_atomic(p, note, strlen(note), 0644, why,
	    sizeof(why)) != 0) {
		/*
		 * If the rename happened (only the directory fsync failed)
		 * the new checkpoint may be visible: then the data must stay.
		 */
		seterr(err, errlen, "%s: replacing the checkpoint: %s", l->dir,
		    why);
		if (read_file(p, NOTE_MAX_LEN, &cur, &curlen, why,
		    sizeof(why)) == 0 && curlen == strlen(note) &&
		    memcmp(cur, note, curlen) == 0)
			l->broken = 1;
		else
			(void)ledger_rollback(l, why, sizeof(why));
		free(cur);
		free(p);
		free(note);
		return -1;
	}
	free(p);
	free(l->checkpoint);
	l->checkpoint = note;
	l->csize = l->size;
	l->cent_end = l->ent_end;
	l->cfront = l->front;
	memcpy(l->croot, root, MERKLE_HASH_LEN);
	if (ledger_history_append(l, note, why, sizeof(why)) != 0)
		log_warnx("%s: checkpoint of size %" PRIu64 " is committed but "
		    "not recorded in the history: %s", l->dir, l->csize, why);
	return 0;
}

int
ledger_read(struct ledger *l, uint64_t index, uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	merkle_hash leaf, stored;
	uint8_t ib[16], *rec;
	uint64_t off, end, n;

	*buf = NULL;
	*len = 0;
	if (index >= l->size) {
		seterr(err, errlen, "entry %" PRIu64 " does not exist (ledger "
		    "size %" PRIu64 ")", index, l->size);
		return -1;
	}
	if (pread_full(l->fd_idx, ib, index + 1 < l->size ? 16 : 8,
	    (off_t)(index * 8)) != 0) {
		seterr(err, errlen, "%s/index: %s", l->dir, strerror(errno));
		return -1;
	}
	off = ledger_get_be64(ib);
	end = index + 1 < l->size ? ledger_get_be64(ib + 8) : l->ent_end;
	if (end < off + 4 || end - off - 4 > LEDGER_MAX_ENTRY ||
	    end > l->ent_end) {
		seterr(err, errlen, "ledger corrupt: index of entry %" PRIu64
		    " is invalid", index);
		return -1;
	}
	n = end - off;
	rec = xmalloc(n);
	if (pread_full(l->fd_ent, rec, n, (off_t)off) != 0) {
		seterr(err, errlen, "%s/entries: entry %" PRIu64 ": %s", l->dir,
		    index, strerror(errno));
		free(rec);
		return -1;
	}
	if (ledger_get_be32(rec) != n - 4) {
		seterr(err, errlen, "ledger corrupt: entry %" PRIu64 " has a "
		    "record length that does not match the index", index);
		free(rec);
		return -1;
	}
	merkle_leaf_hash(rec + 4, n - 4, leaf);
	if (ledger_read_hash(l, 0, index, stored) != 0) {
		seterr(err, errlen, "%s/hashes: %s", l->dir, strerror(errno));
		free(rec);
		return -1;
	}
	if (sodium_memcmp(leaf, stored, MERKLE_HASH_LEN) != 0) {
		seterr(err, errlen, "ledger corrupt: entry %" PRIu64 " does not "
		    "match its leaf hash", index);
		free(rec);
		return -1;
	}
	memmove(rec, rec + 4, n - 4);
	*buf = rec;
	*len = n - 4;
	return 0;
}
