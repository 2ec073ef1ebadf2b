/*
 * control_drain.c — the control socket's shutdown drain (control_drain):
 * once the listeners stop accepting, the connected clients are served
 * until each has been idle for DRAIN_IDLE_MS (control.c closes them);
 * after the deadline new requests are refused, and DRAIN_FINAL_S later the
 * clients still busy are closed. done() runs once no client is left.
 */
#include <stddef.h>
#include <time.h>

#include <event2/event.h>

#include "control.h"
#include "control_int.h"
#include "log.h"
#include "vmsd.h"

#define DRAIN_FINAL_S		2		/* after the deadline, for busy
						   clients to get their replies */

int control_draining;
int control_refusing;
static struct event *drain_check_ev, *deadline_ev, *final_ev;
static void (*drain_done)(void);

static void
drain_check(evutil_socket_t unused, short what, void *arg)
{
	void (*done)(void) = drain_done;

	if (control_nconns() > 0 || done == NULL)
		return;
	drain_done = NULL;
	evtimer_del(deadline_ev);
	evtimer_del(final_ev);
	done();
}

/* The last word: clients still waiting for a reply lose it (their calls
 * still run and commit), the others are closed. */
static void
drain_final(evutil_socket_t unused, short what, void *arg)
{
	log_warnx("shutdown: closing %d client(s) still busy %d s after "
	    "shutdown_grace", control_nconns(), DRAIN_FINAL_S);
	conns_free();
	drain_check(-1, 0, NULL);
}

static void
drain_deadline(evutil_socket_t unused, short what, void *arg)
{
	struct timeval tv = { DRAIN_FINAL_S, 0 };

	if (control_nconns() > 0)
		log_info("shutdown_grace passed: %d client(s) still busy; "
		    "new requests are refused", control_nconns());
	control_refusing = 1;
	conns_check_idle();
	if (evtimer_add(final_ev, &tv) != 0)
		fatalx("cannot arm the shutdown timer");
}

void
control_drain(unsigned deadline, void (*done)(void))
{
	struct timeval tv = { (time_t)deadline, 0 };

	control_draining = 1;
	drain_done = done;
	drain_check_ev = evtimer_new(vmsd_base, drain_check, NULL);
	deadline_ev = evtimer_new(vmsd_base, drain_deadline, NULL);
	final_ev = evtimer_new(vmsd_base, drain_final, NULL);
	if (drain_check_ev == NULL || deadline_ev == NULL || final_ev == NULL ||
	    evtimer_add(deadline_ev, &tv) != 0)
		fatalx("cannot arm the shutdown timers");
	if (control_nconns() > 0)
		log_info("shutdown: serving %d connected client(s) until idle "
		    "(at most %u s)", control_nconns(), deadline);
	conns_check_idle();
	event_active(drain_check_ev, EV_TIMEOUT, 0);
}

void
drain_conn_gone(void)
{
	if (control_draining && drain_check_ev != NULL)
		event_active(drain_check_ev, EV_TIMEOUT, 0);
}

void
drain_free(void)
{
	drain_done = NULL;
	if (drain_check_ev != NULL)
		event_free(drain_check_ev);
	if (deadline_ev != NULL)
		event_free(deadline_ev);
	if (final_ev != NULL)
		event_free(final_ev);
	drain_check_ev = deadline_ev = final_ev = NULL;
}
