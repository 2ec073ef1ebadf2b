/*
 * restart.c — the worker restart policy (restart.h).
 */
#include <string.h>

#include "restart.h"

enum restart_verdict
restart_crash(struct restart *r, uint64_t now, unsigned max,
    unsigned window_s, uint64_t *delay, unsigned *recent)
{
	uint64_t window = (uint64_t)window_s * 1000;
	unsigned i, n = 0, shift;

	r->restarts++;
	if (r->ncrashes == RESTART_LOG) {
		memmove(r->crashes, r->crashes + 1,
		    sizeof(r->crashes[0]) * (RESTART_LOG - 1));
		r->ncrashes--;
	}
	r->crashes[r->ncrashes++] = now;
	for (i = 0; i < r->ncrashes; i++)
		if (now - r->crashes[i] <= window)
			n++;
	*recent = n;
	*delay = 0;
	if (n >= max)
		return RESTART_FAILED;
	shift = n > 0 ? n - 1 : 0;
	*delay = shift >= 10 ? RESTART_BACKOFF_MAX_MS :
	    (uint64_t)RESTART_BACKOFF_MIN_MS << shift;
	if (*delay > RESTART_BACKOFF_MAX_MS)
		*delay = RESTART_BACKOFF_MAX_MS;
	return RESTART_AFTER;
}

void
restart_forget(struct restart *r)
{
	r->ncrashes = 0;
}
