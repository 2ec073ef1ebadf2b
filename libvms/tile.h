/*
 * tile.h — C2SP tlog-tiles: the tile math shared by vmsd (serving), vmsctl
 * export (writing a mirror), the auditor and verify-receipt (reading one).
 * Pure functions over numbers and bytes, no I/O; the tile reader gets its
 * tiles from a callback.
 *
 *   <prefix>/checkpoint                  the signed checkpoint (a note)
 *   <prefix>/tile/<L>/<N>[.p/<W>]        hash tile: level L holds the tree
 *                                        hashes of level 8L; full = 256
 *                                        hashes (8,192 bytes), partial
 *                                        (the right edge) W = 1..255
 *   <prefix>/tile/entries/<N>[.p/<W>]    entry bundle: the W (256) entries
 *                                        of level-0 tile N, each as
 *                                        uint16 BE length || leaf bytes
 *
 * N is written in groups of three digits, all but the last prefixed "x":
 * 0 -> "000", 1234067 -> "x001/x234/067". In a tree of size s, level L has
 * floor(s / 256^(L+1)) full tiles and, if floor(s / 256^L) mod 256 > 0, one
 * partial tile of that width after them. Hash i of tile N at level L is
 * MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L]).
 */
#ifndef VMS_TILE_H
#define VMS_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define TILE_WIDTH	256			/* hashes or entries per tile */
#define TILE_HEIGHT	8			/* tree levels per tile level */
#define TILE_BYTES	(TILE_WIDTH * MERKLE_HASH_LEN)	/* a full hash tile */
#define TILE_ENTRIES	(-1)			/* "level" of entry bundles */
#define TILE_MAX_LEVEL	63
#define TILE_MAX_ENTRY	65535			/* a bundle's uint16 length */
#define TILE_PATH_MAX	96			/* longest tile path + NUL */

/* One tile: level (TILE_ENTRIES for a bundle), index, width (1..256;
 * 256 is a full tile, written without ".p/"). */
struct tile_id {
	int		level;
	uint64_t	index;
	unsigned	width;
};

/* "tile/L/N[.p/W]" or "tile/entries/N[.p/W]" into buf (TILE_PATH_MAX). */
void	tile_path(const struct tile_id *, char *buf, size_t len);
/*
 * Parse a path relative to the log's prefix (no leading '/'). Only the
 * canonical form is accepted: a level without leading zeros (0..63),
 * groups of exactly three digits with "x" on all but the last and no
 * leading "x000" group, a width 1..255 without leading zeros, and an index
 * whose tile starts below 2^64. 0 or -1.
 */
int	tile_parse_path(const char *path, struct tile_id *);

/* The width of tile (level, index) in a tree of `size` leaves: 256 when
 * it is full, 1..255 for the partial tile at the right edge, 0 when the
 * tree holds no such tile. TILE_ENTRIES counts as level 0. */
unsigned tile_width(uint64_t size, int level, uint64_t index);
/* Number of tiles (full and partial) at a level for `size` leaves. */
uint64_t tile_count(uint64_t size, int level);
/* The first tile, at this level, that differs between trees of sizes
 * old <= size: the one holding hash number floor(old / 256^level). */
uint64_t tile_first_changed(uint64_t old, int level);
/* Highest level that holds any hash for `size` leaves (0 for size < 256^1
 * and for size 0). */
int	tile_top_level(uint64_t size);

/*
 * An entry bundle of `width` entries: each entry's bytes and length point
 * into buf. 0, or -1 with err (a length running past the end, bytes left
 * over, fewer or more entries than width).
 */
struct tile_entry {
	const uint8_t	*data;
	size_t		 len;
};
int	tile_bundle_parse(const uint8_t *buf, size_t len, unsigned width,
	    struct tile_entry *out, char *err, size_t errlen);

/*
 * A reader of hash tiles for a tree of `size` leaves, as a merkle_range_fn
 * (tile_range_hash): proofs and roots are computed from the tiles, which
 * are fetched through the callback (width * 32 bytes into out) and cached.
 * Nothing is verified here: check what it computes against a signed root
 * (merkle_verify_inclusion, merkle_verify_consistency).
 */
typedef int (*tile_fetch_fn)(void *ctx, const struct tile_id *,
	    uint8_t *out, char *err, size_t errlen);

#define TILE_CACHE	16

struct tile_reader {
	tile_fetch_fn	 fetch;
	void		*ctx;
	uint64_t	 size;
	char		 err[512];	/* why the last fetch failed */
	struct {
		struct tile_id	id;
		uint8_t		*data;
		uint64_t	 used;
	}		 cache[TILE_CACHE];
	uint64_t	 clock;
};

void	tile_reader_init(struct tile_reader *, uint64_t size,
	    tile_fetch_fn, void *ctx);
void	tile_reader_free(struct tile_reader *);
/* merkle_range_fn over the tiles (ctx: the reader): the hash of leaves
 * [start, end) in the reader's tree. -1 (reader->err says why). */
int	tile_range_hash(void *reader, uint64_t start, uint64_t end,
	    merkle_hash out);

#endif
