/*
 * notify.h — systemd integration through libsystemd (notify.c): readiness,
 * status, reload and stop notifications, the watchdog keep-alive, and the
 * sockets passed by socket activation. A no-op outside systemd.
 */
#ifndef VMSD_NOTIFY_H
#define VMSD_NOTIFY_H

void	 notify_init(void);
void	 notify_ready(const char *status);
void	 notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_free(void);
/* Sockets passed by systemd: -1 when none was passed under that name. */
void	 notify_listen_fds(int *control_fd, int *tcp_fd);

#endif
