/*
 * ledger.c — an open ledger: close, accessors and verified reads of
 * entries. Opening and recovery are in ledger_open.c, appends and commits
 * in ledger_commit.c, creation in ledger_create.c, hashes and proofs in
 * ledger_hashes.c, the checkpoint history in ledger_history.c.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_int.h"
#include "util.h"

char *
ledger_path(const struct ledger *l, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", l->dir, name);
	return p;
}

void
ledger_on_warning(struct ledger *l, void (*fn)(void *, const char *),
    void *arg)
{
	l->warn_fn = fn;
	l->warn_arg = arg;
}

void
ledger_warn(struct ledger *l, const char *fmt, ...)
{
	char msg[VMS_ERRLEN * 2];
	va_list ap;

	if (l->warn_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn_fn(l->warn_arg, msg);
}

/* appends "s" with "; " between sentences */
static void
add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n > 0 && n + 2 < len) {
		memcpy(buf + n, "; ", 3);
		n += 2;
	}
	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

void
ledger_recovery_text(const struct ledger_recovery *r, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (r->dropped_entries || r->dropped_bytes)
		add(buf, len, "torn tail: dropped %" PRIu64 " uncommitted "
		    "entries (%" PRIu64 " bytes) past the last commit",
		    r->dropped_entries, r->dropped_bytes);
	if (r->recovered_entries)
		add(buf, len, "%" PRIu64 " committed entries past the sync "
		    "point: index and hashes rebuilt", r->recovered_entries);
	if (r->ignored_entries)
		add(buf, len, "%" PRIu64 " committed entries past the sync "
		    "point lack index/hashes; a read-only open ignores them",
		    r->ignored_entries);
	if (r->history_dropped)
		add(buf, len, "checkpoints: dropped %" PRIu64 " bytes of a "
		    "torn record", r->history_dropped);
	if (r->history_appended)
		add(buf, len, "checkpoints: recorded the current checkpoint, "
		    "which was missing");
}

/* A sync point if anything was committed since the last one. Uncommitted
 * appends stay in the files; the next writable open drops them (they were
 * never signed). */
