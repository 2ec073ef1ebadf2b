/*
 * audit-cli.h — the CLI side of `vmsctl audit`: the daemon-backed audit
 * source and the trust-on-first-use store. The checks themselves live in
 * libvms/audit.c.
 */
#ifndef VMSCTL_AUDIT_H
#define VMSCTL_AUDIT_H

#include "audit.h"
#include "client.h"

/* audit-daemon.c: bytes from vmsd over its socket. *transport_failed is
 * set when a failure was the connection's (exit 3), not the daemon's. */
struct audit_source *audit_daemon_source(struct vms_client *,
	    const char *name, int *transport_failed);

/* audit-trust.c: $VMSCTL_KNOWN, else $XDG_STATE_HOME/vmsctl/known_contracts,
 * else ~/.local/state/vmsctl/known_contracts. */
int	trust_path(char *buf, size_t len, char *err, size_t errlen);
/* *found = 0 when the identity is not known yet. */
int	trust_lookup(const char *path, const char *identity,
	    struct audit_trusted *, int *found, char *err, size_t errlen);
int	trust_store(const char *path, const char *identity,
	    const struct audit_trusted *, char *err, size_t errlen);

#endif
