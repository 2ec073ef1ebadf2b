/*
 * worker_conn_int.h — private to the attached connections' files:
 *
 *   worker_conn.c         reading and decoding their lines, routing the
 *                         replies back, closing them
 *   worker_conn_chan.c    the attach channel: taking them from vmsd, and
 *                         giving vmsd's own hand-overs back
 *   worker_conn_limits.c  their deadlines and memory_budget
 *
 * The rest of the worker sees them only through worker.h's wconns_*.
 */
#ifndef WORKER_CONN_INT_H
#define WORKER_CONN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "canon.h"

enum { L_MAX_MESSAGE, L_MAX_OUTPUT, L_IDLE, L_REQUEST, L_MAX_CONNS,
    L_MAX_PER_UID, L_BUDGET };

struct wconn {
	int		 fd;		/* -1 once closed */
	char		*caller;	/* the peer's identity, or NULL */
	uint64_t	 uid;
	char		*in;		/* what it sent, not yet run */
	size_t		 inlen, incap;
	size_t		 scanned;	/* of in, known to hold no newline */
	int		 hasline;
	struct jbuf	 out;		/* replies not yet written, */
	size_t		 outoff;	/* from here */
	unsigned	 routes;	/* replies to come */
	int		 rd_eof;	/* it sent EOF */
	int		 closing;	/* read no more; close once answered */
	int		 toolarge;	/* its next "line": one over max_message */
	int		 handoff;	/* vmsd handed it over on its own: what
					   cannot run here goes back */
	const char	*back;		/* why a line waits to go back: read
					   no more, give back once answered */
	uint32_t	 events;	/* registered with epoll */
	uint64_t	 last_ms;	/* last activity */
	uint64_t	 wr_ms;		/* replies waiting since, or last
					   written some of them */
	uint64_t	 req_start;	/* first byte of a partial line, or 0 */
};

/* worker_conn.c: close it now (what waits to be written is dropped);
 * the struct stays until it is reaped, and while replies are to come. */
void	 wc_close_conn(struct worker *, struct wconn *, const char *why);

/* worker_conn.c: watch c for what it can do now (epoll); count whether
 * it has a whole line to run; write what waits for it; take bytes it
 * sent (a whole line to run now, or one too long?). */
void	 wc_watch(struct worker *, struct wconn *);
void	 wc_set_line(struct worker *, struct wconn *, int);
void	 wc_flush(struct worker *, struct wconn *);
void	 wc_add_input(struct worker *, struct wconn *, const char *, size_t);

/* worker_conn_chan.c: take every connection waiting on the channel; give
 * c back to vmsd with what it sent that was not run (every reply before
 * written; closed if the channel does not take it). */
void	 wc_take_all(struct worker *);
void	 wc_give_back(struct worker *, struct wconn *, const char *why);

/* worker_conn_limits.c: close those whose deadline passed; those holding
 * the most while all of them are over memory_budget. */
void	 wc_expire(struct worker *);
void	 wc_budget(struct worker *);

#endif
