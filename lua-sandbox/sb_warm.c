/*
 * sb_warm.c — warm calls: a contract's state built once up to the pristine
 * point (sandbox.c: the environment built and the chunk loaded, nothing of
 * the contract run), kept as an image of the arena (sb_arena.c), and put
 * back for each call instead of building it again. The restored state is
 * the one a fresh build would make for that call, with the same objects at
 * the same arena offsets, the same free lists, heap and instruction
 * counters, so nothing a contract can observe differs (vms-contract(7),
 * "Warm calls"); no contract code ever ran in it, so nothing a call does
 * can reach the next one.
 *
 * What a fresh build makes differently for each call, and how the image
 * is brought to it:
 *  - the string-hash seed (vms_luauser.h, change 1): every string's hash
 *    is computed again and the string table rechained; every table with
 *    a hash part is refilled. The library tables a contract can add keys
 *    to (string, table, math, utf8, coroutine) get the exact layout of a
 *    fresh build: their keys are inserted again, with Lua's own
 *    luaH_newkey, in the order luaL_setfuncs inserted them (recorded while
 *    the template was built: vms_luauser.h, change 8). In the others no
 *    key can ever be added, so only their contents matter (no rehash can
 *    follow whose timing would depend on the layout).
 *  - the caller (System.caller.id): one string, made between the same
 *    allocations, whose size class decides the offsets of all later ones.
 *    A template is made per shape (no id / a short string / a long one,
 *    and its size class; the auth string exactly) with a stand-in id (a
 *    canary containing 0xff) and the call's id is written over it; the
 *    heap and instruction counters move by the difference in size. A
 *    short id that is the text of any other string of the state would
 *    have been found interned (or found by a later string) instead of
 *    made: such calls, and any shape without a template, run cold.
 *
 * A template is checked when it is made: the state is built a second time
 * with another seed, and the image restored for that seed must equal it
 * (string hashes, the library tables' nodes, arena and counters). If it
 * does not, warm calls stay off for the engine. tests/unit/test-warm.c
 * compares warm and cold calls byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lstate.h"	/* Lua's internals (our own file calling them) */
#include "lstring.h"
#include "ltable.h"
#include "lgc.h"
#include "lfunc.h"

#include "sandbox.h"
#include "util.h"

#define WARM_TEMPLATES	8	/* shapes kept per engine */
#define WARM_RECORDS	64	/* luaL_setfuncs calls while building */
#define WARM_TRIES	4	/* canaries tried before giving up a shape */

enum { ID_NIL, ID_SHORT, ID_LONG };

/* A table of the pristine state and what refills it. */
struct wtable {
	Table		*t;
	int		 exact;		/* insertion order (else node order) */
	int		 strkeys;	/* every key a short string */
	size_t		 n;
	TValue		*keys, *vals;
	size_t		*kidx;		/* strkeys: each key's index in strs */
	size_t		*later;		/* refill_plain's scratch */
};

struct sb_template {
	int		 idkind;
	size_t		 idclass;	/* size class of the id string */
	char		*auth;
	int		 failed;	/* this shape cannot be warm */
	uint64_t	 lastuse;

	struct arena_image *img;
	lua_State	*L;
	TValue		 chunk;		/* the loaded chunk */
	TString		*idstr;		/* the canary, overwritten per call */
	size_t		 idlen;
	ptrdiff_t	 top0;		/* the state before the first pcall */
	l_uint32	 ncalls0;
	size_t		 mem, allocd, peak;	/* counters at the point */
	uint64_t	 cost;

	TString		**strs;		/* strings whose hash is seeded */
	unsigned int	*hashes;	/* ... their hashes, this call's */
	size_t		 nstrs;
	size_t		 nbylen;	/* strs but the canary (the last) */
	struct wtable	*tabs;
	size_t		 ntabs;
	TString		**set;		/* every short string but the canary */
	size_t		 setcap;	/* (open addressing, power of 2) */
};