void
ledger_close(struct ledger *l)
{
	char why[VMS_ERRLEN];
	size_t i;

	if (l == NULL)
		return;
	/* Uncommitted appends go to the files, as if never buffered. */
	if (l->signer != NULL && !l->broken && l->fd_ent >= 0 &&
	    ledger_flush(l, why, sizeof(why)) != 0)
		ledger_warn(l, "%s", why);
	/* A closed ledger ends with its last record: the zeros go. */
	if (l->signer != NULL && !l->broken && l->fd_ent >= 0 &&
	    l->ent_alloc > l->ent_end && ftruncate(l->fd_ent,
	    (off_t)l->ent_end) != 0)
		ledger_warn(l, "%s/entries: cutting the preallocated space: %s "
		    "(the next open cuts it)", l->dir, strerror(errno));
	if (l->signer != NULL && !l->broken && l->fd_ent >= 0 &&
	    l->unsynced_commits > 0 && ledger_sync(l, why, sizeof(why)) != 0)
		ledger_warn(l, "%s: sync at close: %s (the next open recovers "
		    "from entries)", l->dir, why);
	if (l->fd_ent >= 0)
		close(l->fd_ent);
	if (l->fd_idx >= 0)
		close(l->fd_idx);
	if (l->fd_hash >= 0)
		close(l->fd_hash);
	if (l->fd_hist >= 0)
		close(l->fd_hist);
	if (l->head_fd >= 0)
		close(l->head_fd);
	if (l->head_fds[1] >= 0)
		close(l->head_fds[1]);
	ledger_history_free(l);
	for (i = 0; i < l->hq_n; i++)
		free(l->hq[i]);
	for (i = 0; i < LEDGER_INFLIGHT; i++) {
		free(l->pend[i].note);
		free(l->pend[i].anchor);
		free(l->pend[i].head);
	}
	free(l->hist_last);
	free(l->anchor_path);
	free(l->wb_ent.buf);
	free(l->wb_idx.buf);
	free(l->wb_hash.buf);
	free(l->hc);
	free(l->memo);
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

/*
 * The record of entry index, n bytes read from its index offset: the entry
 * record, then maybe the commit record of its batch. Its length, or -1.
 */
static int64_t
rec_length(const uint8_t *rec, uint64_t n, uint64_t index, char *err,
    size_t errlen)
{
	uint32_t reclen = ledger_get_be32(rec);

	if ((reclen & LEDGER_REC_NOTE) || reclen > n - 4 ||
	    (reclen < n - 4 && (n - 4 - reclen < 4 ||
	    ledger_get_be32(rec + 4 + reclen) != (LEDGER_REC_NOTE |
	    (uint32_t)(n - 8 - reclen))))) {
		seterr(err, errlen, "ledger corrupt: entry %" PRIu64 " has a "
		    "record length that does not match the index", index);
		return -1;
	}
	return reclen;
}

/* Where entry index's record begins and ends, from the index, checked. */
static int
rec_span(const struct ledger *l, uint64_t index, uint64_t off, uint64_t end,
    char *err, size_t errlen)
{
	if (end < off + 4 || end - off - 4 > LEDGER_MAX_ENTRY + 4 +
	    NOTE_MAX_LEN || end > l->ent_end) {
		seterr(err, errlen, "ledger corrupt: index of entry %" PRIu64
		    " is invalid", index);
		return -1;
	}
	return 0;
}

int
ledger_read(struct ledger *l, uint64_t index, uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	merkle_hash leaf, stored;
	uint8_t ib[16], *rec;
	uint64_t off, end, n;
	int64_t reclen;

	*buf = NULL;
	*len = 0;
	if (index >= l->size) {
		seterr(err, errlen, "entry %" PRIu64 " does not exist (ledger "
		    "size %" PRIu64 ")", index, l->size);
		return -1;
	}
	if (l->wb_ent.len > 0 && index + 1 >= l->w_size &&
	    ledger_flush(l, err, errlen) != 0)
		return -1;
	if (pread_full(l->fd_idx, ib, index + 1 < l->size ? 16 : 8,
	    (off_t)(index * 8)) != 0) {
		seterr(err, errlen, "%s/index: %s", l->dir, strerror(errno));
		return -1;
	}
	off = ledger_get_be64(ib);
	end = index + 1 < l->size ? ledger_get_be64(ib + 8) : l->ent_end;
	if (rec_span(l, index, off, end, err, errlen) != 0)
		return -1;
	n = end - off;
	rec = xmalloc(n);
	if (pread_full(l->fd_ent, rec, n, (off_t)off) != 0) {
		seterr(err, errlen, "%s/entries: entry %" PRIu64 ": %s", l->dir,
		    index, strerror(errno));
		free(rec);
		return -1;
	}
	if ((reclen = rec_length(rec, n, index, err, errlen)) < 0) {
		free(rec);
		return -1;
	}
	n = 4 + (uint64_t)reclen;
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

/* Entries per read of ledger_read_each, and bytes of entries at most
 * (one entry may be longer) */
#define EACH_ENTRIES	4096
#define EACH_BYTES	(8u << 20)

int
ledger_read_each(struct ledger *l, uint64_t first, uint64_t end,
    ledger_entry_fn *fn, void *arg, char *err, size_t errlen)
{
	uint8_t *ib = NULL, *eb = NULL, *hb = NULL;
	uint64_t i, k, j, *off = NULL, h0, nh, span, n;
	size_t ebcap = 0;
	merkle_hash leaf;
	int64_t reclen;
	int r = -1;

	if (end > l->size || first > end) {
		seterr(err, errlen, "entries %" PRIu64 "..%" PRIu64 " do not "
		    "exist (ledger size %" PRIu64 ")", first, end, l->size);
		return -1;
	}
	if ((l->wb_ent.len > 0 || l->wb_idx.len > 0 || l->wb_hash.len > 0)
	    && ledger_flush(l, err, errlen) != 0)
		return -1;
	ib = xmalloc(8 * (EACH_ENTRIES + 1));
	off = xcalloc(EACH_ENTRIES + 1, sizeof(*off));
	/* leaves i..i+k-1 are stored 2k - 1 - popcount(i+k-1) + popcount(i)
	 * hashes apart, at most 2k + 63 */
	hb = xmalloc(MERKLE_HASH_LEN * (2 * EACH_ENTRIES + 64));
	for (i = first; i < end; i += k) {
		/* the offsets of entries i..i+k, the last one's end */
		k = end - i < EACH_ENTRIES ? end - i : EACH_ENTRIES;
		if (pread_full(l->fd_idx, ib, 8 * (i + k < l->size ? k + 1 : k),
		    (off_t)(i * 8)) != 0) {
			seterr(err, errlen, "%s/index: %s", l->dir,
			    strerror(errno));
			goto out;
		}
		for (j = 0; j < k; j++)
			off[j] = ledger_get_be64(ib + 8 * j);
		off[k] = i + k < l->size ? ledger_get_be64(ib + 8 * k) :
		    l->ent_end;
		for (j = 0; j < k; j++)
			if (rec_span(l, i + j, off[j], off[j + 1], err,
			    errlen) != 0)
				goto out;
			else if (j > 0 && off[j + 1] - off[0] > EACH_BYTES) {
				k = j;	/* the rest in the next read */
				break;
			}
		span = off[k] - off[0];
		if (span > ebcap) {
			free(eb);
			eb = xmalloc(span);
			ebcap = span;
		}
		if (pread_full(l->fd_ent, eb, span, (off_t)off[0]) != 0) {
			seterr(err, errlen, "%s/entries: entries %" PRIu64
			    "..%" PRIu64 ": %s", l->dir, i, i + k - 1,
			    strerror(errno));
			goto out;
		}
		/* the stored hashes from leaf i's to leaf i+k-1's */
		h0 = ledger_stored_index(0, i);
		nh = ledger_stored_index(0, i + k - 1) - h0 + 1;
		if (pread_full(l->fd_hash, hb, MERKLE_HASH_LEN * nh,
		    (off_t)(h0 * MERKLE_HASH_LEN)) != 0) {
			seterr(err, errlen, "%s/hashes: %s", l->dir,
			    strerror(errno));
			goto out;
		}
		for (j = 0; j < k; j++) {
			const uint8_t *rec = eb + (off[j] - off[0]);

			n = off[j + 1] - off[j];
			if ((reclen = rec_length(rec, n, i + j, err,
			    errlen)) < 0)
				goto out;
			merkle_leaf_hash(rec + 4, (size_t)reclen, leaf);
			if (sodium_memcmp(leaf, hb + MERKLE_HASH_LEN *
			    (ledger_stored_index(0, i + j) - h0),
			    MERKLE_HASH_LEN) != 0) {
				seterr(err, errlen, "ledger corrupt: entry %"
				    PRIu64 " does not match its leaf hash",
				    i + j);
				goto out;
			}
			if (fn(arg, i + j, rec + 4, (size_t)reclen, leaf) != 0)
				goto done;
		}
	}
done:
	r = 0;
out:
	free(ib);
	free(off);
	free(eb);
	free(hb);
	return r;
}
