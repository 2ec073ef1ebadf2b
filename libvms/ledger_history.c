/*
 * ledger_history.c — the `checkpoints` file: every signed checkpoint the
 * ledger ever published, as uint32 BE length || note. Appending, repair at
 * open (a torn append, or a checkpoint published but not yet recorded), the
 * lookup by tree size (an in-memory index built on first use) and the full
 * check for ledger_verify_all().
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

static void
index_push(struct ledger *l, uint64_t size, uint64_t off)
{
	if (l->hist_n == l->hist_cap) {
		l->hist_cap = l->hist_cap ? l->hist_cap * 2 : 64;
		l->hist_size = xrealloc(l->hist_size,
		    l->hist_cap * sizeof(uint64_t));
		l->hist_off = xrealloc(l->hist_off,
		    l->hist_cap * sizeof(uint64_t));
	}
	l->hist_size[l->hist_n] = size;
	l->hist_off[l->hist_n] = off;
	l->hist_n++;
}

void
ledger_history_free(struct ledger *l)
{
	free(l->hist_size);
	free(l->hist_off);
	l->hist_size = l->hist_off = NULL;
	l->hist_n = l->hist_cap = 0;
	l->hist_loaded = 0;
}

/*
 * Append n notes as records in one write (the deferred ones of several
 * batches go together), synced if asked. On failure nothing of them is
 * kept: the partial records are cut (if that fails too, the next append
 * overwrites them and open's repair cuts any tail).
 */
static int
append_records(struct ledger *l, char *const *notes, size_t n, int sync,
    char *err, size_t errlen)
{
	size_t i, len, total = 0, at = 0;
	uint8_t *buf;
	uint64_t size, off;

	for (i = 0; i < n; i++)
		total += 4 + strlen(notes[i]);
	buf = xmalloc(total > 0 ? total : 1);
	for (i = 0; i < n; i++) {
		len = strlen(notes[i]);
		ledger_put_be32(buf + at, (uint32_t)len);
		memcpy(buf + at + 4, notes[i], len);
		at += 4 + len;
	}
	errno = 0;
	if (pwrite_full(l->fd_hist, buf, total, (off_t)l->hist_end) != 0 ||
	    (sync && fsync(l->fd_hist) != 0)) {
		int e = errno ? errno : EIO;

		if (ftruncate(l->fd_hist, (off_t)l->hist_end) != 0)
			seterr(err, errlen, "%s/checkpoints: %s (and cutting "
			    "the partial record: %s)", l->dir, strerror(e),
			    strerror(errno));
		else
			seterr(err, errlen, "%s/checkpoints: %s", l->dir,
			    strerror(e));
		free(buf);
		return -1;
	}
	free(buf);
	for (i = 0, off = l->hist_end; i < n; i++) {
		len = strlen(notes[i]);
		if (l->hist_loaded && checkpoint_note_size(notes[i], len,
		    &size) == 0)
			index_push(l, size, off);
		off += 4 + len;
	}
	l->hist_end = off;
	if (n > 0 && l->sync_in_commits) {	/* (a sync point's anchor) */
		free(l->hist_last);
		l->hist_last = xstrdup(notes[n - 1]);
	}
	return 0;
}

int
ledger_history_append(struct ledger *l, const char *note, int sync,
    char *err, size_t errlen)
{
	char *one = (char *)note;	/* (only read) */

	return append_records(l, &one, 1, sync, err, errlen);
}

void
ledger_history_defer(struct ledger *l, const char *note)
{
	char why[VMS_ERRLEN];

	/*
	 * Never more than a round of the head's ring (a commit then syncs
	 * `entries` and flushes them). Should it fill, `entries` is synced
	 * here first; if that fails they are dropped, the next open records
	 * them again from the commit records.
	 */
	if (l->hq_n == sizeof(l->hq) / sizeof(l->hq[0])) {
		if (fdatasync(l->fd_ent) == 0) {
			if (l->ent_durable < l->cent_end)
				l->ent_durable = l->cent_end;
			if (ledger_history_flush(l, why, sizeof(why)) != 0)
				ledger_warn(l, "%s", why);
		} else {
			ledger_warn(l, "%s/entries: fdatasync: %s", l->dir,
			    strerror(errno));
			while (l->hq_n > 0)
				free(l->hq[--l->hq_n]);
		}
	}
	l->hq[l->hq_n++] = xstrdup(note);
}

