/*
 * sb_warm_capture.c — a warm template made (sb_warm_int.h): the state
 * built cold for a stand-in caller up to the pristine point, with the
 * tables luaL_setfuncs filled recorded in their order, then captured: its
 * strings whose hash the seed decides (sorted by length), its tables with
 * a hash part and their contents (the library tables' keys in insertion
 * order), the set of its short strings, the canary id, the counters, and
 * the arena image with those tables and the string table emptied. Also
 * the plain image of a second build, which sb_warm.c's check compares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lfunc.h"	/* Lua's internals (our own file calling them) */

#include "sb_warm_int.h"
#include "util.h"

/* ---- what luaL_setfuncs inserted while a template was built ---- */

struct setfuncs_rec {
	const void	*t;
	const luaL_Reg	*l;
};
struct recorder {
	struct setfuncs_rec r[WARM_RECORDS];
	size_t		 n;
	int		 overflow;
};
static _Thread_local struct recorder *recording;

/* Called by vms_lua_setfuncs (sb_luaconf.c) before luaL_setfuncs runs. */
void
sb_warm_note_setfuncs(lua_State *L, const void *l, int nup)
{
	struct recorder *rec = recording;

	if (rec == NULL)
		return;
	if (rec->n == WARM_RECORDS) {
		rec->overflow = 1;
		return;
	}
	rec->r[rec->n].t = lua_topointer(L, -(nup + 1));
	rec->r[rec->n].l = l;
	rec->n++;
}

static uint64_t
text_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static void
set_add(struct sb_template *t, TString *ts)
{
	size_t i = (size_t)text_hash(getstr(ts), ts->shrlen) &
	    (t->setcap - 1);

	while (t->set[i] != NULL)
		i = (i + 1) & (t->setcap - 1);
	t->set[i] = ts;
}

/* Is s the text of a string of the template? (Read from its image: the
 * arena holds another call's blocks until the image is loaded.) */
int
warm_set_has(const struct sb_template *t, const char *s, size_t len)
{
	size_t i = (size_t)text_hash(s, len) & (t->setcap - 1);
	const TString *c;

	for (; t->set[i] != NULL; i = (i + 1) & (t->setcap - 1)) {
		c = sb_arena_image_at(t->img, t->set[i]);
		if (c != NULL && c->shrlen == len &&
		    memcmp(getstr(c), s, len) == 0)
			return 1;
	}
	return 0;
}

/* ---- capture at the pristine point ---- */

struct capture {
	struct sb_template	*t;
	struct sb_ctx	*ctx;		/* the build's */
	struct recorder	*rec;
	const char	*canary;
	size_t		 canarylen;
	struct arena_image *img;	/* capture_image's */
	int		 ok;
	char		 why[120];
};

static void
push_str(struct sb_template *t, size_t *cap, TString *ts)
{
	if (t->nstrs == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		t->strs = xrealloc(t->strs, *cap * sizeof(*t->strs));
	}
	t->strs[t->nstrs++] = ts;
}

static struct wtable *
push_tab(struct sb_template *t, size_t *cap, Table *h)
{
	struct wtable *w;

	if (t->ntabs == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		t->tabs = xrealloc(t->tabs, *cap * sizeof(*t->tabs));
	}
	w = &t->tabs[t->ntabs++];
	memset(w, 0, sizeof(*w));
	w->t = h;
	return w;
}

static void
node_key(TValue *k, const Node *n)
{
	k->value_ = n->u.key_val;
	k->tt_ = n->u.key_tt;
}

/* The node of h whose key is the short string s, or NULL. */
static Node *
node_named(Table *h, const char *s)
{
	size_t i, len = strlen(s);

	for (i = 0; i < (size_t)sizenode(h); i++) {
		Node *n = gnode(h, i);

		if (keytt(n) == ctb(LUA_VSHRSTR) &&
		    keystrval(n)->shrlen == len &&
		    memcmp(getstr(keystrval(n)), s, len) == 0)
			return n;
	}
	return NULL;
}

/*
 * Entries of a table in node order, removed ones (a key whose value was
 * set to nil keeps its node) included. Returns how many were removed.
 */
