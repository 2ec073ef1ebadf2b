/*
 * ledger_open.c — open an existing ledger directory: verify the `checkpoint`
 * file (the last sync point) against O(log n) stored hashes, scan and
 * verify the tail of `entries` past it, rebuild index and hashes of what was
 * committed after it, drop what was never committed, repair the history.
 * The format is in ledger.h and vms-ledger(5).
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

static int
open_file(struct ledger *l, const char *name, int *fd, char *err,
    size_t errlen)
{
	char *p = ledger_path(l, name);

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

	p = ledger_path(l, "vkey");
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
	p = ledger_path(l, "checkpoint");
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

/*
 * Count records (whole or partial) in entries[from, to), up to a zero
 * length, which ends the records (zeros past it: preallocated space, or
 * blocks a crash left unwritten); *end is where they end.
 */
static uint64_t
count_tail_records(int fd, uint64_t from, uint64_t to, uint64_t *end)
{
	uint8_t hdr[4];
	uint64_t n = 0, off = from;

	*end = to;
	while (off < to) {
		if (off + 4 > to || pread_full(fd, hdr, 4, (off_t)off) != 0) {
			n++;
			break;
		}
		if (ledger_get_be32(hdr) == 0) {
			*end = off;
			break;
		}
		if (!(ledger_get_be32(hdr) & LEDGER_REC_NOTE))
			n++;
		off += 4 + (uint64_t)(ledger_get_be32(hdr) & ~LEDGER_REC_NOTE);
	}
	return n;
}

/*
 * The record before committed entry n-1 (at prev) must end where entry n-1
 * starts (at off), with at most one commit record in between, so that a
 * damaged index cannot make a committed record look like the tail.
 */
static int
adjacent(struct ledger *l, uint64_t prev, uint64_t off)
{
	uint8_t buf[4];
	uint32_t len;

	if (prev + 4 > off || pread_full(l->fd_ent, buf, 4, (off_t)prev) != 0 ||
	    ((len = ledger_get_be32(buf)) & LEDGER_REC_NOTE))
		return -1;
	prev += 4 + (uint64_t)len;
	if (prev == off)
		return 0;
	if (prev + 4 > off || pread_full(l->fd_ent, buf, 4, (off_t)prev) != 0 ||
	    !((len = ledger_get_be32(buf)) & LEDGER_REC_NOTE))
		return -1;
	return prev + 4 + (len & ~LEDGER_REC_NOTE) == off ? 0 : -1;
}

/*
 * Check the range under the `checkpoint` file (the last sync point, where
 * index and hashes are durable) in O(log n): file lengths, the root from
 * the stored peaks, the last record against its leaf hash.
 */
static int
check_anchor(struct ledger *l, uint64_t elen, uint64_t ilen, uint64_t hlen,
    char *err, size_t errlen)
{
	uint64_t n = l->csize, off, need;
	merkle_hash root, leaf, stored;
	uint8_t buf[8], *data;
	uint32_t len;

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
		if (n > 1 && (pread_full(l->fd_idx, buf, 8,
		    (off_t)((n - 2) * 8)) != 0 ||
		    adjacent(l, ledger_get_be64(buf), off) != 0)) {
			seterr(err, errlen, "ledger corrupt: entries %" PRIu64
			    " and %" PRIu64 " are not adjacent in %s/entries",
			    n - 2, n - 1, l->dir);
			return -1;
		}
	}
	l->ent_end = l->cent_end;
	l->cfront = l->front;
	l->anchor_size = n;
	return 0;
}

/*
 * Is there a valid commit record right after entry j (at off, len bytes of
 * data, the record ending at end) signing the first j+1 entries? If so,
 * adopt it as the ledger's committed state: 0. Else 1.
 */
