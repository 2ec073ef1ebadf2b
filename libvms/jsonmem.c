/*
 * jsonmem.c — jansson's allocator with free lists per size class, and the
 * count of what jansson holds (jsonmem.h).
 *
 * The blocks are malloc's own, with nothing added: what jansson returns
 * for the caller to free() (json_dumps()) may be given to free(). A freed
 * block is kept on the list of its usable size (malloc_usable_size) / 16;
 * a request looks on the list of the usable size glibc's malloc would
 * give it (chunks of 16-byte multiples, at least 32, 8 bytes of header),
 * so with glibc a list holds exactly the blocks its requests would get.
 * A block is taken only if it is large enough (another malloc, such as
 * AddressSanitizer's, sizes blocks as asked). Blocks of 256 usable bytes
 * or more are not kept.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "jsonmem.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define JM_POISON(p, n)		ASAN_POISON_MEMORY_REGION((p), (n))
#define JM_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JM_POISON(p, n)		((void)(p), (void)(n))
#define JM_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

#define JM_UNIT		16

struct jm_kept {
	struct jm_kept	*next;
};

static struct jm_kept *kept[JSONMEM_CLASSES];
static unsigned nkept[JSONMEM_CLASSES];
static size_t live;
static _Thread_local int owner;	/* the thread that installed it */

static int
is_owner(void)
{
	return owner;
}

/* The list a request of n bytes looks on: glibc's usable size / 16. */
static size_t
class_of(size_t n)
{
	size_t chunk;

	if (n > JM_UNIT * JSONMEM_CLASSES)
		return JSONMEM_CLASSES;
	chunk = (n + sizeof(size_t) + JM_UNIT - 1) & ~(size_t)(JM_UNIT - 1);
	if (chunk < 2 * JM_UNIT)
		chunk = 2 * JM_UNIT;
	return (chunk - sizeof(size_t)) / JM_UNIT;
}

static void *
jm_malloc(size_t n)
{
	struct jm_kept *k;
	size_t c = class_of(n), u;
	void *p;

	if (c < JSONMEM_CLASSES && is_owner() && (k = kept[c]) != NULL &&
	    (u = malloc_usable_size(k)) >= n) {
		JM_UNPOISON(k, u);
		kept[c] = k->next;
		nkept[c]--;
		live += u;
		return k;
	}
	if ((p = malloc(n)) != NULL && is_owner())
		live += malloc_usable_size(p);
	return p;
}

static void
jm_free(void *p)
{
	struct jm_kept *k = p;
	size_t u, c;

	if (p == NULL)
		return;
	if (!is_owner()) {
		free(p);
		return;
	}
	u = malloc_usable_size(p);
	live = live > u ? live - u : 0;
	c = u / JM_UNIT;
	if (c > 0 && c < JSONMEM_CLASSES && nkept[c] < JSONMEM_KEEP) {
		k->next = kept[c];
		kept[c] = k;
		nkept[c]++;
		/* all but the link, which LeakSanitizer follows */
		JM_POISON((char *)p + sizeof(*k), u - sizeof(*k));
		return;
	}
	free(p);
}

void
jsonmem_install(void)
{
	owner = 1;
	json_set_alloc_funcs(jm_malloc, jm_free);
}

size_t
jsonmem_live(void)
{
	return live;
}

size_t
jsonmem_kept(void)
{
	size_t c, n = 0;

	for (c = 0; c < JSONMEM_CLASSES; c++)
		n += nkept[c];
	return n;
}

void
jsonmem_trim(void)
{
	struct jm_kept *k;
	size_t c;

	if (!is_owner())
		return;
	for (c = 0; c < JSONMEM_CLASSES; c++) {
		while ((k = kept[c]) != NULL) {
			kept[c] = k->next;
			JM_UNPOISON(k, malloc_usable_size(k));
			free(k);
		}
		nkept[c] = 0;
	}
}
