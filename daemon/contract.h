/*
 * contract.h — the contract registry: one record per contract in the state
 * directory, kept sorted by name, with what the supervisor (requests,
 * worker, restart policy) and the admin operations (deploy, stop, start,
 * remove) keep about it. The registry itself only creates, finds, lists,
 * loads and frees records; supervisor.c and admin.c give them life.
 */
#ifndef VMSD_CONTRACT_H
#define VMSD_CONTRACT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "restart.h"
#include "rpcreq.h"

struct event;
struct proc;
struct admin_op;
struct contract;

/*
 * In a contract's directory, besides its ledger: "status" (stopped by an
 * admin or its parent) and this file, which a worker writes (and syncs)
 * before committing an entry that makes or stops children, holding that
 * entry's index, and removes once they are made or stopped: while it
 * exists, the entries from that index on may ask for children that do not
 * exist yet, and vmsd starts the contract's worker at startup to make them.
 */
#define CONTRACT_CHILDREN_PENDING	"children.pending"

enum cstate { C_IDLE, C_STARTING, C_RUNNING, C_STOPPING };

/* An admin operation waiting for the worker to exit: run once it has.
 * Returns CONTRACT_FREED if it freed the contract. */
enum contract_fate { CONTRACT_KEPT, CONTRACT_FREED };
typedef enum contract_fate (*contract_hook)(struct contract *);

struct contract {
	char			*name;
	char			*dir;		/* <state>/contracts/NAME */
	char			*keypath;	/* <state>/keys/NAME.key */
	char			*headpath;	/* <state>/keys/NAME.head */
	int			 hidden;	/* first deploy in progress */
	int			 admin_stopped;
	int			 failed;
	int			 removing;
	int			 children_pending;	/* see above (load) */
	char			*refused;	/* why its worker refused to
						   run it (unavailable) */

	/* supervisor.c */
	enum cstate		 state;
	struct proc		*worker;
	struct rpcreq_list	 queue;		/* waiting, not sent */
	struct rpcreq_list	 inflight;	/* sent to the worker */
	unsigned		 nqueue, ninflight;
	unsigned		 nattached;	/* client connections its
						   worker serves (attach) */
	uint64_t		 next_wid;
	struct restart		 restart;
	uint64_t		 not_before;	/* backoff, mono ms */
	struct event		*timer;		/* backoff and idle stop */
	struct event		*ctimer;	/* call_timeout watchdog */
	int			 timed_out;	/* worker killed by it */

	/* what the last worker or deploy said */
	uint64_t		 size;
	char			*vkey;
	char			*origin;

	/* admin.c: the operation in progress, and its completion once
	 * the worker has exited (no new request is sent meanwhile) */
	struct admin_op		*admin;
	contract_hook		 exit_hook;
	struct rpcreq_list	 waiters;	/* answered when it is done */

	TAILQ_ENTRY(contract)	 entry;
};

struct contract	*contract_find(const char *name);
/* A new record, in the registry (hidden ones are not listed). */
struct contract	*contract_new(const char *name);
/* Out of the registry and freed: its requests are answered with errors. */
void		 contract_free(struct contract *);
struct contract	*contract_first(void);
struct contract	*contract_next(struct contract *);
size_t		 contract_count(void);	/* visible ones */
const char	*contract_status(const struct contract *);
/* Remember what a worker or a deploy reported. */
void		 contract_set_info(struct contract *, uint64_t size,
		    const char *vkey, const char *origin);
/* <state>/<pre><name><suf> (malloc'd) */
char		*contract_path(const char *pre, const char *name,
		    const char *suf);
/* Startup: a record for every contract directory, its size and key read
 * from its ledger. -1 with err if the directory cannot be read. */
int		 contracts_load(char *err, size_t errlen);
/* The set of contracts or their states changed (for sd_notify STATUS). */
void		 contracts_changed(void);
void		 contracts_on_change(void (*)(void));
void		 contracts_free_all(void);

#endif
