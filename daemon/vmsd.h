/*
 * vmsd.h — the daemon's globals (globals.c): the event base, the running
 * configuration and a few flags every module may read. Each module's
 * interface is its own header:
 *
 *   server.h      startup, signals, reload, shutdown (server.c; main() is vmsd.c)
 *   config.h      vmsd.conf and command-line flags
 *   control.h     JSON-RPC lines on the control socket (control.c)
 *   http.h        the HTTP port (http.c, listen.c); httpconn.h its connections
 *   rpcmsg.h      one message from a front end: a request or a batch
 *   rpcreq.h      one client request and its reply
 *   admit.h       which client connections are let in; the fd reserve
 *   budget.h      the memory budget of the front ends
 *   ratelimit.h   the rate of remote calls
 *   keytab.h      string-keyed records
 *   methods.h     the protocol's methods: checks, identity, hand-off
 *   supervisor.h  requests to contract workers; their life
 *   admin.h       deploy, stop, start, remove
 *   contract.h    the contract registry
 *   proc.h        worker processes; restart.h their restart policy
 *   wire.h        the supervisor<->worker messages
 *   ledgerq.h     reads answered from a ledger alone
 *   worker.h      the worker process (worker*.c)
 *   notify.h      systemd; sockwrite.h direct socket writes
 */
#ifndef VMSD_H
#define VMSD_H

#include <sys/types.h>

#include "config.h"

#define VMSD_VERSION	"0.1.0"

struct event_base;

extern struct event_base	*vmsd_base;
extern struct vmsd_config	*vmsd_conf;
extern int			 vmsd_shutting_down;	/* workers stopping */
extern gid_t			 vmsd_admin_gid;
extern int			 vmsd_log_syslog;	/* workers log so too */

#endif
