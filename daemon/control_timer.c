/*
 * control_timer.c — a control-socket connection's timers (control.c): a
 * line partly received must be complete within client_request_timeout of
 * its first byte (slow-loris), a connection holding nothing is closed
 * after client_idle_timeout, and while vmsd drains at shutdown
 * (control_drain.c) an idle client is closed after a grace of
 * DRAIN_IDLE_MS, never dropping a request.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "control_int.h"
#include "log.h"
#include "util.h"
#include "vmsd.h"

#define DRAIN_IDLE_MS		250		/* idle time before a client
						   is closed on shutdown */

/* Nothing partial, pending or unsent, in either direction. */
static int
conn_is_idle(struct conn *c)
{
	return !c->closing && TAILQ_EMPTY(&c->pending) &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* While draining: (re)start the idle grace of an idle client, stop it for
 * a busy one. Never frees c: the close happens in conn_idle_cb. */
void
conn_check_idle(struct conn *c)
{
	struct timeval tv = { 0, DRAIN_IDLE_MS * 1000 };

	if (!control_draining || c->closing)
		return;
	if (!conn_is_idle(c)) {
		evtimer_del(c->idle_ev);
		return;
	}
	if (control_refusing)
		timerclear(&tv);
	if (control_refusing || !evtimer_pending(c->idle_ev, NULL))
		evtimer_add(c->idle_ev, &tv);
}

/*
 * A client stayed idle through the grace: close it, without ever dropping
 * a request. shutdown(SHUT_RD) first makes the client's further writes
 * fail (EPIPE) while what it wrote before stays readable: if anything is
 * there, it is read and served as usual and the connection closes at the
 * EOF that follows.
 */
static void
conn_idle_cb(evutil_socket_t unused, short what, void *arg)
{
	struct conn *c = arg;
	int fd = bufferevent_getfd(c->bev);
	ssize_t n;
	char b;

	if (!conn_is_idle(c))
		return;
	if (shutdown(fd, SHUT_RD) != 0)
		log_debug("shutdown(SHUT_RD): %s", strerror(errno));
	n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		log_debug("shutdown: request arrived as the idle client was "
		    "being closed; serving it");
		return;
	}
	log_debug("shutdown: closing idle client (%s)", c->info.ident);
	conn_free(c);
}

/*
 * Arm the connection's timer for its state: a line partly received must
 * be complete within client_request_timeout of its first byte; a
 * connection with nothing partial, pending or unsent is closed after
 * client_idle_timeout. Busy or paused connections have neither.
 */
void
conn_arm(struct conn *c)
{
	const struct vmsd_config *cf = vmsd_conf;
	size_t inlen = evbuffer_get_length(bufferevent_get_input(c->bev));
	struct timeval tv;
	uint64_t now, ms;
	int kind = TIMER_NONE;

	if (c->aborted || c->closing)
		return;
	if (inlen == 0)
		c->req_start = 0;
	if (inlen > 0 && !c->paused && !c->held &&
	    cf->client_request_timeout > 0)
		kind = TIMER_REQUEST;
	else if (inlen == 0 && TAILQ_EMPTY(&c->pending) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    cf->client_idle_timeout > 0 && !control_draining)
		kind = TIMER_IDLE;
	if (kind == c->timer_kind)
		return;		/* armed already, same deadline */
	c->timer_kind = kind;
	if (kind == TIMER_NONE) {
		evtimer_del(c->timer_ev);
		return;
	}
	now = mono_msec();
	if (kind == TIMER_REQUEST) {
		if (c->req_start == 0)
			c->req_start = now;
		ms = c->req_start + (uint64_t)cf->client_request_timeout *
		    1000;
		ms = ms > now ? ms - now : 0;
	} else
		ms = (uint64_t)cf->client_idle_timeout * 1000;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(c->timer_ev, &tv);
}

static void
conn_timer_cb(evutil_socket_t unused, short what, void *arg)
{
	struct conn *c = arg;
	int kind = c->timer_kind;

	c->timer_kind = TIMER_NONE;
	if (c->aborted) {
		conn_free(c);
		return;
	}
	if (kind == TIMER_REQUEST &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 &&
	    !c->paused && !c->held && !c->closing) {
		conn_abort(c, "no complete request within %u s "
		    "(client_request_timeout)",
		    vmsd_conf->client_request_timeout);
		return;
	}
	if (kind == TIMER_IDLE && conn_is_idle(c) && !control_draining) {
		log_debug("closing the idle connection of %s "
		    "(client_idle_timeout)", c->who);
		conn_free(c);
		return;
	}
	conn_arm(c);
}

int
conn_timers_new(struct conn *c)
{
	if ((c->idle_ev = evtimer_new(vmsd_base, conn_idle_cb, c)) == NULL)
		return -1;
	if ((c->timer_ev = evtimer_new(vmsd_base, conn_timer_cb, c)) == NULL)
		return -1;
	return 0;
}

void
conn_timer_reset(struct conn *c)
{
	c->req_start = 0;
	c->timer_kind = TIMER_NONE;
	evtimer_del(c->timer_ev);
}
