/*
 * engine_int.h — what the engine's files share: the engine itself and the
 * steps of executing an entry. Not for use outside lua-sandbox/.
 *   engine.c           deploy, call, open, request checks, accessors
 *   engine_limits.c    the limits table
 *   engine_replay.c    replay (the auditor) and apply (restart)
 *   engine_snapshot.c  the snapshot file
 *   engine_view.c      read, ls, state dump
 *   engine_nonce.c     the last nonce accepted per signing key
 */
#ifndef VMS_ENGINE_INT_H
#define VMS_ENGINE_INT_H

#include <jansson.h>

#include "callsig.h"
#include "engine.h"
#include "state.h"

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
	uint64_t		 last_time;	/* "time" of entry next-1: entry
						   times never decrease */
	engine_entry_fn		 entry_fn;
	void			*entry_arg;
	engine_log_fn		 log_fn;
	void			*log_arg;
	struct sb_warm		*warm;		/* templates (sb_warm.c) */
	char			*origin;	/* checkpoint origin, or NULL */
	struct eng_nonces	*nonces;	/* engine_nonce.c */
};

/* Hex of the current state root. */
void	 eng_root_hex(const struct engine *, char out[65]);
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
 * sig the signed request or NULL) and write it; see engine.c. */
int	 eng_execute(struct engine *, const char *method, const json_t *args,
	    const char *argtext, size_t arglen, const struct vms_caller *,
	    const struct callsig *, uint64_t time_ms, char **bytes,
	    size_t *blen, struct engine_result *, char *err, size_t errlen);
/* The entry at the engine's index was accepted: move past it. */
void	 eng_advance(struct engine *, const void *bytes, size_t len);
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
