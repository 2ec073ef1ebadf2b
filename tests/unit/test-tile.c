/*
 * test-tile.c — C2SP tlog-tiles and tlog-proof in libvms: tile paths (the
 * spec's examples, every non-canonical form refused), widths at the
 * spec's sizes, entry bundles, the tile reader (roots and proofs from
 * tiles equal those from the leaves, at every size around the tile
 * edges), the ledger's tiles and bundles against its entries, a read-only
 * ledger following a writer (ledger_refresh), batch inclusion proofs, and
 * the tlog-proof text format.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "log.h"
#include "test.h"
#include "tile.h"
#include "tlogproof.h"
#include "util.h"

#define ORIGIN "test.example/tiles"

static char tmpdir[] = "/tmp/test-tile.XXXXXX";
static struct note_signer *signer;

static const char *
path_of(int level, uint64_t index, unsigned width)
{
	static char buf[TILE_PATH_MAX];
	struct tile_id t = { level, index, width };

	tile_path(&t, buf, sizeof(buf));
	return buf;
}

TEST(path_format)
{
	CHECK_EQ_STR(path_of(0, 0, 256), "tile/0/000");
	CHECK_EQ_STR(path_of(0, 1234067, 256), "tile/0/x001/x234/067");
	CHECK_EQ_STR(path_of(TILE_ENTRIES, 5, 17), "tile/entries/005.p/17");
	CHECK_EQ_STR(path_of(2, 1000, 256), "tile/2/x001/000");
	CHECK_EQ_STR(path_of(1, 999, 1), "tile/1/999.p/1");
	CHECK_EQ_STR(path_of(0, UINT64_MAX >> 8, 255),
	    "tile/0/x072/x057/x594/x037/x927/935.p/255");
}

TEST(path_parse)
{
	static const char *bad[] = {
		"tile/00/000", "tile/0/0000", "tile/0/00", "tile/0/x000/001",
		"tile/0/001.p/0", "tile/0/001.p/256", "tile/0/001.p/01",
		"tile/64/000", "tile/0/x1/001", "tile/0/001/", "tile/0/001.p/",
		"tile/entries/", "/tile/0/000", "tile/0/x001", "tile/0/x001/",
		"tile/-1/000", "tile/0/000x", "tile/0/000.p/1/", "tile/0/abc",
		"tile/entries/000.p/-1", "tile//000", "tile/1", "checkpoint",
		"tile/0/x072/x057/x594/x037/x927/x936",	/* starts at 2^64 */
		"tile/7/001", "tile/0/x001/x002/x003/x004/x005/x006/007",
		"tile/0/000.p/1 ", "tile/0/000\n", "tiles/0/000",
		NULL
	};
	static const uint64_t idx[] = { 0, 1, 999, 1000, 1234067,
	    1000000000000ULL, UINT64_MAX >> 8 };
	struct tile_id t;
	size_t i;
	int l;

	for (i = 0; bad[i] != NULL; i++)
		CHECK_MSG(tile_parse_path(bad[i], &t) == -1, "accepted %s",
		    bad[i]);
	for (l = TILE_ENTRIES; l <= 2; l++)
		for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
			unsigned w;

			for (w = 1; w <= 256; w += 127) {
				const char *p;

				if (l > 0 && idx[i] > (UINT64_MAX >> (8 *
				    (l + 1))))
					continue;
				p = path_of(l, idx[i], w);
				CHECK_MSG(tile_parse_path(p, &t) == 0 &&
				    t.level == l && t.index == idx[i] &&
				    t.width == w, "round trip %s", p);
			}
		}
	CHECK(tile_parse_path("tile/7/000", &t) == 0 && t.level == 7);
	CHECK(tile_parse_path("tile/63/000.p/3", &t) == 0 && t.level == 63 &&
	    t.width == 3);
}