struct sb_warm {
	struct sb_template	*tpl[WARM_TEMPLATES];
	size_t		 ntpl;
	uint64_t	 clock;
	int		 off;		/* disabled (by the engine or a check) */
	char		 why[160];	/* why a check turned it off */
	struct engine_warm stats;
};

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

/* ---- engine-facing ---- */

struct sb_warm *
sb_warm_new(void)
{
	return xcalloc(1, sizeof(struct sb_warm));
}

/* Forget what a build captured; the shape stays. */
static void
template_reset(struct sb_template *t)
{
	size_t i;

	for (i = 0; i < t->ntabs; i++) {
		free(t->tabs[i].keys);
		free(t->tabs[i].vals);
		free(t->tabs[i].later);
		free(t->tabs[i].kidx);
	}
	free(t->tabs);
	t->nbylen = 0;
	free(t->strs);
	free(t->hashes);
	free(t->set);
	sb_arena_image_free(t->img);
	t->tabs = NULL;
	t->strs = NULL;
	t->hashes = NULL;
	t->set = NULL;
	t->img = NULL;
	t->ntabs = t->nstrs = t->setcap = 0;
	t->idstr = NULL;
	t->L = NULL;
}

static void
template_free(struct sb_template *t)
{
	if (t == NULL)
		return;
	template_reset(t);
	free(t->auth);
	free(t);
}

void
sb_warm_free(struct sb_warm *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->ntpl; i++)
		template_free(w->tpl[i]);
	free(w);
}

/* Off also frees the templates (their memory is what idle costs). */
void
sb_warm_enable(struct sb_warm *w, int on)
{
	size_t i;

	w->off = !on;
	if (on)
		return;
	for (i = 0; i < w->ntpl; i++)
		template_free(w->tpl[i]);
	w->ntpl = 0;
}

void
sb_warm_stats(const struct sb_warm *w, struct engine_warm *s)
{
	size_t i;

	*s = w->stats;
	s->templates = 0;
	s->bytes = 0;
	for (i = 0; i < w->ntpl; i++)
		if (w->tpl[i]->img != NULL) {
			s->templates++;
			s->bytes += sb_arena_image_size(w->tpl[i]->img) +
			    w->tpl[i]->nstrs * sizeof(TString *) +
			    w->tpl[i]->setcap * sizeof(TString *);
		}
	s->off = w->off;
	snprintf(s->why, sizeof(s->why), "%s", w->why);
}

/* ---- the shape of a call's caller ---- */

static size_t
class_of(size_t n)
{
	return (n + 15) / 16 - 1;
}

static void
shape_of(const struct sb_ctx *ctx, int *kind, size_t *cls)
{
	size_t len;

	if (ctx->caller_id == NULL) {
		*kind = ID_NIL;
		*cls = 0;
		return;
	}
	len = strlen(ctx->caller_id);
	*kind = len <= LUAI_MAXSHORTLEN ? ID_SHORT : ID_LONG;
	*cls = class_of(sizelstring(len));
}

/* ---- the string set (every short string of the template) ---- */

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
static int
set_has(const struct sb_template *t, const char *s, size_t len)
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
	w->later = xcalloc(w->n + 1, sizeof(*w->later));
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
 * For the tables refill_plain() fills: where each key is in t->strs, so
 * that the refill reads this call's hashes from one array (t->hashes).
 */
