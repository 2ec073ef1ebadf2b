/*
 * control_int.h — private to control.c and control_drain.c: what the
 * shutdown drain and the connections share.
 *
 *   control.c        connections; conns_check_idle, conns_free
 *   control_drain.c  the drain's state and timers; drain_conn_gone,
 *                    drain_free
 */
#ifndef VMSD_CONTROL_INT_H
#define VMSD_CONTROL_INT_H

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
