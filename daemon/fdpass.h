/*
 * fdpass.h — a datagram with a descriptor (SCM_RIGHTS), over the attach
 * channel's SOCK_SEQPACKET pair: vmsd hands a client connection to a
 * worker (proc.c), a worker gives one back (worker_conn.c). Both sides
 * send and receive with these, never blocking.
 */
#ifndef VMSD_FDPASS_H
#define VMSD_FDPASS_H

#include <sys/types.h>

#include <stddef.h>

/* Send buf with fd (which the caller still closes). 0, or -1 (errno;
 * EAGAIN: the peer takes no more now). */
int	 fdpass_send(int sock, const void *buf, size_t len, int fd);
/*
 * Receive one datagram into buf (cap bytes) and its descriptor (*fd,
 * close-on-exec, -1 if it came without one). Its length; 0 if the peer
 * closed its end; -1 (errno) on error, EAGAIN if none waits. A datagram
 * or descriptor cut short sets *truncated (its descriptor, if any, is
 * still returned, for the caller to close).
 */
ssize_t	 fdpass_recv(int sock, void *buf, size_t cap, int *fd,
	    int *truncated);

#endif
