/*
 * control_listen.c — the control socket's listeners: bind the Unix socket
 * (replacing a stale one, refusing one another vmsd answers on), or take
 * one systemd passed; accept (backing off when descriptors run out) and
 * hand each connection to control.c (control_accept); stop accepting at
 * shutdown without closing a socket systemd owns.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "control.h"
#include "listen.h"
#include "log.h"
#include "util.h"
#include "vmsd.h"

struct listener {
	struct evconnlistener	*evl;
	char			*path;		/* unix socket we bound */
	TAILQ_ENTRY(listener)	 entry;
};

static TAILQ_HEAD(listener_head, listener) listeners =
    TAILQ_HEAD_INITIALIZER(listeners);
static gid_t socket_gid = (gid_t)-1;
static int stopped;			/* control_stop_listening */

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	control_accept(fd);
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	if (!stopped)
		evconnlistener_enable(arg);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	log_warnx("accept: %s", evutil_socket_error_to_string(e));
	/* EMFILE and friends: back off a little rather than spin. */
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		struct timeval tv = { 0, 100000 };
		evconnlistener_disable(evl);
		event_base_once(vmsd_base, -1, EV_TIMEOUT, accept_resume,
		    evl, &tv);
	}
}

int
control_listen_fd(int fd, char *err, size_t errlen)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) < 0 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ||
	    evutil_make_socket_nonblocking(fd) != 0) {
		seterr(err, errlen, "listening socket: %s", strerror(errno));
		free(l);
		return -1;
	}
	l->evl = evconnlistener_new(vmsd_base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->evl == NULL) {
		seterr(err, errlen, "cannot listen on fd %d", fd);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, accept_error_cb);
	TAILQ_INSERT_TAIL(&listeners, l, entry);
	if (socket_gid == (gid_t)-1) {
		struct sockaddr_un sun;
		socklen_t slen = sizeof(sun);
		struct stat st;

		if (getsockname(fd, (struct sockaddr *)&sun, &slen) == 0 &&
		    sun.sun_family == AF_UNIX && sun.sun_path[0] != '\0' &&
		    stat(sun.sun_path, &st) == 0)
			socket_gid = st.st_gid;
	}
	return 0;
}

/* Is another daemon answering on path? */
static int
socket_is_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

int
control_listen_unix(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	struct listener *l;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		seterr(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			seterr(err, errlen, "%s exists and is not a socket",
			    path);
			return -1;
		}
		if (socket_is_live(path)) {
			seterr(err, errlen, "%s: another vmsd is already "
			    "running on this socket", path);
			return -1;
		}
		log_info("removing stale socket %s", path);
		if (unlink(path) != 0) {
			seterr(err, errlen, "unlink %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		seterr(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		seterr(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(path, mode) != 0) {
		seterr(err, errlen, "chmod %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		seterr(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (control_listen_fd(fd, err, errlen) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	l = TAILQ_LAST(&listeners, listener_head);
	l->path = xstrdup(path);
	return 0;
}

gid_t
control_socket_gid(void)
{
	return socket_gid;
}

/*
 * Disabled, not closed: connections made from now on wait in the kernel's
 * backlog. Under socket activation systemd keeps the socket open and the
 * next instance accepts them; a socket vmsd bound itself is closed and
 * unlinked at exit (control_listeners_free).
 */
void
control_stop_listening(void)
{
	struct listener *l;

	stopped = 1;
	TAILQ_FOREACH(l, &listeners, entry)
		if (evconnlistener_disable(l->evl) != 0)
			log_warnx("cannot disable a listener");
}

void
control_listeners_free(void)
{
	struct listener *l;

	while ((l = TAILQ_FIRST(&listeners)) != NULL) {
		TAILQ_REMOVE(&listeners, l, entry);
		evconnlistener_free(l->evl);
		if (l->path != NULL) {
			if (unlink(l->path) != 0 && errno != ENOENT)
				log_warn("unlink %s", l->path);
			free(l->path);
		}
		free(l);
	}
}
