/*
 * control.c — client connections on the control socket: admission (per
 * uid, in all, the descriptor reserve: admit.c), line framing with the
 * max_message cap that scans each byte once, pipelined messages (requests
 * and batches, rpcmsg.c) whose replies leave in request order, SO_PEERCRED
 * identity, back-pressure so a slow or hostile client never blocks the
 * others, the memory budget (budget.c: input, requests waiting, replies
 * not yet sent), and timeouts: a client that takes more than
 * client_request_timeout to send one whole line (slow-loris), stays idle
 * for client_idle_timeout (those two timers in control_timer.c), or does
 * not read its replies (max_output, or no progress for
 * client_idle_timeout) is disconnected.
 * Input is read with one read(2) per readable socket (conn_readable).
 * Its listeners (control_listen.c) hand it each connection
 * (control_accept). On shutdown it drains (control_drain.c): once they
 * stop accepting, the connected clients are served until each has been
 * idle for a moment (or a deadline passes).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "admit.h"
#include "budget.h"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "proto.h"
#include "rpcmsg.h"
#include "rpcreq.h"
#include "sockwrite.h"
#include "util.h"
#include "vmsd.h"
#include "wire.h"

#define CONN_MAX_PENDING	4096		/* requests awaiting replies */
#define CONN_READ_MAX		16384		/* bytes per read, as libevent's
						   bufferevents read */

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static int nconns;


static void conn_read(struct bufferevent *, void *);
static void conn_readable(evutil_socket_t, short, void *);
static void conn_write(struct bufferevent *, void *);
static void conn_event(struct bufferevent *, short, void *);
static void conn_flush(struct conn *);

/* Stop reading (paused, closing). */
static void
conn_rd_off(struct conn *c)
{
	if (event_del(c->rev) != 0)
		log_warnx("event_del failed");
}

/* Stop charging the connection's buffers and release what it holds. */
static void
conn_unbudget(struct conn *c)
{
	budget_unwatch(bufferevent_get_input(c->bev), c->watch_in);
	budget_unwatch(bufferevent_get_output(c->bev), c->watch_out);
	c->watch_in = c->watch_out = NULL;
	budget_close(&c->acct);
}

void
conn_free(struct conn *c)
{
	struct rpcreq *req;

	while ((req = TAILQ_FIRST(&c->pending)) != NULL) {
		TAILQ_REMOVE(&c->pending, req, centry);
		rpcreq_orphan(req);	/* freed when answered */
	}
	conn_unbudget(c);
	admit_control_release(c->info.uid);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	event_free(c->rev);
	bufferevent_free(c->bev);
	event_free(c->idle_ev);
	event_free(c->timer_ev);
	free(c->info.ident);
	free(c);
	drain_conn_gone();
}

/*
 * Close the connection now, whatever it has pending or unsent (a client
 * over a limit): its buffers are released at once and the connection is
 * freed from its timer, outside whatever callback decided it.
 */
