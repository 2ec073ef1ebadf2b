/*
 * supervisor.h — private to the supervisor (supervisor.c: the contract
 * registry, worker processes and the request flow; admin.c: deploy, stop,
 * start and remove): the contract and process records and what the two
 * files call in each other. The daemon's other modules use vmsd.h.
 */
#ifndef VMSD_SUPERVISOR_H
#define VMSD_SUPERVISOR_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

#include <jansson.h>

#include "vmsd.h"

struct bufferevent;
struct event;

#define MAX_CRASH_LOG	64

enum cstate { C_IDLE, C_STARTING, C_RUNNING, C_STOPPING };
enum cop { OP_NONE, OP_STOP, OP_REMOVE, OP_REPLACE };

struct proc {
	pid_t			 pid;
	struct bufferevent	*bev;
	int			 eof, reaped, status;
	int			 deploy;
	struct contract		*c;
	/* deploy worker */
	struct rpcreq		*req;
	json_t			*reply;
	char			*tmpdir, *tmpkey;
	LIST_ENTRY(proc)	 entry;
};

struct contract {
	char			*name;
	char			*dir;
	char			*keypath;
	int			 hidden;	/* first deploy in progress */
	int			 admin_stopped;
	int			 failed;
	enum cstate		 state;
	struct proc		*worker;
	struct proc		*deployer;
	struct rpcreq_list	 queue;		/* waiting, not sent */
	struct rpcreq_list	 inflight;	/* sent to the worker */
	unsigned		 nqueue, ninflight;
	uint64_t		 next_wid;
	uint64_t		 size;
	char			*vkey;
	char			*origin;
	unsigned		 restarts;
	uint64_t		 crashes[MAX_CRASH_LOG];	/* mono ms */
	unsigned		 ncrashes;
	uint64_t		 not_before;	/* backoff, mono ms */
	struct event		*timer;
	struct event		*ctimer;	/* call_timeout watchdog */
	int			 timed_out;	/* worker killed by it */
	enum cop		 op;		/* admin op waiting for exit */
	int			 purge;
	struct rpcreq_list	 waiters;	/* answered when op is done */
	struct rpcreq		*replace_req;
	json_t			*replace_result;
	char			*replace_tmpdir, *replace_tmpkey;
	TAILQ_ENTRY(contract)	 entry;
};

/* supervisor.c */
uint64_t	 mono_ms(void);
char		*state_path(const char *pre, const char *name, const char *suf);
struct contract	*contract_find(const char *name);
struct contract	*contract_new(const char *name);
void		 contract_free(struct contract *);
const char	*status_of(const struct contract *);
struct proc	*proc_spawn(struct contract *, int deploy, const char *dir,
		    const char *key, char *err, size_t errlen);
void		 proc_send(struct proc *, json_t *msg);	/* steals msg */
void		 pump(struct contract *);
void		 worker_start(struct contract *);
void		 set_cache(struct contract *, const json_t *);

/* admin.c: what follows a worker's exit while an admin op waits for it. */
void		 finish_replace(struct contract *);
void		 finish_remove(struct contract *);	/* may free it */
void		 answer_waiters(struct contract *, json_t *result);
void		 deployer_gone(struct contract *, struct proc *);

#endif
