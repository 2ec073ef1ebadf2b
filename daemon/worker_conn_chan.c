/*
 * worker_conn_chan.c — the attach channel, the worker's side (wire.h):
 * the connections vmsd hands over (an attach, answered here, or vmsd's
 * own hand-over of a calling client, which is not), and those of the
 * latter the worker gives back to vmsd (wc_give_back): at a line that is
 * not a call of this contract, over the connection limits, past what the
 * channel carries, and when it stops. worker_conn.c serves them in
 * between.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "fdpass.h"
#include "ledger.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "worker.h"
#include "worker_conn_int.h"

#define WCONN_DGRAM	(WIRE_ATTACH_MAX_INPUT + 8192)

/* The attach channel joins the worker's epoll set (worker_poll.c) under
 * the tag NULL; each connection, under its struct wconn. */
void
wconns_init(struct worker *w, int chan)
{
	struct epoll_event ev;

	w->wc.chan = chan;
	if (chan < 0)
		return;
	w->wc.on = 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* the channel */
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, chan, &ev) != 0)
		fatal("epoll_ctl");
}

/* A reply the worker writes itself, at once (nothing is to come before
 * it on this connection): the attach's. */
static void
put_now(struct wconn *c, const char *id, int code, const char *message,
    json_t *result)
{
	json_t *e = NULL;
	char *v;

	if (result != NULL)
		v = json_dumps(result, JSON_COMPACT);
	else if ((e = json_pack("{s:i,s:s}", "code", code, "message",
	    message)) == NULL)
		v = NULL;
	else
		v = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (v == NULL)
		fatalx("json_dumps");
	if (c->outoff == c->out.len)
		c->wr_ms = mono_msec();
	proto_reply_text(&c->out, id, strlen(id), result == NULL, v,
	    strlen(v));
	free(v);
	json_decref(result);
}

/* ---- new connections ---- */

static size_t
count_uid(const struct worker *w, uint64_t uid)
{
	size_t i, n = 0;

	for (i = 0; i < w->wc.n; i++)
		if (w->wc.v[i]->fd >= 0 && w->wc.v[i]->uid == uid)
			n++;
	return n;
}

/* One datagram of the attach channel: a connection and what it needs. */
static void
take_one(struct worker *w, const char *buf, size_t len, int fd)
{
	struct wire_attach a;
	struct epoll_event ev;
	struct wconn *c;
	char err[VMS_ERRLEN], *id;
	const uint64_t *lim;

	if (wire_decode_attach(buf, len, &a, err, sizeof(err)) != 0) {
		log_warnx("attach channel: %s: connection closed", err);
		close(fd);
		return;
	}
	memcpy(w->wc.lim, a.limits, sizeof(w->wc.lim));
	lim = w->wc.lim;
	w->wc.debug_auth = a.debug_auth;
	if ((id = json_dumps(a.id, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatalx("json_dumps");
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->uid = a.uid;
	c->caller = a.caller ? xstrdup(a.caller) : NULL;
	c->last_ms = mono_msec();
	if (w->wc.n == w->wc.cap) {
		w->wc.cap = w->wc.cap ? 2 * w->wc.cap : 16;
		w->wc.v = xrealloc(w->wc.v, w->wc.cap * sizeof(*w->wc.v));
	}
	w->wc.v[w->wc.n++] = c;
	w->wc.nopen++;
	memset(&ev, 0, sizeof(ev));
	ev.events = c->events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		fatal("epoll_ctl");
	c->handoff = a.handoff;
	if (c->handoff && ((lim[L_MAX_CONNS] > 0 && w->wc.nopen >
	    lim[L_MAX_CONNS]) || (lim[L_MAX_PER_UID] > 0 &&
	    count_uid(w, c->uid) > lim[L_MAX_PER_UID]))) {
		/* vmsd's own idea: it serves it then, as before */
		wc_add_input(w, c, a.input, a.inputlen);
		wc_set_line(w, c, 0);
		c->back = "too many connections attached";
	} else if (c->handoff) {
		log_debug("took a connection of %s over from vmsd",
		    c->caller ? c->caller : "an anonymous client");
		wc_add_input(w, c, a.input, a.inputlen);
	} else if ((lim[L_MAX_CONNS] > 0 && w->wc.nopen > lim[L_MAX_CONNS]) ||
	    (lim[L_MAX_PER_UID] > 0 && count_uid(w, c->uid) >
	    lim[L_MAX_PER_UID])) {
		snprintf(err, sizeof(err), "too many connections attached to "
		    "%s (max_connections %llu, max_connections_per_uid %llu)",
		    w->name, (unsigned long long)lim[L_MAX_CONNS],
		    (unsigned long long)lim[L_MAX_PER_UID]);
		put_now(c, id, RPC_BUSY, err, NULL);
		c->closing = 1;
		log_info("refused to attach a connection of %s: %s",
		    c->caller ? c->caller : "an anonymous client", err);
	} else {
		put_now(c, id, 0, NULL, json_pack("{s:s,s:b,s:I}", "contract",
		    w->name, "attached", 1, "size", (json_int_t)
		    ledger_committed_size(w->ledger)));
		log_debug("attached a connection of %s", c->caller ?
		    c->caller : "an anonymous client");
		wc_add_input(w, c, a.input, a.inputlen);
	}
	free(id);
	wire_attach_clear(&a);
	wc_flush(w, c);
	wconns_tell(w, 1);
}

/* Every connection waiting on the channel. */
void
wc_take_all(struct worker *w)
{
	static char *buf;
	ssize_t n;
	int fd, cut;

	if (buf == NULL)
		buf = xmalloc(WCONN_DGRAM);
	for (;;) {
		n = fdpass_recv(w->wc.chan, buf, WCONN_DGRAM, &fd, &cut);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* vmsd closed it: it is stopping us, over the wire */
			if (fd >= 0)
				close(fd);
			(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, w->wc.chan,
			    NULL);
			close(w->wc.chan);
			w->wc.chan = -1;
			return;
		}
		if (fd < 0 || cut) {
			log_warnx("attach channel: a message without its "
			    "connection, or truncated: ignored");
			if (fd >= 0)
				close(fd);
			continue;
		}
		take_one(w, buf, (size_t)n, fd);
	}
}

/*
 * Give c back to vmsd (wire.h "back") with what it sent that was not run;
 * every reply before it is written. If the channel does not take it (vmsd
 * is stopping, or too slow), c is closed: nothing it was answered is lost,
 * only lines not run.
 */
void
wc_give_back(struct worker *w, struct wconn *c, const char *why)
{
	struct jbuf b = { NULL, 0, 0 };
	int rc;

	if (w->wc.chan < 0) {		/* vmsd is stopping us */
		wc_close_conn(w, c, NULL);
		return;
	}
	wire_put_back(&b, why);
	if (c->inlen > 0)
		jbuf_raw(&b, c->in, c->inlen);
	rc = fdpass_send(w->wc.chan, b.s, b.len, c->fd);
	jbuf_free(&b);
	if (rc != 0) {
		log_warnx("cannot give a connection of %s back to vmsd (%s): "
		    "%s; closing it", c->caller ? c->caller : "an anonymous "
		    "client", why, strerror(errno));
		wc_close_conn(w, c, NULL);
		return;
	}
	log_debug("gave a connection of %s back to vmsd: %s", c->caller ?
	    c->caller : "an anonymous client", why);
	c->back = NULL;
	wc_close_conn(w, c, NULL);	/* (our copy: vmsd has its own) */
}
