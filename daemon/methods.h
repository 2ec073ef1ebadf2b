/*
 * methods.h — the protocol's methods (methods.c, vmsd-protocol(7)):
 * parameters checked against the method table (libvms/proto.c), identity
 * and permissions, then hand-off to the supervisor or the admin
 * operations. Every front end calls methods_dispatch() with a decoded
 * request.
 */
#ifndef VMSD_METHODS_H
#define VMSD_METHODS_H

#include <jansson.h>

struct rpcreq;

void	 methods_dispatch(struct rpcreq *, const char *method,
	    json_t *params);

#endif
