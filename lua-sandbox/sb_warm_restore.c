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
 * String i's hash for the call: kept in hashes (for the tables' refill)
 * and in the string; a short one (i < nshort) also goes at the head of
 * its list in the string table, which the image has empty: the strings
 * are chained in the order of strs, as they are hashed.
 */
static inline void
put_hash(struct sb_template *t, stringtable *tb, size_t i, unsigned int h)
{
	TString *ts = t->strs[i], **list;

	t->hashes[i] = ts->hash = h;
	if (i < t->nshort) {
		list = &tb->hash[lmod(h, tb->size)];
		ts->u.hnext = *list;
		*list = ts;
	}
}

/*
 * The hashes of strs[i .. nbylen) for the seed, as luaS_hash computes them
 * (lstring.c: h = seed ^ len, then h ^= (h << 5) + (h >> 2) + byte from
 * the last byte to the first), four strings of the same length at a time:
 * each hash is a chain of dependent steps, four chains keep the core busy.
 * The canary (last, if any) is hashed by luaS_hash itself.
 */
static void
hash_scalar(struct sb_template *t, stringtable *tb, unsigned int seed,
    size_t i)
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
			put_hash(t, tb, i, ha);
			put_hash(t, tb, i + 1, hb);
			put_hash(t, tb, i + 2, hc);
			put_hash(t, tb, i + 3, hd);
			i += 4;
			continue;
		}
		put_hash(t, tb, i, luaS_hash(getstr(a), len, seed));
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
hash_quads(struct sb_template *t, stringtable *tb, unsigned int seed)
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
			put_hash(t, tb, hq->first + k, out[k]);
	}
}
#endif

/* Every string's hash for the seed, the short ones chained in tb. The
 * template check and tests/unit/test-warm.c compare them with Lua's, on
 * either path. */
static void
hash_strings(struct sb_template *t, stringtable *tb, unsigned int seed)
{
#ifdef HAVE_AVX512_CODE
	if (t->nquads > 0 && vms_cpu_has(VMS_CPU_AVX512)) {
		hash_quads(t, tb, seed);
		hash_scalar(t, tb, seed, t->nvec);
		return;
	}
#endif
	hash_scalar(t, tb, seed, 0);
}

/* A node's key and value from entry r. */
static inline void
put_entry(Node *d, const struct rkey *r)
{
	d->u.key_val = r->key;
	d->u.key_tt = r->keytt;
	d->u.value_ = r->val;
	d->u.tt_ = r->valtt;
}

/* The highest node below lf whose bit in occ is clear, or -1. */
static inline int
free_below(uint64_t occ, int lf)
{
	uint64_t m = lf >= 64 ? ~occ : ~occ & (((uint64_t)1 << lf) - 1);

	return m != 0 ? 63 - __builtin_clzll(m) : -1;
}

/*
 * Refill a table that can never get a new key (not a library table) whose
 * keys are all short strings, in any valid layout: first every key whose
 * main position is free, then the others in free nodes taken from the top
 * down (as getfreepos takes them), each chained after its main position,
 * which holds a key of its own (so nothing has to move). Every node above
 * lastfree is taken, as in any table Lua built by insertions only. Which
 * nodes are taken is kept in a word, a bit a node (the capture made sure
 * of at most WARM_REFILL_NODES), so that the first pass reads no node, and
 * writes a key whose main position is taken to a spare node rather than
 * branch on it (a branch on the seed, mispredicted as often as a key
 * collides).
 */
static void
refill_plain(struct sb_template *t, const struct wtable *w)
{
	Table *h = w->t;
	Node *node = h->node, spare, *mp, *f;
	int size = sizenode(h), lf = size, p;
	const struct rkey *r = t->rk + w->first;
	uint64_t occ = 0, bit;
	uint8_t later[WARM_REFILL_NODES], pos[WARM_REFILL_NODES];
	size_t j, nlater = 0, taken;

	for (j = 0; j < w->n; j++) {
		p = lmod(t->hashes[r[j].sidx], size);
		bit = (uint64_t)1 << p;
		taken = (occ & bit) != 0;
		occ |= bit;
		pos[j] = (uint8_t)p;
		later[nlater] = (uint8_t)j;
		nlater += taken;
		put_entry(taken ? &spare : node + p, &r[j]);
	}
	while (nlater-- > 0) {
		j = later[nlater];
		mp = node + pos[j];
		lf = free_below(occ, lf);	/* (n <= size: there is one) */
		occ |= (uint64_t)1 << lf;
		f = node + lf;
		put_entry(f, &r[j]);
		gnext(f) = gnext(mp) != 0 ? (int)((mp + gnext(mp)) - f) : 0;
		gnext(mp) = (int)(f - mp);
	}
	h->lastfree = node + lf;
}