static int
ro_try_commit(struct ledger *l, uint64_t j, uint64_t off, uint32_t len,
    uint64_t end, uint32_t nl, uint64_t hlen)
{
	struct merkle_frontier f;
	struct checkpoint cp;
	merkle_hash root, leaf, stored;
	uint64_t size = j + 1, saved = l->size;
	uint8_t buf[8], *data = NULL;
	char *note = NULL, why[VMS_ERRLEN];
	size_t tlen;
	int rc = 1;

	if (hlen < ledger_stored_count(size) * MERKLE_HASH_LEN)
		return 1;
	note = xmalloc((size_t)nl + 1);
	data = xmalloc((size_t)len + 1);
	if (pread_full(l->fd_ent, note, nl, (off_t)end + 4) != 0 ||
	    pread_full(l->fd_ent, data, len, (off_t)off + 4) != 0)
		goto out;
	note[nl] = '\0';
	if (strlen(note) != nl || note_verify(note, nl, &l->ver, 1, &tlen,
	    NULL, why, sizeof(why)) != 0 || checkpoint_parse(note, tlen, &cp,
	    why, sizeof(why)) != 0 || cp.size != size ||
	    strcmp(cp.origin, l->ver.name) != 0)
		goto out;
	l->size = size;	/* read_hash bound */
	if (ledger_load_frontier(l, size, &f) != 0)
		goto out;
	merkle_frontier_root(&f, root);
	merkle_leaf_hash(data, len, leaf);
	if (sodium_memcmp(root, cp.root, MERKLE_HASH_LEN) != 0 ||
	    ledger_read_hash(l, 0, j, stored) != 0 ||
	    sodium_memcmp(leaf, stored, MERKLE_HASH_LEN) != 0)
		goto out;
	if (j > 0 && (pread_full(l->fd_idx, buf, 8, (off_t)((j - 1) * 8)) !=
	    0 || adjacent(l, ledger_get_be64(buf), off) != 0))
		goto out;
	l->csize = size;
	l->cent_end = l->ent_end = end + 4 + nl;
	l->cfront = l->front = f;
	memcpy(l->croot, root, MERKLE_HASH_LEN);
	free(l->checkpoint);
	l->checkpoint = note;
	note = NULL;
	rc = 0;
out:
	if (rc != 0)
		l->size = saved;
	free(note);
	free(data);
	return rc;
}

/*
 * Read-only fast path: the writer writes index and hashes before the
 * commit record, so a reader can find the last commit record by walking
 * the index back from its end (over at most the uncommitted batch) and
 * check it like the sync point, in O(log n): its signature, size, the
 * root from the stored peaks, the last entry's leaf hash. 1 if that does
 * not work out (then the tail is scanned). With persist, a candidate that
 * does not verify (a commit record being written right now) is passed
 * over for the one before it.
 */
static int
ro_last_commit(struct ledger *l, uint64_t elen, uint64_t ilen, uint64_t hlen,
    int persist)
{
	uint64_t j, off, end, steps = 0;
	uint8_t buf[8];
	uint32_t len, nl = 0;

	for (j = ilen / 8; j > l->csize && steps < 65536; steps++) {
		j--;
		if (pread_full(l->fd_idx, buf, 8, (off_t)(j * 8)) != 0)
			return 1;
		off = ledger_get_be64(buf);
		if (off + 4 > elen || pread_full(l->fd_ent, buf, 4,
		    (off_t)off) != 0 || (len = ledger_get_be32(buf)) >
		    LEDGER_MAX_ENTRY || off + 4 + len + 4 > elen)
			continue;
		end = off + 4 + len;
		if (pread_full(l->fd_ent, buf, 4, (off_t)end) != 0)
			return 1;
		nl = ledger_get_be32(buf);
		if (!(nl & LEDGER_REC_NOTE))
			continue;
		nl &= ~LEDGER_REC_NOTE;
		if (nl == 0 || nl > NOTE_MAX_LEN || end + 4 + nl > elen)
			continue;
		if (ro_try_commit(l, j, off, len, end, nl, hlen) == 0)
			return 0;
		if (!persist)
			return 1;
	}
	return 1;
}

/* What the scan of `entries` past the sync point found. Nothing per
 * entry: a tail of garbage (say, zeros after a crash) costs no memory;
 * rebuild_tail reads the committed entries again. */
struct tail {
	char			**notes;	/* commit notes, growing sizes */
	size_t			 nnotes, ncap;
	uint64_t		 gpos, gcnt;	/* end of the last commit record */
	struct merkle_frontier	 gfront;
	uint64_t		 pos;		/* where the scan stopped */
};

static void
tail_free(struct tail *t)
{
	size_t i;

	for (i = 0; i < t->nnotes; i++)
		free(t->notes[i]);
	free(t->notes);
}

/*
 * A commit record at pos, note (len bytes) read: 1 if it is not a valid
 * note by the ledger key (torn or garbage: the scan stops), -1 with err if
 * it is validly signed but does not match the entries before it
 * (corruption), 0 if it commits them.
 */
