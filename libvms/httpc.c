/*
 * httpc.c — the blocking HTTP/1.1 client (httpc.h). Each handle has its
 * own event base; a request is made on it and the base runs until the
 * response (or an error) arrives. The connection is kept for the next
 * request while the server keeps it open; a new one (with a new TLS
 * session) is made when it has closed.
 */
#include <sys/types.h>

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "httpc.h"
#include "util.h"

struct httpc {
	struct httpc_url	 url;
	struct httpc_opts	 opts;
	struct event_base	*base;
	struct evhttp_connection *conn;
	struct bufferevent	*bev;		/* TLS: the connection's */
	SSL_CTX			*ctx;
	int			 closed;	/* the server closed conn */
};

struct pending {
	struct httpc		*h;
	struct httpc_resp	*resp;
	int			 done;
	int			 failed;
	enum evhttp_request_error why;
	char			 err[512];
};

int
httpc_is_url(const char *s)
{
	return s != NULL && (strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "https://", 8) == 0);
}

int
httpc_parse_url(const char *url, struct httpc_url *u, char *err,
    size_t errlen)
{
	const char *p, *host, *end, *slash;
	size_t hl;
	long port;
	char *e;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		u->port = 80;
	} else if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		u->tls = 1;
		u->port = 443;
	} else {
		seterr(err, errlen, "%s: not an http:// or https:// URL", url);
		return -1;
	}
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	host = p;
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));

		if (rb == NULL) {
			seterr(err, errlen, "%s: unclosed [ in the host", url);
			return -1;
		}
		hl = (size_t)(rb - host - 1);
		host++;
		p = rb + 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));

		hl = (size_t)((colon ? colon : end) - host);
		p = host + hl;
	}
	if (hl == 0 || hl >= sizeof(u->host)) {
		seterr(err, errlen, "%s: bad host", url);
		return -1;
	}
	memcpy(u->host, host, hl);
	u->host[hl] = '\0';
	if (p < end) {
		if (*p != ':' || p + 1 == end) {
			seterr(err, errlen, "%s: bad port", url);
			return -1;
		}
		errno = 0;
		port = strtol(p + 1, &e, 10);
		if (errno != 0 || e != end || port < 1 || port > 65535) {
			seterr(err, errlen, "%s: bad port", url);
			return -1;
		}
		u->port = (int)port;
	}
	if (slash != NULL) {
		size_t pl = strlen(slash);

		while (pl > 0 && slash[pl - 1] == '/')
			pl--;
		if (pl >= sizeof(u->path)) {
			seterr(err, errlen, "%s: path too long", url);
			return -1;
		}
		memcpy(u->path, slash, pl);
		u->path[pl] = '\0';
	}
	return 0;
}

int
httpc_open(const char *url, const struct httpc_opts *opts, struct httpc **out,
    char *err, size_t errlen)
{
	struct httpc *h;

	*out = NULL;
	/* A server closing on us must be an error, not a fatal signal. */
	signal(SIGPIPE, SIG_IGN);
	h = xcalloc(1, sizeof(*h));
	if (httpc_parse_url(url, &h->url, err, errlen) != 0) {
		free(h);
		return -1;
	}
	if (opts != NULL)
		h->opts = *opts;
	if (h->opts.timeout_ms <= 0)
		h->opts.timeout_ms = 30000;
	if ((h->base = event_base_new()) == NULL) {
		seterr(err, errlen, "event_base_new failed");
		free(h);
		return -1;
	}
	if (h->url.tls) {
		if ((h->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
			seterr(err, errlen, "TLS: cannot create a context");
			httpc_close(h);
			return -1;
		}
		SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
		if ((h->opts.cafile != NULL ? SSL_CTX_load_verify_locations(
		    h->ctx, h->opts.cafile, NULL) :
		    SSL_CTX_set_default_verify_paths(h->ctx)) != 1) {
			seterr(err, errlen, "TLS: cannot load %s",
			    h->opts.cafile ? h->opts.cafile :
			    "the system's certificate store");
			httpc_close(h);
			return -1;
		}
	}
	*out = h;
	return 0;
}

static void
drop_conn(struct httpc *h)
{
	if (h->conn != NULL)
		evhttp_connection_free(h->conn);	/* frees h->bev */
	h->conn = NULL;
	h->bev = NULL;
	h->closed = 0;
}

void
httpc_close(struct httpc *h)
{
	if (h == NULL)
		return;
	drop_conn(h);
	if (h->ctx != NULL)
		SSL_CTX_free(h->ctx);
	if (h->base != NULL)
		event_base_free(h->base);
	free(h);
}

static void
conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct httpc *h = arg;

	h->closed = 1;
}

