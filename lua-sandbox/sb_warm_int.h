/*
 * sb_warm_int.h — private to warm calls: sb_warm.c keeps a contract's
 * templates, one per caller shape, checks each against cold builds and
 * picks one per call; sb_warm_capture.c builds a template's state up to
 * the pristine point and captures it as an arena image; sb_warm_restore.c
 * puts a template back for a call (the image restored,
 * strings rehashed for the call's seed, tables refilled, the caller's id
 * written in). What they share: a template and its tables.
 */
#ifndef VMS_SB_WARM_INT_H
#define VMS_SB_WARM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lstate.h"	/* Lua's internals (our own files calling them) */
#include "lstring.h"
#include "ltable.h"
#include "lgc.h"

#include "sandbox.h"

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
	TValue		*keys, *vals;	/* (not strkeys) */
	size_t		 first;		/* strkeys: its entries, rk[first ..] */
};

/*
 * The most nodes of a table whose keys are all short strings: the refill
 * keeps which are taken in one 64-bit word. A larger one makes the
 * capture fail, and the contract's calls run cold (the largest today,
 * math, has 64; tests/unit/test-warm.c would see them go cold).
 */
#define WARM_REFILL_NODES	64

/*
 * An entry of a table whose keys are all short strings, in the order the
 * refill inserts them: the key (a string of strs, whose hash for the call
 * is hashes[sidx]) and the value, as a node holds them. One array for all
 * the template's tables, read in one pass by the refill.
 */
struct rkey {
	Value		 key, val;
	uint32_t	 sidx;
	lu_byte		 keytt, valtt;
};

/*
 * hash_strings' AVX-512 layout (sb_warm_capture.c): the strings of
 * strs[first .. first + n), n <= 64, in four vectors of 16 lanes; byte i
 * of vector v's lane k at vbytes[off[v] + 16 * i + k] (0 past its length,
 * vector v's bytes as long as its longest string, vmax[v]).
 */
#define HQUAD_LANES	64
#define HQUAD_MAXLEN	64	/* longer strings: one at a time */

struct hquad {
	uint32_t	 len[HQUAD_LANES];	/* 0: no string */
	size_t		 first, n;
	size_t		 maxlen;		/* the longest vmax */
	size_t		 off[4], vmax[4];
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
	size_t		 nshort;	/* strs[0 .. nshort): the short ones */
	struct hquad	*quads;		/* strs[0 .. nvec) for AVX-512 */
	size_t		 nquads, nvec;
	uint8_t		*vbytes;	/* their bytes, transposed */
	size_t		 nvbytes;
	struct wtable	*tabs;
	size_t		 ntabs;
	struct rkey	*rk;		/* the strkeys tables' entries */
	size_t		 nrk;
	TString		**set;		/* every short string but the canary */
	size_t		 setcap;	/* (open addressing, power of 2) */
};

/* sb_warm_capture.c */
/* A ctx for building a template: the call's, with a stand-in caller id
 * and a seed of seedbyte. */
void	 warm_build_ctx(struct sb_ctx *b, const struct sb_ctx *ctx,
	    const char *id, uint8_t seedbyte);
/* Empty the (taken) arena again after a build. -1 if none is left. */
int	 warm_arena_again(struct sb_ctx *ctx);
/* Build the state cold with ctx b up to the pristine point; capture it
 * into t if t is not NULL, else into a plain image (*img, the check's).
 * 0, or -1 with why. */
int	 warm_build(struct sb_ctx *b, struct sb_template *t,
	    const char *canary, struct arena_image **img, char *why,
	    size_t whylen);
/* Is s one of the template's short strings (but the canary)? */
int	 warm_set_has(const struct sb_template *t, const char *s,
	    size_t len);

/* sb_warm_restore.c: the state of a call (ctx: its arena taken and
 * empty, started) from template t. 0, or -1: run the call cold (in the
 * arena, empty again, or NULL if none was left). */
int	 warm_restore(struct sb_template *t, struct sb_ctx *ctx);

#endif