TEST(widths)
{
	/* the spec's example: a tree of 70,000 */
	CHECK_EQ_INT(tile_width(70000, 0, 272), 256);
	CHECK_EQ_INT(tile_width(70000, 0, 273), 112);
	CHECK_EQ_INT(tile_width(70000, 0, 274), 0);
	CHECK_EQ_INT(tile_width(70000, TILE_ENTRIES, 273), 112);
	CHECK_EQ_INT(tile_width(70000, 1, 0), 256);
	CHECK_EQ_INT(tile_width(70000, 1, 1), 17);
	CHECK_EQ_INT(tile_width(70000, 2, 0), 1);
	CHECK_EQ_INT(tile_width(70000, 3, 0), 0);
	CHECK_EQ_INT(tile_count(70000, 0), 274);
	CHECK_EQ_INT(tile_count(70000, 1), 2);
	CHECK_EQ_INT(tile_count(70000, 2), 1);
	CHECK_EQ_INT(tile_top_level(70000), 2);
	/* "a tree of size 256 will be represented by a full level 0 tile
	 * and a partial level 1 tile of width 1" */
	CHECK_EQ_INT(tile_width(256, 0, 0), 256);
	CHECK_EQ_INT(tile_width(256, 0, 1), 0);
	CHECK_EQ_INT(tile_width(256, 1, 0), 1);
	CHECK_EQ_INT(tile_top_level(256), 1);
	CHECK_EQ_INT(tile_width(255, 0, 0), 255);
	CHECK_EQ_INT(tile_width(255, 1, 0), 0);
	CHECK_EQ_INT(tile_top_level(255), 0);
	CHECK_EQ_INT(tile_width(0, 0, 0), 0);
	CHECK_EQ_INT(tile_count(0, 0), 0);
	CHECK_EQ_INT(tile_width(65536, 2, 0), 1);
	CHECK_EQ_INT(tile_width(65536, 1, 0), 256);
	CHECK_EQ_INT(tile_width(65536, 1, 1), 0);
	CHECK_EQ_INT(tile_width(65537, 0, 256), 1);
	CHECK_EQ_INT(tile_width(UINT64_MAX, 7, 0), 255);
	CHECK_EQ_INT(tile_width(UINT64_MAX, 8, 0), 0);
	CHECK_EQ_INT(tile_first_changed(70000, 0), 273);
	CHECK_EQ_INT(tile_first_changed(70000, 1), 1);
	CHECK_EQ_INT(tile_first_changed(256, 0), 1);
}

TEST(bundles)
{
	static const uint8_t b[] = { 0, 1, 'a', 0, 0, 0, 3, 'x', 'y', 'z' };
	struct tile_entry e[4];
	char err[VMS_ERRLEN];

	CHECK(tile_bundle_parse(b, sizeof(b), 3, e, err, sizeof(err)) == 0);
	CHECK(e[0].len == 1 && e[0].data[0] == 'a' && e[1].len == 0 &&
	    e[2].len == 3 && memcmp(e[2].data, "xyz", 3) == 0);
	CHECK(tile_bundle_parse(b, sizeof(b), 2, e, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "left over");
	CHECK(tile_bundle_parse(b, sizeof(b), 4, e, err, sizeof(err)) == -1);
	CHECK(tile_bundle_parse(b, sizeof(b) - 1, 3, e, err, sizeof(err)) ==
	    -1);
	CHECK_CONTAINS(err, "past its end");
	CHECK(tile_bundle_parse(b, 1, 1, e, err, sizeof(err)) == -1);
}

/* An in-memory tree for the tile reader: tiles made from the leaves. */
struct mem {
	merkle_hash	*leaves;
	uint64_t	 n;
	unsigned	 fetches;
};

static int
mem_fetch(void *ctx, const struct tile_id *t, uint8_t *out, char *err,
    size_t errlen)
{
	struct mem *m = ctx;
	uint64_t span = 1ULL << (8 * t->level), i;

	m->fetches++;
	if (t->level < 0 || t->width != tile_width(m->n, t->level, t->index)) {
		seterr(err, errlen, "asked for a tile that does not exist");
		return -1;
	}
	for (i = 0; i < t->width; i++)
		merkle_root(m->leaves + (t->index * 256 + i) * span, span,
		    out + i * MERKLE_HASH_LEN);
	return 0;
}

static void
mem_init(struct mem *m, uint64_t n)
{
	uint64_t i;
	uint8_t b[8];

	m->n = n;
	m->fetches = 0;
	m->leaves = xmalloc(n * sizeof(merkle_hash));
	for (i = 0; i < n; i++) {
		memcpy(b, &i, 8);
		merkle_leaf_hash(b, 8, m->leaves[i]);
	}
}

TEST(reader)
{
	static const uint64_t sizes[] = { 1, 2, 3, 255, 256, 257, 511, 512,
	    513, 1000, 65535, 65536, 65537, 70000 };
	merkle_hash root, want, proof[MERKLE_MAX_PROOF];
	struct tile_reader r;
	struct mem m;
	size_t si, n;
	uint64_t i, old;

	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		mem_init(&m, sizes[si]);
		merkle_root(m.leaves, m.n, want);
		tile_reader_init(&r, m.n, mem_fetch, &m);
		CHECK_MSG(tile_range_hash(&r, 0, m.n, root) == 0 &&
		    memcmp(root, want, 32) == 0, "root of %" PRIu64 ": %s",
		    m.n, r.err);
		/* inclusion of a few leaves, consistency from a few sizes */
		for (i = 0; i < m.n; i += m.n / 7 + 1) {
			CHECK_MSG(merkle_inclusion_proof(tile_range_hash, &r, i,
			    m.n, proof, &n) == 0 && merkle_verify_inclusion(
			    m.leaves[i], i, m.n, proof, n, want) == 0,
			    "inclusion %" PRIu64 " in %" PRIu64, i, m.n);
		}
		for (old = 1; old < m.n; old = old * 3 + 1) {
			merkle_hash oroot;

			merkle_root(m.leaves, old, oroot);
			CHECK_MSG(merkle_consistency_proof(tile_range_hash, &r,
			    old, m.n, proof, &n) == 0 &&
			    merkle_verify_consistency(old, m.n, oroot, want,
			    proof, n) == 0, "consistency %" PRIu64 " -> %"
			    PRIu64, old, m.n);
		}
		tile_reader_free(&r);
		free(m.leaves);
	}
	/* a range beyond the tree is refused, not fetched */
	mem_init(&m, 300);
	tile_reader_init(&r, 300, mem_fetch, &m);
	CHECK(tile_range_hash(&r, 0, 301, root) == -1);
	CHECK_EQ_INT(m.fetches, 0);
	tile_reader_free(&r);
	free(m.leaves);
}