/*
 * Insert the entries of a library table (at most WARM_REFILL_NODES nodes,
 * as the capture made sure), keys all short strings, exactly as Lua's
 * luaH_newkey (ltable.c, 5.4.4) inserts them one after the other into the
 * empty table: the same main positions, the same free node taken from the
 * top down, the same moves of a colliding node out of another's main
 * position. Played in a word and small arrays (which nodes are taken,
 * which entry a node holds, each node's next), then the nodes written
 * once, then luaH_newkey's barrier. Keys whose value was removed count as
 * taken, as while building (their value was removed after every
 * insertion). There is always a free node below lastfree (the nodes above
 * it stay taken, and no more keys go in than the table has nodes): -1,
 * the nodes untouched, only if that did not hold.
 */
static int
refill_exact(lua_State *L, struct sb_template *t, const struct wtable *w)
{
	Table *h = w->t;
	Node *node = h->node;
	int size = sizenode(h), lf = size, mp, f, o;
	const struct rkey *r = t->rk + w->first;
	uint64_t occ = 0, m;
	int8_t nxt[WARM_REFILL_NODES];
	uint8_t who[WARM_REFILL_NODES], pos[WARM_REFILL_NODES];
	size_t j;
	TValue k;

	memset(nxt, 0, sizeof(nxt));
	for (j = 0; j < w->n; j++) {
		mp = lmod(t->hashes[r[j].sidx], size);
		pos[j] = (uint8_t)mp;
		if (occ >> mp & 1) {		/* main position taken */
			if ((f = free_below(occ, lf)) == -1)
				return -1;
			lf = f;
			o = pos[who[mp]];
			if (o != mp) {	/* the colliding entry moves to f */
				while (o + nxt[o] != mp)
					o += nxt[o];
				nxt[o] = (int8_t)(f - o);
				who[f] = who[mp];
				nxt[f] = nxt[mp];
				if (nxt[mp] != 0) {
					nxt[f] = (int8_t)(nxt[f] + mp - f);
					nxt[mp] = 0;
				}
				occ |= (uint64_t)1 << f;
			} else {	/* the new entry goes to f */
				if (nxt[mp] != 0)
					nxt[f] = (int8_t)(mp + nxt[mp] - f);
				nxt[mp] = (int8_t)(f - mp);
				mp = f;
			}
		}
		occ |= (uint64_t)1 << mp;
		who[mp] = (uint8_t)j;
	}
	for (m = occ; m != 0; m &= m - 1) {
		mp = __builtin_ctzll(m);
		put_entry(node + mp, &r[who[mp]]);
		gnext(node + mp) = nxt[mp];
	}
	h->lastfree = node + lf;
	for (j = 0; j < w->n; j++) {
		k.value_ = r[j].key;
		k.tt_ = r[j].keytt;
		luaC_barrierback(L, obj2gco(h), &k);
	}
	return 0;
}

/*
 * Insert the entries of a table whose keys are not all short strings with
 * Lua's own luaH_newkey, in order. Keys whose value was removed are
 * inserted with a value, which is removed after every insertion, as while
 * building.
 */
static void
refill_lua(lua_State *L, const struct wtable *w)
{
	Table *h = w->t;
	TValue tmp;
	size_t j;

	setbtvalue(&tmp);
	for (j = 0; j < w->n; j++)
		luaH_newkey(L, h, &w->keys[j], isempty(&w->vals[j]) ? &tmp :
		    &w->vals[j]);
	for (j = 0; j < w->n; j++)
		if (isempty(&w->vals[j])) {
			/* (a node's value is not a whole TValue: its
			 * padding holds the key's fields) */
			TValue *v = (TValue *)luaH_get(h, &w->keys[j]);

			setobj(L, v, &w->vals[j]);
		}
}

/*
 * Bring the image of t, just loaded into the arena, to what a fresh build
 * makes for ctx: caller, seeds, counters; then rewind the thread to
 * before its first call. Returns the state, or NULL (refill_exact).
 */
static lua_State *
reseed(struct sb_template *t, struct sb_ctx *ctx)
{
	lua_State *L = t->L;
	global_State *g = G(L);
	unsigned int seed = ctx->strseed;
	size_t i, len = 0;
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

	/* (the string table and the tables come in empty: the image's are,
	 * image_empty_tables) */
	hash_strings(t, &g->strt, seed);
	if (t->idkind == ID_SHORT) {	/* the canary, the last */
		TString *ts = t->idstr, **list;

		list = &g->strt.hash[lmod(ts->hash, g->strt.size)];
		ts->u.hnext = *list;
		*list = ts;
	}

	for (i = 0; i < t->ntabs; i++) {
		const struct wtable *w = &t->tabs[i];

		if (!w->strkeys)
			refill_lua(L, w);
		else if (!w->exact)
			refill_plain(t, w);
		else if (refill_exact(L, t, w) == -1)
			return NULL;
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
	if (reseed(t, ctx) == NULL) {
		/* (the cold build needs the arena empty; if none is left,
		 * ctx->arena is NULL, which sb_run() reports) */
		(void)warm_arena_again(ctx);
		return -1;
	}
	return 0;
}
