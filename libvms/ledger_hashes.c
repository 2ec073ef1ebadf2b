/*
 * ledger_hashes.c — the ledger's `hashes` file: the Go sumdb/tlog stored-hash
 * layout, range hashes for proofs and roots, the frontier from the stored
 * peaks, proofs, and ledger_verify_all() (the full rehash).
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

/*
 * Level L's n-th hash is stored right after level L+1's (2n+1)-th... in
 * post-order: leaf n sits at n + n/2 + n/4 + ..., and a level-L hash right
 * after the rightmost leaf it covers plus L.
 */
uint64_t
ledger_stored_index(int level, uint64_t n)
{
	uint64_t i = 0;
	int l;

	for (l = level; l > 0; l--)
		n = 2 * n + 1;
	for (; n > 0; n >>= 1)
		i += n;
	return i + (uint64_t)level;
}

/* Hashes stored for a tree of n leaves: 2n - popcount(n). */
uint64_t
ledger_stored_count(uint64_t n)
{
	return 2 * n - (uint64_t)__builtin_popcountll(n);
}

void
ledger_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
ledger_put_be64(uint8_t *p, uint64_t v)
{
	ledger_put_be32(p, (uint32_t)(v >> 32));
	ledger_put_be32(p + 4, (uint32_t)v);
}

uint32_t
ledger_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
ledger_get_be64(const uint8_t *p)
{
	return (uint64_t)ledger_get_be32(p) << 32 | ledger_get_be32(p + 4);
}

void
ledger_hcache_add(struct ledger *l, uint64_t first, const merkle_hash *h,
    size_t n)
{
	size_t drop;

	if (n > LEDGER_HCACHE_MAX / 2)
		return;
	if (l->hc_n > 0 && l->hc_start + l->hc_n != first)
		l->hc_n = 0;	/* not contiguous: start again */
	if (l->hc_n == 0)
		l->hc_start = first;
	if (l->hc_n + n > l->hc_cap && l->hc_cap < LEDGER_HCACHE_MAX) {
		l->hc_cap = l->hc_cap ? l->hc_cap * 2 : 64;
		if (l->hc_cap > LEDGER_HCACHE_MAX)
			l->hc_cap = LEDGER_HCACHE_MAX;
		l->hc = xrealloc(l->hc, l->hc_cap * sizeof(*l->hc));
	}
	if (l->hc_n + n > l->hc_cap) {
		/* Full: keep the newer half. */
		drop = l->hc_n - l->hc_cap / 2;
		memmove(l->hc, l->hc + drop, (l->hc_n - drop) *
		    sizeof(*l->hc));
		l->hc_n -= drop;
		l->hc_start += drop;
	}
	memcpy(l->hc + l->hc_n, h, n * sizeof(*l->hc));
	l->hc_n += n;
}

void
ledger_hcache_peak(struct ledger *l, int level, uint64_t n,
    const merkle_hash h)
{
	unsigned k = l->hpeak_next++ % LEDGER_HPEAKS;

	l->hpeak[k].idx = ledger_stored_index(level, n) + 1;
	memcpy(l->hpeak[k].h, h, MERKLE_HASH_LEN);
}

void
ledger_hcache_frontier(struct ledger *l)
{
	uint64_t fs = l->front.size;
	int level, k = 0;

	for (level = 63; level >= 0; level--)
		if (fs >> level & 1)
			ledger_hcache_peak(l, level, level == 63 ? 0 :
			    (fs >> (level + 1)) << 1, l->front.peaks[k++]);
}

void
ledger_hcache_cut(struct ledger *l, uint64_t end)
{
	unsigned k;

	if (end <= l->hc_start)
		l->hc_n = 0;
	else if (end - l->hc_start < l->hc_n)
		l->hc_n = (size_t)(end - l->hc_start);
	for (k = 0; k < LEDGER_HPEAKS; k++)
		if (l->hpeak[k].idx > end)
			l->hpeak[k].idx = 0;
}

/* A stored hash held in memory: the newest ones, the frontier's peaks,
 * the older peaks merged lately. 0 if found. */
static int
hcache_get(const struct ledger *l, int level, uint64_t n, uint64_t i,
    merkle_hash out)
{
	uint64_t fs = l->front.size;
	unsigned k;

	if (i - l->hc_start < l->hc_n) {
		memcpy(out, l->hc[i - l->hc_start], MERKLE_HASH_LEN);
		return 0;
	}
	/* peaks[k] covers the k-th set bit of the size, from the top */
	if (level < 63 && fs == l->size && (fs >> level & 1) &&
	    n == (fs >> (level + 1)) << 1) {
		memcpy(out, l->front.peaks[__builtin_popcountll(fs >>
		    (level + 1))], MERKLE_HASH_LEN);
		return 0;
	}
	for (k = 0; k < LEDGER_HPEAKS; k++)
		if (l->hpeak[k].idx == i + 1) {
			memcpy(out, l->hpeak[k].h, MERKLE_HASH_LEN);
			return 0;
		}
	return -1;
}

