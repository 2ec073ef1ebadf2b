/*
 * config.h — vmsd.conf (config.c): "key = value" lines, "#" comments,
 * defaults, and the command-line flags that win over the file (also on
 * reload). Every key is documented in vmsd.conf(5).
 */
#ifndef VMSD_CONFIG_H
#define VMSD_CONFIG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"

/* An oracle (oracle NAME = PATH, oracle_key NAME = KEY). */
struct vmsd_oracle {
	char		*name;
	char		*path;		/* NULL until its "oracle" line */
	int		 keyed;		/* its answers must be signed by key */
	uint8_t		 key[32];
};

struct vmsd_config {
	char		*state_dir;
	char		*socket;
	mode_t		 socket_mode;
	char		*admin_group;		/* "" = the socket's group */
	char		*listen;		/* "" = no TCP listener */
	size_t		 max_message;
	unsigned	 queue_limit;
	unsigned	 idle_timeout;		/* seconds, 0 = never */
	unsigned	 call_timeout;		/* seconds a worker may go without
						   answering a call sent to it
						   before it is killed; 0 = never */
	unsigned	 shutdown_grace;	/* seconds busy clients get on
						   SIGTERM before refusal */
	unsigned	 max_restarts;
	unsigned	 restart_window;	/* seconds */
	uint64_t	 snapshot_interval;	/* entries */
	unsigned	 batch_max;
	unsigned	 commits_in_flight;	/* 1 or 2 */
	unsigned	 commit_beside_after;	/* µs (worker.c) */
	unsigned	 commit_inline_max;	/* calls (worker.c) */
	unsigned	 busy_poll;	/* µs (worker_poll.c) */
	int		 handoff;	/* calls' connections to workers */
	int		 debug_auth;
	char		*origin_prefix;
	int		 origin_unqualified;	/* the default prefix, from a host
						   name without a dot */
	int		 log_level;		/* LOG_ERR .. LOG_DEBUG */

	/* Clients and their limits (control.c, http.c, admit.c, budget.c,
	 * ratelimit.c, rpcmsg.c) */
	unsigned	 max_batch;		/* requests in one batch */
	char		*cors_origins;		/* "", "*" or origins */
	char		*trusted_proxies;	/* addresses whose X-Real-IP is
						   the client's */
	int		 anonymous_calls;	/* remote anonymous calls */
	unsigned	 max_connections;	/* both front ends */
	unsigned	 max_connections_per_address;	/* HTTP */
	unsigned	 max_connections_per_uid;	/* control socket */
	size_t		 max_header_size;	/* HTTP request line + headers */
	unsigned	 max_requests_per_connection;	/* HTTP, 0 = no limit */
	unsigned	 client_idle_timeout;	/* seconds, 0 = never */
	unsigned	 client_request_timeout; /* seconds to send one whole
						   request, 0 = never */
	size_t		 max_output;		/* unsent reply bytes, per
						   connection */
	size_t		 memory_budget;		/* buffered bytes, all clients */
	unsigned	 call_rate_per_address;	/* calls/s, 0 = no limit */
	unsigned	 call_burst_per_address;
	unsigned	 call_rate_per_identity;
	unsigned	 call_burst_per_identity;
	struct vms_limits limits;		/* defaults for deploys */
	struct vmsd_oracle *oracles;		/* workers started after */
	size_t		 noracles;
	unsigned	 oracle_timeout;	/* ms an oracle may run */
	uint64_t	 oracle_max_output;	/* bytes it may write */
};

/* Command-line settings that win over the file, also on reload. */
struct vmsd_flags {
	const char	*config;		/* -f */
	int		 config_explicit;
	const char	*state_dir;
	const char	*socket;
	const char	*listen;
	int		 verbose;
};

void	 config_defaults(struct vmsd_config *);
void	 config_free(struct vmsd_config *);
/* Load file (missing is fine unless must_exist) over the defaults, then
 * apply the flags. -1 with "FILE:LINE: reason" in err. */
int	 config_load(struct vmsd_config *, const struct vmsd_flags *,
	    char *err, size_t errlen);
/* The settings in text (a vmsd.conf's bytes; name for messages) over
 * c, which holds defaults or earlier settings. -1 as config_load. */
int	 config_parse_text(struct vmsd_config *c, const char *name,
	    const char *text, size_t len, char *err, size_t errlen);
/* Every setting of c as vmsd.conf lines (vmsd -T): a file that, loaded,
 * gives c again. 0, or -1 if writing failed. */
int	 config_print(const struct vmsd_config *c, FILE *f);

#endif