int
ledger_history_flush(struct ledger *l, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (l->hq_n == 0)
		return 0;
	/* one write for all of them; if it fails, the next open records
	 * them again from the commit records */
	rc = append_records(l, l->hq, l->hq_n, 0, err, errlen);
	for (i = 0; i < l->hq_n; i++)
		free(l->hq[i]);
	l->hq_n = 0;
	return rc;
}

/*
 * At open: the history must end with the current checkpoint. If it does
 * not (a crash between the checkpoint's rename and the history append, or
 * a torn append), cut the torn record and append the checkpoint. Read-only
 * opens repair nothing.
 */
int
ledger_history_check(struct ledger *l, char *err, size_t errlen)
{
	size_t clen = strlen(l->checkpoint);
	uint64_t flen, off = 0, last = UINT64_MAX;
	struct stat st;
	uint8_t *buf;
	int match = 0;

	if (fstat(l->fd_hist, &st) != 0) {
		seterr(err, errlen, "%s/checkpoints: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	flen = (uint64_t)st.st_size;
	buf = xmalloc(4 + NOTE_MAX_LEN);
	if (flen >= 4 + clen && pread_full(l->fd_hist, buf, 4 + clen,
	    (off_t)(flen - 4 - clen)) == 0 && ledger_get_be32(buf) == clen &&
	    memcmp(buf + 4, l->checkpoint, clen) == 0) {
		l->hist_end = flen;
		free(buf);
		return 0;
	}
	/* Slow path: walk the records to the last whole one. */
	while (off + 4 <= flen) {
		uint32_t n;

		if (pread_full(l->fd_hist, buf, 4, (off_t)off) != 0)
			break;
		n = ledger_get_be32(buf);
		if (n == 0 || n > NOTE_MAX_LEN || off + 4 + n > flen)
			break;
		last = off;
		off += 4 + n;
	}
	if (last != UINT64_MAX && off - last - 4 == clen &&
	    pread_full(l->fd_hist, buf, clen, (off_t)(last + 4)) == 0 &&
	    memcmp(buf, l->checkpoint, clen) == 0)
		match = 1;
	free(buf);
	l->hist_end = off;
	if (l->signer == NULL)
		return 0;
	if (off != flen) {
		l->rec.history_dropped += flen - off;
		if (ftruncate(l->fd_hist, (off_t)off) != 0) {
			seterr(err, errlen, "%s/checkpoints: truncate: %s",
			    l->dir, strerror(errno));
			return -1;
		}
	}
	if (match)
		return fsync(l->fd_hist) == 0 ? 0 : -1;
	l->rec.history_appended = 1;
	return ledger_history_append(l, l->checkpoint, 1, err, errlen);
}

/* The record of note appended to buf at *len. */
static void
rec_put(uint8_t *buf, size_t *len, const char *note)
{
	size_t n = strlen(note);

	ledger_put_be32(buf + *len, (uint32_t)n);
	memcpy(buf + *len + 4, note, n);
	*len += 4 + n;
}

/*
 * At open, after the scan of `entries`: the history is durable up to the
 * anchor's note (synced before `checkpoint` was replaced); after it come
 * none, some or all of the recovered notes (appended unsynced), maybe a
 * torn record. Find the anchor's record in the last bytes of the file,
 * keep the recovered notes found after it, cut the rest and append the
 * missing ones. A whole, validly signed record after them is one that
 * `entries` does not prove: corruption (only checked when writable: a
 * read-only open races with the writer's appends).
 */
int
ledger_history_repair(struct ledger *l, const char *anchor,
    char *const *notes, size_t nnotes, int *dirty, char *err, size_t errlen)
{
	uint8_t *exp, *w = NULL, *q, *found = NULL;
	size_t elen = 0, total = 4 + strlen(anchor), i, wlen, tlen;
	uint64_t flen, start, off, eoff;
	struct stat st;
	char *tmp, why[VMS_ERRLEN];
	uint32_t n;
	int rc = -1;

	*dirty = 0;
	for (i = 0; i < nnotes; i++)
		total += 4 + strlen(notes[i]);
	exp = xmalloc(total);
	rec_put(exp, &elen, anchor);
	for (i = 0; i < nnotes; i++)
		rec_put(exp, &elen, notes[i]);
	if (fstat(l->fd_hist, &st) != 0) {
		seterr(err, errlen, "%s/checkpoints: %s", l->dir,
		    strerror(errno));
		goto out;
	}
	flen = (uint64_t)st.st_size;
	wlen = (size_t)(flen < total + 4 + NOTE_MAX_LEN ? flen :
	    total + 4 + NOTE_MAX_LEN);
	start = flen - wlen;
	w = xmalloc(wlen + 1);
	if (pread_full(l->fd_hist, w, wlen, (off_t)start) != 0) {
		seterr(err, errlen, "%s/checkpoints: %s", l->dir,
		    strerror(errno));
		goto out;
	}
	if (wlen >= total && memcmp(w + wlen - total, exp, total) == 0) {
		l->hist_end = flen;	/* the common case: all there */
		rc = 0;
		goto out;
	}
	tlen = 4 + strlen(anchor);
	for (q = w; (q = memmem(q, wlen - (size_t)(q - w), exp, tlen)) !=
	    NULL; q++)
		found = q;
	if (found == NULL) {
		/* An older ledger: the anchor is missing from the history. */
		tmp = l->checkpoint;
		l->checkpoint = (char *)(uintptr_t)anchor;
		rc = ledger_history_check(l, err, errlen);
		l->checkpoint = tmp;
		if (rc != 0 || l->signer == NULL)
			goto out;
		for (i = 0; i < nnotes; i++)
			if ((rc = ledger_history_append(l, notes[i], 0, err,
			    errlen)) != 0)
				goto out;
		*dirty = 1;
		goto out;
	}
	off = start + (uint64_t)(found - w) + tlen;
	eoff = tlen;
	for (i = 0; i < nnotes; i++) {
		size_t rl = 4 + strlen(notes[i]);

		if (off + rl > flen || memcmp(w + (off - start), exp + eoff,
		    rl) != 0)
			break;
		off += rl;
		eoff += rl;
	}
	if (l->signer != NULL && flen - off >= 4 && (n = ledger_get_be32(w +
	    (off - start))) > 0 && n <= NOTE_MAX_LEN && off + 4 + n <= flen) {
		char *note = xstrndup((char *)w + (off - start) + 4, n);
		size_t nl;

		if (strlen(note) == n && note_verify(note, n, &l->ver, 1, &nl,
		    NULL, why, sizeof(why)) == 0) {
			seterr(err, errlen, "ledger corrupt: %s/checkpoints "
			    "holds a signed checkpoint past the last one "
			    "%s/entries proves (size %" PRIu64 ")", l->dir,
			    l->dir, l->csize);
			free(note);
			goto out;
		}
		free(note);
	}
	l->hist_end = off;
	rc = 0;
	if (l->signer == NULL)
		goto out;
	if (off != flen) {
		l->rec.history_dropped += flen - off;
		if (ftruncate(l->fd_hist, (off_t)off) != 0) {
			seterr(err, errlen, "%s/checkpoints: truncate: %s",
			    l->dir, strerror(errno));
			rc = -1;
			goto out;
		}
		*dirty = 1;
	}
	for (; i < nnotes; i++) {
		if ((rc = ledger_history_append(l, notes[i], 0, err,
		    errlen)) != 0)
			goto out;
		*dirty = 1;
	}
out:
	free(exp);
	free(w);
	return rc;
}

static int
history_load(struct ledger *l, char *err, size_t errlen)
{
	uint8_t *buf;
	uint64_t off = 0, size;
	uint32_t n;

	if (l->hist_loaded)
		return 0;
	buf = xmalloc(4 + NOTE_MAX_LEN);
	while (off < l->hist_end) {
		if (pread_full(l->fd_hist, buf, 4, (off_t)off) != 0 ||
		    (n = ledger_get_be32(buf)) == 0 || n > NOTE_MAX_LEN ||
		    off + 4 + n > l->hist_end ||
		    pread_full(l->fd_hist, buf + 4, n, (off_t)off + 4) != 0 ||
		    checkpoint_note_size((char *)buf + 4, n, &size) != 0) {
			seterr(err, errlen, "%s/checkpoints: bad record at "
			    "offset %" PRIu64, l->dir, off);
			free(buf);
			ledger_history_free(l);
			return -1;
		}
		index_push(l, size, off);
		off += 4 + n;
	}
	free(buf);
	l->hist_loaded = 1;
	return 0;
}

/* Read record at off, verify its signature; returns the note, malloc'd. */
static char *
history_read(struct ledger *l, uint64_t off, struct checkpoint *cp,
    char *err, size_t errlen)
{
	uint8_t hdr[4];
	char *note;
	size_t tlen;
	uint32_t n;

	if (pread_full(l->fd_hist, hdr, 4, (off_t)off) != 0 ||
	    (n = ledger_get_be32(hdr)) == 0 || n > NOTE_MAX_LEN) {
		seterr(err, errlen, "%s/checkpoints: bad record at offset %"
		    PRIu64, l->dir, off);
		return NULL;
	}
	note = xmalloc((size_t)n + 1);
	if (pread_full(l->fd_hist, note, n, (off_t)off + 4) != 0) {
		seterr(err, errlen, "%s/checkpoints: %s", l->dir,
		    strerror(errno));
		free(note);
		return NULL;
	}
	note[n] = '\0';
	if (strlen(note) != n || note_verify(note, n, &l->ver, 1, &tlen, NULL,
	    err, errlen) != 0 || checkpoint_parse(note, tlen, cp, err,
	    errlen) != 0) {
		char why[VMS_ERRLEN];

		snprintf(why, sizeof(why), "%s", err);
		seterr(err, errlen, "%s/checkpoints: record at offset %" PRIu64
		    ": %s", l->dir, off, why);
		free(note);
		return NULL;
	}
	return note;
}

int
ledger_checkpoint_at(struct ledger *l, uint64_t size, char **note,
    char *err, size_t errlen)
{
	struct checkpoint cp;
	size_t lo, hi;

	uint64_t qsize;
	size_t i;

	*note = NULL;
	if (size == l->csize) {
		*note = xstrdup(l->checkpoint);
		return 0;
	}
	for (i = 0; i < l->hq_n; i++)
		if (checkpoint_note_size(l->hq[i], strlen(l->hq[i]),
		    &qsize) == 0 && qsize == size) {
			*note = xstrdup(l->hq[i]);
			return 0;
		}
	if (history_load(l, err, errlen) != 0)
		return -1;
	lo = 0;
	hi = l->hist_n;
	while (lo < hi) {	/* first record with size >= wanted */
		size_t mid = lo + (hi - lo) / 2;

		if (l->hist_size[mid] < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == l->hist_n || l->hist_size[lo] != size) {
		seterr(err, errlen, "no checkpoint was signed at size %" PRIu64,
		    size);
		return -1;
	}
	if ((*note = history_read(l, l->hist_off[lo], &cp, err, errlen)) ==
	    NULL)
		return -1;
	if (cp.size != size) {
		seterr(err, errlen, "%s/checkpoints: index and record disagree",
		    l->dir);
		free(*note);
		*note = NULL;
		return -1;
	}
	return 0;
}

/* Every recorded checkpoint: signed by the ledger key, growing, and
 * matching the root the ledger has at that size. */
int
ledger_history_verify(struct ledger *l, char *err, size_t errlen)
{
	struct checkpoint cp;
	merkle_hash root;
	uint64_t off = 0, prev = 0, nrec = 0;
	char *note;

	while (off < l->hist_end) {
		if ((note = history_read(l, off, &cp, err, errlen)) == NULL)
			return -1;
		off += 4 + strlen(note);
		free(note);
		if (nrec > 0 && cp.size <= prev) {
			seterr(err, errlen, "checkpoint history: size %" PRIu64
			    " after %" PRIu64, cp.size, prev);
			return -1;
		}
		if (strcmp(cp.origin, l->ver.name) != 0) {
			seterr(err, errlen, "checkpoint history: origin \"%s\" "
			    "is not \"%s\"", cp.origin, l->ver.name);
			return -1;
		}
		if (cp.size > l->csize)
			break;	/* published after this snapshot */
		if (ledger_root(l, cp.size, root) != 0) {
			seterr(err, errlen, "checkpoint history: cannot "
			    "compute the root at size %" PRIu64, cp.size);
			return -1;
		}
		if (memcmp(root, cp.root, MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "ledger corrupt: the signed "
			    "checkpoint of size %" PRIu64 " does not match the "
			    "ledger", cp.size);
			return -1;
		}
		prev = cp.size;
		nrec++;
	}
	return 0;
}