int
ledger_read_hash(struct ledger *l, int level, uint64_t n, merkle_hash out)
{
	uint64_t i = ledger_stored_index(level, n);

	if (i < ledger_stored_count(l->size) &&
	    hcache_get(l, level, n, i, out) == 0)
		return 0;
	if (l->wb_hash.len > 0 && i >= ledger_stored_count(l->w_size) &&
	    ledger_wflush(l) != 0)
		return -1;
	return pread_full(l->fd_hash, out, MERKLE_HASH_LEN,
	    (off_t)(i * MERKLE_HASH_LEN));
}

static int
ledger_subtree_cb(void *ctx, int level, uint64_t index, merkle_hash out)
{
	return ledger_read_hash(ctx, level, index, out);
}

/*
 * The hash of leaves [start, end) from the stored hashes of its maximal
 * aligned perfect subtrees (merkle_range_from_subtrees): MTH(D[start:end])
 * for every range RFC 6962's recursion visits.
 */
int
ledger_range_hash(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct ledger *l = ctx;

	if (start >= end || end > l->size)
		return -1;
	return merkle_range_from_subtrees(ledger_subtree_cb, l, start, end,
	    out);
}

int
ledger_load_frontier(struct ledger *l, uint64_t size,
    struct merkle_frontier *f)
{
	uint64_t start = 0;
	int level;

	merkle_frontier_init(f);
	for (level = 63; level >= 0; level--) {
		if (!(size & (1ULL << level)))
			continue;
		if (ledger_read_hash(l, level, start >> level,
		    f->peaks[f->npeaks]) != 0)
			return -1;
		f->npeaks++;
		start += 1ULL << level;
	}
	f->size = size;
	return 0;
}

int
ledger_leaf_hash(struct ledger *l, uint64_t index, merkle_hash out)
{
	if (index >= l->size)
		return -1;
	return ledger_read_hash(l, 0, index, out);
}

int
ledger_root(struct ledger *l, uint64_t size, merkle_hash out)
{
	if (size > l->size)
		return -1;
	if (size == l->size) {
		merkle_frontier_root(&l->front, out);
		return 0;
	}
	if (size == 0) {
		merkle_empty_root(out);
		return 0;
	}
	return ledger_range_hash(l, 0, size, out);
}