static size_t
make_entry(uint64_t i, char *buf, size_t cap)
{
	return (size_t)snprintf(buf, cap, "{\"i\":%" PRIu64 ",\"pad\":\"%.*s\"}",
	    i, (int)(i % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static int
append_commit(struct ledger *l, uint64_t from, uint64_t to)
{
	char buf[128], err[VMS_ERRLEN];
	uint64_t i, idx;

	for (i = from; i < to; i++)
		if (ledger_append(l, buf, make_entry(i, buf, sizeof(buf)), &idx,
		    err, sizeof(err)) != 0)
			return -1;
	return ledger_commit(l, err, sizeof(err));
}

/* Every tile of the ledger's committed tree equals the in-memory one. */
static void
check_tiles(struct ledger *l, uint64_t size)
{
	struct mem m;
	struct tile_id t;
	uint8_t *buf, *want;
	size_t len;
	char err[VMS_ERRLEN], ebuf[128];
	struct tile_entry e[256];
	uint64_t i, k;
	int level, rc;

	m.n = size;
	m.leaves = xmalloc(size * sizeof(merkle_hash) + 1);
	for (i = 0; i < size; i++)
		merkle_leaf_hash(ebuf, make_entry(i, ebuf, sizeof(ebuf)),
		    m.leaves[i]);
	want = xmalloc(TILE_BYTES);
	for (level = 0; level <= tile_top_level(size); level++)
		for (i = 0; i < tile_count(size, level); i++) {
			t.level = level;
			t.index = i;
			t.width = tile_width(size, level, i);
			rc = ledger_tile(l, &t, &buf, &len, err, sizeof(err));
			CHECK_MSG(rc == 0 && len == t.width * 32u, "tile %d/%"
			    PRIu64 ": %s", level, i, err);
			if (rc != 0)
				continue;
			mem_fetch(&m, &t, want, err, sizeof(err));
			CHECK_MSG(memcmp(buf, want, len) == 0, "tile %d/%" PRIu64
			    " differs", level, i);
			free(buf);
		}
	for (i = 0; i < tile_count(size, 0); i++) {
		t.level = TILE_ENTRIES;
		t.index = i;
		t.width = tile_width(size, 0, i);
		rc = ledger_tile(l, &t, &buf, &len, err, sizeof(err));
		CHECK_MSG(rc == 0, "bundle %" PRIu64 ": %s", i, err);
		if (rc != 0)
			continue;
		CHECK(tile_bundle_parse(buf, len, t.width, e, err,
		    sizeof(err)) == 0);
		for (k = 0; k < t.width; k++) {
			size_t el = make_entry(i * 256 + k, ebuf, sizeof(ebuf));

			CHECK_MSG(e[k].len == el && memcmp(e[k].data, ebuf,
			    el) == 0, "bundle %" PRIu64 " entry %" PRIu64, i, k);
		}
		free(buf);
	}
	/* beyond the committed tree: none */
	t.level = 0;
	t.index = tile_count(size, 0);
	t.width = 256;
	CHECK(ledger_tile(l, &t, &buf, &len, err, sizeof(err)) == 1);
	t.index = size / 256;
	t.width = (unsigned)(size % 256) + 1;
	if (t.width < 256)
		CHECK(ledger_tile(l, &t, &buf, &len, err, sizeof(err)) == 1);
	t.level = TILE_ENTRIES;
	CHECK(ledger_tile(l, &t, &buf, &len, err, sizeof(err)) == 1);
	/* an older partial tile, inside the tree: served */
	if (size > 256) {
		t.level = 0;
		t.index = 0;
		t.width = 7;
		CHECK(ledger_tile(l, &t, &buf, &len, err, sizeof(err)) == 0 &&
		    len == 7 * 32 && memcmp(buf, m.leaves, 7 * 32) == 0);
		free(buf);
	}
	free(want);
	free(m.leaves);
}

TEST(ledger_tiles_refresh)
{
	struct ledger *w, *r;
	char *d, err[VMS_ERRLEN];
	uint64_t sizes[] = { 1, 255, 256, 257, 600, 1000 }, prev = 1;
	size_t i;

	xasprintf(&d, "%s/tiles", tmpdir);
	CHECK(ledger_create(d, ORIGIN, signer, &w, err, sizeof(err)) == 0);
	CHECK(append_commit(w, 0, 1) == 0);
	CHECK(ledger_open(d, NULL, &r, NULL, err, sizeof(err)) == 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* several commits between refreshes, and one batch left
		 * appended but uncommitted */
		if (sizes[i] > prev + 2) {
			CHECK(append_commit(w, prev, prev + 1) == 0);
			prev++;
		}
		if (sizes[i] > prev)
			CHECK(append_commit(w, prev, sizes[i]) == 0);
		prev = sizes[i];
		CHECK(ledger_refresh(r, err, sizeof(err)) == 0);
		CHECK_EQ_INT(ledger_committed_size(r), sizes[i]);
		CHECK(strcmp(ledger_checkpoint(r), ledger_checkpoint(w)) == 0);
		check_tiles(r, sizes[i]);
	}
	/* appended, not committed: invisible */
	{
		char buf[64];
		uint64_t idx;

		CHECK(ledger_append(w, buf, make_entry(prev, buf, sizeof(buf)),
		    &idx, err, sizeof(err)) == 0);
		CHECK(ledger_flush(w, err, sizeof(err)) == 0);
		CHECK(ledger_refresh(r, err, sizeof(err)) == 0);
		CHECK_EQ_INT(ledger_committed_size(r), prev);
	}
	/* a writer handle cannot be refreshed */
	CHECK(ledger_refresh(w, err, sizeof(err)) == -1);
	ledger_close(r);
	ledger_close(w);
	free(d);
}

/* A commit record being written (torn) after the newest entries: the
 * reader passes over it to the last whole commit instead of staying
 * where it was. */
TEST(refresh_passes_torn_commit)
{
	struct ledger *w, *r;
	char *d, *p, err[VMS_ERRLEN], buf[64];
	/* a whole-looking commit record whose note is not (yet) valid */
	uint8_t torn[4 + 10] = { 0x80, 0, 0, 10, 'g', 'a', 'r', 'b', 'a',
	    'g', 'e', 0, 0, 0 };
	uint64_t i, idx;
	FILE *f;

	xasprintf(&d, "%s/torn", tmpdir);
	CHECK(ledger_create(d, ORIGIN, signer, &w, err, sizeof(err)) == 0);
	CHECK(append_commit(w, 0, 5) == 0);
	CHECK(ledger_open(d, NULL, &r, NULL, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(r), 5);
	CHECK(append_commit(w, 5, 10) == 0);
	for (i = 10; i < 13; i++)
		CHECK(ledger_append(w, buf, make_entry(i, buf, sizeof(buf)),
		    &idx, err, sizeof(err)) == 0);
	CHECK(ledger_flush(w, err, sizeof(err)) == 0);
	/* what a writer leaves for an instant while it appends the commit
	 * record of entries 10..12 */
	xasprintf(&p, "%s/entries", d);
	CHECK((f = fopen(p, "ab")) != NULL);
	CHECK(fwrite(torn, 1, sizeof(torn), f) == sizeof(torn));
	CHECK(fclose(f) == 0);
	CHECK(ledger_refresh(r, err, sizeof(err)) == 0);
	CHECK_EQ_INT(ledger_committed_size(r), 10);
	CHECK(strcmp(ledger_checkpoint(r), ledger_checkpoint(w)) == 0);
	free(p);
	ledger_close(r);
	ledger_close(w);
	free(d);
}

TEST(batch_proofs)
{
	static merkle_hash proofs[300][MERKLE_MAX_PROOF];
	merkle_hash one[MERKLE_MAX_PROOF];
	size_t lens[300], n;
	struct ledger *w;
	char *d, err[VMS_ERRLEN];
	uint64_t first, count, k;

	xasprintf(&d, "%s/proofs", tmpdir);
	CHECK(ledger_create(d, ORIGIN, signer, &w, err, sizeof(err)) == 0);
	CHECK(append_commit(w, 0, 1000) == 0);
	for (first = 0; first < 1000; first += 97) {
		count = first + 300 > 1000 ? 1000 - first : 300;
		CHECK(ledger_inclusion_proofs(w, first, count, 1000, proofs,
		    lens, err, sizeof(err)) == 0);
		for (k = 0; k < count; k++) {
			CHECK(ledger_inclusion_proof(w, first + k, 1000, one, &n,
			    err, sizeof(err)) == 0);
			CHECK_MSG(n == lens[k] && memcmp(one, proofs[k],
			    n * 32) == 0, "proof of %" PRIu64, first + k);
		}
	}
	CHECK(ledger_inclusion_proofs(w, 990, 11, 1000, proofs, lens, err,
	    sizeof(err)) == -1);
	ledger_close(w);
	free(d);
}

static int
parse_str(const char *s, struct tlog_proof *p, char *err)
{
	return tlog_proof_parse((const uint8_t *)s, strlen(s), p, err,
	    VMS_ERRLEN);
}

TEST(tlog_proof_text)
{
	static const char good[] =
	    "c2sp.org/tlog-proof@v1\n"
	    "extra aGVsbG8=\n"
	    "index 73894\n"
	    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
	    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
	    "\n"
	    "example.com/fancylog\n109482\n"
	    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
	    "\xe2\x80\x94 example.com/fancylog hI2DJw==\n";
	static const char *bad[] = {
		"",
		"c2sp.org/tlog-proof@v2\nindex 0\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex \n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex -1\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\nn\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nnot base64\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex 1\naGVsbG8=\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nextra aGVsbG8=\n\nnote\n",
		"c2sp.org/tlog-proof@v1\r\nindex 1\n\nnote\n",
		"c2sp.org/tlog-proof@v1\nindex 1 \n\nnote\n",
		NULL
	};
	struct tlog_proof p, q;
	char err[VMS_ERRLEN], *text, big[8192];
	size_t len, i, o;

	CHECK(parse_str(good, &p, err) == 0);
	CHECK(p.has_extra && p.extralen == 5 && memcmp(p.extra, "hello",
	    5) == 0);
	CHECK_EQ_INT(p.index, 73894);
	CHECK_EQ_INT(p.nproof, 2);
	CHECK(strncmp(p.note, "example.com/fancylog\n", 21) == 0);
	text = tlog_proof_format(&p, &len);
	CHECK(len == strlen(good) && strcmp(text, good) == 0);
	CHECK(parse_str(text, &q, err) == 0 && q.index == p.index &&
	    q.nproof == 2 && memcmp(q.proof, p.proof, 64) == 0);
	tlog_proof_free(&q);
	free(text);
	tlog_proof_free(&p);
	CHECK(parse_str("c2sp.org/tlog-proof@v1\nindex 0\n\nn\n", &p, err) ==
	    0 && p.index == 0 && p.nproof == 0 && !p.has_extra);
	tlog_proof_free(&p);
	for (i = 0; bad[i] != NULL; i++) {
		CHECK_MSG(parse_str(bad[i], &p, err) == -1, "accepted %s",
		    bad[i]);
		CHECK(p.note == NULL && p.extra == NULL);
	}
	/* 65 proof lines: too many */
	o = (size_t)snprintf(big, sizeof(big), "c2sp.org/tlog-proof@v1\n"
	    "index 1\n");
	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s\n",
		    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=");
	snprintf(big + o, sizeof(big) - o, "\nnote\n");
	CHECK(parse_str(big, &p, err) == -1);
	CHECK_CONTAINS(err, "more than");
	/* a NUL byte anywhere */
	CHECK(tlog_proof_parse((const uint8_t *)"c2sp.org/tlog-proof@v1\n"
	    "index 1\n\nno\0te\n", 37, &p, err, sizeof(err)) == -1);
}

/* The parsers take any bytes: mutations of valid inputs never crash,
 * leak or read out of bounds (ASan), and what parses round-trips. */
TEST(parsers_take_any_bytes)
{
	static const char proof[] =
	    "c2sp.org/tlog-proof@v1\nextra aGVsbG8=\nindex 5\n"
	    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\n"
	    "o\n6\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
	    "\xe2\x80\x94 o AAAA\n";
	static const char path[] = "tile/entries/x001/x234/067.p/25";
	uint8_t buf[256], b2[64];
	struct tlog_proof p, q;
	struct tile_entry e[4];
	struct tile_id t;
	char err[VMS_ERRLEN], *text, pb[TILE_PATH_MAX];
	size_t len, i, k;
	int ok = 1;

	for (i = 0; i < 20000 && ok; i++) {
		len = sizeof(proof) - 1;
		memcpy(buf, proof, len);
		for (k = 0; k < 1 + i % 4; k++)
			buf[randombytes_uniform((uint32_t)len)] =
			    (uint8_t)randombytes_uniform(256);
		if (i % 7 == 0)
			len = randombytes_uniform((uint32_t)len + 1);
		if (tlog_proof_parse(buf, len, &p, err, sizeof(err)) == 0) {
			text = tlog_proof_format(&p, NULL);
			ok = tlog_proof_parse((uint8_t *)text, strlen(text), &q,
			    err, sizeof(err)) == 0 && q.index == p.index &&
			    q.nproof == p.nproof && q.notelen == p.notelen;
			if (ok)
				tlog_proof_free(&q);
			free(text);
			tlog_proof_free(&p);
		}
		memcpy(pb, path, sizeof(path));
		pb[randombytes_uniform(sizeof(path) - 1)] =
		    (char)(1 + randombytes_uniform(255));
		if (tile_parse_path(pb, &t) == 0) {
			char again[TILE_PATH_MAX];

			tile_path(&t, again, sizeof(again));
			ok = ok && strcmp(again, pb) == 0;
		}
		randombytes_buf(b2, sizeof(b2));
		(void)tile_bundle_parse(b2, randombytes_uniform(sizeof(b2)),
		    1 + randombytes_uniform(4), e, err, sizeof(err));
	}
	CHECK_MSG(ok, "round %zu: a parsed input did not round-trip", i);
}

int
main(void)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return 2;
	log_init("test-tile", LOG_MODE_PLAIN, 0);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	randombytes_buf(seed, 32);
	signer = note_signer_new(ORIGIN, seed);
	RUN(path_format);
	RUN(path_parse);
	RUN(widths);
	RUN(bundles);
	RUN(reader);
	RUN(ledger_tiles_refresh);
	RUN(refresh_passes_torn_commit);
	RUN(batch_proofs);
	RUN(tlog_proof_text);
	RUN(parsers_take_any_bytes);
	note_signer_free(signer);
	if (getenv("VMS_TEST_KEEP") == NULL)
		rm_rf(tmpdir);
	return test_summary();
}
