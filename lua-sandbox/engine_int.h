/*
 * engine_int.h — what the engine's files share: the engine itself and the
 * steps of executing an entry. Not for use outside lua-sandbox/.
 *   engine.c           deploy, call, open, accessors
 *   engine_check.c     the caller and request checks (call and replay)
 *   engine_limits.c    the limits table
 *   engine_replay.c    replay (the auditor) and apply (restart)
 *   engine_snapshot.c  the snapshot file
 *   engine_view.c      read, ls, state dump
 *   engine_nonce.c     the last nonce accepted per signing key
 *   engine_oracle.c    System.oracle: asking the host, recording, replaying
 *   engine_children.c  System.contracts: requests, child entries, the
 *                      registry of children
 */
#ifndef VMS_ENGINE_INT_H
#define VMS_ENGINE_INT_H

#include <jansson.h>

#include "callsig.h"
#include "canon.h"
#include "engine.h"
#include "state.h"
#include "util.h"

struct sb_ctx;

struct engine {
	char			*contract;
	char			*code;
	size_t			 codelen;
	char			 code_sha[65];
	struct vms_limits	 limits;
	json_t			*methods;
	char			*bc;
	size_t			 bclen;
	struct vms_state	*state;
	uint64_t		 next;
	merkle_hash		 prev_leaf;
	const uint8_t		*leaf_given;	/* engine_replay_leaf's, for
						   eng_advance, during it */
	uint64_t		 last_time;	/* "time" of entry next-1: entry
						   times never decrease */
	engine_entry_fn		 entry_fn;
	void			*entry_arg;
	engine_log_fn		 log_fn;
	void			*log_arg;
	struct sb_warm		*warm;		/* templates (sb_warm.c) */
	char			*origin;	/* checkpoint origin, or NULL */
	struct eng_nonces	*nonces;	/* engine_nonce.c */
	engine_oracle_fn	 oracle_fn;
	void			*oracle_arg;
	struct eng_pin		*pins;		/* engine_pin_oracle */
	struct eng_children	*children;	/* engine_children.c */
	json_t			*parent;	/* entry 0's "parent", or NULL */
	json_t			*init_args;	/* entry 0's "args", or NULL */
	json_t			*pending;	/* child ops of the entry just
						   executed: eng_advance */
	struct jbuf		 wbuf;		/* eng_execute's writes, and */
	struct jbuf		 obuf;		/* its entry: kept from one call
						   to the next (no regrowing) */
	struct jbuf		 ebuf;		/* System.json.encode's text */
};

/*
 * One entry being executed or replayed: what System.oracle and
 * System.contracts need of it (the sandbox's ctx->host_arg).
 */
struct eng_call {
	struct engine		*e;
	const char		*method;	/* NULL: a deploy entry */
	const struct vms_caller	*caller;
	uint64_t		 time_ms;
	int			 replaying;
	const json_t		*recorded;	/* replay: entry's "oracles" */
	size_t			 used;		/* ... answers given so far */
	json_t			*oracles;	/* the records (array) */
	json_t			*ops;		/* System.contracts (array) */
	char			 why[VMS_ERRLEN];	/* replay mismatch */
};

/* Replaying an entry: its recorded oracle answers; why says what did not
 * match them (empty if all did). */
struct eng_replay {
	const json_t		*oracles;	/* or NULL */
	char			 why[VMS_ERRLEN];
};

/* Hex of the current state root. */
void	 eng_root_hex(const struct engine *, char out[65]);
/* engine_check.c */
/* The caller's id and auth are well-formed, and a signed request (sig,
 * or NULL) comes exactly with auth "ed25519" and its key's id (refusal:
 * err). */
int	 eng_caller_check(const struct vms_caller *, const struct callsig *,
	    char *err, size_t errlen);
/* method/args/caller acceptable for execution (for a signed call: the
 * origin, the nonce order, the signature): 0 with the canonical text of
 * args in *argtext (malloc'd), or the engine_status of the refusal
 * (ENGINE_REFUSED, ENGINE_WRONG_ORIGIN, ...) with err. */
