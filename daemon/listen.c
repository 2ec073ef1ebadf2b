/*
 * listen.c — bind the TCP listening socket of vmsd's HTTP port (config
 * `listen`, ADDR:PORT or [ADDR6]:PORT); http.c serves it.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "listen.h"
#include "log.h"
#include "util.h"

int
listen_tcp(const char *addrport, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char *host, *port;
	int fd = -1, on = 1, rc;
	size_t hl;

	if (errlen > 0)
		err[0] = '\0';
	port = strrchr(addrport, ':');
	if (port == NULL || port == addrport) {
		seterr(err, errlen, "listen: expected ADDR:PORT, got '%s'",
		    addrport);
		return -1;
	}
	hl = (size_t)(port - addrport);
	if (addrport[0] == '[' && hl >= 2 && addrport[hl - 1] == ']')
		host = xstrndup(addrport + 1, hl - 2);
	else
		host = xstrndup(addrport, hl);
	port++;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
		seterr(err, errlen, "listen %s: %s", addrport,
		    gai_strerror(rc));
		free(host);
		return -1;
	}
	free(host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) != 0 ||
		    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, LISTEN_BACKLOG) != 0) {
			seterr(err, errlen, "listen %s: %s", addrport,
			    strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (err[0] == '\0')
			seterr(err, errlen, "listen %s: no usable address",
			    addrport);
		return -1;
	}
	return fd;
}
