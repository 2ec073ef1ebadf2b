/*
 * log.c — stderr logging with optional syslog priority prefixes (journald).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_progname = "vms";
static enum log_mode log_mode = LOG_MODE_PLAIN;
static int log_verbose;
static char log_prefix[128];

void
log_init(const char *progname, enum log_mode mode, int verbose)
{
	log_progname = progname;
	log_mode = mode;
	log_verbose = verbose;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_setprefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

static void
log_emit(int pri, const char *msg)
{
	const char *sep = log_prefix[0] ? ": " : "";

	/* One fprintf per line keeps lines from interleaving across workers. */
	if (log_mode == LOG_MODE_SYSLOG_PREFIX)
		fprintf(stderr, "<%d>%s%s%s\n", pri, log_prefix, sep, msg);
	else
		fprintf(stderr, "%s: %s%s%s\n", log_progname, log_prefix, sep,
		    msg);
	fflush(stderr);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char msg[2048];

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(pri, msg);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char buf[1536], full[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	snprintf(full, sizeof(full), "%s: %s", buf, strerror(saved));
	log_emit(pri, full);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

#define LOG_FN(fn, pri)					\
void							\
fn(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(pri, fmt, ap);				\
	va_end(ap);					\
}
LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
