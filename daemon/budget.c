/*
 * budget.c — the front ends' memory budget (budget.h): accounts, the
 * total, eviction of the largest holders, evbuffer watching, and the count
 * of what jansson holds (libvms/jsonmem.c, which main() installs as
 * jansson's allocator before anything is decoded).
 *
 * Eviction runs from an event of its own, never inside the callback that
 * charged the bytes, so a front end can free the connection it is asked
 * to close. When the total falls back far below its peak, the freed heap
 * is given back to the system (malloc_trim), so that the daemon's RSS
 * falls after an attack instead of staying at its high-water mark.
 */
#include <malloc.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "budget.h"
#include "jsonmem.h"
#include "log.h"
#include "vmsd.h"

#define TRIM_MIN	(8u << 20)	/* peaks below this are not trimmed */

static TAILQ_HEAD(, budget_acct) accts = TAILQ_HEAD_INITIALIZER(accts);
static size_t used, peak;
static struct event *evict_ev, *trim_ev;

static void
evict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct budget_acct *a, *big;
	size_t limit = vmsd_conf->memory_budget;

	while (used > limit) {
		big = NULL;
		TAILQ_FOREACH(a, &accts, entry)
			if (big == NULL || a->held > big->held)
				big = a;
		if (big == NULL || big->held == 0)
			break;
		log_warnx("memory_budget (%zu bytes) exhausted: closing the "
		    "connection of %s, which holds %zu bytes", limit,
		    big->who ? big->who : "a client", big->held);
		big->evict(big);
		if (big->open) {	/* it did not close: never loop */
			log_warnx("budget: a connection did not close");
			break;
		}
	}
}

static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	jsonmem_trim();
	malloc_trim(0);
}

void
budget_init(void)
{
	if (evict_ev == NULL &&
	    (evict_ev = event_new(vmsd_base, -1, 0, evict_cb, NULL)) == NULL)
		fatalx("cannot create the budget's event");
	if (trim_ev == NULL &&
	    (trim_ev = event_new(vmsd_base, -1, 0, trim_cb, NULL)) == NULL)
		fatalx("cannot create the budget's event");
}

void
budget_free(void)
{
	if (evict_ev != NULL)
		event_free(evict_ev);
	if (trim_ev != NULL)
		event_free(trim_ev);
	evict_ev = trim_ev = NULL;
}

void
budget_open(struct budget_acct *a, void (*evict)(struct budget_acct *),
    const char *who)
{
	a->held = 0;
	a->evict = evict;
	a->who = who;
	a->open = 1;
	TAILQ_INSERT_TAIL(&accts, a, entry);
}

void
budget_close(struct budget_acct *a)
{
	if (!a->open)
		return;
	budget_sub(a, a->held);
	TAILQ_REMOVE(&accts, a, entry);
	a->open = 0;
}

void
budget_add(struct budget_acct *a, size_t n)
{
	if (!a->open || n == 0)
		return;
	a->held += n;
	used += n;
	if (used > peak)
		peak = used;
	if (used > vmsd_conf->memory_budget && evict_ev != NULL)
		event_active(evict_ev, EV_TIMEOUT, 0);
}

void
budget_sub(struct budget_acct *a, size_t n)
{
	if (!a->open)
		return;
	if (n > a->held)
		n = a->held;
	a->held -= n;
	used -= n;
	if (peak >= TRIM_MIN && used < peak / 8 && trim_ev != NULL) {
		peak = used;
		event_active(trim_ev, EV_TIMEOUT, 0);
	}
}

static void
watch_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct budget_acct *a = arg;

	if (info->n_added > info->n_deleted)
		budget_add(a, info->n_added - info->n_deleted);
	else if (info->n_deleted > info->n_added)
		budget_sub(a, info->n_deleted - info->n_added);
}

struct evbuffer_cb_entry *
budget_watch(struct budget_acct *a, struct evbuffer *buf)
{
	budget_add(a, evbuffer_get_length(buf));
	return evbuffer_add_cb(buf, watch_cb, a);
}

void
budget_unwatch(struct evbuffer *buf, struct evbuffer_cb_entry *e)
{
	if (buf != NULL && e != NULL)
		evbuffer_remove_cb_entry(buf, e);
}

size_t
budget_used(void)
{
	return used;
}

size_t
budget_json_live(void)
{
	return jsonmem_live();
}
