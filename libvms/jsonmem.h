/*
 * jsonmem.h — jansson's allocator for the processes that decode JSON on
 * every call (vmsd, a contract's worker): small blocks kept on a free list
 * per size class, so that the ~28 values of a decoded request cost a pop
 * and a push each instead of a malloc() and a free(); and the count of the
 * bytes jansson holds (vmsd charges a request its decoded size).
 *
 * The blocks are plain malloc() blocks: what jansson hands over to be
 * freed (json_dumps()) may be given to free().
 *
 * Only the thread that installed it uses the lists and the count; a block
 * made or freed on any other thread goes to malloc() and free() (jansson
 * is then as thread-safe as it was). The lists keep at most
 * JSONMEM_KEEP blocks of each class; jsonmem_trim() gives them back.
 * Under AddressSanitizer a kept block is poisoned until it is reused (all
 * but its first 8 bytes, the link to the next kept block, which
 * LeakSanitizer must see), so a use after free is still reported.
 */
#ifndef VMS_JSONMEM_H
#define VMS_JSONMEM_H

#include <stddef.h>

#define JSONMEM_CLASSES	16	/* kept: blocks of 16 to 255 usable bytes */
#define JSONMEM_KEEP	512	/* blocks kept per class */

/* json_set_alloc_funcs() with these, for the calling thread. */
void	 jsonmem_install(void);

/* Usable bytes of the blocks jansson holds now (kept blocks excluded;
 * a string of json_dumps() given to free() stays counted). */
size_t	 jsonmem_live(void);

/* Blocks kept on the free lists now (for the tests). */
size_t	 jsonmem_kept(void);

/* Give the kept blocks back to malloc. */
void	 jsonmem_trim(void);

#endif
