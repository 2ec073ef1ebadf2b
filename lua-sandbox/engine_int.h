/*
 * engine_int.h — what the engine's files (engine.c, engine_limits.c,
 * engine_replay.c, engine_snapshot.c, engine_view.c) share: the engine
 * itself and the steps of executing an entry. Not for use outside
 * lua-sandbox/.
 */
#ifndef VMS_ENGINE_INT_H
#define VMS_ENGINE_INT_H

#include <jansson.h>

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
};

/* Hex of the current state root. */
void	 eng_root_hex(const struct engine *, char out[65]);
/* The caller's id and auth are well-formed (refusal: err). */
int	 eng_caller_check(const struct vms_caller *, char *err, size_t errlen);
/* method/args/caller acceptable for execution: 0 with the canonical text
 * of args in *argtext (malloc'd), or -1 refused (err). */
int	 eng_request_check(const struct engine *, const char *method,
	    const json_t *args, const struct vms_caller *, char **argtext,
	    size_t *arglen, char *err, size_t errlen);
/* Run one entry (method NULL: deploy; argtext is args' canonical text)
 * and write it; see engine.c. */
int	 eng_execute(struct engine *, const char *method, const json_t *args,
	    const char *argtext, size_t arglen, const struct vms_caller *,
	    uint64_t time_ms, char **bytes, size_t *blen,
	    struct engine_result *, char *err, size_t errlen);
/* The entry at the engine's index was accepted: move past it. */
void	 eng_advance(struct engine *, const void *bytes, size_t len);
/* Parse a recorded entry (object, "v":1); NULL with err. */
json_t	*eng_parse_entry(const uint8_t *buf, size_t len, uint64_t index,
	    char *err, size_t errlen);

#endif
