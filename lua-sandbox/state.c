/*
 * state.c — the contract file tree: a path hash table, per-directory child
 * arrays, the LtHash16 state root (see state.h) and the undo log that makes
 * a call's writes a transaction. Listings of the tree in order, and the
 * comparison of two trees, are in state_list.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lthash.h"
#include "sha256.h"
#include "state.h"
#include "state_int.h"
#include "util.h"

static uint64_t
path_hash(const struct vms_state *st, const char *p, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const uint8_t *)p, len, st->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static void
lt_apply(struct vms_state *st, const struct vms_node *n, int add)
{
	struct vms_sha256 h;
	uint8_t e[32], z = 0, kind = (uint8_t)n->kind;

	vms_sha256_init(&h);
	vms_sha256_update(&h, "vms/state/v1", 12);
	vms_sha256_update(&h, &z, 1);
	vms_sha256_update(&h, &kind, 1);
	vms_sha256_update(&h, n->path, n->pathlen);
	vms_sha256_update(&h, &z, 1);
	vms_sha256_update(&h, n->sha, 32);
	vms_sha256_final(&h, e);
	lthash_mix(st->lanes, e, add);
	st->gen++;
}

static uint64_t
node_usage(const struct vms_node *n)
{
	return STATE_NODE_OVERHEAD + n->pathlen + n->len;
}

static void
account(struct vms_state *st, const struct vms_node *n, int add)
{
	if (add) {
		if (n->kind == 'f')
			st->nfiles++;
		else
			st->ndirs++;
		st->bytes += n->len;
		st->usage += node_usage(n);
	} else {
		if (n->kind == 'f')
			st->nfiles--;
		else
			st->ndirs--;
		st->bytes -= n->len;
		st->usage -= node_usage(n);
	}
	if (st->stale)
		st->gen++;
	else
		lt_apply(st, n, add);
	if (st->view != NULL) {		/* state_page's sorted view */
		free(st->view);
		st->view = NULL;
	}
}