static int
tail_note(struct ledger *l, struct tail *t, const char *note, size_t len,
    const struct merkle_frontier *f, uint64_t cnt, char *err,
    size_t errlen)
{
	struct checkpoint cp;
	merkle_hash root;
	char why[VMS_ERRLEN];
	size_t tlen;

	/* The sync point's own commit record: `checkpoint` was verified. */
	if (cnt == l->csize && t->nnotes == 0 && strlen(note) == len &&
	    strcmp(note, l->checkpoint) == 0)
		return 0;
	if (strlen(note) != len || note_verify(note, len, &l->ver, 1, &tlen,
	    NULL, why, sizeof(why)) != 0)
		return 1;
	merkle_frontier_root(f, root);
	if (checkpoint_parse(note, tlen, &cp, why, sizeof(why)) != 0 ||
	    strcmp(cp.origin, l->ver.name) != 0 || cp.size != cnt ||
	    sodium_memcmp(cp.root, root, MERKLE_HASH_LEN) != 0) {
		seterr(err, errlen, "ledger corrupt: the signed checkpoint at "
		    "offset %" PRIu64 " of %s/entries does not match the %"
		    PRIu64 " entries before it", t->pos, l->dir, cnt);
		return -1;
	}
	if (cnt > (t->nnotes > 0 ? t->gcnt : l->csize)) {
		if (t->nnotes == t->ncap) {
			t->ncap = t->ncap ? t->ncap * 2 : 16;
			t->notes = xrealloc(t->notes, t->ncap * sizeof(char *));
		}
		t->notes[t->nnotes++] = xstrdup(note);
	}
	return 0;
}

/*
 * Read `entries` from the sync point to its end: entry records are hashed,
 * each commit record checked against them. Stops at the first partial or
 * invalid record; t->gpos/gcnt/gfront are the last commit.
 */
static int
scan_tail(struct ledger *l, uint64_t elen, struct tail *t, char *err,
    size_t errlen)
{
	struct merkle_frontier f = l->cfront;
	uint64_t cnt = l->csize;
	uint8_t hdr[4], *buf = NULL;
	merkle_hash leaf;
	size_t bcap = 0;
	uint32_t len;
	int rc = -1, r;

	t->pos = t->gpos = l->cent_end;
	t->gcnt = cnt;
	t->gfront = f;
	while (t->pos + 4 <= elen) {
		if (pread_full(l->fd_ent, hdr, 4, (off_t)t->pos) != 0)
			goto ioerr;
		len = ledger_get_be32(hdr) & ~LEDGER_REC_NOTE;
		if (ledger_get_be32(hdr) & LEDGER_REC_NOTE) {
			if (len == 0 || len > NOTE_MAX_LEN)
				break;
		} else if (len == 0 || len > LEDGER_MAX_ENTRY)
			break;	/* 0: the records end (preallocated zeros) */
		if (len > elen - t->pos - 4)
			break;
		if (len + 1 > bcap) {
			bcap = len + 1;
			buf = xrealloc(buf, bcap);
		}
		if (pread_full(l->fd_ent, buf, len, (off_t)t->pos + 4) != 0)
			goto ioerr;
		buf[len] = '\0';
		if (ledger_get_be32(hdr) & LEDGER_REC_NOTE) {
			/* One commit record per batch: a second one in a row
			 * (a duplicate) ends what was committed, like any
			 * invalid record; reads and the next open accept no
			 * more than one between two entries. */
			if (t->pos == t->gpos && t->pos > l->cent_end)
				break;
			if ((r = tail_note(l, t, (char *)buf, len, &f, cnt,
			    err, errlen)) < 0)
				goto out;
			if (r > 0)
				break;
			t->pos += 4 + (uint64_t)len;
			t->gpos = t->pos;
			t->gcnt = cnt;
			t->gfront = f;
			continue;
		}
		merkle_leaf_hash(buf, len, leaf);
		merkle_frontier_push(&f, leaf);
		cnt++;
		t->pos += 4 + (uint64_t)len;
	}
	rc = 0;
	goto out;
ioerr:
	seterr(err, errlen, "%s/entries: %s", l->dir, strerror(errno));
out:
	free(buf);
	return rc;
}