int
ledger_inclusion_proof(struct ledger *l, uint64_t index, uint64_t size,
    merkle_hash *proof, size_t *n, char *err, size_t errlen)
{
	if (index >= size || size > l->size) {
		seterr(err, errlen, "no inclusion proof for entry %" PRIu64
		    " in a tree of %" PRIu64 " (ledger size %" PRIu64 ")",
		    index, size, l->size);
		return -1;
	}
	if (merkle_inclusion_proof(ledger_range_hash, l, index, size, proof,
	    n) != 0) {
		seterr(err, errlen, "%s/hashes: read failed: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
ledger_consistency_proof(struct ledger *l, uint64_t m, uint64_t n,
    merkle_hash *proof, size_t *plen, char *err, size_t errlen)
{
	if (m > n || n > l->size) {
		seterr(err, errlen, "no consistency proof from %" PRIu64
		    " to %" PRIu64 " (ledger size %" PRIu64 ")", m, n,
		    l->size);
		return -1;
	}
	if (merkle_consistency_proof(ledger_range_hash, l, m, n, proof,
	    plen) != 0) {
		seterr(err, errlen, "%s/hashes: read failed: %s", l->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Proofs for a run of consecutive entries (a committed batch) share most
 * of their siblings: each subtree hash is read once, through a small
 * open-addressing table keyed by the range (up to MEMO_KEPT slots, the
 * ledger's own, l->memo, emptied for each run).
 */
struct memo_slot {
	uint64_t	start, end;	/* end 0: empty */
	merkle_hash	h;
};
#define MEMO_KEPT	1024	/* slots of l->memo (48 KiB) */
struct memo {
	struct ledger	 *l;
	struct memo_slot *t;
	size_t		  cap, n;	/* cap: a power of two */
};

static int
memo_range(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct memo *m = ctx;
	size_t i = (size_t)((start * 0x9E3779B97F4A7C15ULL) ^
	    (end * 0xC2B2AE3D27D4EB4FULL)) & (m->cap - 1);

	for (; m->t[i].end != 0; i = (i + 1) & (m->cap - 1))
		if (m->t[i].start == start && m->t[i].end == end) {
			memcpy(out, m->t[i].h, MERKLE_HASH_LEN);
			return 0;
		}
	if (ledger_range_hash(m->l, start, end, out) != 0)
		return -1;
	if (m->n < m->cap / 2) {
		m->t[i].start = start;
		m->t[i].end = end;
		memcpy(m->t[i].h, out, MERKLE_HASH_LEN);
		m->n++;
	}
	return 0;
}

int
ledger_inclusion_proofs(struct ledger *l, uint64_t first, uint64_t count,
    uint64_t size, merkle_hash (*proofs)[MERKLE_MAX_PROOF], size_t *lens,
    char *err, size_t errlen)
{
	struct memo m;
	uint64_t i;
	int rc = 0;

	if (count == 0)
		return 0;
	if (first + count > size || first + count < first || size > l->size) {
		seterr(err, errlen, "no inclusion proofs for entries %" PRIu64
		    "..%" PRIu64 " in a tree of %" PRIu64 " (ledger size %"
		    PRIu64 ")", first, first + count - 1, size, l->size);
		return -1;
	}
	m.l = l;
	m.n = 0;
	for (m.cap = 64; m.cap < 8 * (count + 16); m.cap *= 2)
		;
	if (m.cap > MEMO_KEPT)		/* (a batch of over 100 calls) */
		m.t = xcalloc(m.cap, sizeof(*m.t));
	else {
		if (l->memo == NULL)
			l->memo = xcalloc(MEMO_KEPT, sizeof(*l->memo));
		memset(l->memo, 0, m.cap * sizeof(*l->memo));
		m.t = l->memo;
	}
	for (i = 0; i < count && rc == 0; i++)
		if (merkle_inclusion_proof(memo_range, &m, first + i, size,
		    proofs[i], &lens[i]) != 0) {
			seterr(err, errlen, "%s/hashes: read failed: %s",
			    l->dir, strerror(errno));
			rc = -1;
		}
	if (m.t != l->memo)
		free(m.t);
	return rc;
}

/* A sequential buffered reader over one file, for the full rehash. */
struct seqrd {
	int		 fd;
	uint8_t		*buf;
	size_t		 len, pos;
	uint64_t	 off;	/* file offset of buf[0] + len */
};

static int
seq_read(struct seqrd *r, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n > 0) {
		size_t k;

		if (r->pos == r->len) {
			ssize_t got = pread(r->fd, r->buf, 1 << 20,
			    (off_t)r->off);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				if (got == 0)
					errno = EIO;
				return -1;
			}
			r->len = (size_t)got;
			r->pos = 0;
			r->off += (uint64_t)got;
		}
		k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(d, r->buf + r->pos, k);
		r->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/*
 * The commit record from *pos up to `to`: a note by the ledger key signing
 * exactly the `cnt` entries before it (root from f). One at most: every
 * commit writes one after its batch (ledger_read and the open accept no
 * more between two entries).
 */
static int
verify_commits(struct ledger *l, struct seqrd *re, uint64_t *pos,
    uint64_t to, uint64_t cnt, const struct merkle_frontier *f, char *err,
    size_t errlen)
{
	struct checkpoint cp;
	merkle_hash root;
	uint8_t hdr[4];
	char *note, why[VMS_ERRLEN];
	uint32_t n;
	size_t tlen;
	int bad, k;

	for (k = 0; *pos < to; k++) {
		if (k > 0) {
			seterr(err, errlen, "ledger corrupt: a second commit "
			    "record in a row at offset %" PRIu64 " of entries "
			    "(after entry %" PRIu64 ")", *pos, cnt);
			return -1;
		}
		if (*pos + 4 > to || seq_read(re, hdr, 4) != 0 ||
		    !((n = ledger_get_be32(hdr)) & LEDGER_REC_NOTE) ||
		    (n &= ~LEDGER_REC_NOTE) == 0 || n > NOTE_MAX_LEN ||
		    *pos + 4 + n > to) {
			seterr(err, errlen, "ledger corrupt: bad record at "
			    "offset %" PRIu64 " of entries (after entry %"
			    PRIu64 ")", *pos, cnt);
			return -1;
		}
		note = xmalloc((size_t)n + 1);
		if (seq_read(re, note, n) != 0) {
			seterr(err, errlen, "%s/entries: %s", l->dir,
			    strerror(errno));
			free(note);
			return -1;
		}
		note[n] = '\0';
		merkle_frontier_root(f, root);
		bad = strlen(note) != n || note_verify(note, n, &l->ver, 1,
		    &tlen, NULL, why, sizeof(why)) != 0 ||
		    checkpoint_parse(note, tlen, &cp, why, sizeof(why)) != 0 ||
		    cp.size != cnt || memcmp(cp.root, root,
		    MERKLE_HASH_LEN) != 0;
		free(note);
		if (bad) {
			seterr(err, errlen, "ledger corrupt: the commit record "
			    "at offset %" PRIu64 " of entries does not sign "
			    "the %" PRIu64 " entries before it", *pos, cnt);
			return -1;
		}
		*pos += 4 + n;
	}
	return 0;
}

/*
 * Re-derive everything from the entries: each record against the index,
 * each leaf and each parent hash against `hashes` (in the post-order they
 * were written), the root against the checkpoint, then the history.
 */
int
ledger_verify_all(struct ledger *l, char *err, size_t errlen)
{
	struct seqrd re = { l->fd_ent, NULL, 0, 0, 0 };
	struct seqrd ri = { l->fd_idx, NULL, 0, 0, 0 };
	struct seqrd rh = { l->fd_hash, NULL, 0, 0, 0 };
	struct merkle_frontier f;
	merkle_hash h, stored, root;
	uint8_t hdr[8], *data = NULL;
	uint64_t i, pos = 0, s;
	size_t cap = 0;
	uint32_t len;
	int k, rc = -1;

	if (ledger_flush(l, err, errlen) != 0)
		return -1;
	re.buf = xmalloc(1 << 20);
	ri.buf = xmalloc(1 << 20);
	rh.buf = xmalloc(1 << 20);
	merkle_frontier_init(&f);
	for (i = 0; i < l->size; i++) {
		if (seq_read(&ri, hdr, 8) != 0) {
			seterr(err, errlen, "ledger corrupt: index ends at "
			    "entry %" PRIu64, i);
			goto out;
		}
		if (ledger_get_be64(hdr) > pos && ledger_get_be64(hdr) <=
		    l->ent_end && verify_commits(l, &re, &pos,
		    ledger_get_be64(hdr), i, &f, err, errlen) != 0)
			goto out;
		if (ledger_get_be64(hdr) != pos) {
			seterr(err, errlen, "ledger corrupt: index of entry %"
			    PRIu64 " points at %" PRIu64 ", record is at %"
			    PRIu64, i, ledger_get_be64(hdr), pos);
			goto out;
		}
		if (seq_read(&re, hdr, 4) != 0 ||
		    (len = ledger_get_be32(hdr)) > LEDGER_MAX_ENTRY ||
		    pos + 4 + len > l->ent_end) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " has a bad record length", i);
			goto out;
		}
		if (len > cap) {
			cap = len;
			data = xrealloc(data, cap);
		}
		if (seq_read(&re, data, len) != 0) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " is truncated", i);
			goto out;
		}
		pos += 4 + len;
		merkle_leaf_hash(data, len, h);
		if (seq_read(&rh, stored, MERKLE_HASH_LEN) != 0 ||
		    memcmp(h, stored, MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " does not match its leaf hash", i);
			goto out;
		}
		/* the parents this leaf completes, as append wrote them */
		for (s = i, k = f.npeaks - 1; s & 1; s >>= 1, k--) {
			merkle_node_hash(f.peaks[k], h, h);
			if (seq_read(&rh, stored, MERKLE_HASH_LEN) != 0 ||
			    memcmp(h, stored, MERKLE_HASH_LEN) != 0) {
				seterr(err, errlen, "ledger corrupt: stored "
				    "hash %" PRIu64 " (completed by entry %"
				    PRIu64 ") is wrong",
				    (rh.off - rh.len + rh.pos) / 32 - 1, i);
				goto out;
			}
		}
		merkle_leaf_hash(data, len, h);
		merkle_frontier_push(&f, h);
		if (i + 1 == l->csize) {
			merkle_frontier_root(&f, root);
			if (memcmp(root, l->croot, MERKLE_HASH_LEN) != 0) {
				seterr(err, errlen, "ledger corrupt: entries do "
				    "not hash to the checkpoint root");
				goto out;
			}
		}
	}
	if (pos < l->ent_end && verify_commits(l, &re, &pos, l->ent_end,
	    l->size, &f, err, errlen) != 0)
		goto out;
	if (pos != l->ent_end) {
		seterr(err, errlen, "ledger corrupt: entries end at %" PRIu64
		    ", expected %" PRIu64, pos, l->ent_end);
		goto out;
	}
	if (ledger_history_verify(l, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(data);
	free(re.buf);
	free(ri.buf);
	free(rh.buf);
	return rc;
}
