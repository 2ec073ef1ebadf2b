/*
 * fdpass.c — datagrams with a descriptor (fdpass.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fdpass.h"

/* Room for one descriptor's control message. */
union fdctl {
	struct cmsghdr	 h;
	char		 b[CMSG_SPACE(sizeof(int))];
};

/* mh for one buffer and one descriptor's control message. */
static void
msg_init(struct msghdr *mh, struct iovec *iov, union fdctl *u, void *buf,
    size_t len)
{
	memset(mh, 0, sizeof(*mh));
	memset(u, 0, sizeof(*u));
	iov->iov_base = buf;
	iov->iov_len = len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = u->b;
	mh->msg_controllen = sizeof(u->b);
}

int
fdpass_send(int sock, const void *buf, size_t len, int fd)
{
	union fdctl u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	msg_init(&mh, &iov, &u, (void *)(uintptr_t)buf, len);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while ((n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 &&
	    errno == EINTR)
		;
	return n < 0 ? -1 : 0;
}

ssize_t
fdpass_recv(int sock, void *buf, size_t cap, int *fd, int *truncated)
{
	union fdctl u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	*truncated = 0;
	msg_init(&mh, &iov, &u, buf, cap);
	while ((n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*truncated = 1;
	return n;
}