int	 eng_request_check(const struct engine *, const char *method,
	    const json_t *args, const struct vms_caller *,
	    const struct callsig *, char **argtext, size_t *arglen, char *err,
	    size_t errlen);
/* Run one entry (method NULL: deploy; argtext is args' canonical text;
 * sig the signed request or NULL) and write it; see engine.c. The entry
 * (*bytes) is malloc'd when executing; replaying, it is the engine's own
 * buffer, good until its next eng_execute. */
int	 eng_execute(struct engine *, const char *method, const json_t *args,
	    const char *argtext, size_t arglen, const struct vms_caller *,
	    const struct callsig *, uint64_t time_ms, struct eng_replay *,
	    char **bytes, size_t *blen, struct engine_result *, char *err,
	    size_t errlen);
/* The entry at the engine's index was accepted: move past it (applying
 * e->pending, the child ops it records). */
void	 eng_advance(struct engine *, const void *bytes, size_t len);
/* Deploy: a new engine after init, its entry 0 (malloc'd). parent and
 * init_args are a child's (else NULL). 0, 1 refused (err), -1 error. */
int	 eng_deploy(const char *contract, const char *code, size_t codelen,
	    const struct vms_limits *, const struct vms_caller *,
	    uint64_t time_ms, const json_t *parent, const json_t *init_args,
	    struct engine **out, char **entry, size_t *entrylen, char *err,
	    size_t errlen);

/* engine_oracle.c and engine_children.c: what the sandbox calls */
struct sb_host;
extern const struct sb_host eng_host;
/* engine_children.c's part of eng_host */
int	 eng_host_deploy(struct sb_ctx *, const json_t *spec,
	    const char **name, char *msg, size_t msglen);
int	 eng_host_stop(struct sb_ctx *, const char *name, char *msg,
	    size_t msglen);
json_t	*eng_host_list(struct sb_ctx *);
/* After the contract ran (replay): every recorded answer used? */
int	 eng_oracle_done(struct eng_call *);
/* After an ok call: build the children it deploys (their entries'
 * hashes go into the ops). 0, or 1 with the error the call fails with. */
int	 eng_children_build(struct eng_call *, char **error);
/* The registry. */
struct eng_children;
struct eng_children *eng_children_new(void);
void	 eng_children_free(struct eng_children *);
/* Apply a recorded "contracts" array at entry index (the ops are
 * trusted: validated when executed or replayed). */
void	 eng_children_apply(struct eng_children *, const json_t *ops,
	    uint64_t index);
/* Snapshot section: bytes needed, write, read (-1: corrupt). */
size_t	 eng_children_size(const struct eng_children *);
uint8_t	*eng_children_dump(const struct eng_children *, uint8_t *p);
int	 eng_children_load(struct eng_children *, const uint8_t **p,
	    const uint8_t *end);
struct eng_pin;
void	 eng_pins_free(struct eng_pin *);
/* ... and, for a signed call, its nonce is now its key's last. */
void	 eng_accept_signed(struct engine *, const struct callsig *);
/* Parse a recorded entry (object, "v":1); NULL with err. */
json_t	*eng_parse_entry(const uint8_t *buf, size_t len, uint64_t index,
	    char *err, size_t errlen);

/* engine_nonce.c: the last accepted nonce per key (0: none). */
struct eng_nonces;
struct eng_nonces *eng_nonces_new(void);
void	 eng_nonces_free(struct eng_nonces *);
uint64_t eng_nonce_get(const struct eng_nonces *, const uint8_t key[32]);
void	 eng_nonce_set(struct eng_nonces *, const uint8_t key[32], uint64_t);
size_t	 eng_nonce_count(const struct eng_nonces *);
/* (key, uint64 big-endian nonce) in key order, 40 bytes each. */
void	 eng_nonce_dump(const struct eng_nonces *, uint8_t *out);

#endif
