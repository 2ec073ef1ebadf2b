/*
 * worker_conn.c — client connections attached to this worker (the control
 * socket's "attach", vmsd-protocol(7)): vmsd hands each over on the attach
 * channel (wire.h) and forgets it; from then on the worker reads the calls
 * sent on it and answers them itself, without vmsd relaying each one.
 *
 * A connection's lines are JSON-RPC requests, decoded by the protocol's
 * own parser (libvms/proto.c) and checked against the method table; only
 * "call" of this contract is taken, its caller decided as vmsd decides it
 * (callid.c), and worker.c runs it as any call (worker_call), in the open
 * batch. Every reply, errors included, waits in the batch with the others
 * and is written once the batch is durable, in request order: the routes
 * (a ring of wire ids) say which connection each reply of wconns_send
 * goes to and under which id. Connections take turns, one line each, so
 * one that sends many does not hold the others back.
 *
 * Limits as vmsd's own connections have them (vmsd.conf(5); the values
 * come with each attach): max_message per line, max_output unsent (a
 * client that does not read is closed), max_connections and
 * max_connections_per_uid here; the deadlines and memory_budget in
 * worker_conn_limits.c. A connection over a limit is closed; nothing
 * it sent before is lost (its calls run and commit, their replies dropped
 * only if it is gone). The worker tells vmsd how many are attached and
 * how far the ledger grew (wconns_tell).
 *
 * A connection vmsd handed over on its own (vmsd.conf(5) "handoff", wire.h
 * "handoff") has had no attach request: nothing is answered for one, and
 * a line it sends that is not a call of this contract (or that does not
 * parse) is not refused but given back: reading stops, the replies
 * before it are written, and the connection goes back to vmsd with the
 * bytes not run (wire.h "back"), which serves it from then on. So does
 * one over max_connections, and every such connection when the worker
 * stops with all its replies written.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callid.h"
#include "canon.h"
#include "ledger.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "worker.h"
#include "worker_conn_int.h"

#define WCONN_READ	65536		/* bytes per read */
#define WCONN_PENDING	4096		/* replies to come: reading stops */
#define WCONN_CLOSE_MS	1000		/* at exit, to write what waits */

