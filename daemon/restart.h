/*
 * restart.h — the restart policy for a contract's worker: exponential
 * backoff after each crash, and "failed" after too many crashes within a
 * window. Pure bookkeeping on times given by the caller (unit-tested in
 * tests/unit/test-restart.c); the supervisor acts on its verdicts.
 */
#ifndef VMSD_RESTART_H
#define VMSD_RESTART_H

#include <stdint.h>

#define RESTART_LOG		64	/* crash times remembered */
#define RESTART_BACKOFF_MIN_MS	100
#define RESTART_BACKOFF_MAX_MS	30000

struct restart {
	uint64_t	 crashes[RESTART_LOG];	/* monotonic ms, oldest first */
	unsigned	 ncrashes;
	unsigned	 restarts;		/* crashes ever (for info) */
};

enum restart_verdict {
	RESTART_AFTER,		/* restart once *delay_ms have passed */
	RESTART_FAILED		/* too many: the contract is failed */
};

/* A crash at now_ms: with max crashes allowed within window_s seconds.
 * *recent is the number of crashes within the window, this one counted. */
enum restart_verdict restart_crash(struct restart *, uint64_t now_ms,
	    unsigned max, unsigned window_s, uint64_t *delay_ms,
	    unsigned *recent);
/* An admin started the contract again: forget the crashes. */
void	 restart_forget(struct restart *);

#endif
