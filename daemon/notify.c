/*
 * notify.c — systemd integration through libsystemd: readiness, status,
 * reload and stop notifications, the watchdog keep-alive driven by the
 * event loop, and sockets passed by socket activation. Outside systemd
 * (no NOTIFY_SOCKET, no LISTEN_FDS) all of it is a no-op.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"
#include "util.h"
#include "vmsd.h"

static struct event *watchdog_ev;

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	int r = sd_notify(0, "WATCHDOG=1");

	if (r < 0)
		log_warnx("sd_notify WATCHDOG=1: %s", strerror(-r));
}

void
notify_init(void)
{
	uint64_t usec = 0;
	struct timeval tv;
	int r;

	if ((r = sd_watchdog_enabled(0, &usec)) < 0)
		log_warnx("sd_watchdog_enabled: %s", strerror(-r));
	if (r <= 0 || usec == 0)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev = event_new(vmsd_base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &tv) != 0)
		fatalx("cannot arm the watchdog timer");
	log_info("watchdog: keep-alive every %llu ms",
	    (unsigned long long)(usec / 1000));
	watchdog_cb(-1, 0, NULL);
}

void
notify_free(void)
{
	if (watchdog_ev) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}

static void
notify(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		log_warnx("sd_notify %s: %s", msg, strerror(-r));
}

void
notify_status(const char *fmt, ...)
{
	char buf[512], msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "STATUS=%s", buf);
	notify(msg);
}

void
notify_ready(const char *status)
{
	char msg[600];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify(msg);
}

void
notify_reloading(void)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)mono_usec());
	notify(msg);
}

void
notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping: finishing calls in flight");
}

void
notify_listen_fds(int *control_fd, int *tcp_fd)
{
	char **names = NULL;
	int n, i;

	*control_fd = *tcp_fd = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_warnx("sd_listen_fds_with_names: %s", strerror(-n));
		return;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names ? names[i] : "unknown";

		if (strcmp(name, "control") == 0 && *control_fd < 0 &&
		    sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
			*control_fd = fd;
		else if (strcmp(name, "tcp") == 0 && *tcp_fd < 0 &&
		    sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0)
			*tcp_fd = fd;
		else if (n == 1 && *control_fd < 0 &&
		    sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
			*control_fd = fd;	/* unnamed single socket */
		else
			log_warnx("ignoring passed socket %d named '%s'", fd,
			    name);
	}
	if (names) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (*control_fd >= 0)
		log_info("using the control socket passed by systemd");
	if (*tcp_fd >= 0)
		log_info("using the TCP socket passed by systemd");
}
