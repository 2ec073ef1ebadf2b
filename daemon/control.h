/*
 * control.h — the front end for JSON-RPC lines on the control socket
 * (control.c): connections, framing, pipelined replies in request order,
 * SO_PEERCRED identity, back-pressure, and the drain at shutdown. Requests
 * go to methods.c as struct rpcreq. Remote clients use HTTP (http.h).
 */
#ifndef VMSD_CONTROL_H
#define VMSD_CONTROL_H

#include <sys/types.h>

#include <stddef.h>

int	 control_listen_unix(const char *path, mode_t mode, char *err,
	    size_t errlen);
int	 control_listen_fd(int fd, char *err, size_t errlen);
/* Stop accepting: listeners are disabled, not closed (a socket passed by
 * systemd queues new connections for the next instance). */
void	 control_stop_listening(void);
/* Keep serving the connected clients; close each once it has been idle
 * (nothing partial, pending or unsent) for a short grace. After
 * deadline seconds, new requests get the shutting-down error and busy
 * clients are closed once answered. done() once no client is left. */
void	 control_drain(unsigned deadline, void (*done)(void));
int	 control_nconns(void);
void	 control_free_all(void);	/* and close the listeners */
gid_t	 control_socket_gid(void);	/* group of the bound socket file */

#endif
