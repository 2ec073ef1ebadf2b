/*
 * control.h — the front end for JSON-RPC lines on the control socket: its
 * listeners (control_listen.c); connections, framing, pipelined replies
 * in request order, SO_PEERCRED identity, back-pressure, and the drain at
 * shutdown (control.c). Requests
 * go to methods.c as struct rpcreq. Remote clients use HTTP (http.h).
 */
#ifndef VMSD_CONTROL_H
#define VMSD_CONTROL_H

#include <sys/types.h>

#include <stddef.h>

/* control_listen.c: bind the socket (a stale one is replaced), or listen
 * on a socket systemd passed. -1 with err. */
int	 control_listen_unix(const char *path, mode_t mode, char *err,
	    size_t errlen);
int	 control_listen_fd(int fd, char *err, size_t errlen);
/* Stop accepting: listeners are disabled, not closed (a socket passed by
 * systemd queues new connections for the next instance). */
void	 control_stop_listening(void);
/* Close the listeners; unlink the socket files vmsd bound. */
void	 control_listeners_free(void);
gid_t	 control_socket_gid(void);	/* group of the bound socket file */

/* control.c: a client connected on fd (taken over: admitted or refused
 * with one error line). */
void	 control_accept(int fd);
/* A connection a worker gave back (vmsd's own hand-over, wire.h "back"),
 * with the bytes it sent that the worker did not run. */
void	 control_adopt(int fd, const char *input, size_t inputlen,
	    const char *why);
/* Keep serving the connected clients; close each once it has been idle
 * (nothing partial, pending or unsent) for a short grace. After
 * deadline seconds, new requests get the shutting-down error and busy
 * clients are closed once answered. done() once no client is left. */
void	 control_drain(unsigned deadline, void (*done)(void));
int	 control_nconns(void);
void	 control_free_all(void);	/* close every client */

#endif
