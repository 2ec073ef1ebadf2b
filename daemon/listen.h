/*
 * listen.h — a TCP listening socket for ADDR:PORT or [ADDR6]:PORT
 * (listen.c): SO_REUSEADDR, non-blocking, close-on-exec.
 */
#ifndef VMSD_LISTEN_H
#define VMSD_LISTEN_H

#include <stddef.h>

/* A flood of connections waits in the kernel, to be admitted or refused
 * (admit.c) at once, rather than having its SYNs dropped. */
#define LISTEN_BACKLOG	1024

/* The listening socket, or -1 with err. */
int	 listen_tcp(const char *addrport, char *err, size_t errlen);

#endif
