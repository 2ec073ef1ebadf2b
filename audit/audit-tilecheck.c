/*
 * audit-tilecheck.c — check 2 on a tlog-tiles source (audit-tiles.c): the
 * hash tiles it serves must be the tree of the entries the audit hashed.
 * Clients that prove inclusion or consistency from tiles alone (monitors,
 * `vmsctl verify-receipt --against`) trust them; a bit flipped in one
 * would mislead them without changing any root. The expected hashes are
 * kept level by level (every 256 hashes of one level make one hash of the
 * next), so the cost is one node hash per entry; only the tiles that are
 * new or wider since the last check are fetched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "tile.h"
#include "util.h"

static const merkle_hash *
level_hashes(struct audit *a, int level, uint64_t *n)
{
	if (level == 0) {
		*n = a->nleaves;
		return (const merkle_hash *)a->leaves;
	}
	*n = a->nlvl[level];
	return (const merkle_hash *)a->lvl[level];
}

/* Level L's hashes from every complete group of 256 at level L-1. */
static void
extend_levels(struct audit *a)
{
	const merkle_hash *below;
	uint64_t nb;
	int l;

	for (l = 1; l < 8; l++) {
		below = level_hashes(a, l - 1, &nb);
		while (a->nlvl[l] < nb / TILE_WIDTH) {
			if (a->nlvl[l] == a->caplvl[l]) {
				a->caplvl[l] = a->caplvl[l] ?
				    a->caplvl[l] * 2 : 64;
				a->lvl[l] = xrealloc(a->lvl[l], a->caplvl[l] *
				    sizeof(merkle_hash));
				below = level_hashes(a, l - 1, &nb);
			}
			merkle_root(below + a->nlvl[l] * TILE_WIDTH, TILE_WIDTH,
			    a->lvl[l][a->nlvl[l]]);
			a->nlvl[l]++;
		}
	}
}

int
audit_check_tiles(struct audit *a, struct audit_report *r, char *err,
    size_t errlen)
{
	merkle_hash *got;
	const merkle_hash *want;
	struct tile_id id;
	char path[TILE_PATH_MAX], why[VMS_ERRLEN];
	uint64_t i, n, k, span;
	int level, rc = 0;
	enum audit_fetch f;

	if (a->src->tile == NULL || a->size == 0 || a->tiles_size == a->size)
		return 0;
	extend_levels(a);
	got = xmalloc(TILE_WIDTH * sizeof(merkle_hash));
	for (level = 0; level <= tile_top_level(a->size) && rc == 0; level++) {
		want = level_hashes(a, level, &n);
		span = 1ULL << (TILE_HEIGHT * level);
		for (i = tile_first_changed(a->tiles_size, level);
		    i < tile_count(a->size, level) && rc == 0; i++) {
			id.level = level;
			id.index = i;
			id.width = tile_width(a->size, level, i);
			tile_path(&id, path, sizeof(path));
			why[0] = '\0';
			f = a->src->tile(a->src->ctx, &id, got, why,
			    sizeof(why));
			if (f == FETCH_ERROR) {
				seterr(err, errlen, "%s", why);
				rc = -1;
				break;
			}
			if (f == FETCH_END) {
				audit_fail(r, 2, i * TILE_WIDTH * span, "the log "
				    "serves no %s, which its checkpoint of size %"
				    PRIu64 " needs: %s", path, a->size, why);
				rc = 1;
				break;
			}
			for (k = 0; k < id.width; k++) {
				if (i * TILE_WIDTH + k >= n ||
				    memcmp(got[k], want[i * TILE_WIDTH + k],
				    MERKLE_HASH_LEN) == 0)
					continue;
				audit_fail(r, 2, (i * TILE_WIDTH + k) * span,
				    "%s, hash %" PRIu64 " (entries %" PRIu64
				    "..%" PRIu64 "), is not the tree of the "
				    "entries: the log's tiles do not match its "
				    "signed entries", path, k,
				    (i * TILE_WIDTH + k) * span,
				    (i * TILE_WIDTH + k + 1) * span - 1);
				rc = 1;
				break;
			}
		}
	}
	free(got);
	if (rc == 0)
		a->tiles_size = a->size;
	return rc;
}

int
audit_tiles_localise(struct audit *a, const struct checkpoint *cp,
    uint64_t *index, char *why, size_t whylen, char *err, size_t errlen)
{
	struct merkle_frontier fr;
	merkle_hash *tl, root;
	struct tile_id id;
	char path[TILE_PATH_MAX], ep[TILE_PATH_MAX];
	uint64_t i, k, n = cp->size;
	enum audit_fetch f;
	char msg[VMS_ERRLEN];
	int rc = 0;

	if (n > a->nleaves)
		return 0;
	tl = xmalloc((size_t)(n + 1) * sizeof(merkle_hash));
	merkle_frontier_init(&fr);
	for (i = 0; i < tile_count(n, 0); i++) {
		id.level = 0;
		id.index = i;
		id.width = tile_width(n, 0, i);
		f = a->src->tile(a->src->ctx, &id, tl + i * TILE_WIDTH, msg,
		    sizeof(msg));
		if (f == FETCH_ERROR) {
			seterr(err, errlen, "%s", msg);
			rc = -1;
			goto out;
		}
		if (f != FETCH_OK)
			goto out;
		for (k = 0; k < id.width; k++)
			merkle_frontier_push(&fr, tl[i * TILE_WIDTH + k]);
	}
	merkle_frontier_root(&fr, root);
	if (memcmp(root, cp->root, MERKLE_HASH_LEN) != 0)
		goto out;	/* the tiles are not the signed tree either */
	for (i = 0; i < n; i++)
		if (memcmp(tl[i], a->leaves[i], MERKLE_HASH_LEN) != 0)
			break;
	if (i == n)
		goto out;
	id.level = 0;
	id.index = i / TILE_WIDTH;
	id.width = tile_width(n, 0, id.index);
	tile_path(&id, path, sizeof(path));
	id.level = TILE_ENTRIES;
	tile_path(&id, ep, sizeof(ep));
	*index = i;
	seterr(why, whylen, "entry %" PRIu64 " as the log serves it (%s) is not "
	    "the signed entry: its leaf hash differs from hash %" PRIu64 " of "
	    "%s, and the level-0 tiles hash to the signed root: a corrupted "
	    "copy of the entry, not a fork", i, ep, i % TILE_WIDTH, path);
	rc = 1;
out:
	free(tl);
	return rc;
}

void
audit_tiles_free(struct audit *a)
{
	int l;

	for (l = 0; l < 8; l++)
		free(a->lvl[l]);
}
