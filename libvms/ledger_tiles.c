/*
 * ledger_tiles.c — the ledger as C2SP tlog-tiles (tile.h): a hash tile or
 * an entry bundle of the committed tree, read in O(tile) from `hashes`,
 * `index` and `entries`, never by scanning the ledger. A level-0 tile and
 * the leaf hashes a bundle is checked against come from one contiguous
 * read: the stored hashes of 256 consecutive leaves and their parents lie
 * next to each other in the post-order layout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger_int.h"
#include "tile.h"
#include "util.h"

/* Leaf hashes [first, first + n) into out, from one read of `hashes`. */
static int
read_leaves(struct ledger *l, uint64_t first, unsigned n, uint8_t *out,
    char *err, size_t errlen)
{
	uint64_t lo = ledger_stored_index(0, first);
	uint64_t hi = ledger_stored_index(0, first + n - 1), k;
	uint8_t *span;

	span = xmalloc((size_t)(hi - lo + 1) * MERKLE_HASH_LEN);
	if (pread_full(l->fd_hash, span, (size_t)(hi - lo + 1) *
	    MERKLE_HASH_LEN, (off_t)(lo * MERKLE_HASH_LEN)) != 0) {
		seterr(err, errlen, "%s/hashes: %s", l->dir, errno ?
		    strerror(errno) : "short read");
		free(span);
		return -1;
	}
	for (k = 0; k < n; k++)
		memcpy(out + k * MERKLE_HASH_LEN, span + (ledger_stored_index(0,
		    first + k) - lo) * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	free(span);
	return 0;
}

static int
hash_tile(struct ledger *l, const struct tile_id *t, uint8_t *out,
    char *err, size_t errlen)
{
	uint64_t first = t->index * TILE_WIDTH, k;

	if (t->level == 0)
		return read_leaves(l, first, t->width, out, err, errlen);
	for (k = 0; k < t->width; k++)
		if (ledger_read_hash(l, TILE_HEIGHT * t->level, first + k,
		    out + k * MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "%s/hashes: %s", l->dir, errno ?
			    strerror(errno) : "short read");
			return -1;
		}
	return 0;
}

/* The bundle of entries [first, first + n): each record checked against
 * the index and its stored leaf hash, then uint16 BE length || bytes. */
static int
bundle(struct ledger *l, uint64_t first, unsigned n, uint8_t **buf,
    size_t *len, char *err, size_t errlen)
{
	uint8_t *idx = NULL, *leaves = NULL, *region = NULL, *out = NULL, h4[4];
	uint64_t start, last, end, off, k;
	merkle_hash h;
	size_t o = 0;
	uint32_t rl;
	int rc = -1;

	idx = xmalloc((size_t)n * 8);
	leaves = xmalloc((size_t)n * MERKLE_HASH_LEN);
	if (pread_full(l->fd_idx, idx, (size_t)n * 8, (off_t)(first * 8)) !=
	    0) {
		seterr(err, errlen, "%s/index: %s", l->dir, errno ?
		    strerror(errno) : "short read");
		goto out;
	}
	if (read_leaves(l, first, n, leaves, err, errlen) != 0)
		goto out;
	start = ledger_get_be64(idx);
	last = ledger_get_be64(idx + (size_t)(n - 1) * 8);
	if (last < start || last + 4 > l->cent_end ||
	    pread_full(l->fd_ent, h4, 4, (off_t)last) != 0 ||
	    (rl = ledger_get_be32(h4)) > LEDGER_MAX_ENTRY ||
	    (end = last + 4 + rl) > l->cent_end) {
		seterr(err, errlen, "ledger corrupt: entry %" PRIu64 " has a "
		    "bad record or index", first + n - 1);
		goto out;
	}
	region = xmalloc((size_t)(end - start));
	if (pread_full(l->fd_ent, region, (size_t)(end - start),
	    (off_t)start) != 0) {
		seterr(err, errlen, "%s/entries: %s", l->dir, errno ?
		    strerror(errno) : "short read");
		goto out;
	}
	out = xmalloc((size_t)(end - start) + 2 * (size_t)n);
	for (k = 0; k < n; k++) {
		off = ledger_get_be64(idx + k * 8);
		if (off < start || off + 4 > end || (off - start) + 4 >
		    end - start) {
			seterr(err, errlen, "ledger corrupt: the index of entry %"
			    PRIu64 " points outside its tile", first + k);
			goto out;
		}
		rl = ledger_get_be32(region + (off - start));
		if ((rl & LEDGER_REC_NOTE) || rl > end - off - 4) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " has a bad record", first + k);
			goto out;
		}
		if (rl > TILE_MAX_ENTRY) {
			seterr(err, errlen, "entry %" PRIu64 " is %" PRIu32
			    " bytes, too large for a tlog-tiles entry bundle "
			    "(at most %u)", first + k, rl, TILE_MAX_ENTRY);
			goto out;
		}
		merkle_leaf_hash(region + (off - start) + 4, rl, h);
		if (sodium_memcmp(h, leaves + k * MERKLE_HASH_LEN,
		    MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "ledger corrupt: entry %" PRIu64
			    " does not match its leaf hash", first + k);
			goto out;
		}
		out[o++] = (uint8_t)(rl >> 8);
		out[o++] = (uint8_t)rl;
		memcpy(out + o, region + (off - start) + 4, rl);
		o += rl;
	}
	*buf = out;
	*len = o;
	out = NULL;
	rc = 0;
out:
	free(idx);
	free(leaves);
	free(region);
	free(out);
	return rc;
}

int
ledger_tile(struct ledger *l, const struct tile_id *t, uint8_t **buf,
    size_t *len, char *err, size_t errlen)
{
	int level = t->level == TILE_ENTRIES ? 0 : t->level;
	uint64_t have;

	*buf = NULL;
	*len = 0;
	if (t->level < TILE_ENTRIES || t->level > TILE_MAX_LEVEL ||
	    t->width == 0 || t->width > TILE_WIDTH) {
		seterr(err, errlen, "no such tile");
		return 1;
	}
	/* the tile's hashes must all be complete in the committed tree (a
	 * partial tile of any width within it is served, also once the
	 * full tile exists) */
	have = level >= 8 ? 0 : l->csize >> (TILE_HEIGHT * level);
	if (t->index > have / TILE_WIDTH ||
	    t->index * TILE_WIDTH + t->width > have) {
		seterr(err, errlen, "the ledger's %" PRIu64 " committed entries "
		    "hold no such tile", l->csize);
		return 1;
	}
	if (t->level == TILE_ENTRIES)
		return bundle(l, t->index * TILE_WIDTH, t->width, buf, len, err,
		    errlen);
	*len = (size_t)t->width * MERKLE_HASH_LEN;
	*buf = xmalloc(*len);
	if (hash_tile(l, t, *buf, err, errlen) != 0) {
		free(*buf);
		*buf = NULL;
		*len = 0;
		return -1;
	}
	return 0;
}