/* Did the server close the kept-alive connection while it was idle (its
 * idle timeout)? Then nothing was sent on it: connect again. A server
 * sends nothing unasked on an idle HTTP/1.1 connection but its close
 * (EOF, or TLS's close_notify): anything to read means closed. */
static int
idle_closed(struct httpc *h)
{
	struct pollfd pfd;

	if (h->bev == NULL && h->conn != NULL)
		h->bev = evhttp_connection_get_bufferevent(h->conn);
	if (h->bev == NULL || (pfd.fd = bufferevent_getfd(h->bev)) < 0)
		return 0;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1;
}

static int
connect_conn(struct httpc *h, char *err, size_t errlen)
{
	struct timeval tv;
	SSL *ssl;

	if (h->conn != NULL && !h->closed && !idle_closed(h))
		return 0;
	drop_conn(h);
	if (h->url.tls) {
		if ((ssl = SSL_new(h->ctx)) == NULL) {
			seterr(err, errlen, "TLS: SSL_new failed");
			return -1;
		}
		/* SNI, and the certificate must name the host */
		if (SSL_set_tlsext_host_name(ssl, h->url.host) != 1 ||
		    SSL_set1_host(ssl, h->url.host) != 1) {
			SSL_free(ssl);
			seterr(err, errlen, "TLS: cannot set the host name");
			return -1;
		}
		h->bev = bufferevent_openssl_socket_new(h->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		if (h->bev == NULL) {
			SSL_free(ssl);
			seterr(err, errlen, "TLS: cannot create a connection");
			return -1;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(h->bev, 1);
	}
	h->conn = evhttp_connection_base_bufferevent_new(h->base, NULL,
	    h->bev, h->url.host, (unsigned short)h->url.port);
	if (h->conn == NULL) {
		if (h->bev != NULL)
			bufferevent_free(h->bev);
		h->bev = NULL;
		seterr(err, errlen, "cannot create a connection to %s:%d",
		    h->url.host, h->url.port);
		return -1;
	}
	tv.tv_sec = h->opts.timeout_ms / 1000;
	tv.tv_usec = (h->opts.timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(h->conn, &tv);
	evhttp_connection_set_max_body_size(h->conn, HTTPC_MAX_BODY);
	evhttp_connection_set_closecb(h->conn, conn_closed, h);
	return 0;
}

static char *
header_dup(struct evhttp_request *req, const char *name)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(
	    req), name);

	return v != NULL ? xstrdup(v) : NULL;
}

static void
got_response(struct evhttp_request *req, void *arg)
{
	struct pending *p = arg;
	struct evbuffer *in;
	size_t n;

	p->done = 1;
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		p->failed = 1;
		return;
	}
	p->resp->status = evhttp_request_get_response_code(req);
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	p->resp->body = xmalloc(n + 1);
	if (n > 0 && evbuffer_remove(in, p->resp->body, n) != (int)n) {
		p->failed = 1;
		return;
	}
	p->resp->body[n] = '\0';
	p->resp->len = n;
	p->resp->content_type = header_dup(req, "Content-Type");
	p->resp->cache_control = header_dup(req, "Cache-Control");
}

static void
request_error(enum evhttp_request_error e, void *arg)
{
	struct pending *p = arg;

	p->why = e;
}

