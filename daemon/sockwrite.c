/*
 * sockwrite.c — write a reply to a bufferevent's socket at once. When
 * nothing is queued before it, the bytes go straight to the socket and only
 * what it does not take is queued: this saves arming and disarming EV_WRITE
 * (two epoll_ctl) and a loop iteration per reply. Errors are left to the
 * bufferevent, which meets them on its own next write.
 */
#include <sys/socket.h>

#include <errno.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "sockwrite.h"


int
bev_write(struct bufferevent *bev, const void *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t n = 0;

	if (len > 0 && fd >= 0 && evbuffer_get_length(out) == 0) {
		do
			n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			n = 0;	/* EAGAIN, or an error for the bufferevent */
	}
	if ((size_t)n == len)
		return 0;
	return evbuffer_add(out, (const char *)data + n, len - (size_t)n);
}
