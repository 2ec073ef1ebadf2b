/*
 * httpconn.h — the connections of vmsd's HTTP port (httpconn.c), beneath
 * evhttp: admission when accepted (admit.c), the client's address (or
 * the one a trusted proxy names), the deadline for receiving a whole
 * request (slow-loris), requests per connection, and the memory each
 * holds (budget.c). http.c answers the requests.
 */
#ifndef VMSD_HTTPCONN_H
#define VMSD_HTTPCONN_H

#include <sys/queue.h>

#include <stdint.h>

#include "budget.h"
#include "rpcreq.h"

struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct bufferevent;
struct evbuffer_cb_entry;
struct event;
struct hreq;

struct hconn {
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	int			 fd;
	struct conn_info	 info;
	const char		*addr;		/* the key of this request's
						   client, for limits */
	char			 peer[64];	/* the TCP peer's address */
	char			 peerkey[64];	/* ... for limits (v6: /64) */
	char			 client[64];	/* the key of the client a
						   trusted proxy names */
	int			 trusted;	/* peer is a trusted proxy */
	unsigned		 nreq;		/* requests read */
	int			 busy;		/* a request is being answered */
	int			 aborted;
	size_t			 in_held;	/* bytes received for the
						   request being read/answered */
	struct budget_acct	 acct;
	struct evbuffer_cb_entry *watch_in, *watch_out;
	struct event		*timer;		/* request deadline, abort */
	char			 who[80];
	TAILQ_HEAD(, hreq)	 reqs;		/* http.c's, waiting */
};

/* Take over accepting on http: each connection is admitted or refused
 * (a 503 with the reason) as soon as it is accepted. closed(hc) is
 * called when a connection goes, before hc is freed. */
void	 hconn_setup(struct evhttp *, void (*closed)(struct hconn *));
/* The connection of a request evhttp has read whole. */
struct hconn *hconn_of(struct evhttp_request *);
/* A request was read: its deadline is met; hc->addr is its client
 * (the X-Real-IP a trusted proxy gives, else the peer). Once its reply
 * is written, whoever sends it, what it held is released and the next
 * request's deadline starts. Returns 1 when it must be the last on this
 * connection (max_requests_per_connection). */
int	 hconn_request(struct hconn *, struct evhttp_request *);
size_t	 hconn_count(void);
/* Settings that follow a reload (timeouts, sizes). */
void	 hconn_configure(struct evhttp *);
void	 hconn_free_all(void);

#endif
