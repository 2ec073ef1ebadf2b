/*
 * log.h — logging for vmsd and vmsctl, in the style of OpenBSD daemons.
 *
 * Messages go to stderr. In daemon mode each line carries a syslog "<N>"
 * priority prefix so journald files it at the right level. fatal() and
 * fatalx() log and exit(1); the "x" variants do not append strerror(errno).
 *
 * Levels are syslog priorities: err, warning, notice, info, debug. A
 * message less urgent than the level set is dropped (fatal and fatalx log
 * at LOG_CRIT, always shown). The default is info; verbose means debug. A
 * process started with VMS_LOG_LEVEL=<name> in its environment starts at
 * that level unless log_init() is asked to be verbose: that is how vmsd
 * hands its level to the workers it executes.
 */
#ifndef VMS_LOG_H
#define VMS_LOG_H

#include <stdarg.h>
#include <syslog.h>

enum log_mode { LOG_MODE_PLAIN, LOG_MODE_SYSLOG_PREFIX };

#define LOG_LEVEL_ENV	"VMS_LOG_LEVEL"

void log_init(const char *progname, enum log_mode mode, int verbose);
void log_setverbose(int verbose);	/* 1: debug, 0: info */
int  log_getverbose(void);		/* the level is debug */
void log_setlevel(int pri);		/* LOG_ERR .. LOG_DEBUG */
int  log_getlevel(void);
/* "err", "warning", "notice", "info", "debug" <-> LOG_ERR .. LOG_DEBUG.
 * log_level_parse returns -1 for any other name. */
int  log_level_parse(const char *name, int *pri);
const char *log_level_name(int pri);
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
