/*
 * worker_conn_limits.c — the limits of the connections attached to the
 * worker (worker_conn.c), as vmsd's own connections have them
 * (vmsd.conf(5)): the deadlines (client_idle_timeout, also for a client
 * whose replies wait and none of them is read; client_request_timeout to
 * send one whole line), the one the loop's wait may sleep until
 * (wconns_timeout), and memory_budget for what they all hold (the
 * largest holder closed until it fits).
 */
#include <stdint.h>
#include <stdlib.h>

#include "ledger.h"
#include "log.h"
#include "util.h"
#include "worker.h"
#include "worker_conn_int.h"

/* What a connection holds: input not yet run, replies not yet sent. */
static size_t
held(const struct wconn *c)
{
	return c->fd < 0 ? 0 : c->inlen + (c->out.len - c->outoff);
}

/* All of them over memory_budget: the largest holders are closed until
 * the rest fits (as vmsd's budget does with its own connections). */
void
wc_budget(struct worker *w)
{
	uint64_t total = 0, max = w->wc.lim[L_BUDGET];
	struct wconn *big;
	size_t i;

	if (max == 0)
		return;
	for (i = 0; i < w->wc.n; i++)
		total += held(w->wc.v[i]);
	while (total > max) {
		big = NULL;
		for (i = 0; i < w->wc.n; i++)
			if (big == NULL || held(w->wc.v[i]) > held(big))
				big = w->wc.v[i];
		if (big == NULL || held(big) == 0)
			return;
		total -= held(big);
		log_info("closing the attached connection of %s: "
		    "memory_budget exhausted and it holds the most (%zu "
		    "bytes)", big->caller ? big->caller : "an anonymous client",
		    held(big));
		wc_close_conn(w, big, NULL);
	}
}

/* ---- deadlines ---- */

/* ms from now until c's deadline, or -1; 0: due. */
static int64_t
due_in(const struct worker *w, const struct wconn *c, uint64_t now)
{
	uint64_t at;

	if (c->fd < 0)
		return -1;
	if (c->outoff < c->out.len && w->wc.lim[L_IDLE] > 0)
		at = c->wr_ms + w->wc.lim[L_IDLE] * 1000;
	else if (c->inlen > 0 && !c->hasline && w->wc.lim[L_REQUEST] > 0 &&
	    c->req_start > 0)
		at = c->req_start + w->wc.lim[L_REQUEST] * 1000;
	else if (c->inlen == 0 && c->routes == 0 && c->outoff == c->out.len &&
	    w->wc.lim[L_IDLE] > 0)
		at = c->last_ms + w->wc.lim[L_IDLE] * 1000;
	else
		return -1;
	return at > now ? (int64_t)(at - now) : 0;
}

int
wconns_timeout(const struct worker *w)
{
	uint64_t now = mono_msec();
	int64_t best = -1, d;
	size_t i;

	for (i = 0; i < w->wc.n; i++)
		if ((d = due_in(w, w->wc.v[i], now)) >= 0 &&
		    (best < 0 || d < best))
			best = d;
	if (w->wc.told_ever && (w->wc.told_size != ledger_committed_size(
	    w->ledger))) {
		d = (int64_t)(w->wc.told_ms + WIRE_ATTACHED_MS) - (int64_t)now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	if (best > 60000)
		best = 60000;
	return (int)best;
}

/* Close the connections whose deadline passed. */
void
wc_expire(struct worker *w)
{
	uint64_t now = mono_msec();
	struct wconn *c;
	size_t i;

	for (i = 0; i < w->wc.n; i++) {
		c = w->wc.v[i];
		if (due_in(w, c, now) != 0)
			continue;
		if (c->outoff < c->out.len)
			wc_close_conn(w, c, "it reads none of its replies "
			    "(client_idle_timeout)");
		else if (c->inlen > 0)
			wc_close_conn(w, c, "no complete request within "
			    "client_request_timeout");
		else
			wc_close_conn(w, c, NULL);		/* idle */
	}
}
