/*
 * log.h — logging for vmsd and vmsctl, in the style of OpenBSD daemons.
 *
 * Messages go to stderr. In daemon mode each line carries a syslog "<N>"
 * priority prefix so journald files it at the right level. fatal() and
 * fatalx() log and exit(1); the "x" variants do not append strerror(errno).
 */
#ifndef VMS_LOG_H
#define VMS_LOG_H

#include <stdarg.h>

enum log_mode { LOG_MODE_PLAIN, LOG_MODE_SYSLOG_PREFIX };

void log_init(const char *progname, enum log_mode mode, int verbose);
void log_setverbose(int verbose);
int  log_getverbose(void);
void log_setprefix(const char *prefix); /* e.g. "worker guestlist" */

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void vlog(int pri, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