void
conn_abort(struct conn *c, const char *fmt, ...)
{
	char why[VMS_ERRLEN];
	va_list ap;

	if (c->aborted)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_info("closing the connection of %s: %s", c->who, why);
	c->aborted = 1;
	c->closing = 1;
	conn_rd_off(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	conn_unbudget(c);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	evbuffer_drain(bufferevent_get_output(c->bev),
	    evbuffer_get_length(bufferevent_get_output(c->bev)));
	evtimer_del(c->timer_ev);
	event_active(c->timer_ev, EV_TIMEOUT, 0);
}

static void
conn_evict(struct budget_acct *a)
{
	struct conn *c = (struct conn *)((char *)a -
	    offsetof(struct conn, acct));

	conn_abort(c, "memory_budget exhausted and it holds the most "
	    "(%zu bytes)", a->held);
}

static void
conn_discard(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
conn_linger_event(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

/*
 * The replies are written: close. After an oversize message the client may
 * still be sending; closing with unread input would reset the connection
 * and could destroy our error reply in flight, so half-close and discard
 * its input for a moment first.
 */
static void
conn_finish(struct conn *c)
{
	struct timeval tv = { 1, 0 };

	if (!c->linger) {
		conn_free(c);
		return;
	}
	c->linger = 0;
	/* the bufferevent reads (and discards) from now on */
	conn_rd_off(c);
	if (shutdown(bufferevent_getfd(c->bev), SHUT_WR) != 0) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, conn_discard, NULL, conn_linger_event, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

/* A request's reply is ready: send what is ready, in request order. */
static void
conn_req_done(struct rpcreq *req, void *owner)
{
	/* the reply's bytes, until written */
	rpcreq_charge(req, req->replylen);
	conn_flush(owner);
}

/* attach accepted: read nothing more (the next bytes may be the worker's
 * to read) until it is answered or the connection is handed over. */
static void
conn_hold(struct rpcreq *req, void *owner)
{
	struct conn *c = owner;

	req->held = 1;
	c->held = 1;
	conn_rd_off(c);
	conn_arm(c);
}

/*
 * attach: give the connection up to the supervisor (which passes it to a
 * worker): a descriptor of the socket and the bytes read after the
 * request; the request leaves with it (orphaned: no reply from here) and
 * the connection is freed from its timer, its own descriptor closed
 * there, without a word to the client.
 */
static int
conn_handoff(struct rpcreq *req, void *owner, int own, int *fd, char **input,
    size_t *inputlen, char *err, size_t errlen)
{
	static const struct timeval now_tv = { 0, 0 };
	struct conn *c = owner;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in), pre = 0;
	struct rpcreq *r;

	*fd = -1;
	*input = NULL;
	*inputlen = 0;
	if (c->closing || c->aborted) {
		seterr(err, errlen, "the connection is closing");
		return -1;
	}
	/*
	 * vmsd's own hand-over of a call: only a connection that has been
	 * answered before (a client that makes one call and goes is served
	 * here: handing it over would cost more than relaying its call),
	 * never one a worker gave back (a client that mixes contracts or
	 * methods stays here), and only while the call's line is at hand,
	 * since it goes along.
	 */
	if (own && (c->line == NULL || c->returned || c->answered == 0 ||
	    control_draining || req->parent != NULL ||
	    n + c->linelen + 1 > WIRE_ATTACH_MAX_INPUT)) {
		seterr(err, errlen, "not to be handed over now");
		return -1;
	}
	if (own)
		pre = c->linelen + 1;
	TAILQ_FOREACH(r, &c->pending, centry)
		if (r != req && r != c->guard) {
			seterr(err, errlen, "attach must be the only request "
			    "in flight on its connection: wait for the "
			    "replies to the others first");
			return -1;
		}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0) {
		seterr(err, errlen, "attach must wait until the replies "
		    "before it are read");
		return -1;
	}
	if (n > WIRE_ATTACH_MAX_INPUT) {
		seterr(err, errlen, "%zu bytes were sent after attach (at "
		    "most %d before its reply)", n, WIRE_ATTACH_MAX_INPUT);
		return -1;
	}
	if ((*fd = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC,
	    0)) < 0) {
		seterr(err, errlen, "cannot hand the connection over: %s",
		    strerror(errno));
		return -1;
	}
	if (n + pre > 0) {
		*input = xmalloc(n + pre);
		if (pre > 0) {
			memcpy(*input, c->line, c->linelen);
			(*input)[c->linelen] = '\n';
		}
		if (n > 0 && evbuffer_remove(in, *input + pre, n) != (int)n)
			fatalx("evbuffer_remove short");
		*inputlen = n + pre;
	}
	log_debug("the connection of %s is handed over (%s)", c->who,
	    own ? "a call" : "attach");
	TAILQ_REMOVE(&c->pending, req, centry);
	c->npending--;
	rpcreq_uncharge(req);
	req->acct = NULL;
	rpcreq_orphan(req);
	c->aborted = 1;
	c->closing = 1;
	conn_rd_off(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	conn_unbudget(c);
	/*
	 * Freed (our descriptor closed) from the next turn of the loop, not
	 * this one: the event base applies its changes (the socket taken out
	 * of epoll) only when it next polls. Closed before that, the socket
	 * would stay in our epoll set for as long as the worker holds it,
	 * ready for ever under a number we no longer have.
	 */
	evtimer_del(c->timer_ev);
	evtimer_add(c->timer_ev, &now_tv);
	return 0;
}

static struct rpcreq *
conn_req_new(struct conn *c)
{
	struct rpcreq *req = rpcreq_new(c, &c->info, conn_req_done);

	req->hold = conn_hold;
	req->handoff = conn_handoff;
	req->acct = &c->acct;
	TAILQ_INSERT_TAIL(&c->pending, req, centry);
	c->npending++;
	return req;
}

/* Stop reading and free the connection once its replies are written. */
static void
conn_close_after_output(struct conn *c)
{
	c->closing = 1;
	conn_rd_off(c);
	if (TAILQ_EMPTY(&c->pending) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_finish(c);
}

static void
conn_flush(struct conn *c)
{
	struct rpcreq *req;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int close_now = 0;

	if (c->aborted)
		return;
	while ((req = TAILQ_FIRST(&c->pending)) != NULL && req->done) {
		if (!req->notification && req->reply != NULL &&
		    evbuffer_get_length(out) >= vmsd_conf->max_output) {
			conn_abort(c, "it does not read its replies (%zu "
			    "bytes unsent, max_output)",
			    evbuffer_get_length(out));
			return;
		}
		TAILQ_REMOVE(&c->pending, req, centry);
		c->npending--;
		if (req->held) {	/* attach refused: read on, as */
			c->held = 0;	/* after a pause */
			c->paused = 1;
		}
		if (!req->notification && req->reply != NULL &&
		    bev_write(c->bev, req->reply, req->replylen) != 0)
			close_now = 1;
		c->answered++;
		if (req->close_after)
			close_now = 1;
		rpcreq_uncharge(req);
		rpcreq_free(req);
	}
	if (close_now && !c->closing) {
		conn_close_after_output(c);
		return;
	}
	if (c->closing) {
		if (TAILQ_EMPTY(&c->pending) && evbuffer_get_length(out) == 0)
			conn_finish(c);
		return;
	}
	if (c->paused && c->npending < CONN_MAX_PENDING / 2 &&
	    evbuffer_get_length(out) < vmsd_conf->max_output / 2) {
		c->paused = 0;
		if (event_add(c->rev, NULL) != 0) {
			conn_abort(c, "cannot watch its socket");
			return;
		}
		/* Lines may already wait in the input buffer. */
		conn_read(c->bev, c);
		return;
	}
	conn_check_idle(c);
	conn_arm(c);
}

static void
conn_handle_line(struct conn *c, char *line, size_t len)
{
	rpcmsg_handle(conn_req_new(c), line, len, control_refusing);
}

static void
conn_too_large(struct conn *c)
{
	struct rpcreq *req = conn_req_new(c);

	req->close_after = 1;
	c->linger = 1;
	log_info("client sent a message over max_message (%zu bytes): "
	    "closing the connection", vmsd_conf->max_message);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	conn_rd_off(c);
	rpcreq_error(req, RPC_TOO_LARGE, NULL, "message too large (over %zu "
	    "bytes)", vmsd_conf->max_message);
}

/*
 * Frame lines. Only bytes not scanned before are searched for the newline
 * (c->scanned), so a line arriving in many pieces costs its length once,
 * not once per piece.
 */
static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol, from;
	size_t eol_len, len, inlen;
	char *line, small[2048];	/* most lines: no malloc */

	while (!c->closing && !c->held) {
		if (c->npending >= CONN_MAX_PENDING ||
		    evbuffer_get_length(bufferevent_get_output(bev)) >=
		    vmsd_conf->max_output) {
			c->paused = 1;
			conn_rd_off(c);
			conn_arm(c);
			return;
		}
		inlen = evbuffer_get_length(in);
		if (c->scanned >= inlen)
			eol.pos = -1;
		else if (c->scanned == 0)
			eol = evbuffer_search_eol(in, NULL, &eol_len,
			    EVBUFFER_EOL_LF);
		else if (evbuffer_ptr_set(in, &from, c->scanned,
		    EVBUFFER_PTR_SET) != 0)
			eol.pos = -1;
		else
			eol = evbuffer_search_eol(in, &from, &eol_len,
			    EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			c->scanned = inlen;
			if (inlen > vmsd_conf->max_message)
				conn_too_large(c);
			else {
				conn_check_idle(c);
				conn_arm(c);
			}
			return;
		}
		c->scanned = 0;
		len = (size_t)eol.pos;
		if (len > vmsd_conf->max_message) {
			conn_too_large(c);
			return;
		}
		line = len < sizeof(small) ? small : xmalloc(len + 1);
		if (evbuffer_remove(in, line, len) != (int)len)
			fatalx("evbuffer_remove short");
		evbuffer_drain(in, eol_len);
		/* a new line starts: its own deadline */
		conn_timer_reset(c);
		line[len] = '\0';
		while (len > 0 && (line[len - 1] == '\r' ||
		    line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len > 0) {
			/*
			 * Handling may free c only through conn_flush with
			 * close_after, which sets closing first; c stays
			 * valid while pending replies exist.
			 */
			struct rpcreq *guard = conn_req_new(c);

			c->guard = guard;
			c->line = line;
			c->linelen = len;
			conn_handle_line(c, line, len);
			c->guard = NULL;
			c->line = NULL;
			/* Release the guard: it keeps c alive meanwhile. */
			TAILQ_REMOVE(&c->pending, guard, centry);
			c->npending--;
			rpcreq_free(guard);
			if (c->closing) {
				if (line != small)
					free(line);
				conn_flush(c);
				return;
			}
			conn_flush(c);
		}
		if (line != small)
			free(line);
	}
}

/*
 * The socket is readable: one read, framed at once. EOF and errors go to
 * conn_event as the bufferevent would report them.
 */
static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char buf[CONN_READ_MAX];
	ssize_t n;
	int e;

	do
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		e = errno;
		conn_rd_off(c);
		errno = e;
		conn_event(c->bev, BEV_EVENT_READING |
		    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
		return;
	}
	if (evbuffer_add(bufferevent_get_input(c->bev), buf, (size_t)n) != 0) {
		conn_abort(c, "cannot buffer its input");
		return;
	}
	conn_read(c->bev, c);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		if (TAILQ_EMPTY(&c->pending))
			conn_finish(c);
		return;
	}
	if (c->paused)
		conn_flush(c);
	else {
		conn_check_idle(c);
		conn_arm(c);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		conn_abort(c, "it has not read its replies for %u s "
		    "(client_idle_timeout)", vmsd_conf->client_idle_timeout);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("client connection: %s", strerror(errno));
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* Half-closed: answer what was asked, then close. */
		if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
		    !TAILQ_EMPTY(&c->pending)) {
			conn_close_after_output(c);
			return;
		}
		conn_free(c);
	}
}