static int
key_indices(struct sb_template *t)
{
	size_t cap = 16, i, j, k, *slot;
	TString **key;

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
	for (i = 0; i < t->ntabs; i++) {
		struct wtable *w = &t->tabs[i];

		if (w->exact || !w->strkeys)
			continue;
		w->kidx = xcalloc(w->n + 1, sizeof(*w->kidx));
		for (j = 0; j < w->n; j++) {
			TString *ts = tsvalue(&w->keys[j]);

			k = ((size_t)ts >> 4) & (cap - 1);
			while (key[k] != NULL && key[k] != ts)
				k = (k + 1) & (cap - 1);
			if (key[k] == NULL) {
				free(key);
				free(slot);
				return -1;
			}
			w->kidx[j] = slot[k];
		}
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
 * t->strs in the order hash_strings wants: by length, the canary last
 * (its length is the call's). The order is nothing else's: the string
 * table's lists are rebuilt from it (their order decides no lookup's
 * outcome, the strings all differ), the tables' keys are found by
 * key_indices, which runs after.
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
}

/*
 * Every string's hash for the seed, as luaS_hash computes it (lstring.c:
 * h = seed ^ len, then h ^= (h << 5) + (h >> 2) + byte from the last byte
 * to the first), four strings of the same length at a time: each hash is
 * a chain of dependent steps, four chains keep the core busy. The canary
 * (last, if any) is hashed by luaS_hash itself. The template check and
 * tests/unit/test-warm.c compare them with Lua's.
 */
static void
hash_strings(struct sb_template *t, unsigned int seed)
{
	TString **o = t->strs;
	size_t i = 0, n = t->nbylen, len, l;

	while (i < n) {
		TString *a = o[i];

		len = tsslen(a);
		if (i + 4 <= n && tsslen(o[i + 3]) == len) {
			TString *b = o[i + 1], *c = o[i + 2], *d = o[i + 3];
			const unsigned char *sa = (const unsigned char *)getstr(a),
			    *sb = (const unsigned char *)getstr(b),
			    *sc = (const unsigned char *)getstr(c),
			    *sd = (const unsigned char *)getstr(d);
			unsigned int ha = seed ^ (unsigned int)len, hb = ha,
			    hc = ha, hd = ha;

			for (l = len; l > 0; l--) {
				ha ^= (ha << 5) + (ha >> 2) + sa[l - 1];
				hb ^= (hb << 5) + (hb >> 2) + sb[l - 1];
				hc ^= (hc << 5) + (hc >> 2) + sc[l - 1];
				hd ^= (hd << 5) + (hd >> 2) + sd[l - 1];
			}
			t->hashes[i] = a->hash = ha;
			t->hashes[i + 1] = b->hash = hb;
			t->hashes[i + 2] = c->hash = hc;
			t->hashes[i + 3] = d->hash = hd;
			i += 4;
			continue;
		}
		t->hashes[i] = a->hash = luaS_hash(getstr(a), len, seed);
		i++;
	}
	for (; i < t->nstrs; i++)
		t->hashes[i] = o[i]->hash = luaS_hash(getstr(o[i]),
		    tsslen(o[i]), seed);
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
	if (key_indices(t) == -1)
		return capture_fail(c, "a table key is not a string of the "
		    "state");
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
static void
build_ctx(struct sb_ctx *b, const struct sb_ctx *ctx, const char *id,
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
static int
arena_again(struct sb_ctx *ctx)
{
	sb_arena_put(ctx->arena);
	ctx->arena = sb_arena_get(ctx->limits->memory);
	return ctx->arena != NULL ? 0 : -1;
}

/*
 * Build the state cold with ctx b up to the pristine point; capture it
 * into t if t is not NULL, else into a plain image (the check's).
 */
static int
build(struct sb_ctx *b, struct sb_template *t, const char *canary,
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

/*
 * Refill a table that can never get a new key (not a library table) whose
 * keys are all short strings, in any valid layout: first every key whose
 * main position is free, then the others in free nodes taken from the top
 * down (as getfreepos takes them), each chained after its main position,
 * which holds a key of its own (so nothing has to move). Every node above
 * lastfree is taken, as in any table Lua built by insertions only.
 */
static void
refill_plain(struct wtable *w, const unsigned int *hashes)
{
	Table *h = w->t;
	Node *node = h->node, *lf, *mp, *f;
	size_t size = (size_t)sizenode(h), j, nlater = 0;

	for (j = 0; j < w->n; j++) {
		mp = node + lmod(hashes[w->kidx[j]], size);
		if (!keyisnil(mp)) {
			w->later[nlater++] = j;
			continue;
		}
		mp->u.key_val = w->keys[j].value_;
		mp->u.key_tt = w->keys[j].tt_;
		gval(mp)->value_ = w->vals[j].value_;
		settt_(gval(mp), rawtt(&w->vals[j]));
	}
	lf = node + size;
	while (nlater-- > 0) {
		j = w->later[nlater];
		mp = node + lmod(hashes[w->kidx[j]], size);
		do
			f = --lf;
		while (!keyisnil(f));
		f->u.key_val = w->keys[j].value_;
		f->u.key_tt = w->keys[j].tt_;
		gval(f)->value_ = w->vals[j].value_;
		settt_(gval(f), rawtt(&w->vals[j]));
		gnext(f) = gnext(mp) != 0 ? (int)((mp + gnext(mp)) - f) : 0;
		gnext(mp) = (int)(f - mp);
	}
	h->lastfree = lf;
}

/*
 * Insert the short-string key k with value v into h exactly as Lua's
 * luaH_newkey (ltable.c, 5.4.4) does, for a table whose keys are all short
 * strings already hashed for this seed: the same main positions, the same
 * free node taken from the top down, the same moves of a colliding node
 * out of another's main position, the same barrier. Without its generic
 * key dispatch, float and nil checks. No free node (which a library
 * table's refill never meets: it was sized by luaL_setfuncs): Lua's own
 * luaH_newkey, which grows the table as it would have.
 */
static void
newkey_str(lua_State *L, Table *h, const TValue *k, const TValue *v)
{
	size_t size = (size_t)sizenode(h);
	Node *mp = gnode(h, lmod(tsvalue(k)->hash, size)), *f, *othern;

	if (!isempty(gval(mp))) {		/* main position taken */
		f = NULL;
		while (h->lastfree > h->node) {	/* getfreepos */
			h->lastfree--;
			if (keyisnil(h->lastfree)) {
				f = h->lastfree;
				break;
			}
		}
		if (f == NULL) {
			luaH_newkey(L, h, k, (TValue *)v);
			return;
		}
		othern = gnode(h, lmod(keystrval(mp)->hash, size));
		if (othern != mp) {	/* the colliding node moves to f */
			while (othern + gnext(othern) != mp)
				othern += gnext(othern);
			gnext(othern) = (int)(f - othern);
			*f = *mp;
			if (gnext(mp) != 0) {
				gnext(f) += (int)(mp - f);
				gnext(mp) = 0;
			}
			setempty(gval(mp));
		} else {		/* the new key goes to f */
			if (gnext(mp) != 0)
				gnext(f) = (int)((mp + gnext(mp)) - f);
			gnext(mp) = (int)(f - mp);
			mp = f;
		}
	}
	setnodekey(L, mp, k);
	luaC_barrierback(L, obj2gco(h), k);
	setobj2t(L, gval(mp), v);
}

/*
 * Bring the image of t, just loaded into the arena, to what a fresh build
 * makes for ctx: caller, seeds, counters; then rewind the thread to
 * before its first call. Returns the state.
 */
static lua_State *
reseed(struct sb_template *t, struct sb_ctx *ctx)
{
	lua_State *L = t->L;
	global_State *g = G(L);
	unsigned int seed = ctx->strseed;
	size_t i, j, len = 0;
	TValue tmp;
	l_mem delta = 0;

	g->ud = ctx;
	*(struct sb_ctx **)lua_getextraspace(L) = ctx;
	g->seed = seed;

	ctx->mem = t->mem;
	ctx->allocd = t->allocd;
	ctx->cost = t->cost;
	ctx->peak = t->peak;
	if (t->idkind != ID_NIL) {
		TString *ts = t->idstr;

		len = strlen(ctx->caller_id);
		memcpy(getstr(ts), ctx->caller_id, len + 1);
		if (t->idkind == ID_SHORT)
			ts->shrlen = (lu_byte)len;
		else
			ts->u.lnglen = len;
		delta = (l_mem)sizelstring(len) - (l_mem)sizelstring(t->idlen);
		ctx->mem += (size_t)delta;
		ctx->allocd += (size_t)delta;
		ctx->peak += (size_t)delta;
		ctx->cost = ctx->cost - sizelstring(t->idlen) / SB_ALLOC_UNIT +
		    sizelstring(len) / SB_ALLOC_UNIT;
		g->GCdebt += delta;
	}

	hash_strings(t, seed);
	/* (the string table and the tables come in empty: the image's are,
	 * image_empty_tables) */
	for (i = 0; i < t->nstrs; i++) {
		TString *ts = t->strs[i];
		TString **list;

		if (ts->tt != LUA_VSHRSTR)
			continue;
		list = &g->strt.hash[lmod(ts->hash, g->strt.size)];
		ts->u.hnext = *list;
		*list = ts;
	}

	for (i = 0; i < t->ntabs; i++) {
		struct wtable *w = &t->tabs[i];
		Table *h = w->t;

		if (!w->exact && w->strkeys) {
			refill_plain(w, t->hashes);
			continue;
		}
		setbtvalue(&tmp);
		for (j = 0; j < w->n; j++) {
			const TValue *v = isempty(&w->vals[j]) ? &tmp :
			    &w->vals[j];

			if (w->strkeys)
				newkey_str(L, h, &w->keys[j], v);
			else
				luaH_newkey(L, h, &w->keys[j], (TValue *)v);
		}
		/* keys whose value was removed (after every insertion, as
		 * while building: a removal frees a main position) */
		for (j = 0; j < w->n; j++)
			if (isempty(&w->vals[j])) {
				/* (a node's value is not a whole TValue:
				 * its padding holds the key's fields) */
				TValue *v = (TValue *)luaH_get(h, &w->keys[j]);

				setobj(L, v, &w->vals[j]);
			}
	}

	L->ci = &L->base_ci;
	L->top = L->stack + t->top0;
	L->nCcalls = t->ncalls0;
	L->errfunc = 0;
	L->errorJmp = NULL;
	L->status = LUA_OK;
	L->allowhook = 1;
	L->hook = NULL;
	L->hookmask = 0;
	L->basehookcount = 0;
	L->hookcount = 0;
	return L;
}

static int
load_into(struct sb_template *t, struct sb_ctx *ctx)
{
	if (sb_arena_load(ctx->arena, t->img) == -1)
		return -1;
	reseed(t, ctx);
	return 0;
}

/* Same key (type and bits) and same value (type and bits, unless empty). */
static int
same_key(const Node *a, const Node *b)
{
	return keytt(a) == keytt(b) && (keyisnil(a) ||
	    memcmp(&a->u.key_val, &b->u.key_val, sizeof(Value)) == 0);
}

static int
same_val(const TValue *a, const TValue *b)
{
	return rawtt(a) == rawtt(b) && (isempty(a) ||
	    memcmp(&a->value_, &b->value_, sizeof(Value)) == 0);
}

/* The table h (restored) against its copy in the cold image. */
static int
same_table(const struct wtable *w, const struct arena_image *cold)
{
	const Table *h = w->t, *c = sb_arena_image_at(cold, h);
	const Node *cn;
	size_t i, j, n = (size_t)sizenode(h);

	if (c == NULL || c->lsizenode != h->lsizenode || c->node != h->node ||
	    c->flags != h->flags || c->alimit != h->alimit ||
	    c->array != h->array || c->metatable != h->metatable ||
	    (cn = sb_arena_image_at(cold, h->node)) == NULL)
		return 0;
	if (w->exact) {		/* the layout itself */
		if (c->lastfree != h->lastfree)
			return 0;
		for (i = 0; i < n; i++)
			if (gnext(gnode(h, i)) != gnext(&cn[i]) ||
			    !same_key(gnode(h, i), &cn[i]) ||
			    !same_val(gval(gnode(h, i)), gval(&cn[i])))
				return 0;
		return 1;
	}
	/* the contents: every key of one is a key of the other */
	for (i = 0; i < n; i++) {
		const Node *x = gnode(h, i);
		int found = keyisnil(x);

		for (j = 0; j < n && !found; j++)
			if (same_key(x, &cn[j]))
				found = same_val(gval(x), gval(&cn[j])) ? 1 : -1;
		if (found != 1)
			return 0;
	}
	for (i = j = 0; i < n; i++)
		j += !keyisnil(gnode(h, i)) - !keyisnil(&cn[i]);
	return j == 0;
}

/*
 * Compare the restored state with a cold build's image taken for the same
 * seed and canary: arena and counters, every string's hash, every table
 * (the library tables' nodes exactly, the others' contents).
 */
static int
check(struct sb_template *t, const struct sb_ctx *ctx,
    const struct arena_image *cold, const struct sb_ctx *b, char *why,
    size_t whylen)
{
	size_t i;

	if (!sb_arena_same(ctx->arena, cold)) {
		snprintf(why, whylen, "arena differs");
		return -1;
	}
	if (ctx->mem != b->mem || ctx->allocd != b->allocd ||
	    ctx->cost != b->cost || ctx->peak != b->peak) {
		snprintf(why, whylen, "counters differ");
		return -1;
	}
	for (i = 0; i < t->nstrs; i++) {
		const TString *w = t->strs[i], *c = sb_arena_image_at(cold, w);

		if (c == NULL || w->hash != c->hash || w->extra != c->extra) {
			snprintf(why, whylen, "a string hash differs");
			return -1;
		}
	}
	for (i = 0; i < t->ntabs; i++)
		if (!same_table(&t->tabs[i], cold)) {
			snprintf(why, whylen, "a %stable differs",
			    t->tabs[i].exact ? "library " : "");
			return -1;
		}
	return 0;
}

/* The canary for a shape: a string no contract text can be (0xff). */
static char *
canary_for(int kind, size_t len, int attempt)
{
	char *s = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (char)(i == 0 ? 0xff : 0xa0 + (attempt * 7 + i) % 31);
	s[len] = '\0';
	(void)kind;
	return s;
}

/* Make the template of ctx's shape; 0, or -1 (t->failed is then set). */
static int
make_template(struct sb_warm *w, struct sb_template *t, struct sb_ctx *ctx)
{
	struct arena_image *cold = NULL;
	struct sb_ctx b, b2;
	char *canary = NULL, why[160];
	size_t len = 0;
	int attempt, seedbyte, r = -1;

	if (t->idkind != ID_NIL) {
		len = strlen(ctx->caller_id);
		if (t->idkind == ID_SHORT && len == 0)
			len = 1;	/* "" may already exist */
	}
	for (attempt = 0; attempt < WARM_TRIES; attempt++) {
		free(canary);
		canary = t->idkind == ID_NIL ? NULL :
		    canary_for(t->idkind, len, attempt);
		build_ctx(&b, ctx, canary, 0x11);
		r = build(&b, t, canary, NULL, why, sizeof(why));
		if (arena_again(ctx) == -1) {
			r = -1;
			break;
		}
		if (r == 0 || strcmp(why, "canary") != 0)
			break;
		/* the chunk holds the canary's text: another one */
		template_reset(t);
	}
	/* the check: cold builds with other seeds against the image
	 * restored for them */
	for (seedbyte = 0x22; r == 0 && seedbyte <= 0x44; seedbyte += 0x11) {
		struct sb_ctx v;

		build_ctx(&b2, ctx, canary, seedbyte);
		r = build(&b2, NULL, canary, &cold, why, sizeof(why));
		if (arena_again(ctx) == -1)
			r = -1;
		if (r != 0)
			break;
		v = b2;
		v.arena = ctx->arena;
		sb_set_running(&v);
		if (load_into(t, &v) == -1)
			r = -1;
		else
			r = check(t, &v, cold, &b2, why, sizeof(why));
		sb_dropstate(t->L);
		sb_arena_image_free(cold);
		cold = NULL;
		if (arena_again(ctx) == -1)
			r = -1;
		if (r == -1) {
			w->off = 1;
			snprintf(w->why, sizeof(w->why), "template check "
			    "failed: %.120s", why);
		}
	}
	sb_arena_image_free(cold);
	free(canary);
	sb_set_running(ctx);
	if (r == -1) {
		template_reset(t);
		t->failed = 1;
		w->stats.failed++;
	} else
		w->stats.builds++;
	return r;
}

/* Pick a template slot for a new shape, evicting the least recent. */
static struct sb_template *
new_template(struct sb_warm *w, int kind, size_t cls, const char *auth)
{
	struct sb_template *t;
	size_t i, old = 0;

	if (w->ntpl == WARM_TEMPLATES) {
		for (i = 1; i < w->ntpl; i++)
			if (w->tpl[i]->lastuse < w->tpl[old]->lastuse)
				old = i;
		template_free(w->tpl[old]);
		w->tpl[old] = w->tpl[--w->ntpl];
	}
	t = xcalloc(1, sizeof(*t));
	t->idkind = kind;
	t->idclass = cls;
	t->auth = xstrdup(auth);
	w->tpl[w->ntpl++] = t;
	return t;
}

/*
 * The state of a call, restored at the pristine point (ctx's arena taken
 * and empty, ctx started): the template of its shape, made now if there
 * is none. NULL: run the call cold (ctx and the arena are as they were).
 */
lua_State *
sb_warm_load(struct sb_warm *w, struct sb_ctx *ctx)
{
	struct sb_template *t = NULL;
	const char *auth = ctx->caller_auth ? ctx->caller_auth : "anonymous";
	size_t cls, i, len = 0;
	int kind;

	ctx->warmed = 0;
	ctx->warm_tpl = NULL;
	if (w->off)
		return NULL;
	shape_of(ctx, &kind, &cls);
	if (kind != ID_NIL)
		len = strlen(ctx->caller_id);
	for (i = 0; i < w->ntpl; i++) {
		struct sb_template *x = w->tpl[i];

		if (x->idkind == kind && x->idclass == cls &&
		    strcmp(x->auth, auth) == 0 &&
		    (x->failed || sb_arena_fits(ctx->arena, x->img))) {
			t = x;
			break;
		}
	}
	sb_set_running(ctx);
	if (t == NULL) {
		t = new_template(w, kind, cls, auth);
		if (make_template(w, t, ctx) == -1 || ctx->arena == NULL)
			goto cold;
	}
	t->lastuse = ++w->clock;
	if (t->failed)
		goto cold;
	/* a short id made by this very state would not be a new string */
	if (kind == ID_SHORT && set_has(t, ctx->caller_id, len))
		goto cold;
	if (kind != ID_NIL && sizelstring(len) > sizelstring(t->idlen) &&
	    t->peak + (sizelstring(len) - sizelstring(t->idlen)) >
	    ctx->limits->memory)
		goto cold;
	if (load_into(t, ctx) == -1)
		goto cold;
	ctx->warmed = 1;
	ctx->warm_tpl = t;
	w->stats.warm++;
	return t->L;
cold:
	w->stats.cold++;
	return NULL;
}

/* In sb_main_warm: the chunk, where the cold build leaves it. */
void
sb_warm_push_chunk(lua_State *L)
{
	const struct sb_template *t = sb_getctx(L)->warm_tpl;

	setobj2s(L, L->top, &t->chunk);
	L->top++;
}
