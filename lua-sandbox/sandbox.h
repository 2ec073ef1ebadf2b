/*
 * sandbox.h — one bounded, deterministic Lua 5.4 execution: a fresh
 * lua_State per call with an allow-listed environment, the System API,
 * an instruction budget, a heap cap and a call-depth cap. The engine
 * (engine.c) owns everything around it: entries, replay, the ledger view.
 *
 * Files (all private to lua-sandbox/ but sb_compile and sb_run):
 *   sandbox.c     the state of a call: allocator, hook, GC points, the
 *                 environment, running the method, outcomes
 *   sb_warm.c     warm calls: the built state kept as an image, restored
 *   sb_arena.c    the arena all Lua blocks live in, and its images
 *   sb_luaconf.c  the functions Lua calls through vms_luauser.h
 *   sb_compile.c  source to bytecode
 *   sb_determ.c   deterministic pairs/next/tostring/format/sort/random
 *   sb_meter.c    instruction charges of library functions
 *   sb_protect.c  pcall, xpcall, coroutines that cannot swallow limits
 *   sb_system.c   the System table; sb_files.c System.files
 *   sb_json.c     JSON <-> Lua values, the boxes that own jansson values
 */
#ifndef VMS_SANDBOX_H
#define VMS_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <locale.h>

#include <jansson.h>
#include <lua.h>

#include "engine.h"
#include "state.h"

/*
 * What executes a contract, recorded in its deploy entry: the Lua release
 * (built from Debian's lua5.4 source with vms_luauser.h), the libm behind
 * its math (musl's, vms_libm.h) and the version
 * of the sandbox's semantics (environment, metering costs, determinism
 * rules). A replay refuses a ledger recorded under another runtime. Bump
 * the sandbox version whenever a change could alter any entry.
 */
#define SB_RUNTIME	LUA_RELEASE " musl-libm/1.2.3 vms-sandbox/1"

#define SB_MAX_CODE	60000	/* bytes of contract source */
#define SB_JSON_DEPTH	64	/* nesting of JSON <-> Lua values */
#define SB_HOOK_EVERY	1000	/* instructions between count hooks */
#define SB_ALLOC_UNIT	16	/* heap bytes charged as one instruction */
#define SB_CMP_UNIT	64	/* string bytes compared per instruction */
#define SB_SHORTSTR	40	/* LUAI_MAXSHORTLEN of Lua 5.4 */
#define SB_LIMITERR	160
#define SB_JSON_NODE	128	/* host bytes charged per JSON node */
#define SB_GC_MIN	(1 << 20)	/* bytes allocated between GCs, at least */

struct arena;
struct jbuf;
struct sb_ctx;

/*
 * What System.oracle and System.contracts ask of the engine
 * (engine_oracle.c, engine_children.c). Each returns 0;
 * or 1 with the message of the error the contract sees in msg; or -1
 * after recording in ctx->limit_err an error the call cannot catch (a
 * limit, or a replay that does not match its entry). ctx->hostapi.
 */
struct sb_host {
	/* the answer (borrowed until the call ends; *reclen bytes recorded,
	 * charged) and its signer (*key, base64url, or NULL) */
	int	(*oracle)(struct sb_ctx *, const char *name,
		    const json_t *args, const json_t **answer,
		    const char **key, size_t *reclen, char *msg,
		    size_t msglen);
	/* spec: {name, code, limits?, args?}; *name: the full name
	 * (borrowed until the call ends) */
	int	(*deploy)(struct sb_ctx *, const json_t *spec,
		    const char **name, char *msg, size_t msglen);
	int	(*stop)(struct sb_ctx *, const char *name, char *msg,
		    size_t msglen);
	/* the children, committed ones (a new reference) */
	json_t	*(*list)(struct sb_ctx *);
};
struct sb_warm;
struct sb_template;

struct sb_ctx {
	/* inputs, set by the engine */
	const struct vms_limits	*limits;
	struct vms_state	*state;
	const char		*contract;
	const char		*caller_id;	/* NULL: anonymous */
	const char		*caller_auth;
	uint64_t		 time_ms;
	uint64_t		 index;		/* this entry's index */
	uint8_t			 seed[32];
	uint8_t			 reqhash[32];	/* engine.c request_digest */
	engine_entry_fn		 entry_fn;
	void			*entry_arg;
	engine_log_fn		 log_fn;
	void			*log_arg;
	const char		*bc;		/* our own compiled chunk */
	size_t			 bclen;
	struct sb_warm		*warm;		/* templates, or NULL (cold) */
	const struct sb_host	*hostapi;	/* System.oracle, .contracts */
	void			*host_arg;

	/* run state */
	struct arena		*arena;		/* small blocks, or NULL */
	size_t			 mem;
	size_t			 peak;		/* highest mem so far */
	size_t			 host;		/* charged non-Lua bytes */
	int			 memfail;	/* last growth was refused */
	int			 memdead;	/* a growth was refused: no more */
	size_t			 allocd;	/* bytes allocated so far */
	size_t			 gc_mark;	/* allocd at the last GC */
	size_t			 gc_next;	/* allocd - gc_mark for the next */
	uint64_t		 nmts;		/* tables made metatables */
	uint64_t		 wbytes;	/* entry bytes the ops need */
	uint64_t		 cost;		/* instructions + charges */
	uint64_t		 hookcount;
	int			 closed;	/* method returned: no System */
	char			 limit_err[SB_LIMITERR];
	uint64_t		 rng[4];
	unsigned int		 strseed;	/* Lua's string-hash seed */
	uint64_t		 numseed;	/* ... and number-key seed */
	size_t			 logbytes;	/* System.log this call */
	struct jbuf		*writes;	/* recorded ops (text) */
	struct jbuf		*enc;		/* System.json.encode's text
						   (the engine's, kept from
						   one use to the next) */
	json_t			*methods;	/* deploy: discovered methods */
	int			 warmed;	/* restored by sb_warm_load */
	const struct sb_template *warm_tpl;
};