static char *
peer_ident(uid_t uid)
{
	struct passwd *pw;
	char *s;

	errno = 0;
	if ((pw = getpwuid(uid)) != NULL)
		xasprintf(&s, "unix:%s", pw->pw_name);
	else
		xasprintf(&s, "unix:uid:%lu", (unsigned long)uid);
	return s;
}

/* Refused: say why in one error line, then close. */
static void
refuse(int fd, const char *why)
{
	size_t len = 0;
	char *line = proto_error(NULL, RPC_BUSY, why, NULL, &len);

	if (line != NULL &&
	    send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("refusing a client: %s", strerror(errno));
	free(line);
	close(fd);
}

/* A connection admitted (its uid counted): served from now on. NULL if
 * it cannot be (closed, the count released). */
static struct conn *
conn_new(int fd, const struct ucred *ucp)
{
	struct ucred uc = *ucp;
	struct conn *c;
	struct timeval wtv;

	c = xcalloc(1, sizeof(*c));
	TAILQ_INIT(&c->pending);
	c->info.uid = uc.uid;
	c->info.gid = uc.gid;
	c->info.pid = uc.pid;
	c->info.ident = peer_ident(uc.uid);
	snprintf(c->who, sizeof(c->who), "%s (pid %ld)", c->info.ident,
	    (long)uc.pid);
	c->bev = bufferevent_socket_new(vmsd_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("bufferevent_socket_new failed");
		close(fd);
		admit_control_release(uc.uid);
		free(c->info.ident);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	/* A client that reads nothing of its replies for this long goes. */
	wtv.tv_sec = vmsd_conf->client_idle_timeout > 0 ?
	    (time_t)vmsd_conf->client_idle_timeout : 86400 * 365;
	wtv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	if (conn_timers_new(c) != 0 ||
	    (c->rev = event_new(vmsd_base, fd, EV_READ | EV_PERSIST,
	    conn_readable, c)) == NULL ||
	    bufferevent_enable(c->bev, EV_WRITE) != 0 ||
	    /* a socket bufferevent keeps its input's end frozen but for
	     * its own reads: ours add there */
	    evbuffer_unfreeze(bufferevent_get_input(c->bev), 0) != 0 ||
	    event_add(c->rev, NULL) != 0) {
		log_warnx("cannot set up a client connection");
		if (c->idle_ev != NULL)
			event_free(c->idle_ev);
		if (c->timer_ev != NULL)
			event_free(c->timer_ev);
		if (c->rev != NULL)
			event_free(c->rev);
		bufferevent_free(c->bev);
		admit_control_release(uc.uid);
		free(c->info.ident);
		free(c);
		return NULL;
	}
	budget_open(&c->acct, conn_evict, c->who);
	c->watch_in = budget_watch(&c->acct, bufferevent_get_input(c->bev));
	c->watch_out = budget_watch(&c->acct, bufferevent_get_output(c->bev));
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	return c;
}

void
control_accept(int fd)
{
	struct conn *c;
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	char why[VMS_ERRLEN];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) != 0) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if (admit_control(uc.uid, why, sizeof(why)) != 0) {
		refuse(fd, why);
		return;
	}
	if ((c = conn_new(fd, &uc)) == NULL)
		return;
	conn_check_idle(c);
	conn_arm(c);
	log_debug("client connected (%s, pid %ld)", c->info.ident,
	    (long)c->info.pid);
}

