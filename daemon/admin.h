/*
 * admin.h — the administrative operations on contracts (admin.c): deploy
 * (with replace), stop, start and remove; and the children a parent's
 * calls made or stopped. Each answers its request when it
 * is done, which for stop, remove and replace is after the contract's
 * worker has exited (through the contract's exit hook). Called by
 * methods.c once parameters and permissions are checked.
 */
#ifndef VMSD_ADMIN_H
#define VMSD_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct rpcreq;

/* limits: the resolved limits object (stolen). */
void	 admin_deploy(struct rpcreq *, const char *name, const char *code,
	    json_t *limits, int replace);
void	 admin_stop(struct rpcreq *, const char *name);
void	 admin_start(struct rpcreq *, const char *name);
void	 admin_remove(struct rpcreq *, const char *name, int purge);
/* A parent's worker made (op "deploy") or stopped ("stop") a child
 * contract (wire.h, the child message). */
struct contract;
void	 admin_child(struct contract *parent, const char *op,
	    const char *name, uint64_t size, const char *vkey,
	    const char *origin);
/* Startup: remove what deploys interrupted by a crash left behind. */
int	 admin_recover(char *err, size_t errlen);
/* Exit (after proc_free_all): answer and clean up what is in progress. */
void	 admin_free_all(void);

#endif