/*
 * Index and stored hashes of the k committed entries past the sync point,
 * recomputed from `entries` (read again from the sync point: the scan
 * checked these records, and committed records do not change). Writable:
 * written over whatever is there. Read-only: compared with the files; 1
 * if they do not hold them yet.
 */
static int
rebuild_tail(struct ledger *l, const struct tail *t, uint64_t k, char *err,
    size_t errlen)
{
	struct merkle_frontier f = l->cfront;
	uint64_t from = l->csize, h0, nh, s, i, j = 0, pos = l->cent_end;
	merkle_hash *hb, cur, leaf;
	uint8_t *ib, *rb, hdr[4], *buf = NULL;
	size_t bcap = 0;
	uint32_t len;
	int kk, rc = -1;

	h0 = ledger_stored_count(from);
	nh = ledger_stored_count(from + k) - h0;
	ib = xmalloc(k * 8);
	hb = xmalloc(nh * MERKLE_HASH_LEN);
	for (i = 0; i < k; pos += 4 + (uint64_t)len) {
		if (pos + 4 > t->gpos || pread_full(l->fd_ent, hdr, 4,
		    (off_t)pos) != 0)
			goto changed;
		len = ledger_get_be32(hdr) & ~LEDGER_REC_NOTE;
		if (ledger_get_be32(hdr) & LEDGER_REC_NOTE)
			continue;
		if (len > LEDGER_MAX_ENTRY || len > t->gpos - pos - 4)
			goto changed;
		if (len + 1 > bcap) {
			bcap = len + 1;
			buf = xrealloc(buf, bcap);
		}
		if (pread_full(l->fd_ent, buf, len, (off_t)pos + 4) != 0)
			goto changed;
		merkle_leaf_hash(buf, len, leaf);
		ledger_put_be64(ib + i * 8, pos);
		memcpy(hb[j++], leaf, MERKLE_HASH_LEN);
		memcpy(cur, leaf, MERKLE_HASH_LEN);
		for (s = from + i, kk = f.npeaks - 1; s & 1; s >>= 1, kk--) {
			merkle_node_hash(f.peaks[kk], cur, cur);
			memcpy(hb[j++], cur, MERKLE_HASH_LEN);
		}
		merkle_frontier_push(&f, leaf);
		i++;
	}
	merkle_frontier_root(&f, cur);
	merkle_frontier_root(&t->gfront, leaf);
	if (memcmp(cur, leaf, MERKLE_HASH_LEN) != 0)
		goto changed;
	if (l->signer != NULL) {
		errno = 0;
		if (pwrite_full(l->fd_idx, ib, k * 8, (off_t)(from * 8)) != 0 ||
		    pwrite_full(l->fd_hash, hb, nh * MERKLE_HASH_LEN,
		    (off_t)(h0 * MERKLE_HASH_LEN)) != 0) {
			seterr(err, errlen, "%s: rebuilding index and hashes: "
			    "%s", l->dir, strerror(errno ? errno : EIO));
			goto out;
		}
		rc = 0;
		goto out;
	}
	rb = xmalloc(nh * MERKLE_HASH_LEN > k * 8 ? nh * MERKLE_HASH_LEN :
	    k * 8);
	rc = pread_full(l->fd_idx, rb, k * 8, (off_t)(from * 8)) != 0 ||
	    memcmp(rb, ib, k * 8) != 0 || pread_full(l->fd_hash, rb,
	    nh * MERKLE_HASH_LEN, (off_t)(h0 * MERKLE_HASH_LEN)) != 0 ||
	    memcmp(rb, hb, nh * MERKLE_HASH_LEN) != 0 ? 1 : 0;
	free(rb);
	goto out;
changed:
	seterr(err, errlen, "%s/entries changed while it was opened (at "
	    "offset %" PRIu64 ")", l->dir, pos);
out:
	free(buf);
	free(ib);
	free(hb);
	return rc;
}

/*
 * Check the sync point, then recover what was committed after it (and is
 * only in `entries`) and drop what was never committed.
 */
