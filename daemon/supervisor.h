/*
 * supervisor.h — requests to contract workers (supervisor.c): queueing,
 * the worker's life (start, stop, restart, watchdog), ledger-only reads of
 * contracts without a worker, and shutdown. Used by methods.c (requests),
 * admin.c (workers it needs started or stopped) and server.c.
 */
#ifndef VMSD_SUPERVISOR_H
#define VMSD_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

struct contract;
struct rpcreq;

/* Create the state directory's layout; ready the process layer. */
int	 supervisor_init(char *err, size_t errlen);
/* Queue a request for a contract's worker (call and read methods). */
void	 supervisor_submit(struct rpcreq *, const char *contract);
void	 supervisor_list(struct rpcreq *);
/* Move a contract's requests along; start or stop its worker as its
 * state asks (after any change an admin operation makes). */
void	 supervisor_pump(struct contract *);
void	 supervisor_start_worker(struct contract *);
/* Who hears of the children a worker made or stopped (wire.h's child
 * message): admin_child, set by server.c. */
void	 supervisor_on_child(void (*)(struct contract *parent,
	    const char *op, const char *name, uint64_t size,
	    const char *vkey, const char *origin));
/* Who serves the connections workers give back (wire.h "back"):
 * control_adopt, set by server.c. Without it they are closed. */
void	 supervisor_on_back(void (*)(int fd, const char *input,
	    size_t inputlen, const char *why));
/* Stop workers once their queues drain; done() when every process
 * (workers and deploys) has exited. */
void	 supervisor_shutdown(void (*done)(void));
void	 supervisor_sigchld(void);

#endif
