/*
 * vmsd.h — what the daemon's modules share: the configuration, the global
 * event base, client requests (struct rpcreq) and the interfaces between
 * control, methods, supervisor, listeners and sd_notify.
 */
#ifndef VMSD_H
#define VMSD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"

#define VMSD_VERSION	"0.1.0"

struct event_base;
struct bufferevent;
struct contract;

/* ---- configuration (config.c) ---- */
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
	int		 debug_auth;
	char		*origin_prefix;
	int		 log_level;		/* LOG_ERR .. LOG_DEBUG */
	struct vms_limits limits;		/* defaults for deploys */
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

/* ---- globals (vmsd.c) ---- */
extern struct event_base	*vmsd_base;
extern struct vmsd_config	*vmsd_conf;
extern int			 vmsd_shutting_down;
extern gid_t			 vmsd_admin_gid;
extern int			 vmsd_log_syslog;
void	 vmsd_update_status(void);	/* sd_notify STATUS= */

/* ---- client requests (control.c) ---- */
struct conn;

struct rpcreq {
	struct conn	*conn;		/* NULL once the client is gone */
	json_t		*id;		/* the request's id (owned), or NULL */
	int		 notification;	/* no "id": no reply */
	int		 done;
	int		 close_after;
	char		*reply;		/* the encoded reply line */
	size_t		 replylen;

	/* Set by methods.c for the supervisor. */
	char		*method;	/* protocol method */
	json_t		*params;	/* owned */
	char		*caller;	/* "unix:alice", debug name, NULL */
	const char	*auth;		/* "peercred", "debug", "anonymous" */
	uint64_t	 wid;		/* id on the worker wire */

	TAILQ_ENTRY(rpcreq) centry;	/* connection's reply order */
	TAILQ_ENTRY(rpcreq) qentry;	/* contract queue / in flight */
};
TAILQ_HEAD(rpcreq_list, rpcreq);

struct conn_info {
	int		 tcp;		/* remote TCP client */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	char		*ident;		/* "unix:alice", NULL on TCP */
};

/* Answer a request (steals result/data). Frees req if the client left. */
void	 rpcreq_result(struct rpcreq *, json_t *result);
void	 rpcreq_error(struct rpcreq *, int code, json_t *data,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answer with a ready-made JSON-RPC reply object from a worker. */
void	 rpcreq_reply_json(struct rpcreq *, json_t *reply);
/* Answer with a result given as JSON text, copied verbatim: only for text
 * jansson encoded (a worker's reply). */
void	 rpcreq_result_text(struct rpcreq *, const char *result, size_t len);
const struct conn_info *rpcreq_peer(const struct rpcreq *);

int	 control_listen_unix(const char *path, mode_t mode, char *err,
	    size_t errlen);
int	 control_listen_fd(int fd, int tcp, char *err, size_t errlen);
/* Stop accepting: listeners are disabled, not closed (a socket passed by
 * systemd queues new connections for the next instance). */
void	 control_stop_listening(void);
/* Keep serving the connected clients; close each once it has been idle
 * (nothing partial, pending or unsent) for a short grace. After
 * deadline seconds, new requests get the shutting-down error and busy
 * clients are closed once answered. done() once no client is left. */
void	 control_drain(unsigned deadline, void (*done)(void));
int	 control_nconns(void);
void	 control_free_all(void);	/* and close the listeners */
gid_t	 control_socket_gid(void);	/* group of the bound socket file */

/* ---- TCP listener (listen.c) ---- */
int	 listen_tcp(const char *addrport, char *err, size_t errlen);

/* ---- protocol methods (methods.c) ---- */
void	 methods_dispatch(struct rpcreq *, const char *method,
	    json_t *params);

/* ---- supervisor (supervisor.c) ---- */
int	 supervisor_init(char *err, size_t errlen);
void	 supervisor_free(void);
size_t	 supervisor_count(void);
/* Queue a request for a contract's worker (call and read methods). */
void	 supervisor_submit(struct rpcreq *, const char *contract);
void	 supervisor_deploy(struct rpcreq *, const char *name,
	    const char *code, json_t *limits, int replace);
void	 supervisor_list(struct rpcreq *);
void	 supervisor_stop(struct rpcreq *, const char *name);
void	 supervisor_start(struct rpcreq *, const char *name);
void	 supervisor_remove(struct rpcreq *, const char *name, int purge);
/* Stop workers once their queues drain; done() when all have exited. */
void	 supervisor_shutdown(void (*done)(void));
void	 supervisor_sigchld(void);

/* ---- sockwrite.c ----
 * Write to the bufferevent's socket now if nothing is queued before it;
 * queue the rest. 0, or -1 if it could not be queued. */
int	 bev_write(struct bufferevent *, const void *data, size_t len);

/* ---- worker process (worker.c) ----
 * Wire (socketpair, JSON lines). Supervisor -> worker:
 *   {"id":N,"method":M,"params":{...},"caller":S|null,"auth":S}
 * Worker -> supervisor: first {"ready":true,"size":N,"vkey":S,"origin":S,
 *   "methods":[...]}, then per request, in request order,
 *   {"id":N,"size":N,"result":R} or {"id":N,"size":N,"error":{...}}.
 */
int	 worker_main(int argc, char **argv);

/* ---- read methods answered from a ledger alone (ledgerq.c) ----
 * log, checkpoint, prove, methods, info: 0 and *result, or an RPC error
 * code with err. Used by workers and, for stopped contracts, by vmsd. */
struct ledger;
int	 ledgerq(struct ledger *, const char *name, const char *method,
	    const json_t *params, json_t **result, char *err, size_t errlen);
int	 ledgerq_handles(const char *method);

/* ---- systemd (notify.c) ---- */
void	 notify_init(void);
void	 notify_ready(void);
void	 notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_free(void);
/* Sockets passed by systemd: -1 when none was passed under that name. */
void	 notify_listen_fds(int *control_fd, int *tcp_fd);

#endif
