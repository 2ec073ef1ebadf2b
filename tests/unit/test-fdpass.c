/*
 * test-fdpass.c — datagrams with a descriptor (daemon/fdpass.c), as the
 * attach channel carries them both ways: the bytes and the descriptor
 * arrive together, a datagram or descriptor cut short says so, an empty
 * channel says EAGAIN and a closed one 0. Linked against
 * build/libdaemon.a.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

#include "test.h"

/* Do a and b name the same open file? */
static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

TEST(round_trip)
{
	int ch[2], pair[2], fd = -1, cut = -1;
	char buf[64], msg[] = "{\"back\":\"x\"}\n\0raw bytes";
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ch) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
	CHECK_EQ_INT(fdpass_send(ch[0], msg, sizeof(msg) - 1, pair[1]), 0);
	n = fdpass_recv(ch[1], buf, sizeof(buf), &fd, &cut);
	CHECK_EQ_INT(n, sizeof(msg) - 1);
	CHECK(n == sizeof(msg) - 1 && memcmp(buf, msg, (size_t)n) == 0);
	CHECK_EQ_INT(cut, 0);
	CHECK(fd >= 0 && fd != pair[1] && same_file(fd, pair[1]));
	/* close-on-exec, as every descriptor vmsd and its workers hold */
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	/* the connection works through the descriptor received */
	CHECK(fd >= 0 && write(fd, "hi", 2) == 2);
	CHECK(read(pair[0], buf, 2) == 2 && memcmp(buf, "hi", 2) == 0);
	if (fd >= 0)
		close(fd);
	/* nothing waits: EAGAIN, never a block */
	errno = 0;
	CHECK(fdpass_recv(ch[1], buf, sizeof(buf), &fd, &cut) == -1 &&
	    errno == EAGAIN && fd == -1);
	/* too small a buffer: cut short, the descriptor still returned */
	CHECK_EQ_INT(fdpass_send(ch[0], msg, sizeof(msg) - 1, pair[1]), 0);
	n = fdpass_recv(ch[1], buf, 4, &fd, &cut);
	CHECK(n == 4 && cut == 1 && fd >= 0);
	if (fd >= 0)
		close(fd);
	/* the other end closed: 0 */
	close(ch[0]);
	CHECK_EQ_INT(fdpass_recv(ch[1], buf, sizeof(buf), &fd, &cut), 0);
	CHECK_EQ_INT(fd, -1);
	/* nowhere to send: -1, errno set */
	CHECK(fdpass_send(ch[1], msg, 4, pair[1]) == -1 && errno != 0);
	close(ch[1]);
	close(pair[0]);
	close(pair[1]);
}

/* A datagram without a descriptor: its bytes, and fd -1 (the callers
 * refuse it). */
TEST(without_descriptor)
{
	int ch[2], fd = 7, cut = -1;
	char buf[16];

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ch) == 0);
	CHECK(send(ch[0], "abc", 3, 0) == 3);
	CHECK_EQ_INT(fdpass_recv(ch[1], buf, sizeof(buf), &fd, &cut), 3);
	CHECK_EQ_INT(fd, -1);
	CHECK_EQ_INT(cut, 0);
	close(ch[0]);
	close(ch[1]);
}

int
main(void)
{
	RUN(round_trip);
	RUN(without_descriptor);
	return test_summary();
}
