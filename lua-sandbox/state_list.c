/*
 * state_list.c — the contract file tree in order (state.h): a directory's
 * children sorted by name, every node parents first (what a snapshot
 * writes), every node sorted by path or a page of them (dumps, audits,
 * the state a client lists), and whether two trees hold the same files.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "state_int.h"
#include "util.h"

/* The same files and directories: each path of a also in b, of the same
 * kind and with the same content (its length and SHA-256), and as many
 * nodes in both. One lookup per node, no sorting. */
int
state_same(const struct vms_state *a, const struct vms_state *b)
{
	const struct vms_node *n, *m;
	size_t i;

	if (a->nnodes != b->nnodes)
		return 0;
	for (i = 0; i < a->nbuckets; i++)
		for (n = a->buckets[i]; n != NULL; n = n->hnext) {
			if (n == a->root)
				continue;
			if ((m = state_lookup(b, n->path, n->pathlen)) == NULL ||
			    m->kind != n->kind || m->len != n->len ||
			    memcmp(m->sha, n->sha, 32) != 0)
				return 0;
		}
	return 1;
}

static int
cmp_name(const void *a, const void *b)
{
	const struct vms_node *x = *(const struct vms_node * const *)a;
	const struct vms_node *y = *(const struct vms_node * const *)b;

	return strcmp(state_name(x), state_name(y));
}

static int
cmp_path(const void *a, const void *b)
{
	const struct vms_node *x = *(const struct vms_node * const *)a;
	const struct vms_node *y = *(const struct vms_node * const *)b;

	return strcmp(x->path, y->path);
}

const struct vms_node **
state_sorted_kids(const struct vms_node *dir)
{
	const struct vms_node **v = xcalloc(dir->nkids + 1, sizeof(*v));

	if (dir->nkids)
		memcpy(v, dir->kids, dir->nkids * sizeof(*v));
	qsort(v, dir->nkids, sizeof(*v), cmp_name);
	return v;
}

const struct vms_node **
state_all_parents_first(const struct vms_state *st, size_t *n)
{
	const struct vms_node **v = xcalloc(st->nnodes + 1, sizeof(*v));
	const struct vms_node *d = st->root;
	size_t i = 0, j, k = 0;

	/* breadth first, v itself the queue: no sorting, no hashing */
	for (;;) {
		for (j = 0; j < d->nkids; j++)
			v[k++] = d->kids[j];
		if (i == k)
			break;
		d = v[i++];
	}
	*n = k;
	return v;
}

const struct vms_node **
state_all_sorted(const struct vms_state *st, size_t *n)
{
	return state_page(st, NULL, 0, n, NULL);
}

static void
swap_nodes(const struct vms_node **v, size_t a, size_t b)
{
	const struct vms_node *t = v[a];

	v[a] = v[b];
	v[b] = t;
}

/* The k nodes of v[0..n) with the smallest paths to the front, in any
 * order (quickselect; paths are unique; v is in the order of a keyed hash,
 * so no caller chooses it). */
static void
select_first(const struct vms_node **v, size_t n, size_t k)
{
	size_t lo = 0, hi = n, i, s;
	const char *pivot;

	while (hi - lo > 1) {
		swap_nodes(v, lo + (hi - lo) / 2, hi - 1);
		pivot = v[hi - 1]->path;
		for (s = i = lo; i < hi - 1; i++)
			if (strcmp(v[i]->path, pivot) < 0)
				swap_nodes(v, i, s++);
		swap_nodes(v, s, hi - 1);
		if (s == k)
			return;
		if (s < k)
			lo = s + 1;
		else
			hi = s;
	}
}

/*
 * A listing's first page (after NULL, a limit) sorts every node and keeps
 * that view until the state next changes (account frees it): the pages
 * after it are a binary search and a copy, where each was a scan of every
 * node (a state of 100,000 files read in pages of 5,000 by an audit
 * through vmsd, or of a million in 270). A contract that changes between
 * pages has its pages scanned as before; only the first paid the sort.
 */
static const struct vms_node **
view_page(const struct vms_state *st, const char *after, size_t limit,
    size_t *n, int *more)
{
	const struct vms_node **v;
	size_t lo = 0, hi = st->nview, k;

	while (after != NULL && lo < hi) {	/* the first path > after */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(st->view[mid]->path, after) > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	k = st->nview - lo;
	if (more != NULL)
		*more = limit > 0 && k > limit;
	if (limit > 0 && k > limit)
		k = limit;
	v = xcalloc(k + 1, sizeof(*v));
	if (k > 0)
		memcpy(v, st->view + lo, k * sizeof(*v));
	*n = k;
	return v;
}

const struct vms_node **
state_page(const struct vms_state *st, const char *after, size_t limit,
    size_t *n, int *more)
{
	const struct vms_node **v;
	size_t i, k = 0;
	struct vms_node *x;
	struct vms_state *w = (struct vms_state *)st;	/* the view: a cache */

	if (st->view == NULL && after == NULL && limit > 0 &&
	    st->nnodes - 1 > limit)
		w->view = state_page(st, NULL, 0, &w->nview, NULL);
	if (st->view != NULL)
		return view_page(st, after, limit, n, more);
	v = xcalloc(st->nnodes + 1, sizeof(*v));
	for (i = 0; i < st->nbuckets; i++)
		for (x = st->buckets[i]; x != NULL; x = x->hnext)
			if (x != st->root && (after == NULL ||
			    strcmp(x->path, after) > 0))
				v[k++] = x;
	if (more != NULL)
		*more = limit > 0 && k > limit;
	if (limit > 0 && k > limit) {
		select_first(v, k, limit);
		k = limit;
	}
	qsort(v, k, sizeof(*v), cmp_path);
	*n = k;
	return v;
}
