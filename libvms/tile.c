/*
 * tile.c — C2SP tlog-tiles math (tile.h): paths, widths, entry bundles and
 * a reader that computes subtree hashes (hence proofs and roots) from hash
 * tiles fetched through a callback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tile.h"
#include "util.h"

/* The hashes of tree level 8*level in a tree of size leaves. */
static uint64_t
level_hashes(uint64_t size, int level)
{
	if (level < 0)
		level = 0;
	if (level >= 8)
		return 0;
	return size >> (TILE_HEIGHT * level);
}

void
tile_path(const struct tile_id *t, char *buf, size_t len)
{
	uint64_t groups[8], n = t->index;
	char num[40], lvl[8];
	size_t off = 0;
	int ng = 0, i;

	do {
		groups[ng++] = n % 1000;
		n /= 1000;
	} while (n > 0);
	for (i = ng - 1; i >= 0; i--)
		off += (size_t)snprintf(num + off, sizeof(num) - off, "%s%03"
		    PRIu64 "%s", i > 0 ? "x" : "", groups[i], i > 0 ? "/" : "");
	if (t->level == TILE_ENTRIES)
		snprintf(lvl, sizeof(lvl), "entries");
	else
		snprintf(lvl, sizeof(lvl), "%d", t->level);
	if (t->width >= TILE_WIDTH || t->width == 0)
		snprintf(buf, len, "tile/%s/%s", lvl, num);
	else
		snprintf(buf, len, "tile/%s/%s.p/%u", lvl, num, t->width);
}

/* A decimal without leading zeros (or "0"), at most max; advances *s. */
static int
parse_small(const char **s, unsigned long max, unsigned long *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		*v = *v * 10 + (unsigned long)(*p - '0');
		if (*v > max)
			return -1;
		p++;
	}
	*s = p;
	return 0;
}

int
tile_parse_path(const char *path, struct tile_id *t)
{
	const char *p = path;
	unsigned long v;
	uint64_t n = 0;
	int groups = 0, last = 0;

	memset(t, 0, sizeof(*t));
	if (strncmp(p, "tile/", 5) != 0)
		return -1;
	p += 5;
	if (strncmp(p, "entries/", 8) == 0) {
		t->level = TILE_ENTRIES;
		p += 8;
	} else {
		if (parse_small(&p, TILE_MAX_LEVEL, &v) != 0 || *p != '/')
			return -1;
		t->level = (int)v;
		p++;
	}
	while (!last) {
		int i;

		if (groups == 7)
			return -1;
		if (*p == 'x')
			p++;
		else
			last = 1;
		for (i = 0; i < 3; i++)
			if (p[i] < '0' || p[i] > '9')
				return -1;
		v = (unsigned long)((p[0] - '0') * 100 + (p[1] - '0') * 10 +
		    (p[2] - '0'));
		if (groups == 0 && !last && v == 0)
			return -1;	/* "x000/..." is not canonical */
		if (n > (UINT64_MAX - v) / 1000)
			return -1;
		n = n * 1000 + v;
		p += 3;
		groups++;
		if (!last) {
			if (*p != '/')
				return -1;
			p++;
		}
	}
	t->index = n;
	t->width = TILE_WIDTH;
	if (strncmp(p, ".p/", 3) == 0) {
		p += 3;
		if (parse_small(&p, TILE_WIDTH - 1, &v) != 0 || v == 0)
			return -1;
		t->width = (unsigned)v;
	}
	if (*p != '\0')
		return -1;
	/* the tile's first leaf, index * 256^(level+1), must exist in a
	 * 64-bit tree */
	{
		int shift = TILE_HEIGHT * ((t->level < 0 ? 0 : t->level) + 1);

		if (shift >= 64 ? n != 0 : n > (UINT64_MAX >> shift))
			return -1;
	}
	return 0;
}

unsigned
tile_width(uint64_t size, int level, uint64_t index)
{
	uint64_t n = level_hashes(size, level);

	if (index < n / TILE_WIDTH)
		return TILE_WIDTH;
	if (index == n / TILE_WIDTH)
		return (unsigned)(n % TILE_WIDTH);
	return 0;
}

uint64_t
tile_count(uint64_t size, int level)
{
	uint64_t n = level_hashes(size, level);

	return n / TILE_WIDTH + (n % TILE_WIDTH != 0);
}

uint64_t
tile_first_changed(uint64_t old, int level)
{
	return level_hashes(old, level) / TILE_WIDTH;
}

int
tile_top_level(uint64_t size)
{
	int l = 0;

	while (l < 7 && level_hashes(size, l + 1) > 0)
		l++;
	return l;
}

