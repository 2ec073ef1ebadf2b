/*
 * sb_arena.c — the small-object allocator behind sb_alloc(). Every call
 * creates and closes a Lua state, thousands of small blocks that glibc
 * malloc handles slowly (fastbin consolidation). Small blocks come here
 * instead: one reserved address range per thread, carved by a bump
 * pointer into 16-byte size classes with free lists, and reset in one
 * step when the state is closed. Only sb_run() uses it, one state at a
 * time per thread; the accounting of the memory limit stays in sb_alloc()
 * (requested sizes), so nothing here changes what a contract observes.
 * Under AddressSanitizer free and unused bytes are poisoned.
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

#define ARENA_SIZE	(16UL << 20)	/* reserved per thread */
#define ARENA_KEEP	(1UL << 20)	/* kept resident between calls */
#define ARENA_MAXOBJ	512		/* larger blocks go to malloc */
#define ARENA_CLASSES	(ARENA_MAXOBJ / 16)

struct arena {
	char	*base, *bump, *end, *high;
	void	*free[ARENA_CLASSES];
	int	 busy;
	int	 broken;	/* mmap failed: malloc only */
};

static _Thread_local struct arena arena;

static size_t
class_of(size_t n)
{
	return (n + 15) / 16 - 1;
}

/* Take the thread's arena for one state; NULL if in use or unavailable. */
struct arena *
sb_arena_get(void)
{
	struct arena *a = &arena;
	void *p;

	if (a->busy || a->broken)
		return NULL;
	if (a->base == NULL) {
		p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			a->broken = 1;
			return NULL;
		}
		a->base = a->bump = a->high = p;
		a->end = a->base + ARENA_SIZE;
		POISON(a->base, ARENA_SIZE);
	}
	a->busy = 1;
	return a;
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
	} else
		return malloc(n);
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
