/*
 * sb_arena.c — the small-object allocator behind sb_alloc(). Every call
 * creates and closes a Lua state, thousands of small blocks that glibc
 * malloc handles slowly (fastbin consolidation). Small blocks come here
 * instead: one reserved address range per thread, carved by a bump
 * pointer into 16-byte size classes with free lists, and reset in one
 * step when the state is closed. Only sb_run() uses it, one state at a
 * time per thread; the accounting of the memory limit stays in sb_alloc()
 * (requested sizes).
 *
 * It also makes object addresses deterministic: every call starts from an
 * empty arena and takes blocks in an order fixed by the execution, so a
 * block's offset from the arena's base is the same in every process that
 * runs the same entry. Lua hashes tables, closures and coroutines used as
 * table keys by address; sb_arena_offset() gives vms_lua_point2uint() that
 * offset instead (see vms_luauser.h). Every Lua object that can be a key
 * (ARENA_MAXOBJ covers the largest closure) is placed here, never in
 * malloc: the range is ARENA_FACTOR times the call's memory limit (address
 * space only, MAP_NORESERVE), the same whatever ran on the thread before,
 * and if size-class fragmentation still exhausts it the allocation fails
 * as the memory limit does, deterministically.
 *
 * Blocks larger than ARENA_MAXOBJ (arrays, long strings, big tables'
 * parts; never an object header) are malloc'd with a small header that
 * links them to the arena, so that sb_arena_put() frees whatever a state
 * left: a state is dropped without lua_close(). While a state is being
 * built (sb_arena_pin()), those blocks come instead from a pinned range
 * right after the extent, bump-allocated and freed only by the reset, so
 * that the whole built state lies in two ranges at fixed addresses:
 * sb_arena_save() copies them into an image and sb_arena_load() puts an
 * image back (sb_warm.c). Where a big block lives is never observable
 * (it is not an arena offset either way; a pinned block that is freed or
 * reallocated behaves as a malloc'd one).
 * Under AddressSanitizer free and not yet used bytes are poisoned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)	((void)(p), (void)(n))
#define UNPOISON(p, n)	((void)(p), (void)(n))
#endif

#define ARENA_KEEP	(1UL << 20)	/* kept resident between calls */
#define ARENA_MAXOBJ	4096		/* larger blocks go to malloc */
#define ARENA_CLASSES	(ARENA_MAXOBJ / 16)
#define ARENA_CHUNK	(1UL << 20)	/* poisoned ahead of the bump */
#define ARENA_FACTOR	8		/* range per byte of memory limit */
#define ARENA_PIN	(8UL << 20)	/* pinned range for built states */

/* header of a malloc'd block (16 bytes: keeps malloc's alignment) */
struct big {
	struct big	*prev, *next;
};

struct arena {
	char	*base, *bump, *end, *high;
	char	*poisoned;	/* [bump, poisoned) is poisoned */
	size_t	 size;		/* mapped */
	void	*free[ARENA_CLASSES];
	char	*pin, *pinbump;	/* pinned range [pin, pin + ARENA_PIN) */
	int	 pinning;	/* big blocks go to the pinned range */
	int	 pinfull;	/* ... but one did not fit */
	struct big *big;	/* malloc'd blocks in use */
	int	 busy;
};

/* What sb_arena_save() copies: both ranges in use and the free lists. */
struct arena_image {
	char	*base;		/* where it was taken (absolute pointers) */
	char	*end;
	size_t	 used, pinused;
	void	*free[ARENA_CLASSES];
	char	*bytes;		/* used + pinused */
};

static _Thread_local struct arena arena;

static size_t
class_of(size_t n)
{
	return (n + 15) / 16 - 1;
}

/*
 * Take the thread's arena for one state whose memory limit is limit bytes:
 * a range of exactly ARENA_FACTOR * limit (rounded up to ARENA_CHUNK),
 * then the pinned range, mapped larger only if an earlier call needed
 * more. NULL if it is in use or cannot be mapped.
 */
