/*
 * http.c — vmsd's HTTP/1.1 port (http.h), on libevent's evhttp.
 *
 * POST /rpc with Content-Type application/json: one JSON-RPC 2.0 request
 * in the body, decoded by proto_parse_request like a control-socket line,
 * dispatched by methods.c as a remote (anonymous) request; the reply is
 * the response's body. A notification (no "id") is executed and answered
 * 204 with no body. GET /health answers 200 while serving, 503 once
 * shutting down. GET under a registered prefix goes to its module.
 * Anything else: 404, 405 (wrong method) or 415 (wrong content type), each
 * with a JSON-RPC error body so that every client can read why.
 *
 * Each evhttp connection has a record (struct hconn) holding the requests
 * waiting for a reply: if the client goes away first, they are orphaned
 * (a call already sent to a worker still runs and commits) before evhttp
 * frees its requests.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "listen.h"
#include "log.h"
#include "methods.h"
#include "proto.h"
#include "rpcreq.h"
#include "util.h"
#include "vmsd.h"

struct hconn;

/* One POST /rpc waiting for its reply. */
struct hreq {
	struct evhttp_request	*req;
	struct rpcreq		*rpc;
	struct hconn		*hc;
	TAILQ_ENTRY(hreq)	 entry;
};

struct hconn {
	struct evhttp_connection *evcon;
	struct conn_info	 info;
	TAILQ_HEAD(, hreq)	 reqs;
	LIST_ENTRY(hconn)	 entry;
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
static LIST_HEAD(, hconn) hconns = LIST_HEAD_INITIALIZER(hconns);
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

/* A reply with a body (NULL: none) of the given content type. */
static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *body, size_t len)
{
	struct evbuffer *b = NULL;

	if (body != NULL && (b = evbuffer_new()) != NULL &&
	    evbuffer_add(b, body, len) != 0) {
		evbuffer_free(b);
		b = NULL;
	}
	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
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

static void
hconn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct hconn *hc = arg;
	struct hreq *h;

	while ((h = TAILQ_FIRST(&hc->reqs)) != NULL) {
		TAILQ_REMOVE(&hc->reqs, h, entry);
		rpcreq_orphan(h->rpc);	/* freed when answered */
		free(h);
		npending--;
	}
	LIST_REMOVE(hc, entry);
	free(hc);
	check_drained();
}

static struct hconn *
hconn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct hconn *hc;

	LIST_FOREACH(hc, &hconns, entry)
		if (hc->evcon == evcon)
			return hc;
	hc = xcalloc(1, sizeof(*hc));
	hc->evcon = evcon;
	hc->info.tcp = 1;
	TAILQ_INIT(&hc->reqs);
	LIST_INSERT_HEAD(&hconns, hc, entry);
	evhttp_connection_set_closecb(evcon, hconn_closed, hc);
	return hc;
}

/* The JSON-RPC reply is ready: it becomes the HTTP response. */
static void
rpc_done(struct rpcreq *rpc, void *owner)
{
	struct hreq *h = owner;
	int status = 200;
	const char *reason = "OK";

	TAILQ_REMOVE(&h->hc->reqs, h, entry);
	npending--;
	if (rpc->notification)
		reply(h->req, 204, "No Content", NULL, NULL, 0);
	else {
		/* JSON-RPC errors are 200 like results, but for what HTTP
		 * itself has a word for */
		if (rpc->code == RPC_TOO_LARGE) {
			status = 413;
			reason = "Payload Too Large";
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
do_rpc(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct hconn *hc;
	struct hreq *h;
	json_t *msg = NULL, *params = NULL, *id = NULL;
	const char *method = NULL;
	char err[VMS_ERRLEN], *body;
	size_t len = evbuffer_get_length(in);
	int code;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
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
	hc = hconn_of(req);
	h = xcalloc(1, sizeof(*h));
	h->req = req;
	h->hc = hc;
	h->rpc = rpcreq_new(h, &hc->info, rpc_done);
	TAILQ_INSERT_TAIL(&hc->reqs, h, entry);
	npending++;
	code = proto_parse_request(body ? body : "", len, &msg, &method,
	    &params, &id, err, sizeof(err));
	if (id != NULL)
		h->rpc->id = json_incref(id);
	if (code != 0) {
		json_decref(msg);
		rpcreq_error(h->rpc, code, NULL, "%s", err);
		return;
	}
	if (json_object_get(msg, "id") == NULL)
		h->rpc->notification = 1;
	if (vmsd_shutting_down)
		rpcreq_error(h->rpc, RPC_UNAVAILABLE, NULL,
		    "vmsd is shutting down");
	else
		methods_dispatch(h->rpc, method, params);
	json_decref(msg);
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
	struct route *r;
	char *path;
	size_t n;

	path = xstrdup(uri);
	path[strcspn(path, "?#")] = '\0';
	if (strcmp(path, "/rpc") == 0) {
		do_rpc(req);
		goto out;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
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
	evhttp_set_max_body_size(http, (ev_ssize_t)vmsd_conf->max_message);
	evhttp_set_gencb(http, dispatch, NULL);
	return 0;
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
http_free(void)
{
	struct route *r;
	struct bound *b;

	drain_done = NULL;
	if (http != NULL)
		evhttp_free(http);	/* closes connections: hconn_closed */
	http = NULL;
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
