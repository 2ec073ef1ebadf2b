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
 * Files (sb_warm_int.h): this one keeps the templates, one per caller
 * shape, makes and checks them and picks one per call;
 * sb_warm_capture.c builds and captures a template's state;
 * sb_warm_restore.c puts it back for a call.
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

#include "lfunc.h"	/* Lua's internals (our own file calling them) */

#include "sb_warm_int.h"
#include "util.h"

struct sb_warm {
	struct sb_template	*tpl[WARM_TEMPLATES];
	size_t		 ntpl;
	uint64_t	 clock;
	int		 off;		/* disabled (by the engine or a check) */
	char		 why[160];	/* why a check turned it off */
	struct engine_warm stats;
};

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
	}
	free(t->tabs);
	free(t->rk);
	t->rk = NULL;
	t->nrk = 0;
	t->nbylen = t->nshort = 0;
	free(t->strs);
	free(t->hashes);
	free(t->quads);
	free(t->vbytes);
	free(t->set);
	sb_arena_image_free(t->img);
	t->tabs = NULL;
	t->strs = NULL;
	t->hashes = NULL;
	t->quads = NULL;
	t->vbytes = NULL;
	t->nquads = t->nvec = t->nvbytes = 0;
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
			    w->tpl[i]->setcap * sizeof(TString *) +
			    w->tpl[i]->nquads * sizeof(struct hquad) +
			    w->tpl[i]->nvbytes +
			    w->tpl[i]->nrk * sizeof(struct rkey);
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
		warm_build_ctx(&b, ctx, canary, 0x11);
		r = warm_build(&b, t, canary, NULL, why, sizeof(why));
		if (warm_arena_again(ctx) == -1) {
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

		warm_build_ctx(&b2, ctx, canary, seedbyte);
		r = warm_build(&b2, NULL, canary, &cold, why, sizeof(why));
		if (warm_arena_again(ctx) == -1)
			r = -1;
		if (r != 0)
			break;
		v = b2;
		v.arena = ctx->arena;
		sb_set_running(&v);
		if (warm_restore(t, &v) == -1)
			r = -1;
		else
			r = check(t, &v, cold, &b2, why, sizeof(why));
		sb_dropstate(t->L);
		sb_arena_image_free(cold);
		cold = NULL;
		if (warm_arena_again(ctx) == -1)
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
	if (kind == ID_SHORT && warm_set_has(t, ctx->caller_id, len))
		goto cold;
	if (kind != ID_NIL && sizelstring(len) > sizelstring(t->idlen) &&
	    t->peak + (sizelstring(len) - sizelstring(t->idlen)) >
	    ctx->limits->memory)
		goto cold;
	if (warm_restore(t, ctx) == -1)
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