/*
 * A connection vmsd handed over to a worker on its own comes back (wire.h
 * "back"), with what the client sent that the worker did not run: served
 * here as any other from then on, beginning with those bytes. While vmsd
 * drains it is closed instead: every reply to what it sent before was
 * written, and what it sent after was not run.
 */
void
control_adopt(int fd, const char *input, size_t inputlen, const char *why)
{
	struct conn *c;
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	char err[VMS_ERRLEN];

	if (control_draining) {
		log_debug("a connection given back while vmsd stops: closed");
		close(fd);
		return;
	}
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) != 0) {
		log_warn("a connection given back: closed");
		close(fd);
		return;
	}
	if (admit_control(uc.uid, err, sizeof(err)) != 0) {
		refuse(fd, err);
		return;
	}
	if ((c = conn_new(fd, &uc)) == NULL)
		return;
	c->returned = 1;
	log_debug("the connection of %s is back (%s)", c->who, why);
	if (inputlen > 0 && evbuffer_add(bufferevent_get_input(c->bev), input,
	    inputlen) != 0) {
		conn_abort(c, "cannot buffer its input");
		return;
	}
	conn_check_idle(c);
	conn_arm(c);
	conn_read(c->bev, c);		/* (c may be gone after it) */
}

int
control_nconns(void)
{
	return nconns;
}

void
conns_check_idle(void)
{
	struct conn *c;

	TAILQ_FOREACH(c, &conns, entry)
		conn_check_idle(c);
}

void
conns_free(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c);
}

void
control_free_all(void)
{
	drain_free();		/* first: no done() while closing them */
	conns_free();
}
