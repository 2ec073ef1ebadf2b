/*
 * engine_snapshot.c — engine_snapshot_save/load: the contract's state
 * tree, position in the ledger, last nonce per signing key and the
 * children it made in one file, so a restart need not replay the whole
 * ledger.
 *
 *   "VMSSNAP3" next:8 prev_leaf:32 root:32 nfiles:8
 *   nfiles x (kind:1 pathlen:4 path datalen:4 data)
 *                                          (each directory before what it
 *                                           holds: the tree's own order;
 *                                           older files, sorted by path,
 *                                           load the same way)
 *   nkeys:8 nkeys x (key:32 nonce:8)      (in key order)
 *   nchildren:8 nchildren x (namelen:1 name index:8 entry:32 stopped:1)
 *                                          (in name order)
 *   sha256 of everything before:32
 * (integers big-endian). "VMSSNAP1" files, written before signed calls
 * existed, have no key section and load with no nonces; "VMSSNAP2" ones,
 * written before child contracts, have no children section (and were
 * written by an engine that could make none).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "sha256.h"
#include "util.h"

/* ---- snapshots ---- */

#define SNAP_MAGIC "VMSSNAP3"
#define SNAP_MAGIC_V2 "VMSSNAP2"
#define SNAP_MAGIC_V1 "VMSSNAP1"

static void
put_be(uint8_t **p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		*(*p)++ = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
engine_snapshot_save(struct engine *e, const char *path, char *err,
    size_t errlen)
{
	const struct vms_node **v;
	size_t n, i, total, nk = eng_nonce_count(e->nonces);
	uint8_t *buf, *p, root[32];
	int r;

	v = state_all_parents_first(e->state, &n);
	total = 8 + 8 + 32 + 32 + 8 + 8 + nk * 40 +
	    eng_children_size(e->children) + 32;
	for (i = 0; i < n; i++)
		total += 1 + 4 + v[i]->pathlen + 4 + v[i]->len;
	p = buf = xmalloc(total);
	memcpy(p, SNAP_MAGIC, 8);
	p += 8;
	put_be(&p, e->next, 8);
	memcpy(p, e->prev_leaf, 32);
	p += 32;
	state_root(e->state, root);
	memcpy(p, root, 32);
	p += 32;
	put_be(&p, n, 8);
	for (i = 0; i < n; i++) {
		*p++ = (uint8_t)v[i]->kind;
		put_be(&p, v[i]->pathlen, 4);
		memcpy(p, v[i]->path, v[i]->pathlen);
		p += v[i]->pathlen;
		put_be(&p, v[i]->len, 4);
		if (v[i]->len)
			memcpy(p, v[i]->data, v[i]->len);
		p += v[i]->len;
	}
	put_be(&p, nk, 8);
	eng_nonce_dump(e->nonces, p);
	p += nk * 40;
	p = eng_children_dump(e->children, p);
	vms_sha256(buf, (size_t)(p - buf), p);
	free(v);
	r = write_file_atomic(path, buf, total, 0600, err, errlen);
	free(buf);
	return r;
}

int
engine_snapshot_load(struct engine *e, const char *path, char *err,
    size_t errlen)
{
	struct vms_state *st;
	struct eng_nonces *nonces = NULL;
	struct eng_children *children = NULL;
	uint8_t *buf, h[32], root[32];
	const uint8_t *p, *end;
	size_t len;
	uint64_t n, i, pl, dl, nk, prev;
	char e2[VMS_ERRLEN];
	int v1, v2;

	if (read_file(path, (size_t)(e->limits.state_size * 2 + (1 << 20) +
	    e->limits.children * 128), &buf, &len, err, errlen) == -1)
		return -1;
	v1 = len >= 8 && memcmp(buf, SNAP_MAGIC_V1, 8) == 0;
	v2 = len >= 8 && memcmp(buf, SNAP_MAGIC_V2, 8) == 0;
	if (len < (size_t)(v1 ? 120 : v2 ? 128 : 136) || (!v1 && !v2 &&
	    memcmp(buf, SNAP_MAGIC, 8) != 0)) {
		free(buf);
		seterr(err, errlen, "%s: not a vmsd snapshot", path);
		return -1;
	}
	vms_sha256(buf, len - 32, h);
	if (memcmp(h, buf + len - 32, 32) != 0) {
		free(buf);
		seterr(err, errlen, "%s: snapshot checksum mismatch", path);
		return -1;
	}
	end = buf + len - 32;
	p = buf + 8 + 8 + 32 + 32;
	n = get_be(p, 8);
	p += 8;
	st = state_new();
	for (i = 0; i < n; i++) {
		int kind, r;

		if (end - p < 9)
			goto corrupt;
		kind = *p++;
		pl = get_be(p, 4);
		p += 4;
		if ((uint64_t)(end - p) < pl + 4)
			goto corrupt;
		dl = get_be(p + pl, 4);
		if ((uint64_t)(end - p) < pl + 4 + dl)
			goto corrupt;
		if (kind == 'd')
			r = state_mkdir(st, (const char *)p, pl, 0, e2,
			    sizeof(e2));
		else if (kind == 'f')
			r = state_write(st, (const char *)p, pl, p + pl + 4,
			    dl, 0, 0, e2, sizeof(e2));
		else
			goto corrupt;
		if (r == -1)
			goto corrupt;
		p += pl + 4 + dl;
	}
	nonces = eng_nonces_new();
	if (!v1) {
		if (end - p < 8)
			goto corrupt;
		nk = get_be(p, 8);
		p += 8;
		if ((uint64_t)(end - p) / 40 < nk)
			goto corrupt;
		for (i = 0; i < nk; i++, p += 40) {
			/* strictly in key order, every nonce >= 1 */
			if ((i > 0 && memcmp(p - 40, p, 32) >= 0) ||
			    (prev = get_be(p + 32, 8)) == 0)
				goto corrupt;
			eng_nonce_set(nonces, p, prev);
		}
	}
	children = eng_children_new();
	if (!v1 && !v2 && eng_children_load(children, &p, end) != 0)
		goto corrupt;
	if (p != end)
		goto corrupt;
	state_root(st, root);
	if (memcmp(root, buf + 48, 32) != 0)
		goto corrupt;
	state_free(e->state);
	e->state = st;
	eng_nonces_free(e->nonces);
	e->nonces = nonces;
	eng_children_free(e->children);
	e->children = children;
	e->next = get_be(buf + 8, 8);
	memcpy(e->prev_leaf, buf + 16, 32);
	free(buf);
	return 0;
corrupt:
	eng_nonces_free(nonces);
	eng_children_free(children);
	state_free(st);
	free(buf);
	seterr(err, errlen, "%s: snapshot is corrupt", path);
	return -1;
}
