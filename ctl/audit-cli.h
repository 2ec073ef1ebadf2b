/*
 * audit-cli.h — the CLI side of `vmsctl audit`: the trust-on-first-use
 * store. The checks and the sources live in audit/.
 */
#ifndef VMSCTL_AUDIT_H
#define VMSCTL_AUDIT_H

#include <limits.h>

#include "audit.h"
#include "client.h"

/* audit-trust.c: $VMSCTL_KNOWN, else $XDG_STATE_HOME/vmsctl/known_contracts,
 * else ~/.local/state/vmsctl/known_contracts. Records are keyed by the
 * checkpoint origin; seen is the control socket it was last audited
 * through ("" if only ever from a directory). */
struct trust_rec {
	char			origin[NOTE_NAME_MAX + 1];
	struct audit_trusted	t;
	char			seen[PATH_MAX];
};

int	trust_path(char *buf, size_t len, char *err, size_t errlen);
/* Every record, one per origin (malloc'd array). */
int	trust_load(const char *path, struct trust_rec **, size_t *,
	    char *err, size_t errlen);
/* *found = 0 when the origin is not known yet. */
int	trust_lookup(const char *path, const char *origin, struct trust_rec *,
	    int *found, char *err, size_t errlen);
/* seen NULL or "": keep the socket remembered before. */
int	trust_store(const char *path, const char *origin,
	    const struct audit_trusted *, const char *seen, char *err,
	    size_t errlen);

#endif