/* Compile text source into our own bytecode (malloc'd). */
int	 sb_compile(const char *name, const char *code, size_t len,
	    char **bc, size_t *bclen, char *err, size_t errlen);

/*
 * Run one call in a fresh state. method NULL means deploy: collect the
 * public methods into ctx->methods and run init if present (with args, a
 * child's, if not NULL). Returns 0 and
 * sets *ok; on ok *result is the JSON result (owned), else *error is the
 * message (malloc'd). -1 only for internal failure (err).
 */
int	 sb_run(struct sb_ctx *, const char *method, const json_t *args,
	    int *ok, json_t **result, char **error, char *err, size_t errlen);

/* Warm calls (sb_warm.c): one per engine. */
struct sb_warm *sb_warm_new(void);
void	 sb_warm_free(struct sb_warm *);
void	 sb_warm_enable(struct sb_warm *, int on);
void	 sb_warm_stats(const struct sb_warm *, struct engine_warm *);

/* Internal to lua-sandbox/. */
void	 sb_ctx_start(struct sb_ctx *);
lua_State *sb_newstate(struct sb_ctx *);
int	 sb_construct(lua_State *, int (*capture)(lua_State *, void *),
	    void *arg);
void	 sb_dropstate(lua_State *);
lua_State *sb_warm_load(struct sb_warm *, struct sb_ctx *);
void	 sb_warm_push_chunk(lua_State *);
void	 sb_warm_note_setfuncs(lua_State *, const void *reg, int nup);
struct sb_ctx	*sb_getctx(lua_State *);
void	 sb_charge(lua_State *, uint64_t units);
void	 sb_charge_only(struct sb_ctx *, uint64_t units);
uint64_t sb_sort_cost(uint64_t n, uint64_t key_bytes);
void	 sb_gc_point(lua_State *);
void	 sb_register_mt(lua_State *, int idx);
int	 sb_limit(lua_State *, const char *fmt, ...);
void	 sb_check_open(lua_State *, const char *fn);
int	 sb_rethrow_limits(lua_State *, int status);
void	 sb_open_determ(lua_State *);
void	 sb_open_system(lua_State *);
void	 sb_open_meter(lua_State *);
void	 sb_wrap(lua_State *, int tidx, const char *name, lua_CFunction);
void	 sb_open_files(lua_State *);	/* pushes System.files */
void	 sb_readonly(lua_State *);	/* replace top table by a proxy */
const char *sb_tostring(lua_State *, int idx, size_t *len);
int	 sb_isnan(lua_State *, int idx);
int	 sb_push_json(lua_State *, const json_t *, int depth);
json_t	*sb_to_json(lua_State *, int idx, int depth, char *err,
	    size_t errlen);
/* The canonical text of the value at idx, written into text (reset
 * first) without a jansson tree: the text json_canonical() makes of
 * sb_to_json()'s tree, with the same charges and errors. 0, or -1 (err;
 * never raises). */
int	 sb_to_canon(lua_State *, int idx, struct jbuf *text, char *err,
	    size_t errlen);
int	 sb_json_charge(lua_State *, size_t bytes, char *err, size_t errlen);
void	 sb_rng_seed(struct sb_ctx *);	/* rng and strseed from seed */
void	*sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void	 sb_set_running(struct sb_ctx *);	/* for sb_luaconf.c */
void	 sb_sethook(lua_State *, struct sb_ctx *);
void	 sb_open_protect(lua_State *);	/* pcall, xpcall, coroutine.* */
locale_t sb_enter_c_locale(void);	/* returns what to restore, or 0 */
void	 sb_leave_locale(locale_t);
uint64_t sb_rng_next(struct sb_ctx *);
struct sb_box {
	json_t	*json;
	char	*str;
};
struct sb_box *sb_box_json(lua_State *);	/* freed with the state */
void	 sb_box_drop_all(lua_State *);	/* before dropping the state */
int	 sb_valid_utf8(const char *, size_t);
struct arena *sb_arena_get(uint64_t memory_limit);
int	 sb_arena_offset(const struct arena *, size_t p, size_t *off);
void	 sb_arena_put(struct arena *);
void	*sb_arena_realloc(struct arena *, void *, size_t osize, size_t nsize);
int	 sb_arena_pin(struct arena *, int on);
struct arena_image;
struct arena_image *sb_arena_save(struct arena *);
int	 sb_arena_fits(const struct arena *, const struct arena_image *);
int	 sb_arena_load(struct arena *, const struct arena_image *);
int	 sb_arena_same(const struct arena *, const struct arena_image *);
const void *sb_arena_image_at(const struct arena_image *, const void *);
void	*sb_arena_image_edit(struct arena_image *, const void *, size_t);
size_t	 sb_arena_image_size(const struct arena_image *);
void	 sb_arena_image_free(struct arena_image *);
int	 sb_has_close(const char *, size_t);

#endif
