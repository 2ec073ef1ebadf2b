/*
 * ledgerq.h — the read methods answered from a contract's ledger alone
 * (ledgerq.c): log, checkpoint, prove, methods, info. Used by workers and,
 * for contracts without a worker (stopped, failed), by the supervisor.
 */
#ifndef VMSD_LEDGERQ_H
#define VMSD_LEDGERQ_H

#include <stddef.h>

#include <jansson.h>

#include "proto.h"

struct ledger;

/* A method flagged PM_LEDGER in the table (proto.h): 0 and *result, or
 * an RPC error code with err. */
int	 ledgerq(struct ledger *, const char *name, enum proto_method_id,
	    const json_t *params, json_t **result, char *err, size_t errlen);

#endif
