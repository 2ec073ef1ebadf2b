/*
 * http.c — vmsd's HTTP/1.1 port (http.h), on libevent's evhttp.
 *
 * POST /rpc with Content-Type application/json: one JSON-RPC 2.0 message
 * in the body, a request or a batch (rpcmsg.c, as on the control socket),
 * dispatched by methods.c as a remote request; the reply is the
 * response's body. A notification, or a batch of them only, is executed
 * and answered 204 with no body. A request refused by the rate limit is
 * answered 429 with Retry-After, one over max_message 413. GET /health
 * answers 200 while serving, 503 once shutting down. GET under a
 * registered prefix goes to its module. OPTIONS answers CORS preflights
 * (cors_origins), and every response to an allowed origin carries
 * Access-Control-Allow-Origin. Anything else: 404, 405 (wrong method) or
 * 415 (wrong content type), each with a JSON-RPC error body so that every
 * client can read why.
 *
 * Connections (admission, deadlines, memory) are httpconn.c's. Each
 * holds the requests waiting for a reply: if the client goes away first,
 * they are orphaned (a call already sent to a worker still runs and
 * commits) before evhttp frees its requests.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "http.h"
#include "httpconn.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "rpcmsg.h"
#include "rpcreq.h"
#include "util.h"
#include "vmsd.h"

#define CORS_METHODS	"POST, GET, HEAD, OPTIONS"
#define CORS_MAX_AGE	"600"

/* One POST /rpc waiting for its reply. */
struct hreq {
	struct evhttp_request	*req;
	struct rpcreq		*rpc;
	struct hconn		*hc;
	TAILQ_ENTRY(hreq)	 entry;
};

struct route {
	char			*prefix;
	http_get_fn		 fn;
	void			*arg;
	SLIST_ENTRY(route)	 entry;
};

struct bound {
	struct evhttp_bound_socket *sock;
	SLIST_ENTRY(bound)	 entry;
};

static struct evhttp *http;
static SLIST_HEAD(, route) routes = SLIST_HEAD_INITIALIZER(routes);
static SLIST_HEAD(, bound) bounds = SLIST_HEAD_INITIALIZER(bounds);
static size_t npending;
static void (*drain_done)(void);
static int draining;

static void
check_drained(void)
{
	void (*done)(void) = drain_done;

	if (done != NULL && npending == 0) {
		drain_done = NULL;
		done();
	}
}

void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *cc, const void *body, size_t len)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct evbuffer *b = NULL;
	char num[24];

	if (ctype != NULL)
		evhttp_add_header(hdr, "Content-Type", ctype);
	if (cc != NULL)
		evhttp_add_header(hdr, "Cache-Control", cc);
	if (body != NULL &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 would send the body after a HEAD's headers
		 * (a kept-alive client would read it as the next reply) and
		 * no length: the length GET sends, no body */
		snprintf(num, sizeof(num), "%zu", len);
		evhttp_add_header(hdr, "Content-Length", num);
		body = NULL;
	}
	if (body != NULL && ((b = evbuffer_new()) == NULL ||
	    evbuffer_add(b, body, len) != 0)) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

/* A reply with a body (NULL: none) of the given content type. */
static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *body, size_t len)
{
	http_reply(req, code, reason, ctype, NULL, body, len);
}

/* A JSON-RPC error in a plain HTTP error: for requests refused before
 * any JSON-RPC request could be read. */
static void
reply_error(struct evhttp_request *req, int status, const char *reason,
    int code, const char *msg)
{
	size_t len = 0;
	char *body = proto_error(NULL, code, msg, NULL, &len);

	reply(req, status, reason, "application/json", body, body ? len : 0);
	free(body);
}

/*
 * CORS: what Access-Control-Allow-Origin says to this Origin: "*" when
 * cors_origins has it, the origin itself when listed, else NULL (no CORS
 * header, and browsers keep the response from the page).
 */
static const char *
cors_allowed(const char *origin)
{
	const char *p = vmsd_conf->cors_origins;
	size_t n, m;

	if (origin == NULL || *p == '\0')
		return NULL;
	n = strlen(origin);
	for (; *p != '\0'; p += m) {
		p += strspn(p, " ,\t");
		m = strcspn(p, " ,\t");
		if (m == 1 && *p == '*')
			return "*";
		if (m == n && m > 0 && strncasecmp(p, origin, n) == 0)
			return origin;
	}
	return NULL;
}

static const char *
origin_of(struct evhttp_request *req)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Origin");
}

static void
add_cors(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *allow = cors_allowed(origin_of(req));

	if (*vmsd_conf->cors_origins != '\0' &&
	    strcmp(vmsd_conf->cors_origins, "*") != 0)
		evhttp_add_header(out, "Vary", "Origin");
	if (allow == NULL)
		return;
	evhttp_add_header(out, "Access-Control-Allow-Origin", allow);
	evhttp_add_header(out, "Access-Control-Expose-Headers",
	    "Retry-After");
}

