/*
 * sb_warm_restore.c — a warm call's state put back from its template
 * (sb_warm_int.h): the arena image restored, then what a fresh build
 * would make differently for this call: every string's hash for the
 * call's seed (computed as luaS_hash does; 64 strings at a time with
 * AVX-512 where the CPU has it), the string table rechained,
 * the tables with a hash part refilled (the five library tables a
 * contract can add keys to in the exact order luaL_setfuncs inserted
 * them, by Lua's own insertion rules for short-string keys), the caller's
 * id written over the template's canary and the counters moved by its
 * size. sb_warm.c's template check and tests/unit/test-warm.c compare the
 * result with cold builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_CODE 1
#endif

#include "cpu.h"
#include "sb_warm_int.h"
#include "util.h"

/*
 * The hashes of strs[i .. nbylen) for the seed, as luaS_hash computes them
 * (lstring.c: h = seed ^ len, then h ^= (h << 5) + (h >> 2) + byte from
 * the last byte to the first), four strings of the same length at a time:
 * each hash is a chain of dependent steps, four chains keep the core busy.
 * The canary (last, if any) is hashed by luaS_hash itself.
 */
static void
hash_scalar(struct sb_template *t, unsigned int seed, size_t i)
{
	TString **o = t->strs;
	size_t n = t->nbylen, len, l;

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

#ifdef HAVE_AVX512_CODE
/*
 * The same for strs[0 .. nvec), 64 strings at a time (sb_warm_int.h's
 * quads: four vectors of 16 lanes, four independent chains): step i
 * updates the lanes of strings longer than i with their byte i, from the
 * longest string's last byte down.
 */
__attribute__((target("avx512f")))
static void
hash_quads(struct sb_template *t, unsigned int seed)
{
	uint32_t out[HQUAD_LANES];
	size_t q, i, k;

	for (q = 0; q < t->nquads; q++) {
		const struct hquad *hq = &t->quads[q];
		__m512i s = _mm512_set1_epi32((int)seed), len[4], h[4];
		int v;

		for (v = 0; v < 4; v++) {
			len[v] = _mm512_loadu_si512(hq->len + 16 * v);
			h[v] = _mm512_xor_si512(s, len[v]);
		}
		for (i = hq->maxlen; i > 0; i--) {
			__m512i at = _mm512_set1_epi32((int)(i - 1));

			for (v = 0; v < 4; v++) {
				__m512i c, x;
				__mmask16 m;

				if (i > hq->vmax[v])
					continue;
				c = _mm512_cvtepu8_epi32(_mm_loadu_si128(
				    (const __m128i *)(t->vbytes + hq->off[v] +
				    16 * (i - 1))));
				x = _mm512_add_epi32(_mm512_add_epi32(
				    _mm512_slli_epi32(h[v], 5),
				    _mm512_srli_epi32(h[v], 2)), c);
				m = _mm512_cmpgt_epu32_mask(len[v], at);
				h[v] = _mm512_mask_xor_epi32(h[v], m, h[v], x);
			}
		}
		for (v = 0; v < 4; v++)
			_mm512_storeu_si512(out + 16 * v, h[v]);
		for (k = 0; k < hq->n; k++)
			t->hashes[hq->first + k] =
			    t->strs[hq->first + k]->hash = out[k];
	}
}
#endif

/* Every string's hash for the seed. The template check and
 * tests/unit/test-warm.c compare them with Lua's, on either path. */
static void
hash_strings(struct sb_template *t, unsigned int seed)
{
#ifdef HAVE_AVX512_CODE
	if (t->nquads > 0 && vms_cpu_has(VMS_CPU_AVX512)) {
		hash_quads(t, seed);
		hash_scalar(t, seed, t->nvec);
		return;
	}
#endif
	hash_scalar(t, seed, 0);
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

int
warm_restore(struct sb_template *t, struct sb_ctx *ctx)
{
	if (sb_arena_load(ctx->arena, t->img) == -1)
		return -1;
	reseed(t, ctx);
	return 0;
}