static void
rehash(struct vms_state *st)
{
	size_t nb = st->nbuckets * 2, i;
	struct vms_node **b = xcalloc(nb, sizeof(*b)), *n, *next;

	for (i = 0; i < st->nbuckets; i++)
		for (n = st->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = nb;
}

static void
hash_insert(struct vms_state *st, struct vms_node *n)
{
	size_t b;

	if (st->nnodes + 1 > st->nbuckets)
		rehash(st);
	b = n->hash & (st->nbuckets - 1);
	n->hnext = st->buckets[b];
	st->buckets[b] = n;
	st->nnodes++;
}

static void
hash_remove(struct vms_state *st, struct vms_node *n)
{
	struct vms_node **pp = &st->buckets[n->hash & (st->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	st->nnodes--;
}

static void
kid_add(struct vms_node *dir, struct vms_node *n)
{
	if (dir->nkids == dir->kidcap) {
		dir->kidcap = dir->kidcap ? dir->kidcap * 2 : 4;
		dir->kids = xrealloc(dir->kids, dir->kidcap * sizeof(*dir->kids));
	}
	n->slot = dir->nkids;
	dir->kids[dir->nkids++] = n;
}

static void
kid_remove(struct vms_node *dir, struct vms_node *n)
{
	struct vms_node *last = dir->kids[--dir->nkids];

	dir->kids[n->slot] = last;
	last->slot = n->slot;
}

/* Where a file's content is when it is in its node (as created). */
static const uint8_t *
inline_data(const struct vms_node *n)
{
	return (const uint8_t *)n->path + n->pathlen + 1;
}

/* Free content that was n's (now or before a write replaced it). */
static void
data_free(const struct vms_node *n, uint8_t *data)
{
	if (data != inline_data(n))
		free(data);
}

static void
node_free(struct vms_node *n)
{
	data_free(n, n->data);
	free(n->kids);
	free(n);
}

/* Attach a detached node (its parent exists). */
static void
attach(struct vms_state *st, struct vms_node *n)
{
	hash_insert(st, n);
	kid_add(n->parent, n);
	account(st, n, 1);
}

static void
detach(struct vms_state *st, struct vms_node *n)
{
	hash_remove(st, n);
	kid_remove(n->parent, n);
	account(st, n, 0);
}

static void
log_undo(struct vms_state *st, enum undo_kind k, struct vms_node *n,
    uint8_t *olddata, size_t oldlen, const uint8_t *oldsha)
{
	struct undo *u;

	if (!st->intxn) {
		if (k == U_REMOVED)
			node_free(n);
		else if (k == U_REPLACED)
			data_free(n, olddata);
		return;
	}
	if (st->nundo == st->undocap) {
		st->undocap = st->undocap ? st->undocap * 2 : 16;
		st->undo = xrealloc(st->undo, st->undocap * sizeof(*st->undo));
	}
	u = &st->undo[st->nundo++];
	u->kind = k;
	u->node = n;
	u->olddata = olddata;
	u->oldlen = oldlen;
	if (oldsha != NULL)
		memcpy(u->oldsha, oldsha, 32);
}

struct vms_state *
state_new(void)
{
	struct vms_state *st = xcalloc(1, sizeof(*st));
	struct vms_node *r = xcalloc(1, sizeof(*r) + 2);

	if (sodium_init() < 0)
		abort();
	randombytes_buf(st->hkey, sizeof(st->hkey));
	st->nbuckets = 16;
	st->buckets = xcalloc(st->nbuckets, sizeof(*st->buckets));
	memcpy(r->path, "/", 2);
	r->pathlen = 1;
	r->data = (uint8_t *)inline_data(r);
	r->kind = 'd';
	vms_sha256("", 0, r->sha);
	r->hash = path_hash(st, "/", 1);
	hash_insert(st, r);
	st->root = r;
	st->rc = xcalloc(1, sizeof(*st->rc));
	return st;
}

static void
free_tree(struct vms_node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		free_tree(n->kids[i]);
	node_free(n);
}

void
state_free(struct vms_state *st)
{
	if (st == NULL)
		return;
	state_commit(st);
	free_tree(st->root);
	free(st->buckets);
	free(st->undo);
	free(st->view);
	free(st->rc);
	free(st);
}

int
state_path_check(const char *path, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t i, seg, k;

	if (len == 0 || p[0] != '/') {
		seterr(err, errlen, "invalid path: must be absolute");
		return -1;
	}
	if (len > STATE_PATH_MAX) {
		seterr(err, errlen, "invalid path: longer than %d bytes",
		    STATE_PATH_MAX);
		return -1;
	}
	if (len == 1)
		return 0;
	seg = 1;
	for (i = 1; i <= len; i++) {
		if (i == len || p[i] == '/') {
			size_t sl = i - seg;

			if (sl == 0) {
				seterr(err, errlen, "invalid path %.*s: empty "
				    "segment", (int)len, path);
				return -1;
			}
			if ((sl == 1 && p[seg] == '.') ||
			    (sl == 2 && p[seg] == '.' && p[seg + 1] == '.')) {
				seterr(err, errlen, "invalid path %.*s: \".\" "
				    "and \"..\" are not allowed", (int)len,
				    path);
				return -1;
			}
			seg = i + 1;
			continue;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			seterr(err, errlen, "invalid path: control character "
			    "or NUL");
			return -1;
		}
		if (p[i] >= 0x80) {
			uint32_t cp;

			k = utf8_seq(p + i, len - i, &cp);
			if (k == 0) {
				seterr(err, errlen, "invalid path: not UTF-8");
				return -1;
			}
			i += k - 1;
		}
	}
	return 0;
}

static struct vms_node *
lookup_hashed(const struct vms_state *st, const char *path, size_t len,
    uint64_t h)
{
	struct vms_node *n;

	for (n = st->buckets[h & (st->nbuckets - 1)]; n != NULL; n = n->hnext)
		if (n->hash == h && n->pathlen == len &&
		    memcmp(n->path, path, len) == 0)
			return n;
	return NULL;
}

static struct vms_node *
lookup(const struct vms_state *st, const char *path, size_t len)
{
	return lookup_hashed(st, path, len, path_hash(st, path, len));
}

const struct vms_node *
state_lookup(const struct vms_state *st, const char *path, size_t len)
{
	return lookup(st, path, len);
}

const struct vms_node *
state_rootdir(const struct vms_state *st)
{
	return st->root;
}

/* Checks path, finds the parent directory of a new node. */
static struct vms_node *
parent_of(struct vms_state *st, const char *path, size_t len, char *err,
    size_t errlen)
{
	struct vms_node *p;
	size_t plen;

	if (state_path_check(path, len, err, errlen) == -1)
		return NULL;
	if (len == 1) {
		seterr(err, errlen, "already exists: /");
		return NULL;
	}
	plen = len;
	while (path[plen - 1] != '/')
		plen--;
	if (plen > 1)
		plen--;
	p = lookup(st, path, plen);
	if (p == NULL) {
		seterr(err, errlen, "no such directory: %.*s", (int)plen, path);
		return NULL;
	}
	if (p->kind != 'd') {
		seterr(err, errlen, "not a directory: %.*s", (int)plen, path);
		return NULL;
	}
	return p;
}

/* SHA-256 of no bytes: a new node's (a directory's for good) */
static const uint8_t sha_empty[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8,
	0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
};

/* A detached node for path (its hash h), with room for dlen bytes of
 * content after its path, where its data points. */
static struct vms_node *
node_new(struct vms_node *parent, const char *path, size_t len, uint64_t h,
    int kind, size_t dlen)
{
	struct vms_node *n = xmalloc(offsetof(struct vms_node, path) + len + 1 +
	    dlen);
	size_t name = len;

	memset(n, 0, offsetof(struct vms_node, path));
	memcpy(n->path, path, len);
	n->path[len] = '\0';
	n->pathlen = (uint16_t)len;
	while (name > 0 && path[name - 1] != '/')
		name--;
	n->nameoff = (uint16_t)name;
	n->data = (uint8_t *)inline_data(n);
	n->kind = (uint8_t)kind;
	n->parent = parent;
	n->hash = h;
	memcpy(n->sha, sha_empty, 32);
	return n;
}

int
state_mkdir(struct vms_state *st, const char *path, size_t len,
    uint64_t max_usage, char *err, size_t errlen)
{
	struct vms_node *p, *n;

	uint64_t h;

	if ((p = parent_of(st, path, len, err, errlen)) == NULL)
		return -1;
	h = path_hash(st, path, len);
	if (lookup_hashed(st, path, len, h) != NULL) {
		seterr(err, errlen, "already exists: %.*s", (int)len, path);
		return -1;
	}
	if (max_usage && st->usage + STATE_NODE_OVERHEAD + len > max_usage) {
		seterr(err, errlen, "limit exceeded: state_size (%llu)",
		    (unsigned long long)max_usage);
		return -1;
	}
	n = node_new(p, path, len, h, 'd', 0);
	attach(st, n);
	log_undo(st, U_CREATED, n, NULL, 0, NULL);
	return 0;
}

int
state_write(struct vms_state *st, const char *path, size_t len,
    const void *data, size_t dlen, uint64_t max_file, uint64_t max_usage,
    char *err, size_t errlen)
{
	struct vms_node *p, *n;
	uint8_t *copy, oldsha[32];
	uint64_t usage, h;

	if ((p = parent_of(st, path, len, err, errlen)) == NULL)
		return -1;
	if (max_file && dlen > max_file) {
		seterr(err, errlen, "limit exceeded: file_size (%llu)",
		    (unsigned long long)max_file);
		return -1;
	}
	h = path_hash(st, path, len);
	n = lookup_hashed(st, path, len, h);
	if (n != NULL && n->kind == 'd') {
		seterr(err, errlen, "is a directory: %.*s", (int)len, path);
		return -1;
	}
	usage = st->usage + dlen + (n ? 0 : STATE_NODE_OVERHEAD + len) -
	    (n ? n->len : 0);
	if (max_usage && usage > max_usage) {
		seterr(err, errlen, "limit exceeded: state_size (%llu)",
		    (unsigned long long)max_usage);
		return -1;
	}
	if (n == NULL) {
		n = node_new(p, path, len, h, 'f', dlen);
		if (dlen)
			memcpy(n->data, data, dlen);
		n->len = dlen;
		vms_sha256(n->data, dlen, n->sha);
		attach(st, n);
		log_undo(st, U_CREATED, n, NULL, 0, NULL);
		return 0;
	}
	copy = xmalloc(dlen ? dlen : 1);
	if (dlen)
		memcpy(copy, data, dlen);
	account(st, n, 0);
	memcpy(oldsha, n->sha, 32);
	log_undo(st, U_REPLACED, n, n->data, n->len, oldsha);
	n->data = copy;
	n->len = dlen;
	vms_sha256(copy, dlen, n->sha);
	account(st, n, 1);
	return 0;
}

int
state_unlink(struct vms_state *st, const char *path, size_t len, char *err,
    size_t errlen)
{
	struct vms_node *n;

	if (state_path_check(path, len, err, errlen) == -1)
		return -1;
	if ((n = lookup(st, path, len)) == NULL) {
		seterr(err, errlen, "no such file: %.*s", (int)len, path);
		return -1;
	}
	if (n->kind != 'f') {
		seterr(err, errlen, "is a directory: %.*s", (int)len, path);
		return -1;
	}
	detach(st, n);
	log_undo(st, U_REMOVED, n, NULL, 0, NULL);
	return 0;
}

static void
remove_tree(struct vms_state *st, struct vms_node *n)
{
	while (n->nkids > 0)
		remove_tree(st, n->kids[n->nkids - 1]);
	detach(st, n);
	log_undo(st, U_REMOVED, n, NULL, 0, NULL);
}

int
state_rmdir(struct vms_state *st, const char *path, size_t len,
    int recursive, char *err, size_t errlen)
{
	struct vms_node *n;

	if (state_path_check(path, len, err, errlen) == -1)
		return -1;
	if (len == 1) {
		seterr(err, errlen, "cannot remove /");
		return -1;
	}
	if ((n = lookup(st, path, len)) == NULL) {
		seterr(err, errlen, "no such directory: %.*s", (int)len, path);
		return -1;
	}
	if (n->kind != 'd') {
		seterr(err, errlen, "not a directory: %.*s", (int)len, path);
		return -1;
	}
	if (n->nkids > 0 && !recursive) {
		seterr(err, errlen, "directory not empty: %.*s", (int)len,
		    path);
		return -1;
	}
	remove_tree(st, n);
	return 0;
}

void
state_begin(struct vms_state *st)
{
	state_commit(st);
	st->intxn = 1;
}

void
state_commit(struct vms_state *st)
{
	size_t i;

	for (i = 0; i < st->nundo; i++) {
		struct undo *u = &st->undo[i];

		if (u->kind == U_REMOVED) {
			/* children were logged (and are freed) separately */
			u->node->nkids = 0;
			node_free(u->node);
		} else if (u->kind == U_REPLACED)
			data_free(u->node, u->olddata);
	}
	st->nundo = 0;
	st->intxn = 0;
}

void
state_rollback(struct vms_state *st)
{
	size_t i = st->nundo;

	while (i-- > 0) {
		struct undo *u = &st->undo[i];
		struct vms_node *n = u->node;

		switch (u->kind) {
		case U_CREATED:
			detach(st, n);
			node_free(n);
			break;
		case U_REPLACED:
			account(st, n, 0);
			data_free(n, n->data);
			n->data = u->olddata;
			n->len = u->oldlen;
			memcpy(n->sha, u->oldsha, 32);
			account(st, n, 1);
			break;
		case U_REMOVED:
			attach(st, n);
			break;
		}
	}
	st->nundo = 0;
	st->intxn = 0;
}

/*
 * From now until the next state_root(), changes do not update the lanes:
 * the root is then computed from every element at once (one keystream per
 * file instead of one per change, for bringing a state forward through
 * many entries, engine_skip).
 */
void
state_defer_root(struct vms_state *st)
{
	st->stale = 1;
}

static void
rebuild_lanes(struct vms_state *st)
{
	struct vms_node *n;
	size_t i;

	memset(st->lanes, 0, sizeof(st->lanes));
	st->stale = 0;
	for (i = 0; i < st->nbuckets; i++)
		for (n = st->buckets[i]; n != NULL; n = n->hnext)
			if (n != st->root)
				lt_apply(st, n, 1);
}

void
state_root(const struct vms_state *st, uint8_t out[32])
{
	struct vms_sha256 h;
	uint8_t buf[2 * STATE_LANES];
	size_t i;

	if (st->stale)	/* the lanes are a cache of the elements */
		rebuild_lanes((struct vms_state *)st);

	/* an entry that changed nothing (a read, a failed call) reuses it */
	if (st->rc->valid && st->rc->gen == st->gen) {
		memcpy(out, st->rc->root, 32);
		return;
	}
	for (i = 0; i < STATE_LANES; i++) {
		buf[2 * i] = (uint8_t)(st->lanes[i] & 0xff);
		buf[2 * i + 1] = (uint8_t)(st->lanes[i] >> 8);
	}
	vms_sha256_init(&h);
	vms_sha256_update(&h, "vms/state-root/v1", 17);
	vms_sha256_update(&h, buf, sizeof(buf));
	vms_sha256_final(&h, out);
	memcpy(st->rc->root, out, 32);
	st->rc->gen = st->gen;
	st->rc->valid = 1;
}

uint64_t
state_nfiles(const struct vms_state *st)
{
	return st->nfiles;
}

uint64_t
state_ndirs(const struct vms_state *st)
{
	return st->ndirs;
}

size_t
state_count(const struct vms_state *st)
{
	return st->nnodes - 1;
}

uint64_t
state_bytes(const struct vms_state *st)
{
	return st->bytes;
}

uint64_t
state_usage(const struct vms_state *st)
{
	return st->usage;
}
