/*
 * ratelimit.c — token buckets for remote calls (ratelimit.h). A bucket
 * holds at most `burst` tokens and gains `rate` per second; a call takes
 * one from its address's bucket and one from its identity's, or is
 * refused without taking any. Full buckets are forgotten (a sweep every
 * minute), so the tables only hold recent callers.
 */
#include <stdint.h>
#include <stdio.h>

#include "keytab.h"
#include "log.h"
#include "proto.h"
#include "ratelimit.h"
#include "rpcreq.h"
#include "util.h"
#include "vmsd.h"

#define SWEEP_MS	60000

struct bucket {
	double		 tokens;
	uint64_t	 last_ms;
	int		 used;
};

static struct keytab *by_addr, *by_ident;
static uint64_t last_sweep;

/* Refill b to now; seconds until it holds a token (0: it does). */
static unsigned
refill(struct bucket *b, unsigned rate, unsigned burst, uint64_t now)
{
	double need;

	if (!b->used) {
		b->tokens = burst;
		b->used = 1;
	} else {
		b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now;
	if (b->tokens >= 1.0)
		return 0;
	need = (1.0 - b->tokens) / rate;
	return (unsigned)need + 1;
}

struct sweep_arg {
	uint64_t	 now;
	unsigned	 rate, burst;
};

static int
is_full(void *val, void *arg)
{
	struct bucket *b = val;
	struct sweep_arg *a = arg;

	return a->rate == 0 || b->tokens + (double)(a->now - b->last_ms) *
	    a->rate / 1000.0 >= a->burst;
}

static void
sweep(uint64_t now)
{
	struct sweep_arg a;

	last_sweep = now;
	a.now = now;
	if (by_addr != NULL) {
		a.rate = vmsd_conf->call_rate_per_address;
		a.burst = vmsd_conf->call_burst_per_address;
		keytab_sweep(by_addr, is_full, &a);
	}
	if (by_ident != NULL) {
		a.rate = vmsd_conf->call_rate_per_identity;
		a.burst = vmsd_conf->call_burst_per_identity;
		keytab_sweep(by_ident, is_full, &a);
	}
}

int
ratelimit_call(struct rpcreq *req)
{
	const struct vmsd_config *c = vmsd_conf;
	const char *addr = req->addr;
	struct bucket *ba = NULL, *bi = NULL;
	uint64_t now = mono_msec();
	unsigned wa = 0, wi = 0;

	if (by_addr == NULL) {
		by_addr = keytab_new(sizeof(struct bucket));
		by_ident = keytab_new(sizeof(struct bucket));
		last_sweep = now;
	}
	if (now - last_sweep > SWEEP_MS)
		sweep(now);
	if (c->call_rate_per_address > 0 && addr != NULL) {
		ba = keytab_get(by_addr, addr, 1);
		wa = refill(ba, c->call_rate_per_address,
		    c->call_burst_per_address, now);
	}
	if (c->call_rate_per_identity > 0 && req->caller != NULL) {
		bi = keytab_get(by_ident, req->caller, 1);
		wi = refill(bi, c->call_rate_per_identity,
		    c->call_burst_per_identity, now);
	}
	if (wa == 0 && wi == 0) {
		if (ba != NULL)
			ba->tokens -= 1.0;
		if (bi != NULL)
			bi->tokens -= 1.0;
		return 0;
	}
	req->retry_after = wa > wi ? wa : wi;
	log_debug("call refused by the rate limit of %s %s (retry after "
	    "%u s)", wa >= wi ? "address" : "identity",
	    wa >= wi ? addr : req->caller, req->retry_after);
	rpcreq_error(req, RPC_RATE_LIMITED, json_pack("{s:I}", "retry_after",
	    (json_int_t)req->retry_after), "too many calls from this %s: "
	    "retry after %u s (%s)", wa >= wi ? "address" : "identity",
	    req->retry_after, wa >= wi ? "call_rate_per_address" :
	    "call_rate_per_identity");
	return -1;
}

void
ratelimit_free(void)
{
	keytab_free(by_addr);
	keytab_free(by_ident);
	by_addr = by_ident = NULL;
}
