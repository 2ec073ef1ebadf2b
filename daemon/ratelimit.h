/*
 * ratelimit.h — the rate of remote calls (ratelimit.c): a token bucket per
 * client address (call_rate_per_address, call_burst_per_address) and one
 * per identity (call_rate_per_identity, call_burst_per_identity), so that
 * refused calls are answered before any contract runs and never reach a
 * ledger.
 */
#ifndef VMSD_RATELIMIT_H
#define VMSD_RATELIMIT_H

struct rpcreq;

/* A remote call from req->addr by req->caller (NULL: anonymous):
 * 0 to go on (a token taken from each bucket), or -1 having answered req
 * RPC_RATE_LIMITED with the seconds to wait (req->retry_after). */
int	 ratelimit_call(struct rpcreq *);
void	 ratelimit_free(void);

#endif