struct arena *
sb_arena_get(uint64_t limit)
{
	struct arena *a = &arena;
	size_t want;
	void *p;

	if (a->busy)
		return NULL;
	if (limit > (SIZE_MAX - ARENA_CHUNK - ARENA_PIN) / ARENA_FACTOR)
		return NULL;
	want = (ARENA_FACTOR * (size_t)limit + ARENA_CHUNK - 1) &
	    ~(ARENA_CHUNK - 1);
	if (want < ARENA_CHUNK)
		want = ARENA_CHUNK;
	if (a->base != NULL && a->size < want + ARENA_PIN) {
		UNPOISON(a->base, a->size);
		if (munmap(a->base, a->size) != 0)
			return NULL;
		a->base = NULL;
	}
	if (a->base == NULL) {
		p = mmap(NULL, want + ARENA_PIN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		a->base = a->bump = a->high = a->poisoned = p;
		a->size = want + ARENA_PIN;
	}
	/* this call's extent, whatever an earlier call mapped */
	a->end = a->base + want;
	if (a->poisoned > a->end)
		a->poisoned = a->end;
	a->pin = a->pinbump = a->end;
	a->pinning = a->pinfull = 0;
	a->big = NULL;
	a->busy = 1;
	return a;
}

/* Where p lies in the arena a (deterministic across processes), or -1. */
int
sb_arena_offset(const struct arena *a, size_t p, size_t *off)
{
	if (a == NULL || p < (size_t)a->base || p >= (size_t)a->bump)
		return -1;
	*off = p - (size_t)a->base;
	return 0;
}

/*
 * While on, big blocks come from the pinned range (a state is being
 * built). Returns 0, or -1 when it is turned off and some big block did
 * not fit (the built state is not all in the two ranges).
 */
int
sb_arena_pin(struct arena *a, int on)
{
	if (a == NULL)
		return -1;
	a->pinning = on;
	return on || !a->pinfull ? 0 : -1;
}

/* Every block is free again: forget them at once, free the big ones. */
void
sb_arena_put(struct arena *a)
{
	struct big *b, *next;

	if (a == NULL)
		return;
	for (b = a->big; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->big = NULL;
	if (a->bump > a->high)
		a->high = a->bump;
	POISON(a->base, (size_t)(a->bump - a->base));
	POISON(a->pin, (size_t)(a->pinbump - a->pin));
	a->poisoned = a->poisoned > a->bump ? a->poisoned : a->bump;
	if ((size_t)(a->high - a->base) > ARENA_KEEP) {
		/* give back what a large call touched (contents are dead) */
		if (madvise(a->base + ARENA_KEEP, (size_t)(a->high - a->base) -
		    ARENA_KEEP, MADV_DONTNEED) == 0)
			a->high = a->base + ARENA_KEEP;
	}
	a->bump = a->base;
	a->pinbump = a->pin;
	a->pinning = a->pinfull = 0;
	memset(a->free, 0, sizeof(a->free));
	a->busy = 0;
}

static int
owns(const struct arena *a, const void *p)
{
	return (const char *)p >= a->base && (const char *)p < a->end;
}

static int
pinned(const struct arena *a, const void *p)
{
	return (const char *)p >= a->pin && (const char *)p < a->pinbump;
}

static void *
take(struct arena *a, size_t n)
{
	size_t c = class_of(n);
	void *p;

	if ((p = a->free[c]) != NULL) {
		UNPOISON(p, sizeof(void *));
		a->free[c] = *(void **)p;
	} else if ((size_t)(a->end - a->bump) >= (c + 1) * 16) {
		p = a->bump;
		a->bump += (c + 1) * 16;
		while (a->poisoned < a->bump) {	/* poison fresh space ahead */
			size_t left = (size_t)(a->end - a->poisoned);

			left = left < ARENA_CHUNK ? left : ARENA_CHUNK;
			POISON(a->poisoned, left);
			a->poisoned += left;
		}
	} else
		return NULL;	/* exhausted: fails as the memory limit */
	UNPOISON(p, n);
	return p;
}

static void
give(struct arena *a, void *p, size_t n)
{
	size_t c = class_of(n);

	POISON(p, (c + 1) * 16);
	UNPOISON(p, sizeof(void *));
	*(void **)p = a->free[c];
	POISON(p, sizeof(void *));
	a->free[c] = p;
}

/* ---- big blocks: pinned while building, else malloc'd and linked ---- */

static void *
big_alloc(struct arena *a, size_t n)
{
	struct big *b;
	size_t r = (n + 15) & ~(size_t)15;

	if (a->pinning) {
		if (r >= n && (size_t)(a->pin + ARENA_PIN - a->pinbump) >= r) {
			void *p = a->pinbump;

			a->pinbump += r;
			UNPOISON(p, n);
			return p;
		}
		a->pinfull = 1;
	}
	if (n > SIZE_MAX - sizeof(*b) || (b = malloc(sizeof(*b) + n)) == NULL)
		return NULL;
	b->prev = NULL;
	b->next = a->big;
	if (a->big != NULL)
		a->big->prev = b;
	a->big = b;
	return b + 1;
}

static void
big_unlink(struct arena *a, struct big *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		a->big = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
}

static void
big_free(struct arena *a, void *p)
{
	struct big *b;

	if (p == NULL || pinned(a, p))
		return;		/* pinned: dead until the reset */
	b = (struct big *)p - 1;
	big_unlink(a, b);
	free(b);
}

static void *
big_realloc(struct arena *a, void *p, size_t osize, size_t nsize)
{
	struct big *b, *nb;
	void *q;

	if (p == NULL)
		return big_alloc(a, nsize);
	if (pinned(a, p) || a->pinning) {
		if ((q = big_alloc(a, nsize)) == NULL)
			return nsize < osize ? p : NULL;
		memcpy(q, p, osize < nsize ? osize : nsize);
		big_free(a, p);
		return q;
	}
	b = (struct big *)p - 1;
	big_unlink(a, b);
	if (nsize > SIZE_MAX - sizeof(*b) ||
	    (nb = realloc(b, sizeof(*b) + nsize)) == NULL)
		nb = b;		/* unchanged: relink it */
	nb->prev = NULL;
	nb->next = a->big;
	if (a->big != NULL)
		a->big->prev = nb;
	a->big = nb;
	if (nb == b && nsize > osize)
		return NULL;
	return nb + 1;		/* (a failed shrink keeps the block) */
}

/*
 * realloc() for Lua blocks: osize is the block's size (Lua always passes
 * it for a non-NULL ptr). nsize 0 frees. Returns NULL only on failure.
 */
void *
sb_arena_realloc(struct arena *a, void *ptr, size_t osize, size_t nsize)
{
	void *p;

	if (ptr == NULL && nsize == 0)
		return NULL;
	if (a == NULL) {	/* no arena: plain malloc */
		if (nsize == 0) {
			free(ptr);
			return NULL;
		}
		if ((p = realloc(ptr, nsize)) == NULL && nsize < osize)
			return ptr;
		return p;
	}
	if (ptr != NULL && !owns(a, ptr)) {
		/* a big block (large, or the arena was full) */
		if (nsize == 0) {
			big_free(a, ptr);
			return NULL;
		}
		return big_realloc(a, ptr, osize, nsize);
	}
	if (ptr == NULL)
		return nsize <= ARENA_MAXOBJ ? take(a, nsize) :
		    big_alloc(a, nsize);
	if (nsize == 0) {
		give(a, ptr, osize);
		return NULL;
	}
	if (nsize <= ARENA_MAXOBJ && class_of(nsize) == class_of(osize)) {
		POISON(ptr, (class_of(osize) + 1) * 16);
		UNPOISON(ptr, nsize);
		return ptr;
	}
	p = nsize <= ARENA_MAXOBJ ? take(a, nsize) : big_alloc(a, nsize);
	if (p == NULL)	/* Lua requires shrinking to succeed: keep it */
		return nsize < osize ? ptr : NULL;
	memcpy(p, ptr, osize < nsize ? osize : nsize);
	give(a, ptr, osize);
	return p;
}

/* ---- images of a built state ---- */

/* Poison the blocks on the free lists (after their bytes were copied). */
static void
poison_free(struct arena *a)
{
#if defined(__SANITIZE_ADDRESS__)
	size_t c;
	void *p, *next;

	for (c = 0; c < ARENA_CLASSES; c++)
		for (p = a->free[c]; p != NULL; p = next) {
			UNPOISON(p, sizeof(void *));
			next = *(void **)p;
			POISON(p, (c + 1) * 16);
		}
#else
	(void)a;
#endif
}

/*
 * Copy what the arena holds now (the state being built, with no malloc'd
 * block) into a new image. NULL if some big block is not pinned.
 */
struct arena_image *
sb_arena_save(struct arena *a)
{
	struct arena_image *im;

	if (a == NULL || a->pinfull || a->big != NULL)
		return NULL;
	im = xcalloc(1, sizeof(*im));
	im->base = a->base;
	im->end = a->end;
	im->used = (size_t)(a->bump - a->base);
	im->pinused = (size_t)(a->pinbump - a->pin);
	memcpy(im->free, a->free, sizeof(im->free));
	im->bytes = xmalloc(im->used + im->pinused + 1);
	UNPOISON(a->base, im->used);
	UNPOISON(a->pin, im->pinused);
	memcpy(im->bytes, a->base, im->used);
	memcpy(im->bytes + im->used, a->pin, im->pinused);
	poison_free(a);
	return im;
}

/* Can im be loaded into a (same addresses, same extent)? */
int
sb_arena_fits(const struct arena *a, const struct arena_image *im)
{
	return a != NULL && im != NULL && a->base == im->base &&
	    a->end == im->end;
}

/*
 * Put the image back into the arena just taken (empty): the same bytes
 * at the same addresses, the same free lists and bumps. -1 if it does
 * not fit.
 */
int
sb_arena_load(struct arena *a, const struct arena_image *im)
{
	if (!sb_arena_fits(a, im) || a->bump != a->base ||
	    a->big != NULL || a->pinbump != a->pin)
		return -1;
	UNPOISON(a->base, im->used);
	UNPOISON(a->pin, im->pinused);
	memcpy(a->base, im->bytes, im->used);
	memcpy(a->pin, im->bytes + im->used, im->pinused);
	a->bump = a->base + im->used;
	if (a->poisoned < a->bump)
		a->poisoned = a->bump;
	a->pinbump = a->pin + im->pinused;
	memcpy(a->free, im->free, sizeof(a->free));
	poison_free(a);
	return 0;
}

/* Does the arena hold what the image holds (bumps, free lists)? */
int
sb_arena_same(const struct arena *a, const struct arena_image *im)
{
	return sb_arena_fits(a, im) &&
	    (size_t)(a->bump - a->base) == im->used &&
	    (size_t)(a->pinbump - a->pin) == im->pinused &&
	    memcmp(a->free, im->free, sizeof(a->free)) == 0;
}

/* The image's copy of the byte at address p, or NULL if it holds none. */
const void *
sb_arena_image_at(const struct arena_image *im, const void *p)
{
	const char *c = p, *pin = im->end;

	if (c >= im->base && c < im->base + im->used)
		return im->bytes + (c - im->base);
	if (c >= pin && c < pin + im->pinused)
		return im->bytes + im->used + (c - pin);
	return NULL;
}

/* The image's own (writable) copy of the n bytes at p, or NULL unless it
 * holds them all. */
void *
sb_arena_image_edit(struct arena_image *im, const void *p, size_t n)
{
	const char *c = p, *pin = im->end;

	if (c >= im->base && n <= im->used && c <= im->base + im->used - n)
		return im->bytes + (c - im->base);
	if (c >= pin && n <= im->pinused && c <= pin + im->pinused - n)
		return im->bytes + im->used + (c - pin);
	return NULL;
}

size_t
sb_arena_image_size(const struct arena_image *im)
{
	return im ? sizeof(*im) + im->used + im->pinused : 0;
}

void
sb_arena_image_free(struct arena_image *im)
{
	if (im == NULL)
		return;
	free(im->bytes);
	free(im);
}
