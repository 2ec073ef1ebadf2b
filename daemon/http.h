/*
 * http.h — vmsd's HTTP/1.1 port (http.c, libevent's evhttp): the front end
 * for remote clients. POST /rpc carries JSON-RPC 2.0 (the methods the
 * table marks PM_REMOTE), a request or a batch; GET /health answers load
 * balancers; other modules serve read-only resources under a GET prefix
 * they register (http_route), such as a contract's ledger under /c/NAME/;
 * OPTIONS answers CORS preflights (cors_origins). Connections, their
 * admission, deadlines and memory are httpconn.h's.
 */
#ifndef VMSD_HTTP_H
#define VMSD_HTTP_H

#include <stddef.h>

struct evhttp_request;

/* Bind ADDR:PORT (or [ADDR6]:PORT), or serve a listening socket passed by
 * systemd. -1 with err. */
int	 http_listen(const char *addrport, char *err, size_t errlen);
int	 http_listen_fd(int fd, char *err, size_t errlen);

/* GET (and HEAD) of prefix... goes to fn with the rest of the path (after
 * the prefix, without the query). fn answers the request. */
typedef void	(*http_get_fn)(struct evhttp_request *, const char *rest,
		    void *arg);
void	 http_route(const char *prefix, http_get_fn, void *arg);
/* Answer a request: Content-Type ctype and Cache-Control cc (NULL: not
 * sent), the body (NULL: none). A HEAD gets what GET would get but the
 * body: the same headers, Content-Length included. */
void	 http_reply(struct evhttp_request *, int code, const char *reason,
	    const char *ctype, const char *cc, const void *body, size_t len);

/* Shutdown: stop accepting; done() once no request is waiting for its
 * reply (at once if none is). Requests still arriving on open
 * connections are served until the workers stop. */
void	 http_drain(void (*done)(void));
size_t	 http_pending(void);
/* The configuration was reloaded: timeouts and sizes follow. */
void	 http_configure(void);
void	 http_free(void);

#endif