static size_t
entries_by_node(struct wtable *w)
{
	Table *h = w->t;
	size_t i, removed = 0;

	w->keys = xcalloc((size_t)sizenode(h), sizeof(TValue));
	w->vals = xcalloc((size_t)sizenode(h), sizeof(TValue));
	for (i = 0; i < (size_t)sizenode(h); i++) {
		Node *n = gnode(h, i);

		if (keyisnil(n))
			continue;
		node_key(&w->keys[w->n], n);
		w->vals[w->n] = *gval(n);
		if (isempty(gval(n)))
			removed++;
		w->n++;
	}
	w->strkeys = 1;
	for (i = 0; i < w->n; i++)
		if (rawtt(&w->keys[i]) != ctb(LUA_VSHRSTR))
			w->strkeys = 0;
	return removed;
}

/*
 * Entries of a library table in the order luaL_setfuncs inserted them
 * (names already present were updates). Every key of the table must be
 * one of them: anything else inserted it, and its layout is not known.
 */
static int
entries_by_setfuncs(struct wtable *w, const struct recorder *rec)
{
	Table *h = w->t;
	size_t i, nkeys = 0;
	const luaL_Reg *l;
	Node *n;

	for (i = 0; i < (size_t)sizenode(h); i++)
		if (!keyisnil(gnode(h, i)))
			nkeys++;
	w->keys = xcalloc(nkeys + 1, sizeof(TValue));
	w->vals = xcalloc(nkeys + 1, sizeof(TValue));
	for (i = 0; i < rec->n; i++) {
		if (rec->r[i].t != (const void *)h)
			continue;
		for (l = rec->r[i].l; l->name != NULL; l++) {
			size_t j;
			int dup = 0;

			if ((n = node_named(h, l->name)) == NULL)
				return -1;
			for (j = 0; j < w->n; j++)
				if (keystrval(n) == tsvalue(&w->keys[j]))
					dup = 1;
			if (dup)
				continue;
			if (w->n == nkeys)
				return -1;
			node_key(&w->keys[w->n], n);
			w->vals[w->n] = *gval(n);
			w->n++;
		}
	}
	w->exact = 1;
	w->strkeys = 1;		/* (node_named found short strings only) */
	return w->n == nkeys ? 0 : -1;
}

/*
 * The entries of the tables whose keys are all short strings, in one
 * array (t->rk) in the order the refill inserts them, each with its key's
 * index in t->strs, so that the refill reads this call's hashes from one
 * array (t->hashes); their TValue copies go. -1 (why) if a key is not a
 * string of the state, or such a table has more than WARM_REFILL_NODES
 * nodes.
 */
static int
key_records(struct sb_template *t, const char **why)
{
	size_t cap = 16, i, j, k, *slot, nrk = 0;
	TString **key;

	for (i = 0; i < t->ntabs; i++)
		if (t->tabs[i].strkeys &&
		    (size_t)sizenode(t->tabs[i].t) > WARM_REFILL_NODES) {
			*why = "a table has too many nodes to refill";
			return -1;
		}
	while (cap < 2 * t->nstrs + 2)
		cap *= 2;
	key = xcalloc(cap, sizeof(*key));
	slot = xcalloc(cap, sizeof(*slot));
	for (i = 0; i < t->nstrs; i++) {
		k = ((size_t)t->strs[i] >> 4) & (cap - 1);
		while (key[k] != NULL)
			k = (k + 1) & (cap - 1);
		key[k] = t->strs[i];
		slot[k] = i;
	}
	t->hashes = xcalloc(t->nstrs + 1, sizeof(*t->hashes));
	for (i = 0; i < t->ntabs; i++)
		if (t->tabs[i].strkeys)
			nrk += t->tabs[i].n;
	t->rk = xcalloc(nrk + 1, sizeof(*t->rk));
	for (i = 0; i < t->ntabs; i++) {
		struct wtable *w = &t->tabs[i];

		if (!w->strkeys)
			continue;
		w->first = t->nrk;
		for (j = 0; j < w->n; j++) {
			struct rkey *r = &t->rk[t->nrk++];
			TString *ts = tsvalue(&w->keys[j]);

			k = ((size_t)ts >> 4) & (cap - 1);
			while (key[k] != NULL && key[k] != ts)
				k = (k + 1) & (cap - 1);
			if (key[k] == NULL) {
				free(key);
				free(slot);
				*why = "a table key is not a string of the state";
				return -1;
			}
			r->key = w->keys[j].value_;
			r->keytt = w->keys[j].tt_;
			r->val = w->vals[j].value_;
			r->valtt = w->vals[j].tt_;
			r->sidx = (uint32_t)slot[k];
		}
		free(w->keys);
		free(w->vals);
		w->keys = w->vals = NULL;
	}
	free(key);
	free(slot);
	return 0;
}