/* OPTIONS: a CORS preflight, or a plain question about methods. */
static void
do_options(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *origin = origin_of(req);

	evhttp_add_header(out, "Allow", CORS_METHODS);
	if (origin == NULL || evhttp_find_header(in,
	    "Access-Control-Request-Method") == NULL) {
		reply(req, 204, "No Content", NULL, NULL, 0);
		return;
	}
	if (cors_allowed(origin) == NULL) {
		reply_error(req, 403, "Forbidden", RPC_PERMISSION,
		    "this origin may not call (cors_origins)");
		return;
	}
	add_cors(req);
	evhttp_add_header(out, "Access-Control-Allow-Methods", CORS_METHODS);
	evhttp_add_header(out, "Access-Control-Allow-Headers", "Content-Type");
	evhttp_add_header(out, "Access-Control-Max-Age", CORS_MAX_AGE);
	reply(req, 204, "No Content", NULL, NULL, 0);
}

/* The connection goes (httpconn.c): its requests are orphaned. */
static void
hconn_gone(struct hconn *hc)
{
	struct hreq *h;

	while ((h = TAILQ_FIRST(&hc->reqs)) != NULL) {
		TAILQ_REMOVE(&hc->reqs, h, entry);
		rpcreq_orphan(h->rpc);	/* freed when answered */
		free(h);
		npending--;
	}
	check_drained();
}

/* The JSON-RPC reply is ready: it becomes the HTTP response. */
static void
rpc_done(struct rpcreq *rpc, void *owner)
{
	struct hreq *h = owner;
	struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
	int status = 200;
	const char *reason = "OK";
	char secs[16];

	TAILQ_REMOVE(&h->hc->reqs, h, entry);
	npending--;
	if (rpc->notification || rpc->reply == NULL)
		reply(h->req, 204, "No Content", NULL, NULL, 0);
	else {
		/* JSON-RPC errors are 200 like results, but for what HTTP
		 * itself has a word for */
		if (rpc->code == RPC_TOO_LARGE) {
			status = 413;
			reason = "Payload Too Large";
		} else if (rpc->code == RPC_RATE_LIMITED) {
			status = 429;
			reason = "Too Many Requests";
			snprintf(secs, sizeof(secs), "%u", rpc->retry_after);
			evhttp_add_header(out, "Retry-After", secs);
		}
		reply(h->req, status, reason, "application/json", rpc->reply,
		    rpc->replylen);
	}
	rpcreq_free(rpc);
	free(h);
	check_drained();
}

static int
is_json(struct evhttp_request *req)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Content-Type");
	size_t n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
do_rpc(struct evhttp_request *req, struct hconn *hc)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct hreq *h;
	char *body;
	size_t len = evbuffer_get_length(in);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST, OPTIONS");
		reply_error(req, 405, "Method Not Allowed", RPC_INVALID_REQUEST,
		    "use POST for JSON-RPC requests");
		return;
	}
	if (!is_json(req)) {
		reply_error(req, 415, "Unsupported Media Type",
		    RPC_INVALID_REQUEST, "Content-Type must be "
		    "application/json");
		return;
	}
	if ((body = (char *)evbuffer_pullup(in, -1)) == NULL && len > 0) {
		reply_error(req, 500, "Internal Server Error",
		    RPC_INTERNAL_ERROR, "cannot read the request body");
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->req = req;
	h->hc = hc;
	h->rpc = rpcreq_new(h, &hc->info, rpc_done);
	h->rpc->acct = &hc->acct;
	h->rpc->addr = hc->addr;
	TAILQ_INSERT_TAIL(&hc->reqs, h, entry);
	npending++;
	/* may complete at once (rpc_done) */
	rpcmsg_handle(h->rpc, body ? body : "", len, 0);
}