/* Why no response came: TLS first (most precise), then libevent's. */
static void
explain(struct pending *p, const char *what, char *err, size_t errlen)
{
	struct httpc *h = p->h;
	unsigned long e = 0;
	char buf[256];

	if (h->bev != NULL)
		e = bufferevent_get_openssl_error(h->bev);
	if (e == 0)
		e = ERR_get_error();
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		seterr(err, errlen, "%s: TLS: %s", what, buf);
		return;
	}
	switch (p->why) {
	case EVREQ_HTTP_TIMEOUT:
		seterr(err, errlen, "%s: timed out after %d ms", what,
		    h->opts.timeout_ms);
		break;
	case EVREQ_HTTP_EOF:
		seterr(err, errlen, "%s: the server closed the connection",
		    what);
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		seterr(err, errlen, "%s: malformed response (or its body is "
		    "over %u bytes)", what, HTTPC_MAX_BODY);
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
	case EVREQ_HTTP_REQUEST_CANCEL:
	case EVREQ_HTTP_DATA_TOO_LONG:
	default:
		seterr(err, errlen, "%s: cannot connect or no response (%s)",
		    what, errno ? strerror(errno) : "connection failed");
		break;
	}
}

int
httpc_request(struct httpc *h, const char *method, const char *path,
    const char *ctype, const void *body, size_t len,
    struct httpc_resp *resp, char *err, size_t errlen)
{
	struct evhttp_request *req;
	struct evkeyvalq *hdr;
	enum evhttp_cmd_type type;
	struct pending p;
	char uri[2048], hostport[300], what[2400];

	memset(resp, 0, sizeof(*resp));
	if (strcmp(method, "GET") == 0)
		type = EVHTTP_REQ_GET;
	else if (strcmp(method, "POST") == 0)
		type = EVHTTP_REQ_POST;
	else {
		seterr(err, errlen, "httpc: method %s not supported", method);
		return -1;
	}
	snprintf(uri, sizeof(uri), "%s%s", h->url.path, path);
	snprintf(what, sizeof(what), "%s://%s:%d%s",
	    h->url.tls ? "https" : "http", h->url.host, h->url.port, uri);
	if ((h->url.tls && h->url.port == 443) ||
	    (!h->url.tls && h->url.port == 80))
		snprintf(hostport, sizeof(hostport), "%s", h->url.host);
	else
		snprintf(hostport, sizeof(hostport), "%s:%d", h->url.host,
		    h->url.port);
	if (connect_conn(h, err, errlen) != 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p.h = h;
	p.resp = resp;
	if ((req = evhttp_request_new(got_response, &p)) == NULL) {
		seterr(err, errlen, "evhttp_request_new failed");
		return -1;
	}
	evhttp_request_set_error_cb(req, request_error);
	hdr = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(hdr, "Host", hostport) != 0 ||
	    evhttp_add_header(hdr, "User-Agent", "vmsd-httpc/1") != 0 ||
	    (ctype != NULL && evhttp_add_header(hdr, "Content-Type",
	    ctype) != 0) ||
	    (body != NULL && evbuffer_add(evhttp_request_get_output_buffer(
	    req), body, len) != 0)) {
		evhttp_request_free(req);
		seterr(err, errlen, "cannot build the request");
		return -1;
	}
	errno = 0;
	ERR_clear_error();
	if (evhttp_make_request(h->conn, req, type, uri) != 0) {
		/* evhttp frees req on failure */
		seterr(err, errlen, "%s: cannot send the request", what);
		drop_conn(h);
		return -1;
	}
	while (!p.done)
		if (event_base_loop(h->base, EVLOOP_ONCE) < 0) {
			seterr(err, errlen, "%s: event loop failed", what);
			drop_conn(h);
			return -1;
		}
	/* Never sent again on failure: a POST may have been executed. */
	if (p.failed) {
		httpc_resp_free(resp);
		explain(&p, what, err, errlen);
		drop_conn(h);
		return -1;
	}
	return 0;
}

void
httpc_resp_free(struct httpc_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->cache_control);
	memset(r, 0, sizeof(*r));
}