static int
check_files(struct ledger *l, char *err, size_t errlen)
{
	struct tail t;
	uint64_t elen, ilen, hlen, k, extra_idx, dropped, dend, anchor_size;
	char *anchor = NULL;
	int r, dirty = 0, rc = -1;

	memset(&t, 0, sizeof(t));
	if (file_len(l->fd_ent, &elen) != 0 || file_len(l->fd_idx, &ilen) != 0 ||
	    file_len(l->fd_hash, &hlen) != 0) {
		seterr(err, errlen, "%s: fstat: %s", l->dir, strerror(errno));
		return -1;
	}
	if (check_anchor(l, elen, ilen, hlen, err, errlen) != 0)
		goto out;
	if (l->signer == NULL && (anchor_size = l->csize, ro_last_commit(l,
	    elen, ilen, hlen, 0)) == 0) {
		/* as if scanned: the last commit, nothing to rebuild */
		t.gpos = l->cent_end;
		t.gcnt = l->csize;
		t.gfront = l->cfront;
		l->rec.recovered_entries = l->csize - anchor_size;
		anchor = xstrdup(l->checkpoint);
		k = 0;
		goto history;
	}
	if (scan_tail(l, elen, &t, err, errlen) != 0)
		goto out;
	k = t.gcnt - l->csize;
	if (k > 0 && (r = rebuild_tail(l, &t, k, err, errlen)) != 0) {
		if (r < 0)
			goto out;
		l->rec.ignored_entries = k;
		t.gcnt = l->csize;
		t.gpos = l->cent_end;
		t.gfront = l->cfront;
		while (t.nnotes > 0)
			free(t.notes[--t.nnotes]);
		k = 0;
	}
	anchor = l->checkpoint;
	if (t.nnotes > 0)
		l->checkpoint = xstrdup(t.notes[t.nnotes - 1]);
	else
		anchor = xstrdup(anchor);
	l->csize = l->size = t.gcnt;
	l->cent_end = l->ent_end = t.gpos;
	l->cfront = l->front = t.gfront;
	merkle_frontier_root(&l->front, l->croot);
	l->rec.recovered_entries = k;
history:
	if (ledger_history_repair(l, anchor, t.notes, t.nnotes, &dirty, err,
	    errlen) != 0)
		goto out;
	/* The tail: anything past the last commit record was never signed;
	 * past a zero length, nothing is data (the zeros a writer
	 * preallocated: cut, not reported). */
	dropped = elen - l->cent_end;
	extra_idx = ilen > l->csize * 8 ? (ilen - l->csize * 8 + 7) / 8 : 0;
	if (dropped > 0 || extra_idx > 0 || hlen > ledger_stored_count(
	    l->csize) * MERKLE_HASH_LEN) {
		l->rec.dropped_entries = count_tail_records(l->fd_ent,
		    l->cent_end, elen, &dend);
		l->rec.dropped_bytes = dend - l->cent_end;
		l->rec.zero_bytes = elen - dend;
		if (extra_idx > l->rec.dropped_entries)
			l->rec.dropped_entries = extra_idx;
		if (l->signer != NULL) {
			if (ledger_truncate_committed(l) != 0 ||
			    fdatasync(l->fd_ent) != 0) {
				seterr(err, errlen, "%s: truncating the "
				    "uncommitted tail: %s", l->dir,
				    strerror(errno));
				goto out;
			}
			dirty = 1;
		}
	}
	if (l->signer != NULL && (dirty || k > 0)) {
		l->unsynced_commits = 1;	/* force the sync point */
		if (ledger_sync(l, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	tail_free(&t);
	free(anchor);
	return rc;
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
	l->fd_ent = l->fd_idx = l->fd_hash = l->fd_hist = l->head_fd = -1;
	l->head_fds[0] = l->head_fds[1] = -1;
	l->inflight = 1;
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
	if (check_files(l, err, errlen) != 0)
		goto fail;
	if (signer != NULL)
		ledger_hcache_frontier(l);
	if (rec != NULL)
		*rec = l->rec;
	*out = l;
	return 0;
fail:
	ledger_close(l);
	return -1;
}

int
ledger_refresh(struct ledger *l, char *err, size_t errlen)
{
	uint64_t elen, ilen, hlen;

	if (l->signer != NULL) {
		seterr(err, errlen, "%s: only a read-only ledger is refreshed",
		    l->dir);
		return -1;
	}
	if (file_len(l->fd_ent, &elen) != 0 || file_len(l->fd_idx, &ilen) != 0 ||
	    file_len(l->fd_hash, &hlen) != 0) {
		seterr(err, errlen, "%s: fstat: %s", l->dir, strerror(errno));
		return -1;
	}
	if (ilen / 8 > l->csize)
		(void)ro_last_commit(l, elen, ilen, hlen, 1);
	return 0;
}
