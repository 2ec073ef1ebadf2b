/*
 * httpconn.c — the connections of the HTTP port beneath evhttp
 * (httpconn.h).
 *
 * libevent 2.1's evhttp accepts by itself and tells nobody; but it asks
 * for each connection's bufferevent (evhttp_set_bevcb) as it accepts.
 * That bufferevent is noted and an event made active: the event runs
 * before the loop next polls, so before anything is read from the new
 * connection, and admits it (admit.c) or refuses it with a 503 that says
 * why. A connection is found again from a request through its
 * descriptor (byfd).
 *
 * What a connection holds is charged to its budget account: the bytes of
 * the request being received or answered (counted as they arrive, since
 * evhttp moves a body out of the input buffer once it is whole), the
 * requests decoded (rpcreq_charge) and the reply not yet sent (the output
 * buffer, watched). The deadline of a request starts at its first byte:
 * a client sending one byte a second is dropped after
 * client_request_timeout. evhttp's own timeout (client_idle_timeout)
 * closes connections idle between requests, and those that do not read
 * their reply.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admit.h"
#include "budget.h"
#include "httpconn.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "vmsd.h"

static struct hconn **byfd;
static size_t nbyfd, nconns;
static struct bufferevent **fresh;
static size_t nfresh, capfresh;
static struct event *admit_ev;
static void (*closed_fn)(struct hconn *);

static void
arm_deadline(struct hconn *hc)
{
	struct timeval tv = { (time_t)vmsd_conf->client_request_timeout, 0 };

	if (hc->aborted || hc->busy || tv.tv_sec == 0 ||
	    evtimer_pending(hc->timer, NULL))
		return;
	evtimer_add(hc->timer, &tv);
}

/* Bytes arrive: charged until the request they belong to is answered;
 * the first starts the request's deadline. */
static void
input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hconn *hc = arg;

	if (info->n_added == 0)
		return;
	hc->in_held += info->n_added;
	budget_add(&hc->acct, info->n_added);
	arm_deadline(hc);
}

static void
unbudget(struct hconn *hc)
{
	budget_unwatch(bufferevent_get_input(hc->bev), hc->watch_in);
	budget_unwatch(bufferevent_get_output(hc->bev), hc->watch_out);
	hc->watch_in = hc->watch_out = NULL;
	budget_close(&hc->acct);
}

/* Close from the connection's timer, outside evhttp's callbacks. */
static void
hconn_abort(struct hconn *hc, const char *why)
{
	if (hc->aborted)
		return;
	log_info("closing the HTTP connection of %s: %s", hc->who, why);
	hc->aborted = 1;
	unbudget(hc);
	bufferevent_disable(hc->bev, EV_READ);
	evtimer_del(hc->timer);
	event_active(hc->timer, EV_TIMEOUT, 0);
}

static void
evict(struct budget_acct *a)
{
	struct hconn *hc = (struct hconn *)((char *)a -
	    offsetof(struct hconn, acct));
	char why[128];

	snprintf(why, sizeof(why), "memory_budget exhausted and it holds "
	    "the most (%zu bytes)", a->held);
	hconn_abort(hc, why);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *hc = arg;
	char why[128];

	if (!hc->aborted) {
		if (hc->busy)
			return;
		snprintf(why, sizeof(why), "no complete request within %u s "
		    "(client_request_timeout)",
		    vmsd_conf->client_request_timeout);
		log_info("closing the HTTP connection of %s: %s", hc->who,
		    why);
	}
	evhttp_connection_free(hc->evcon);	/* conn_closed frees hc */
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hconn *hc = arg;

	if (closed_fn != NULL)
		closed_fn(hc);
	unbudget(hc);
	admit_http_release(hc->peerkey);
	if ((size_t)hc->fd < nbyfd && byfd[hc->fd] == hc)
		byfd[hc->fd] = NULL;
	event_free(hc->timer);
	nconns--;
	free(hc);
}