int
tile_bundle_parse(const uint8_t *buf, size_t len, unsigned width,
    struct tile_entry *out, char *err, size_t errlen)
{
	size_t off = 0, l;
	unsigned i;

	for (i = 0; i < width; i++) {
		if (len - off < 2) {
			seterr(err, errlen, "the bundle ends after %u of its %u "
			    "entries", i, width);
			return -1;
		}
		l = (size_t)buf[off] << 8 | buf[off + 1];
		off += 2;
		if (len - off < l) {
			seterr(err, errlen, "entry %u of the bundle runs past its "
			    "end (%zu bytes, %zu left)", i, l, len - off);
			return -1;
		}
		out[i].data = buf + off;
		out[i].len = l;
		off += l;
	}
	if (off != len) {
		seterr(err, errlen, "%zu bytes left over after the bundle's %u "
		    "entries", len - off, width);
		return -1;
	}
	return 0;
}

void
tile_reader_init(struct tile_reader *r, uint64_t size, tile_fetch_fn fetch,
    void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->fetch = fetch;
	r->ctx = ctx;
	r->size = size;
}

void
tile_reader_free(struct tile_reader *r)
{
	size_t i;

	for (i = 0; i < TILE_CACHE; i++)
		free(r->cache[i].data);
	memset(r->cache, 0, sizeof(r->cache));
}

/* The hashes of tile (level, index) in the reader's tree, cached. */
static const uint8_t *
get_tile(struct tile_reader *r, int level, uint64_t index, unsigned *width)
{
	struct tile_id id;
	size_t i, victim = 0;

	id.level = level;
	id.index = index;
	id.width = tile_width(r->size, level, index);
	*width = id.width;
	if (id.width == 0) {
		seterr(r->err, sizeof(r->err), "a tree of %" PRIu64 " leaves "
		    "has no tile %d/%" PRIu64, r->size, level, index);
		return NULL;
	}
	r->clock++;
	for (i = 0; i < TILE_CACHE; i++) {
		if (r->cache[i].data != NULL &&
		    r->cache[i].id.level == level &&
		    r->cache[i].id.index == index &&
		    r->cache[i].id.width == id.width) {
			r->cache[i].used = r->clock;
			return r->cache[i].data;
		}
		if (r->cache[i].used < r->cache[victim].used)
			victim = i;
	}
	free(r->cache[victim].data);
	r->cache[victim].data = NULL;
	r->cache[victim].used = 0;
	r->cache[victim].data = xmalloc((size_t)id.width * MERKLE_HASH_LEN);
	if (r->fetch(r->ctx, &id, r->cache[victim].data, r->err,
	    sizeof(r->err)) != 0) {
		free(r->cache[victim].data);
		r->cache[victim].data = NULL;
		return NULL;
	}
	r->cache[victim].id = id;
	r->cache[victim].used = r->clock;
	return r->cache[victim].data;
}

/* The perfect subtree at tree level l, index k, from one tile. */
static int
subtree_hash(struct tile_reader *r, int l, uint64_t k, merkle_hash out)
{
	merkle_hash buf[1u << (TILE_HEIGHT - 1)];
	int L = l / TILE_HEIGHT, rest = l % TILE_HEIGHT;
	uint64_t first = k << rest, count = 1ULL << rest, i;
	unsigned width, off = (unsigned)(first % TILE_WIDTH);
	const uint8_t *t;

	if ((t = get_tile(r, L, first / TILE_WIDTH, &width)) == NULL)
		return -1;
	if (off + count > width) {
		seterr(r->err, sizeof(r->err), "tile %d/%" PRIu64 " (width %u) "
		    "does not hold hashes %u..%" PRIu64, L, first / TILE_WIDTH,
		    width, off, off + count - 1);
		return -1;
	}
	for (i = 0; i < count; i++)
		memcpy(buf[i], t + (off + i) * MERKLE_HASH_LEN,
		    MERKLE_HASH_LEN);
	while (count > 1) {
		for (i = 0; i < count / 2; i++)
			merkle_node_hash(buf[2 * i], buf[2 * i + 1], buf[i]);
		count /= 2;
	}
	memcpy(out, buf[0], MERKLE_HASH_LEN);
	return 0;
}

static int
tile_subtree_cb(void *ctx, int level, uint64_t index, merkle_hash out)
{
	return subtree_hash(ctx, level, index, out);
}

int
tile_range_hash(void *ctx, uint64_t start, uint64_t end, merkle_hash out)
{
	struct tile_reader *r = ctx;

	if (start >= end || end > r->size) {
		seterr(r->err, sizeof(r->err), "no range %" PRIu64 "..%" PRIu64
		    " in a tree of %" PRIu64, start, end, r->size);
		return -1;
	}
	return merkle_range_from_subtrees(tile_subtree_cb, r, start, end, out);
}