static void
do_health(struct evhttp_request *req)
{
	static const char ok[] = "{\"status\":\"ok\"}\n";
	static const char down[] = "{\"status\":\"shutting down\"}\n";

	if (draining || vmsd_shutting_down)
		reply(req, 503, "Service Unavailable", "application/json",
		    down, sizeof(down) - 1);
	else
		reply(req, 200, "OK", "application/json", ok, sizeof(ok) - 1);
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct hconn *hc = hconn_of(req);
	struct route *r;
	char *path;
	size_t n;

	if (hc == NULL) {
		/* never admitted (httpconn.c could not set it up) */
		evhttp_add_header(out, "Connection", "close");
		reply_error(req, 503, "Service Unavailable", RPC_BUSY,
		    "cannot serve this connection now");
		return;
	}
	if (hconn_request(hc, req))
		evhttp_add_header(out, "Connection", "close");
	if (cmd == EVHTTP_REQ_OPTIONS) {
		do_options(req);
		return;
	}
	add_cors(req);
	path = xstrdup(uri);
	path[strcspn(path, "?#")] = '\0';
	if (strcmp(path, "/rpc") == 0) {
		do_rpc(req, hc);
		goto out;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD, OPTIONS");
		reply_error(req, 405, "Method Not Allowed", RPC_INVALID_REQUEST,
		    "only GET and HEAD here; JSON-RPC is POST /rpc");
		goto out;
	}
	if (strcmp(path, "/health") == 0) {
		do_health(req);
		goto out;
	}
	SLIST_FOREACH(r, &routes, entry) {
		n = strlen(r->prefix);
		if (strncmp(path, r->prefix, n) == 0) {
			r->fn(req, path + n, r->arg);
			goto out;
		}
	}
	reply_error(req, 404, "Not Found", RPC_METHOD_NOT_FOUND,
	    "not found (JSON-RPC is POST /rpc)");
out:
	free(path);
}

static int
http_init(char *err, size_t errlen)
{
	if (http != NULL)
		return 0;
	if ((http = evhttp_new(vmsd_base)) == NULL) {
		seterr(err, errlen, "evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, dispatch, NULL);
	hconn_setup(http, hconn_gone);
	return 0;
}

static void
accept_resume(evutil_socket_t unused, short what, void *arg)
{
	struct evhttp_bound_socket *sock = arg;
	struct bound *b;

	if (draining)
		return;
	SLIST_FOREACH(b, &bounds, entry)	/* still ours? */
		if (b->sock == sock)
			evconnlistener_enable(
			    evhttp_bound_socket_get_listener(sock));
}

/* accept() failed: out of descriptors or memory, back off a little
 * rather than spin (admit.c keeps connections below the fd limit; this is
 * for what else may use descriptors). */
static void
accept_error(struct evconnlistener *evl, void *arg)
{
	static time_t last;
	struct timeval tv = { 0, 100000 };
	int e = EVUTIL_SOCKET_ERROR();

	if (time(NULL) != last) {
		log_warnx("HTTP accept: %s", evutil_socket_error_to_string(e));
		last = time(NULL);
	}
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		evconnlistener_disable(evl);
		event_base_once(vmsd_base, -1, EV_TIMEOUT, accept_resume, arg,
		    &tv);
	}
}

int
http_listen_fd(int fd, char *err, size_t errlen)
{
	struct bound *b;

	if (http_init(err, errlen) != 0)
		return -1;
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0) {
		seterr(err, errlen, "listening socket: %s", strerror(errno));
		return -1;
	}
	b = xcalloc(1, sizeof(*b));
	if ((b->sock = evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		seterr(err, errlen, "cannot serve HTTP on fd %d", fd);
		free(b);
		return -1;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(b->sock),
	    accept_error);
	SLIST_INSERT_HEAD(&bounds, b, entry);
	return 0;
}

int
http_listen(const char *addrport, char *err, size_t errlen)
{
	int fd;

	if ((fd = listen_tcp(addrport, err, errlen)) < 0)
		return -1;
	if (http_listen_fd(fd, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	log_info("listening on http://%s", addrport);
	return 0;
}

void
http_route(const char *prefix, http_get_fn fn, void *arg)
{
	struct route *r = xcalloc(1, sizeof(*r));

	r->prefix = xstrdup(prefix);
	r->fn = fn;
	r->arg = arg;
	SLIST_INSERT_HEAD(&routes, r, entry);
}

void
http_drain(void (*done)(void))
{
	struct bound *b;

	draining = 1;
	if (http != NULL)
		while ((b = SLIST_FIRST(&bounds)) != NULL) {
			SLIST_REMOVE_HEAD(&bounds, entry);
			evhttp_del_accept_socket(http, b->sock);
			free(b);
		}
	drain_done = done;
	check_drained();
}

size_t
http_pending(void)
{
	return npending;
}

void
http_configure(void)
{
	if (http != NULL)
		hconn_configure(http);
}

void
http_free(void)
{
	struct route *r;
	struct bound *b;

	drain_done = NULL;
	if (http != NULL)
		evhttp_free(http);	/* closes connections: hconn_gone */
	http = NULL;
	hconn_free_all();
	while ((b = SLIST_FIRST(&bounds)) != NULL) {
		SLIST_REMOVE_HEAD(&bounds, entry);
		free(b);
	}
	while ((r = SLIST_FIRST(&routes)) != NULL) {
		SLIST_REMOVE_HEAD(&routes, entry);
		free(r->prefix);
		free(r);
	}
}