/* ---- the strings' hashes for a seed ---- */

static int
cmp_len(const void *a, const void *b)
{
	const TString *x = *(const TString *const *)a;
	const TString *y = *(const TString *const *)b;
	size_t la = tsslen(x), lb = tsslen(y);

	if (la != lb)
		return la < lb ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * t->strs in the order hash_strings wants: by length (so the short
 * strings first, t->nshort of them), the canary last (its length is the
 * call's). The order is nothing else's: the string
 * table's lists are rebuilt from it (their order decides no lookup's
 * outcome, the strings all differ), the tables' keys are found by
 * key_records, which runs after.
 */
static void
order_by_length(struct sb_template *t)
{
	size_t i;

	t->nbylen = t->nstrs;
	for (i = 0; i < t->nstrs; i++)
		if (t->idstr != NULL && t->strs[i] == t->idstr) {
			t->strs[i] = t->strs[t->nstrs - 1];
			t->strs[t->nstrs - 1] = t->idstr;
			t->nbylen = t->nstrs - 1;
			break;
		}
	qsort(t->strs, t->nbylen, sizeof(*t->strs), cmp_len);
	/* (a short string is shorter than any long one) */
	for (t->nshort = 0; t->nshort < t->nbylen &&
	    t->strs[t->nshort]->tt == LUA_VSHRSTR; t->nshort++)
		;
}

/*
 * hash_strings' AVX-512 layout (sb_warm_int.h): the strings of at most
 * HQUAD_MAXLEN bytes (the first ones, by length), 64 to a quad, their
 * bytes transposed. Strings never change, so neither does this. About as
 * many bytes as the strings have, and 0.3 KiB a quad.
 */
static void
hash_layout(struct sb_template *t)
{
	size_t i, k, q, v, off = 0, len, last;

	for (t->nvec = 0; t->nvec < t->nbylen &&
	    tsslen(t->strs[t->nvec]) <= HQUAD_MAXLEN; t->nvec++)
		;
	t->nquads = (t->nvec + HQUAD_LANES - 1) / HQUAD_LANES;
	if (t->nquads == 0)
		return;
	t->quads = xcalloc(t->nquads, sizeof(*t->quads));
	for (q = 0; q < t->nquads; q++) {
		struct hquad *h = &t->quads[q];

		h->first = q * HQUAD_LANES;
		h->n = t->nvec - h->first < HQUAD_LANES ?
		    t->nvec - h->first : HQUAD_LANES;
		for (v = 0; v < 4 && 16 * v < h->n; v++) {
			last = 16 * v + 15 < h->n ? 16 * v + 15 : h->n - 1;
			h->vmax[v] = tsslen(t->strs[h->first + last]);
			h->off[v] = off;
			off += 16 * h->vmax[v];
		}
		h->maxlen = h->vmax[v - 1];
	}
	t->nvbytes = off;
	t->vbytes = xcalloc(off + 1, 1);
	for (q = 0; q < t->nquads; q++) {
		struct hquad *h = &t->quads[q];

		for (k = 0; k < h->n; k++) {
			const TString *ts = t->strs[h->first + k];

			len = tsslen(ts);
			h->len[k] = (uint32_t)len;
			for (i = 0; i < len; i++)
				t->vbytes[h->off[k / 16] + 16 * i + k % 16] =
				    (uint8_t)getstr(ts)[i];
		}
	}
}

/* Is the canary one of the strings the chunk itself made (a constant)? */
static int
proto_uses(const Proto *p, const TString *s)
{
	int i;

	if (p->source == s)
		return 1;
	for (i = 0; i < p->sizek; i++)
		if (ttisstring(&p->k[i]) && tsvalue(&p->k[i]) == s)
			return 1;
	for (i = 0; i < p->sizeupvalues; i++)
		if (p->upvalues[i].name == s)
			return 1;
	for (i = 0; i < p->sizelocvars; i++)
		if (p->locvars[i].varname == s)
			return 1;
	for (i = 0; i < p->sizep; i++)
		if (proto_uses(p->p[i], s))
			return 1;
	return 0;
}

/*
 * Every table the template refills, and the string table, emptied in the
 * image itself (a node: no key, no value, no chain; the string table's
 * lists: none), so that a call's restore copies them in empty and reseed
 * only fills them. The state the image was taken from is not touched.
 */
static int
image_empty_tables(struct sb_template *t, const global_State *g)
{
	size_t i, j, n;
	TString **strt;

	for (i = 0; i < t->ntabs; i++) {
		Table *h = t->tabs[i].t, *ih;
		Node *in;

		n = (size_t)sizenode(h);
		if ((ih = sb_arena_image_edit(t->img, h, sizeof(*h))) == NULL ||
		    (in = sb_arena_image_edit(t->img, h->node,
		    n * sizeof(Node))) == NULL)
			return -1;
		for (j = 0; j < n; j++) {
			gnext(&in[j]) = 0;
			setnilkey(&in[j]);
			setempty(gval(&in[j]));
		}
		ih->lastfree = gnode(h, n);
	}
	if ((strt = sb_arena_image_edit(t->img, g->strt.hash,
	    (size_t)g->strt.size * sizeof(TString *))) == NULL)
		return -1;
	memset(strt, 0, (size_t)g->strt.size * sizeof(TString *));
	return 0;
}

static const char *const lib_names[] = { LUA_STRLIBNAME, LUA_TABLIBNAME,
    LUA_MATHLIBNAME, LUA_UTF8LIBNAME, LUA_COLIBNAME, NULL };

static int
capture_fail(struct capture *c, const char *why)
{
	snprintf(c->why, sizeof(c->why), "%s", why);
	return 0;
}

/*
 * At the pristine point of the template's build: the image, then what
 * reseeding needs, read from the live state (the same addresses).
 */
static int
capture_at(lua_State *L, void *arg)
{
	struct capture *c = arg;
	struct sb_template *t = c->t;
	global_State *g = G(L);
	size_t scap = 0, tcap = 0, i, nshort = 0;
	const char *why;
	Table *libs[8], *gt;
	GCObject *o, *lists[2];
	int k;

	if (c->ctx->limit_err[0] != '\0')
		return capture_fail(c, "a limit was reached while building");
	if (c->rec->overflow)
		return capture_fail(c, "too many luaL_setfuncs calls");
	if ((t->img = sb_arena_save(c->ctx->arena)) == NULL)
		return capture_fail(c, "a block is outside the pinned ranges");
	t->L = L;
	t->chunk = *s2v(L->top - 1);
	if (!ttisLclosure(&t->chunk))
		return capture_fail(c, "no chunk at the pristine point");
	t->mem = c->ctx->mem;
	t->allocd = c->ctx->allocd;
	t->cost = c->ctx->cost;
	t->peak = c->ctx->peak;

	/* the library tables, from _G (raw: nothing of the contract ran) */
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	gt = hvalue(s2v(L->top - 1));
	for (k = 0; lib_names[k] != NULL; k++) {
		if (lua_getfield(L, -1, lib_names[k]) != LUA_TTABLE)
			return capture_fail(c, "a library table is missing");
		libs[k] = hvalue(s2v(L->top - 1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	lists[0] = g->allgc;
	lists[1] = g->fixedgc;
	for (k = 0; k < 2; k++)
		for (o = lists[k]; o != NULL; o = o->next) {
			if (o->tt == LUA_VSHRSTR) {
				push_str(t, &scap, gco2ts(o));
				nshort++;
			} else if (o->tt == LUA_VLNGSTR && gco2ts(o)->extra) {
				push_str(t, &scap, gco2ts(o));
			} else if (o->tt == LUA_VTABLE && !isdummy(gco2t(o))) {
				struct wtable *w = push_tab(t, &tcap, gco2t(o));
				int lib = 0, j;

				for (j = 0; lib_names[j] != NULL; j++)
					if (libs[j] == w->t)
						lib = 1;
				if (lib) {
					if (entries_by_setfuncs(w, c->rec) == -1)
						return capture_fail(c, "a library "
						    "table was not built by "
						    "luaL_setfuncs alone");
				} else if (entries_by_node(w) > 0 && w->t != gt)
					/* removed keys free main positions: a
					 * table that can get new keys would
					 * then need its exact layout */
					return capture_fail(c, "a table other "
					    "than _G has removed keys");
			}
		}
	for (k = 0; lib_names[k] != NULL; k++) {
		for (i = 0; i < t->ntabs; i++)
			if (t->tabs[i].t == libs[k])
				break;
		if (i == t->ntabs || !t->tabs[i].exact)
			return capture_fail(c, "a library table was not found");
	}

	/* the canary: the one string that is the caller's id */
	if (t->idkind != ID_NIL) {
		for (o = g->allgc; o != NULL; o = o->next)
			if ((o->tt == LUA_VSHRSTR || o->tt == LUA_VLNGSTR) &&
			    tsslen(gco2ts(o)) == c->canarylen &&
			    memcmp(getstr(gco2ts(o)), c->canary,
			    c->canarylen) == 0)
				break;
		if (o == NULL)
			return capture_fail(c, "the canary is not in the state");
		t->idstr = gco2ts(o);
		t->idlen = c->canarylen;
		if (proto_uses(getproto(&t->chunk), t->idstr))
			return capture_fail(c, "canary");	/* retried */
	}
	t->setcap = 16;
	while (t->setcap < 2 * nshort + 2)
		t->setcap *= 2;
	t->set = xcalloc(t->setcap, sizeof(*t->set));
	order_by_length(t);
	hash_layout(t);
	if (key_records(t, &why) == -1)
		return capture_fail(c, why);
	for (i = 0; i < t->nstrs; i++)
		if (t->strs[i]->tt == LUA_VSHRSTR && t->strs[i] != t->idstr)
			set_add(t, t->strs[i]);
	if (image_empty_tables(t, g) == -1)
		return capture_fail(c, "a table is outside the image");
	c->ok = 1;
	return 0;
}

/* The check's build: only the image. */
static int
capture_image(lua_State *L, void *arg)
{
	struct capture *c = arg;

	(void)L;
	if (c->ctx->limit_err[0] != '\0')
		return capture_fail(c, "a limit was reached while building");
	if ((c->img = sb_arena_save(c->ctx->arena)) == NULL)
		return capture_fail(c, "a block is outside the pinned ranges");
	c->ok = 1;
	return 0;
}

/* ---- building and restoring ---- */

/* A ctx for building a template: the call's, with a stand-in caller. */
void
warm_build_ctx(struct sb_ctx *b, const struct sb_ctx *ctx, const char *id,
    uint8_t seedbyte)
{
	*b = *ctx;
	b->caller_id = id;
	b->warm = NULL;
	b->writes = NULL;
	b->methods = NULL;
	memset(b->seed, seedbyte, sizeof(b->seed));
	memset(b->reqhash, 0, sizeof(b->reqhash));
	sb_ctx_start(b);
	b->arena = ctx->arena;
}

/* Empty the (taken) arena again after a build. */
int
warm_arena_again(struct sb_ctx *ctx)
{
	sb_arena_put(ctx->arena);
	ctx->arena = sb_arena_get(ctx->limits->memory);
	return ctx->arena != NULL ? 0 : -1;
}

/*
 * Build the state cold with ctx b up to the pristine point; capture it
 * into t if t is not NULL, else into a plain image (the check's).
 */
int
warm_build(struct sb_ctx *b, struct sb_template *t, const char *canary,
    struct arena_image **img, char *why, size_t whylen)
{
	struct recorder rec;
	struct capture c;
	lua_State *L;
	int r;

	memset(&rec, 0, sizeof(rec));
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.ctx = b;
	c.rec = &rec;
	c.canary = canary;
	c.canarylen = canary ? strlen(canary) : 0;
	sb_set_running(b);
	recording = &rec;
	if ((L = sb_newstate(b)) == NULL) {
		recording = NULL;
		snprintf(why, whylen, "the state does not fit the memory limit");
		return -1;
	}
	if (t != NULL) {
		t->top0 = L->top - L->stack;
		t->ncalls0 = L->nCcalls;
	}
	r = sb_construct(L, t != NULL ? capture_at : capture_image, &c);
	recording = NULL;
	if (r == 0 && !c.ok)
		r = -1;
	if (img != NULL)
		*img = c.img;
	else
		sb_arena_image_free(c.img);
	if (r != 0)
		snprintf(why, whylen, "%s", c.why[0] ? c.why :
		    "the build failed");
	sb_dropstate(L);
	return r;
}
