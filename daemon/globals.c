/*
 * globals.c — the daemon's globals (vmsd.h). Data only: any module may
 * read them, and this file depends on nothing.
 */
#include <sys/types.h>

#include "vmsd.h"

struct event_base	*vmsd_base;
struct vmsd_config	*vmsd_conf;
int			 vmsd_shutting_down;
gid_t			 vmsd_admin_gid = (gid_t)-1;
int			 vmsd_log_syslog;
