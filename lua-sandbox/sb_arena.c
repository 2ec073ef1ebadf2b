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
 * Under AddressSanitizer free and not yet used bytes are poisoned.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox.h"

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

struct arena {
	char	*base, *bump, *end, *high;
	char	*poisoned;	/* [bump, poisoned) is poisoned */
	size_t	 size;
	void	*free[ARENA_CLASSES];
	int	 busy;
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
 * mapped larger only if an earlier call needed more. NULL if it is in use
 * or cannot be mapped.
 */
struct arena *
sb_arena_get(uint64_t limit)
{
	struct arena *a = &arena;
	size_t want;
	void *p;

	if (a->busy)
		return NULL;
	if (limit > (SIZE_MAX - ARENA_CHUNK) / ARENA_FACTOR)
		return NULL;
	want = (ARENA_FACTOR * (size_t)limit + ARENA_CHUNK - 1) &
	    ~(ARENA_CHUNK - 1);
	if (want < ARENA_CHUNK)
		want = ARENA_CHUNK;
	if (a->base != NULL && a->size < want) {
		UNPOISON(a->base, a->size);
		if (munmap(a->base, a->size) != 0)
			return NULL;
		a->base = NULL;
	}
	if (a->base == NULL) {
		p = mmap(NULL, want, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		a->base = a->bump = a->high = a->poisoned = p;
		a->size = want;
	}
	/* this call's extent, whatever an earlier call mapped */
	a->end = a->base + want;
	if (a->poisoned > a->end)
		a->poisoned = a->end;
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

/* After lua_close(): every block is free again; forget them at once. */
void
sb_arena_put(struct arena *a)
{
	if (a == NULL)
		return;
	if (a->bump > a->high)
		a->high = a->bump;
	POISON(a->base, (size_t)(a->bump - a->base));
	a->poisoned = a->poisoned > a->bump ? a->poisoned : a->bump;
	if ((size_t)(a->high - a->base) > ARENA_KEEP) {
		/* give back what a large call touched (contents are dead) */
		if (madvise(a->base + ARENA_KEEP, (size_t)(a->high - a->base) -
		    ARENA_KEEP, MADV_DONTNEED) == 0)
			a->high = a->base + ARENA_KEEP;
	}
	a->bump = a->base;
	memset(a->free, 0, sizeof(a->free));
	a->busy = 0;
}

static int
owns(const struct arena *a, const void *p)
{
	return (const char *)p >= a->base && (const char *)p < a->end;
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
	if (a == NULL || (ptr != NULL && !owns(a, ptr))) {
		/* a malloc'd block (large, or the arena was full) */
		if (nsize == 0) {
			free(ptr);
			return NULL;
		}
		if (ptr == NULL && a != NULL && nsize <= ARENA_MAXOBJ)
			return take(a, nsize);
		if ((p = realloc(ptr, nsize)) == NULL && nsize < osize)
			return ptr;	/* shrinking must succeed */
		return p;
	}
	if (ptr == NULL)
		return nsize <= ARENA_MAXOBJ ? take(a, nsize) : malloc(nsize);
	if (nsize == 0) {
		give(a, ptr, osize);
		return NULL;
	}
	if (nsize <= ARENA_MAXOBJ && class_of(nsize) == class_of(osize)) {
		POISON(ptr, (class_of(osize) + 1) * 16);
		UNPOISON(ptr, nsize);
		return ptr;
	}
	p = nsize <= ARENA_MAXOBJ ? take(a, nsize) : malloc(nsize);
	if (p == NULL)	/* Lua requires shrinking to succeed: keep it */
		return nsize < osize ? ptr : NULL;
	memcpy(p, ptr, osize < nsize ? osize : nsize);
	give(a, ptr, osize);
	return p;
}
