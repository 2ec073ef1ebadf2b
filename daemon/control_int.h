/*
 * control_int.h — private to control.c, control_timer.c and
 * control_drain.c: a connection, and what the shutdown drain and the
 * connections share.
 *
 *   control.c        connections; conns_check_idle, conns_free
 *   control_timer.c  a connection's timers: request and idle deadlines,
 *                    the drain's idle grace
 *   control_drain.c  the drain's state and timers; drain_conn_gone,
 *                    drain_free
 */
#ifndef VMSD_CONTROL_INT_H
#define VMSD_CONTROL_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "budget.h"
#include "rpcreq.h"

/*
 * The bufferevent owns the socket, its output (written directly first,
 * sockwrite.c) and its write timeout; the input is read by rev, a read
 * event of our own: one read(2) per readable socket, where a bufferevent
 * asks FIONREAD (one ioctl more) before each read.
 */
struct conn {
	struct bufferevent	*bev;
	struct event		*rev;		/* input: conn_readable */
	struct conn_info	 info;
	struct rpcreq_list	 pending;
	unsigned		 npending;
	int			 closing;	/* no more reads; free after
						   the output drains */
	int			 paused;
	int			 held;		/* attach: nothing more is read
						   until it is answered or the
						   connection handed over */
	struct rpcreq		*guard;		/* conn_read's, while a line
						   is handled */
	const char		*line;		/* that line, meanwhile */
	size_t			 linelen;
	uint64_t		 answered;	/* replies written */
	int			 returned;	/* given back by a worker: never
						   handed over again */
	int			 linger;	/* drain input before closing */
	int			 aborted;	/* closed at once: freed by
						   timer_ev */
	struct event		*idle_ev;	/* shutdown: idle grace */
	struct event		*timer_ev;	/* request deadline, idle */
	int			 timer_kind;	/* TIMER_* armed */
	uint64_t		 req_start;	/* ms: first byte of the line
						   being received, or 0 */
	size_t			 scanned;	/* input bytes known to hold
						   no newline */
	struct budget_acct	 acct;
	struct evbuffer_cb_entry *watch_in, *watch_out;
	char			 who[48];	/* "unix:alice (pid 42)" */
	TAILQ_ENTRY(conn)	 entry;
};

enum { TIMER_NONE, TIMER_REQUEST, TIMER_IDLE };

/* control.c: free it now (its requests orphaned, its admission
 * released); close it now whatever it holds, freed from its timer. */
void	 conn_free(struct conn *);
void	 conn_abort(struct conn *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* control_timer.c: the connection's timers made (0, or -1); armed for
 * its state (client_request_timeout for a partial line,
 * client_idle_timeout when it holds nothing); the one of a line reset
 * when the line is complete; while draining, the idle grace (re)started
 * or stopped. */
int	 conn_timers_new(struct conn *);
void	 conn_arm(struct conn *);
void	 conn_timer_reset(struct conn *);
void	 conn_check_idle(struct conn *);

extern int control_draining;	/* no accepts, idle clients closed */
extern int control_refusing;	/* deadline passed: new requests fail */

/* control.c: every connection's idle grace checked again; all closed. */
void	 conns_check_idle(void);
void	 conns_free(void);

/* control_drain.c: a connection was closed (done() once none is left);
 * the drain's timers freed, done() forgotten. */
void	 drain_conn_gone(void);
void	 drain_free(void);

#endif
