/*
 * test-listen.c — the HTTP port's listening socket (daemon/listen.c):
 * TCP_NODELAY on the listener and on the sockets accepted from it, so a
 * response larger than one segment (a 100 KB tile bundle) does not wait
 * ~40 ms for the client's delayed ACK; a bad address is refused.
 * Linked against build/libdaemon.a.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "util.h"

#include "test.h"

static int
nodelay(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0)
		return -1;
	return on != 0;
}

TEST(nodelay_inherited)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct pollfd p;
	char err[VMS_ERRLEN];
	int l, c, a = -1;

	l = listen_tcp("127.0.0.1:0", err, sizeof(err));
	CHECK_MSG(l >= 0, "%s", err);
	if (l < 0)
		return;
	CHECK_EQ_INT(nodelay(l), 1);
	CHECK(getsockname(l, (struct sockaddr *)&sa, &len) == 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(c >= 0 && connect(c, (struct sockaddr *)&sa, len) == 0);
	p.fd = l;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 5000) == 1);
	a = accept(l, NULL, NULL);
	CHECK_MSG(a >= 0, "accept: %s", strerror(errno));
	if (a >= 0)
		CHECK_EQ_INT(nodelay(a), 1);
	close(a);
	close(c);
	close(l);
}

TEST(bad_address)
{
	char err[VMS_ERRLEN];

	CHECK(listen_tcp("no-port", err, sizeof(err)) == -1);
	CHECK(err[0] != '\0');
}

int
main(void)
{
	RUN(nodelay_inherited);
	RUN(bad_address);
	return test_summary();
}