/* Watch for what the connection can do now. */
void
wc_watch(struct worker *w, struct wconn *c)
{
	struct epoll_event ev;
	uint32_t want = 0;

	if (c->fd < 0)
		return;
	/* (reading stops while its replies pile up, and while whole lines
	 * wait: what it sends stays in its socket, not in our memory) */
	if (!c->closing && !c->rd_eof && c->back == NULL &&
	    c->routes < WCONN_PENDING &&
	    c->out.len - c->outoff < w->wc.lim[L_MAX_OUTPUT] / 2 + 1 &&
	    !(c->hasline && c->inlen >= WCONN_READ))
		want |= EPOLLIN;
	if (c->outoff < c->out.len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		fatal("epoll_ctl");
	c->events = want;
}

static void
free_conn(struct worker *w, struct wconn *c)
{
	size_t i;

	for (i = 0; i < w->wc.n; i++)
		if (w->wc.v[i] == c) {
			w->wc.v[i] = w->wc.v[--w->wc.n];
			break;
		}
	if (w->wc.rr >= w->wc.n)
		w->wc.rr = 0;
	free(c->caller);
	free(c->in);
	jbuf_free(&c->out);
	free(c);
}

/* Has c a whole line (or a line too long) to run? (counted: the loop
 * asks for every request it runs) */
void
wc_set_line(struct worker *w, struct wconn *c, int v)
{
	v = v != 0;
	if (c->hasline != v) {
		w->wc.nready = v ? w->wc.nready + 1 : w->wc.nready - 1;
		c->hasline = v;
	}
}

/* Free the closed connections no reply is to come for (at the end of
 * each entry point: nothing below holds one across it). */
static void
reap(struct worker *w)
{
	size_t i = 0;

	while (i < w->wc.n)
		if (w->wc.v[i]->fd < 0 && w->wc.v[i]->routes == 0)
			free_conn(w, w->wc.v[i]);
		else
			i++;
}

/* Close it now (what waits to be written is dropped); the struct stays
 * until reap(), and while replies are to come. */
void
wc_close_conn(struct worker *w, struct wconn *c, const char *why)
{
	if (c->fd >= 0) {
		if (why != NULL)
			log_info("closing the attached connection of %s: %s",
			    c->caller ? c->caller : "an anonymous client", why);
		(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		w->wc.nopen--;
	}
	wc_set_line(w, c, 0);
	c->inlen = 0;
	c->out.len = c->outoff = 0;
}

/* Done with it: nothing more to read, run, answer or write; or what it
 * sent goes back to vmsd now that it is answered. */
static void
maybe_done(struct worker *w, struct wconn *c)
{
	if (c->fd >= 0 && c->back != NULL && c->routes == 0 &&
	    c->outoff == c->out.len)
		wc_give_back(w, c, c->back);
	else if (c->fd >= 0 && (c->rd_eof || c->closing) && c->routes == 0 &&
	    !c->hasline && c->outoff == c->out.len && c->back == NULL)
		wc_close_conn(w, c, NULL);
}

/* Write what waits, as far as the socket takes it. */
void
wc_flush(struct worker *w, struct wconn *c)
{
	ssize_t n;

	while (c->fd >= 0 && c->outoff < c->out.len) {
		n = send(c->fd, c->out.s + c->outoff, c->out.len - c->outoff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			wc_close_conn(w, c, NULL);		/* it is gone */
			return;
		}
		c->outoff += (size_t)n;
		c->last_ms = c->wr_ms = mono_msec();
	}
	if (c->fd < 0)
		return;
	if (c->outoff == c->out.len)
		c->outoff = c->out.len = 0;
	else if (c->out.len - c->outoff > w->wc.lim[L_MAX_OUTPUT]) {
		wc_close_conn(w, c,
		    "it does not read its replies (max_output)");
		return;
	} else if (c->outoff > c->out.len / 2) {	/* (what was sent goes) */
		memmove(c->out.s, c->out.s + c->outoff,
		    c->out.len - c->outoff);
		c->out.len -= c->outoff;
		c->outoff = 0;
	}
	wc_watch(w, c);
	maybe_done(w, c);
}

/* ---- input ---- */

/* A line over max_message: answered with an error in its turn (a line
 * of its own: after what c sent before), then c is closed. */
static void
too_large(struct worker *w, struct wconn *c)
{
	log_info("attached client %s sent a message over max_message: "
	    "closing the connection", c->caller ? c->caller : "(anonymous)");
	c->inlen = 0;
	c->scanned = 0;
	c->toolarge = 1;
	wc_set_line(w, c, 1);
	c->closing = 1;
}

/* New bytes of c: does a whole line wait now, or is one too long? */
void
wc_add_input(struct worker *w, struct wconn *c, const char *s, size_t n)
{
	uint64_t max = w->wc.lim[L_MAX_MESSAGE];

	if (n == 0 || c->closing)
		return;
	if (c->incap - c->inlen < n) {
		while (c->incap - c->inlen < n)
			c->incap = c->incap ? 2 * c->incap : 4096;
		c->in = xrealloc(c->in, c->incap);
	}
	memcpy(c->in + c->inlen, s, n);
	c->inlen += n;
	if (!c->hasline && c->back == NULL) {
		if (memchr(c->in + c->scanned, '\n', c->inlen - c->scanned))
			wc_set_line(w, c, 1);
		else {
			c->scanned = c->inlen;
			if (c->req_start == 0)
				c->req_start = mono_msec();
			if (max > 0 && c->inlen > max)
				too_large(w, c);
		}
	}
}

/* One read of a readable connection. 1 if it sent something. */
static int
read_conn(struct worker *w, struct wconn *c)
{
	char buf[WCONN_READ];
	size_t want = sizeof(buf);
	ssize_t n;

	/* a handed-over connection holds no more than can go back */
	if (c->handoff) {
		want = WIRE_BACK_MAX_INPUT - c->inlen;
		if (want > sizeof(buf))
			want = sizeof(buf);
		if (want == 0)		/* (read_conn's caller: never) */
			return 0;
	}
	do
		n = recv(c->fd, buf, want, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		wc_close_conn(w, c, NULL);
		return 0;
	}
	if (n == 0) {
		c->rd_eof = 1;
		/* a partial line is never run */
		if (!c->hasline)
			c->inlen = 0;
		wc_watch(w, c);
		maybe_done(w, c);
		return 0;
	}
	c->last_ms = mono_msec();
	wc_add_input(w, c, buf, (size_t)n);
	if (c->handoff && !c->hasline && c->back == NULL && !c->closing &&
	    c->inlen >= WIRE_BACK_MAX_INPUT) {
		c->back = "a line longer than a worker takes";
		c->req_start = 0;
	}
	wc_watch(w, c);
	maybe_done(w, c);
	return 1;
}

int
wconns_event(struct worker *w, void *tag, uint32_t events)
{
	struct wconn *c = tag;

	if (c == NULL) {
		/* (a connection vmsd handed over comes with its call) */
		wc_take_all(w);
		return w->wc.nready > 0;
	}
	/* (closed by an earlier event of this round: still listed, its fd
	 * -1) */
	if (c->fd < 0)
		return 0;
	/* Going back: what it sends, EOF included, stays in its socket for
	 * vmsd; a client that hung up altogether reads no reply either. */
	if (c->back != NULL && (events & (EPOLLHUP | EPOLLERR))) {
		wc_close_conn(w, c, NULL);
		return 0;
	}
	if (events & EPOLLOUT)
		wc_flush(w, c);
	if (c->back != NULL)
		return 0;
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return read_conn(w, c);
	return 0;
}

void
wconns_after(struct worker *w)
{
	if (!w->wc.on)
		return;
	wc_expire(w);
	wc_budget(w);
	reap(w);
}

/* ---- requests ---- */

int
wconns_has_line(const struct worker *w)
{
	return w->wc.nready > 0;
}

static struct wroute *
push_route(struct worker *w, struct wconn *c, uint64_t wid, const json_t *id,
    int notification)
{
	struct wroute *r;

	if (w->wc.qlen == w->wc.qcap) {
		struct wroute *nq;
		size_t i, cap = w->wc.qcap ? 2 * w->wc.qcap : 64;

		nq = xcalloc(cap, sizeof(*nq));
		for (i = 0; i < w->wc.qlen; i++)
			nq[i] = w->wc.q[(w->wc.qhead + i) % w->wc.qcap];
		free(w->wc.q);
		w->wc.q = nq;
		w->wc.qhead = 0;
		w->wc.qcap = cap;
	}
	r = &w->wc.q[(w->wc.qhead + w->wc.qlen++) % w->wc.qcap];
	r->wid = wid;
	r->c = c;
	r->id = NULL;
	/* the id as jansson writes it (jbuf_value_ordered: without its
	 * dumper's allocations, 2 % of the worker's time at one client) */
	if (!notification && id != NULL) {
		struct jbuf b;

		jbuf_init(&b);
		if (jbuf_value_ordered(&b, id) == 0)
			r->id = b.s;
		else
			jbuf_free(&b);
	}
	if (!notification && r->id == NULL)
		r->id = xstrdup("null");
	c->routes++;
	return r;
}

/* A parsed request: is it a call of this contract? 0, or the error code
 * (rq->err says why) an attached connection is answered with. */
static int
check_call(const struct worker *w, struct wconn_req *rq, const char *method)
{
	const struct proto_method *m = proto_method_find(method);
	const char *contract;

	if (m == NULL || m->id != PM_CALL) {
		snprintf(rq->err, sizeof(rq->err), "%s%s: an attached "
		    "connection takes calls only", m == NULL ? "method not "
		    "found: " : "", method);
		return RPC_METHOD_NOT_FOUND;
	}
	if (proto_check_params(m, rq->params, rq->err,
	    sizeof(rq->err)) != 0)
		return RPC_INVALID_PARAMS;
	contract = json_string_value(json_object_get(rq->params,
	    "contract"));
	if (contract == NULL || strcmp(contract, w->name) != 0) {
		snprintf(rq->err, sizeof(rq->err), "this connection is "
		    "attached to contract %s, not %s", w->name,
		    contract ? contract : "?");
		return RPC_NO_CONTRACT;
	}
	return 0;
}

/* One request line of c, decoded into rq: a call to run, or the error to
 * answer with. -1 if c was handed over by vmsd and the line is not a call
 * of this contract: it goes back (rq cleared, the line left in c->in). */
static int
decode_request(struct worker *w, struct wconn *c, const char *line,
    size_t len, struct wconn_req *rq)
{
	struct callid_peer who = { c->caller, 0, w->wc.debug_auth,
	    ledger_origin(w->ledger) };
	const char *method = NULL;
	json_t *id = NULL;
	int changed = 0, parsed;

	rq->code = proto_parse_request(line, len, &rq->msg, &method,
	    &rq->params, &id, rq->err, sizeof(rq->err));
	if ((parsed = rq->code == 0))
		rq->code = check_call(w, rq, method);
	if (c->handoff && rq->code != 0) {
		json_decref(rq->msg);
		memset(rq, 0, sizeof(*rq));
		return -1;
	}
	/* a notification that parsed gets no reply, whatever happens */
	push_route(w, c, rq->wid, id, parsed && id == NULL);
	if (rq->code == 0)
		rq->code = callid_decide(rq->params, &who, &rq->caller,
		    &rq->auth, &changed, &rq->data, rq->err,
		    sizeof(rq->err));
	return 0;
}

int
wconns_next(struct worker *w, struct wconn_req *rq)
{
	struct wconn *c = NULL;
	char *nl;
	size_t i, len;

	memset(rq, 0, sizeof(*rq));
	if (w->wc.nready == 0)
		return 0;
	for (i = 0; i < w->wc.n; i++) {
		c = w->wc.v[(w->wc.rr + i) % w->wc.n];
		if (c->hasline)
			break;
	}
	if (i == w->wc.n)
		return 0;
	w->wc.rr = (w->wc.rr + i + 1) % w->wc.n;
	rq->wid = WCONN_WID | ++w->wc.next_wid;
	if (c->toolarge) {
		c->toolarge = 0;
		wc_set_line(w, c, 0);
		push_route(w, c, rq->wid, NULL, 0);
		rq->code = RPC_TOO_LARGE;
		snprintf(rq->err, sizeof(rq->err), "message too large (over "
		    "%llu bytes)", (unsigned long long)w->wc.lim[L_MAX_MESSAGE]);
		return 1;
	}
	nl = memchr(c->in, '\n', c->inlen);
	len = (size_t)(nl - c->in);
	/* (trailing spaces and CR, as vmsd's front end takes them) */
	while (len > 0 && (c->in[len - 1] == '\r' || c->in[len - 1] == ' ' ||
	    c->in[len - 1] == '\t'))
		len--;
	if (len > 0 && decode_request(w, c, c->in, len, rq) != 0) {
		/* not ours: it goes back, from this line on */
		c->back = "a line that is not a call of this contract";
		wc_set_line(w, c, 0);
		c->req_start = 0;
		wc_watch(w, c);
		maybe_done(w, c);
		memset(rq, 0, sizeof(*rq));
		return 0;
	}
	len = (size_t)(nl + 1 - c->in);
	memmove(c->in, c->in + len, c->inlen - len);
	c->inlen -= len;
	c->scanned = 0;
	c->req_start = 0;
	wc_set_line(w, c, memchr(c->in, '\n', c->inlen) != NULL);
	if (!c->hasline) {
		c->scanned = c->inlen;
		if (c->inlen > 0)
			c->req_start = mono_msec();
		if (c->rd_eof)
			c->inlen = 0;
	}
	if (c->fd >= 0)
		wc_watch(w, c);
	return rq->msg != NULL || rq->code != 0;	/* (else an empty line) */
}

void
wconns_req_clear(struct wconn_req *rq)
{
	json_decref(rq->msg);
	json_decref(rq->data);
	free(rq->caller);
	memset(rq, 0, sizeof(*rq));
}

/* ---- replies ---- */

/* vmsd's part of the replies: what lies between the attached ones. */
static void
to_vmsd(struct worker *w, const char *s, size_t n)
{
	if (n > 0 && write_all(w->fd, s, n) != 0)
		fatal("worker %s: write to vmsd", w->name);
}

void
wconns_send(struct worker *w, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *run = buf, *nl, *v;
	uint64_t wid;
	struct wroute *r;
	struct wconn *c;
	size_t vlen, i;
	int is_error;

	if (w->wc.qlen == 0) {
		to_vmsd(w, buf, len);
		return;
	}
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end - 1;
		if (wire_split_reply(p, (size_t)(nl - p), &wid, &is_error, &v,
		    &vlen) != 0 || !(wid & WCONN_WID))
			continue;	/* vmsd's */
		to_vmsd(w, run, (size_t)(p - run));
		run = nl + 1;
		if (w->wc.qlen == 0 || w->wc.q[w->wc.qhead].wid != wid)
			fatalx("reply %llu of an attached connection is out of "
			    "order", (unsigned long long)(wid & ~WCONN_WID));
		r = &w->wc.q[w->wc.qhead];
		w->wc.qhead = (w->wc.qhead + 1) % w->wc.qcap;
		w->wc.qlen--;
		c = r->c;
		c->routes--;
		if (c->fd >= 0 && r->id != NULL) {
			if (c->outoff == c->out.len)
				c->wr_ms = mono_msec();
			proto_reply_text(&c->out, r->id, strlen(r->id),
			    is_error, v, vlen);
		}
		free(r->id);
	}
	to_vmsd(w, run, (size_t)(end - run));
	for (i = 0; i < w->wc.n; i++) {
		c = w->wc.v[i];
		if (c->fd >= 0 && c->outoff < c->out.len)
			wc_flush(w, c);
		else if (c->fd >= 0) {
			wc_watch(w, c);	/* fewer replies to come: read on */
			maybe_done(w, c);
		}
	}
	wc_budget(w);
	reap(w);
}

void
wconns_tell(struct worker *w, int force)
{
	struct jbuf b = { NULL, 0, 0 };
	uint64_t size, now;

	if (!w->wc.on || (!w->wc.told_ever && w->wc.nopen == 0))
		return;
	size = ledger_committed_size(w->ledger);
	if (w->wc.told_ever && w->wc.told_n == w->wc.nopen &&
	    w->wc.told_size == size)
		return;
	now = mono_msec();
	if (w->wc.told_ever && w->wc.told_n == w->wc.nopen && !force &&
	    now < w->wc.told_ms + WIRE_ATTACHED_MS)
		return;
	wire_put_attached(&b, w->wc.nopen, size);
	to_vmsd(w, b.s, b.len);
	jbuf_free(&b);
	w->wc.told_n = w->wc.nopen;
	w->wc.told_size = size;
	w->wc.told_ms = now;
	w->wc.told_ever = 1;
}

void
wconns_close_all(struct worker *w)
{
	uint64_t until = mono_msec() + WCONN_CLOSE_MS, now;
	struct pollfd p;
	struct wconn *c;
	size_t i;

	for (i = 0; i < w->wc.n; i++) {
		c = w->wc.v[i];
		while (c->fd >= 0 && c->outoff < c->out.len &&
		    (now = mono_msec()) < until) {
			p.fd = c->fd;
			p.events = POLLOUT;
			if (poll(&p, 1, (int)(until - now)) <= 0)
				break;
			wc_flush(w, c);
			if (i >= w->wc.n || w->wc.v[i] != c)
				break;
		}
	}
	for (i = 0; i < w->wc.n; i++) {
		c = w->wc.v[i];
		/* vmsd's own hand-overs, answered: back to vmsd, with the
		 * lines not run (it relays them, to a worker started again) */
		if (c->fd >= 0 && c->handoff && !c->closing && !c->rd_eof &&
		    !c->toolarge && c->routes == 0 && c->outoff == c->out.len)
			wc_give_back(w, c, c->back ? c->back :
			    "the worker is stopping");
		c->routes = 0;
		wc_close_conn(w, c, NULL);
	}
	reap(w);
	for (i = 0; i < w->wc.qlen; i++)
		free(w->wc.q[(w->wc.qhead + i) % w->wc.qcap].id);
	free(w->wc.q);
	free(w->wc.v);
	if (w->wc.chan >= 0)
		close(w->wc.chan);
}