/* Refused: a 503 saying why, then close. */
static void
refuse(struct evhttp_connection *evcon, int fd, const char *why)
{
	char head[256], junk[4096], *body;
	size_t len = 0;
	int n, i;

	body = proto_error(NULL, RPC_BUSY, why, NULL, &len);
	n = snprintf(head, sizeof(head), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Retry-After: 1\r\nConnection: close\r\n\r\n", body ? len : 0);
	/* what the client sent already: read, so closing does not reset
	 * the connection under the reply */
	for (i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0;
	    i++)
		;
	if (send(fd, head, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ||
	    (body != NULL && send(fd, body, len, MSG_DONTWAIT |
	    MSG_NOSIGNAL) < 0))
		log_debug("refusing an HTTP client: %s", strerror(errno));
	free(body);
	evhttp_connection_free(evcon);
}

static void
admit_one(struct evhttp_connection *evcon, struct bufferevent *bev, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct hconn *hc;
	char why[VMS_ERRLEN];
	size_t n;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
		evhttp_connection_free(evcon);
		return;
	}
	hc = xcalloc(1, sizeof(*hc));
	if (getnameinfo((struct sockaddr *)&ss, sl, hc->peer,
	    sizeof(hc->peer), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(hc->peer, sizeof(hc->peer), "?");
	admit_addr_key((struct sockaddr *)&ss, hc->peerkey,
	    sizeof(hc->peerkey));
	hc->trusted = admit_trusted_proxy(hc->peer);
	if (admit_http(hc->peerkey, hc->trusted, why, sizeof(why)) != 0) {
		free(hc);
		refuse(evcon, fd, why);
		return;
	}
	if ((size_t)fd >= nbyfd) {
		n = nbyfd ? nbyfd : 256;
		while (n <= (size_t)fd)
			n *= 2;
		byfd = realloc(byfd, n * sizeof(*byfd));
		if (byfd == NULL)
			fatalx("out of memory");
		memset(byfd + nbyfd, 0, (n - nbyfd) * sizeof(*byfd));
		nbyfd = n;
	}
	hc->evcon = evcon;
	hc->bev = bev;
	hc->fd = fd;
	hc->info.tcp = 1;
	hc->addr = hc->peerkey;
	TAILQ_INIT(&hc->reqs);
	snprintf(hc->who, sizeof(hc->who), "%s", hc->peer);
	if ((hc->timer = evtimer_new(vmsd_base, timer_cb, hc)) == NULL) {
		admit_http_release(hc->peerkey);
		free(hc);
		evhttp_connection_free(evcon);
		return;
	}
	budget_open(&hc->acct, evict, hc->who);
	hc->in_held = evbuffer_get_length(bufferevent_get_input(bev));
	budget_add(&hc->acct, hc->in_held);
	hc->watch_in = evbuffer_add_cb(bufferevent_get_input(bev), input_cb,
	    hc);
	hc->watch_out = budget_watch(&hc->acct, bufferevent_get_output(bev));
	byfd[fd] = hc;
	nconns++;
	evhttp_connection_set_closecb(evcon, conn_closed, hc);
	if (hc->in_held > 0)
		arm_deadline(hc);
}

static void
admit_cb(evutil_socket_t unused, short what, void *arg)
{
	struct bufferevent *bev;
	void (*rcb)(struct bufferevent *, void *) = NULL;
	void *cbarg = NULL;
	size_t i;
	int fd;

	for (i = 0; i < nfresh; i++) {
		bev = fresh[i];
		/* evhttp's callbacks name the connection; none if it has
		 * already failed and freed it (our reference keeps bev) */
		bufferevent_getcb(bev, &rcb, NULL, NULL, &cbarg);
		fd = bufferevent_getfd(bev);
		if (rcb != NULL && cbarg != NULL && fd >= 0)
			admit_one(cbarg, bev, fd);
		bufferevent_decref(bev);
	}
	nfresh = 0;
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	if (nfresh == capfresh) {
		capfresh = capfresh ? capfresh * 2 : 64;
		fresh = realloc(fresh, capfresh * sizeof(*fresh));
		if (fresh == NULL)
			fatalx("out of memory");
	}
	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;	/* evhttp makes one: never admitted, refused
				   at its first request (http.c) */
	bufferevent_incref(bev);
	fresh[nfresh++] = bev;
	event_active(admit_ev, EV_TIMEOUT, 0);
	return bev;
}

void
hconn_configure(struct evhttp *http)
{
	unsigned idle = vmsd_conf->client_idle_timeout;

	evhttp_set_timeout(http, idle > 0 ? (int)idle : 86400 * 365);
	evhttp_set_max_headers_size(http,
	    (ev_ssize_t)vmsd_conf->max_header_size);
	evhttp_set_max_body_size(http, (ev_ssize_t)vmsd_conf->max_message);
}

void
hconn_setup(struct evhttp *http, void (*closed)(struct hconn *))
{
	closed_fn = closed;
	if (admit_ev == NULL &&
	    (admit_ev = event_new(vmsd_base, -1, 0, admit_cb, NULL)) == NULL)
		fatalx("cannot create the HTTP admission event");
	evhttp_set_bevcb(http, bev_cb, NULL);
	hconn_configure(http);
}

struct hconn *
hconn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	int fd;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 || (size_t)fd >= nbyfd ||
	    byfd[fd] == NULL || byfd[fd]->evcon != evcon)
		return NULL;
	return byfd[fd];
}

/* The reply is written: what the request held goes; bytes of the next
 * one may wait already, and its deadline runs. */
static void
replied(struct evhttp_request *req, void *arg)
{
	struct hconn *hc = arg;
	size_t rest = evbuffer_get_length(bufferevent_get_input(hc->bev));

	hc->busy = 0;
	if (hc->in_held > rest) {
		budget_sub(&hc->acct, hc->in_held - rest);
		hc->in_held = rest;
	}
	if (rest > 0)
		arm_deadline(hc);
}

/* The client a trusted proxy names in X-Real-IP, as a key for limits. */
static int
proxied_client(struct evhttp_request *req, char *buf, size_t len)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "X-Real-IP");
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	if (v == NULL)
		return -1;
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, v, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		admit_addr_key((struct sockaddr *)&s4, buf, len);
	} else if (inet_pton(AF_INET6, v, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		admit_addr_key((struct sockaddr *)&s6, buf, len);
	} else
		return -1;
	return 0;
}

int
hconn_request(struct hconn *hc, struct evhttp_request *req)
{
	unsigned max = vmsd_conf->max_requests_per_connection;

	hc->busy = 1;
	evtimer_del(hc->timer);
	hc->nreq++;
	evhttp_request_set_on_complete_cb(req, replied, hc);
	hc->addr = hc->peerkey;
	if (hc->trusted && proxied_client(req, hc->client,
	    sizeof(hc->client)) == 0)
		hc->addr = hc->client;
	return max > 0 && hc->nreq >= max;
}

size_t
hconn_count(void)
{
	return nconns;
}

void
hconn_free_all(void)
{
	size_t i;

	for (i = 0; i < nfresh; i++)
		bufferevent_decref(fresh[i]);
	nfresh = 0;
	free(fresh);
	fresh = NULL;
	capfresh = 0;
	free(byfd);
	byfd = NULL;
	nbyfd = 0;
	if (admit_ev != NULL)
		event_free(admit_ev);
	admit_ev = NULL;
}
