/*
 * log.c — stderr logging with optional syslog priority prefixes (journald),
 * filtered by a syslog-like level (err, warning, notice, info, debug).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_progname = "vms";
static enum log_mode log_mode = LOG_MODE_PLAIN;
static int log_level = LOG_INFO;
static char log_prefix[128];

static const struct {
	const char	*name;
	int		 pri;
} log_levels[] = {
	{ "err", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

int
log_level_parse(const char *name, int *pri)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (name != NULL && strcmp(name, log_levels[i].name) == 0) {
			*pri = log_levels[i].pri;
			return 0;
		}
	return -1;
}

const char *
log_level_name(int pri)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].pri == pri)
			return log_levels[i].name;
	return pri < LOG_ERR ? "err" : "debug";
}

void
log_init(const char *progname, enum log_mode mode, int verbose)
{
	int pri;

	log_progname = progname;
	log_mode = mode;
	if (verbose)
		log_level = LOG_DEBUG;
	else if (log_level_parse(getenv(LOG_LEVEL_ENV), &pri) == 0)
		log_level = pri;
	else
		log_level = LOG_INFO;
}

void
log_setverbose(int verbose)
{
	log_level = verbose ? LOG_DEBUG : LOG_INFO;
}

int
log_getverbose(void)
{
	return log_level >= LOG_DEBUG;
}

void
log_setlevel(int pri)
{
	if (pri < LOG_ERR)
		pri = LOG_ERR;
	if (pri > LOG_DEBUG)
		pri = LOG_DEBUG;
	log_level = pri;
}

int
log_getlevel(void)
{
	return log_level;
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

	if (pri > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(pri, msg);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char buf[1536], full[2048];

	if (pri > log_level)
		return;
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
