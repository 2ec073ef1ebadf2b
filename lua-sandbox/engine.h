/*
 * engine.h — a contract's execution engine: the one place that turns a call
 * into a ledger entry, and an entry back into a verified re-execution. The
 * daemon's workers execute with it; the auditor replays with it. It owns the
 * Lua sandbox (lua-sandbox/), the contract's file tree and its state root.
 * It does no I/O of its own except engine_snapshot_{save,load}.
 *
 * ENTRY SCHEMA (version 1). An entry is canonical JSON: jansson's compact
 * encoding with sorted keys (JSON_COMPACT | JSON_SORT_KEYS, real precision
 * 17, UTF-8 not escaped). The leaf is exactly those bytes. Integers are JSON
 * integers; byte strings (file contents) are base64.
 *
 * Entry 0, the deploy entry:
 *   {"v":1, "type":"deploy", "contract":NAME, "code":LUA_SOURCE,
 *    "code_sha256":HEX, "limits":{LIMIT:INT,...}, "methods":[NAME,...],
 *    "runtime":"Lua 5.4.4 musl-libm/1.2.3 vms-sandbox/1",
 *    "caller":ID|null, "auth":AUTH, "time":MS,
 *    "writes":[OP,...], "state":HEX}          (init's writes and state)
 * Entry i > 0, a call:
 *   {"v":1, "type":"call", "method":NAME, "args":[JSON,...],
 *    "caller":ID|null, "auth":AUTH, ["signed":SIGNED,] "time":MS,
 *    "ok":true,  "result":JSON, "writes":[OP,...], "state":HEX}   or
 *    "ok":false, "error":MESSAGE, "writes":[],     "state":HEX}
 * OP is {"op":"mkdir","path":P} | {"op":"write","path":P,"data":BASE64} |
 *       {"op":"unlink","path":P} | {"op":"rmdir","path":P,"recursive":BOOL}
 * AUTH is "peercred" (unix socket peer credentials), "debug" (a name claimed
 * under debug_auth, unauthenticated), "anonymous" (caller null) or
 * "ed25519" (a signed call: ID is "ed25519:" + the key in base64url, and
 * SIGNED, present exactly then, is the request's
 * {"key":K,"nonce":N,"origin":O,"sig":S}; see callsig.h). A signed call is
 * executed, and replayed, only if O is the engine's origin
 * (engine_set_origin), N is greater than the last nonce of an entry
 * signed by K, and S verifies; else it is refused and not recorded.
 * "state" is the hex state root after the entry (see state.h); "time" is
 * the host's clock in ms at execution, which is all System.time() returns.
 * The random seed of entry i is SHA-256("vms/seed/v1" || leaf_hash(i-1) ||
 * uint64be(i)), so it is derived, never stored, and replay reproduces it.
 * Lua's string-hash seed for the entry is the first 4 bytes (big-endian)
 * of SHA-256("vms/lua-strseed/v1" || that seed || R), where R is
 * SHA-256(method || NUL || canonical args) for a call and SHA-256(code)
 * for the deploy; bytes 4..11 seed the hashes of number keys. "runtime"
 * names the Lua release, its libm and the sandbox version;
 * replay refuses any other.
 *
 * A failed init refuses the deploy (no ledger is created). An unknown,
 * private (leading "_") or "init" method, or args that are not an array, is
 * refused before execution and not recorded (ENGINE_REFUSED).
 *
 * ORACLES (oracle.h). A call that asked oracles (System.oracle) records
 * their answers, in the order asked, as "oracles":[RECORD,...] (ok or
 * failed calls alike). Executing, the engine asks the host
 * (engine_set_oracle); replaying, it gives the contract the recorded
 * answers and requires the same requests (name and args) in the same
 * order, and every signed answer to verify under the key it records.
 *
 * CHILD CONTRACTS. An ok call that used System.contracts records what it
 * asked, in order, as "contracts":[OP,...]:
 *   {"op":"deploy","name":FULL,"code":LUA,"code_sha256":HEX,
 *    "limits":{...},"args":[...],"entry":HEX}
 *   {"op":"stop","name":FULL}
 * FULL is PARENT "." NAME; "entry" is the RFC 6962 leaf hash of the
 * child's entry 0, which the engine builds (running the child's init)
 * before the call's entry is written. A child's entry 0 is a deploy entry
 * with two more fields, "args" (given to init) and
 *   "parent":{"contract":PARENT,"index":I,"origin":O}
 * (the parent's entry and checkpoint origin); its caller is
 * "contract:PARENT" with auth "contract", its time the parent entry's.
 * The children a contract made (and stopped) are part of the engine's
 * state, rebuilt from the ledger and kept in the snapshot.
 */
#ifndef VMS_ENGINE_H
#define VMS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "merkle.h"

struct engine;

/* Every limit has a default; all are recorded in the deploy entry. */
struct vms_limits {
	uint64_t	instructions;	/* VM instructions per call */
	uint64_t	memory;		/* bytes of Lua heap per contract */
	uint64_t	file_size;	/* bytes per file */
	uint64_t	state_size;	/* bytes of all files together */
	uint64_t	args_size;	/* bytes of a call's JSON args */
	uint64_t	result_size;	/* bytes of a call's JSON result */
	uint64_t	depth;		/* nested Lua calls */
	uint64_t	entry_size;	/* bytes of one ledger entry */
	uint64_t	history;	/* entries one files.history() may scan */
	uint64_t	children;	/* child contracts (System.contracts);
					   0, the default, is not recorded */
};
void	 limits_default(struct vms_limits *);
/* "memory=32M", "instructions=1000000": K/M/G suffixes allowed. */
int	 limits_set(struct vms_limits *, const char *key_eq_value,
	    char *err, size_t errlen);
json_t	*limits_to_json(const struct vms_limits *);
/* The name and value (*v) of limit i, in the table's order; NULL past the
 * last one. */
const char *limits_get(const struct vms_limits *, size_t i, uint64_t *v);
/* A child's limits: the parent's (but children, 0), each one given in
 * `given` (a JSON object, or NULL) no larger than the parent's. */
int	 limits_child(const struct vms_limits *parent, const json_t *given,
	    struct vms_limits *out, char *err, size_t errlen);
int	 limits_from_json(struct vms_limits *, const json_t *,
	    char *err, size_t errlen);

struct vms_caller {
	const char	*id;	/* "unix:alice", a debug name, or NULL */
	const char	*auth;	/* "peercred", "debug", "anonymous" (and
				   "ed25519", only from engine_call_signed;
				   "contract", only a child's entry 0) */
};

enum engine_status {
	ENGINE_OK = 0,		/* an entry was produced (call ok or failed) */
	ENGINE_REFUSED = 1,	/* bad request: nothing executed or recorded */
	/* signed calls, refused likewise: */
	ENGINE_BAD_SIGNATURE = 2,	/* the signature does not verify */
	ENGINE_WRONG_ORIGIN = 3,	/* signed for another origin */
	ENGINE_STALE_NONCE = 4,		/* nonce not above the key's last */
	ENGINE_ERROR = -1	/* internal failure: err says why */
};

struct engine_result {
	int		 ok;		/* the contract method returned normally */
	json_t		*value;		/* its result (ok), owned by caller */
	char		*error;		/* its error message (!ok), malloc'd */
	size_t		 contracts;	/* child contract ops it records */
};
void	 engine_result_clear(struct engine_result *);

/* Host callbacks: entries for System.files.history, and System.log. The
 * entry callback returns 0 with *buf malloc'd (the engine frees it) or -1;
 * it must return the ledger's bytes for that index (also at replay). */
typedef int (*engine_entry_fn)(void *ctx, uint64_t index, uint8_t **buf,
    size_t *len);
typedef void (*engine_log_fn)(void *ctx, const char *msg);
/*
 * Oracles (executing only; replay reads the recorded answers): run oracle
 * NAME on the request line (oracle.h). 0 with its standard output in *out
 * (malloc'd) and, if the oracle's answers must be signed, its public key
 * in key with *keyed set; or -1 with the failure the contract will see in
 * err ("no such oracle", "timed out after 5000 ms", ...), recorded.
 */
typedef int (*engine_oracle_fn)(void *ctx, const char *name,
	    const char *request, size_t reqlen, uint8_t **out, size_t *outlen,
	    uint8_t key[32], int *keyed, char *err, size_t errlen);

/*
 * Deploy: compile code, run init, return entry 0 (malloc'd). On ENGINE_OK
 * *out is the live engine positioned after entry 0. A syntax error, a chunk
 * that does not return a table, or a failing init is ENGINE_REFUSED with
 * the reason in err.
 */
enum engine_status engine_deploy(const char *contract, const char *code,
	    size_t codelen, const struct vms_limits *,
	    const struct vms_caller *, uint64_t time_ms, struct engine **out,
	    char **entry, size_t *entrylen, char *err, size_t errlen);

/*
 * Load a contract from its deploy entry without running init or applying
 * its writes: the state is empty and the next index is 0. Follow with
 * engine_snapshot_load() and/or engine_apply() for entries 0.. (daemon), or
 * use engine_replay() from entry 0 (auditor).
 */
int	 engine_open(const uint8_t *entry0, size_t len, struct engine **out,
	    char *err, size_t errlen);
void	 engine_free(struct engine *);

void	 engine_set_entry_source(struct engine *, engine_entry_fn, void *);
void	 engine_set_log(struct engine *, engine_log_fn, void *);
/* Without one, System.oracle fails with "no oracles on this host". */
void	 engine_set_oracle(struct engine *, engine_oracle_fn, void *);
/* Replay: every answer recorded for oracle NAME must be signed by this
 * key (the auditor's pin; the contract may pin keys itself). */
void	 engine_pin_oracle(struct engine *, const char *name,
	    const uint8_t key[32]);
/* The contract's checkpoint origin, which signed calls must name (the
 * worker: its ledger's; the auditor: the verified checkpoint's). Without
 * one, every signed call is refused (ENGINE_WRONG_ORIGIN). */
void	 engine_set_origin(struct engine *, const char *origin);
/* The last nonce accepted from a signing key (0: none yet). */
uint64_t engine_last_nonce(const struct engine *, const uint8_t key[32]);

/*
 * Execute a call as entry number engine_next_index(). On ENGINE_OK the
 * entry (malloc'd) must be appended to the ledger at that index; the engine
 * has already advanced past it. res tells the caller what to answer. Any
 * other status but ENGINE_ERROR is a refusal: nothing ran, nothing changed.
 */
enum engine_status engine_call(struct engine *, const char *method,
	    const json_t *args, const struct vms_caller *, uint64_t time_ms,
	    char **entry, size_t *entrylen, struct engine_result *res,
	    char *err, size_t errlen);

/*
 * The same for a signed call (callsig.h): the caller is the signing key's
 * id with auth "ed25519", and the entry keeps the signed request. Refused
 * with ENGINE_WRONG_ORIGIN, ENGINE_STALE_NONCE or ENGINE_BAD_SIGNATURE
 * (checked in that order) before anything runs.
 */
struct callsig;
enum engine_status engine_call_signed(struct engine *, const char *method,
	    const json_t *args, const struct callsig *, uint64_t time_ms,
	    char **entry, size_t *entrylen, struct engine_result *res,
	    char *err, size_t errlen);

/*
 * Auditor: re-execute the recorded entry (deploy at index 0 re-runs init)
 * and require byte-identical output. On mismatch returns -1 and err names
 * the first differing field, e.g. "result differs: recorded 1 replayed 2".
 */
int	 engine_replay(struct engine *, const uint8_t *entry, size_t len,
	    char *err, size_t errlen);
/* The same, for a caller that has just computed the entry's RFC 6962 leaf
 * hash (the audit, which hashes every entry into its tree): it is not
 * computed again. leaf must be merkle_leaf_hash(entry, len). */
int	 engine_replay_leaf(struct engine *, const uint8_t *entry, size_t len,
	    const uint8_t leaf[32], char *err, size_t errlen);

/* Daemon restart: apply an entry's recorded writes without running Lua and
 * check the resulting state root against the entry's; a signed entry's
 * nonce becomes its key's last. */
int	 engine_apply(struct engine *, const uint8_t *entry, size_t len,
	    char *err, size_t errlen);

/*
 * Auditor, parallel replay: move the engine past an entry by its recorded
 * writes alone, without running Lua and, unless check_root, without the
 * state root (an audit worker that replays from entry k skips 0..k-1,
 * checking the root after the last; another worker replays them). Trusts
 * the entry: the state it leads to must be compared with a replayed one
 * (engine_state_digest) before anything relies on it. Only with
 * check_root does it take the entry's time (engine_last_time), so skip
 * the last entry before a replay with check_root. leaf: the entry's leaf
 * hash if the caller has it (the audit verified it), else NULL (hashed
 * here): the next entry's seed.
 */
int	 engine_skip(struct engine *, const uint8_t *entry, size_t len,
	    const uint8_t leaf[32], int check_root, char *err, size_t errlen);
/* SHA-256 over every file and directory in path order (kind, path, the
 * content's SHA-256): equal digests, equal states. */
void	 engine_state_digest(const struct engine *, merkle_hash out);
/* 1 if both engines' states hold the same files (paths, kinds, contents):
 * a lookup per file, where dumps or digests sort every path. */
int	 engine_state_same(const struct engine *, const struct engine *);

/* Durable materialised state: the file tree, next index, previous leaf
 * hash and the last nonce per signing key, written atomically. load checks
 * the file's own integrity; the caller checks engine_state_root() against
 * the ledger entry it names. */
int	 engine_snapshot_save(struct engine *, const char *path,
	    char *err, size_t errlen);
int	 engine_snapshot_load(struct engine *, const char *path,
	    char *err, size_t errlen);

/*
 * Child contracts. engine_children: the children this contract made, in
 * name order, [{"name":FULL,"index":I,"entry":HEX,"stopped":BOOL},...]
 * (a new reference). engine_child_entry: the entry 0 of the child a
 * "deploy" op of the parent's entry `index` (made at time_ms) asks for
 * (malloc'd), the same bytes as when the parent's call built it; -1 with
 * err if the op is malformed or the child cannot be built.
 */
json_t	*engine_children(const struct engine *);
int	 engine_child_entry(const char *parent, const char *parent_origin,
	    uint64_t index, uint64_t time_ms, const json_t *op, char **entry,
	    size_t *len, char *err, size_t errlen);
/* The deploy entry's parent link ({"contract","index","origin"}, borrowed)
 * or NULL. */
const json_t *engine_parent(const struct engine *);

uint64_t engine_next_index(const struct engine *);
/* The "time" of entry engine_next_index() - 1. Entry times never
 * decrease: engine_call records at least this time whatever the clock
 * says, and engine_replay refuses an entry earlier than it. A snapshot
 * does not hold it: after engine_snapshot_load, set it from that entry. */
uint64_t engine_last_time(const struct engine *);
void	 engine_set_last_time(struct engine *, uint64_t time_ms);
void	 engine_state_root(const struct engine *, merkle_hash out);
/* The RFC 6962 leaf hash of the last entry the engine made or replayed
 * (engine_call's, once it returned ENGINE_OK): for ledger_append_leaf. */
void	 engine_last_leaf(const struct engine *, merkle_hash out);
const char *engine_contract(const struct engine *);

/*
 * Warm calls (on by default): each call's state is restored from an image
 * of the contract's built environment instead of being built again, with
 * the same outcome to the byte (see vms-contract(7), "Warm calls"). An
 * image (a template, about 40 KiB for the guest list) is kept per caller
 * shape, at most 8 per engine. Off, every call builds a fresh state (A/B
 * benchmarks and tests) and the templates are freed: off then on again
 * trims an idle engine.
 */
struct engine_warm {
	uint64_t	warm;		/* calls restored from a template */
	uint64_t	cold;		/* calls built fresh (no template fits) */
	uint64_t	builds;		/* templates made (one per caller shape) */
	uint64_t	failed;		/* shapes that cannot be warm */
	size_t		templates;	/* kept now */
	size_t		bytes;		/* their memory */
	int		off;
	char		why[160];	/* why a self-check turned them off */
};
void	 engine_set_warm(struct engine *, int on);
void	 engine_warm_stats(const struct engine *, struct engine_warm *);
const struct vms_limits *engine_limits(const struct engine *);
json_t	*engine_methods(const struct engine *);		/* ["RSVP", ...] */
/* (engine_methods, engine_ls, engine_state_dump and engine_state_page
 * return new references: the caller json_decref()s them.) */
/* Files: read one (malloc'd bytes), list a directory, dump all for audit:
 * {"root":HEX,"files":[{"path":P,"type":"file"|"dir","size":N,
 *   "sha256":HEX},...]} in path order (strcmp). A page of the dump: the
 * files whose paths sort after `after` (NULL: from the first), at most
 * `limit` of them (0: no limit) and, with max_bytes (0: none), fewer once
 * their text passes about that many bytes (one at least), and
 * "next":P, the page's last path, when more files follow it. */
int	 engine_read(const struct engine *, const char *path, uint8_t **data,
	    size_t *len, char *err, size_t errlen);
json_t	*engine_ls(const struct engine *, const char *path, int recursive,
	    char *err, size_t errlen);
/* How many entries engine_ls would list (0 if path is not a directory),
 * counted without building them. */
size_t	 engine_ls_count(const struct engine *, const char *path,
	    int recursive);
json_t	*engine_state_dump(const struct engine *);
json_t	*engine_state_page(const struct engine *, const char *after,
	    size_t limit, size_t max_bytes);
/* How many files (and directories) a dump lists. */
size_t	 engine_state_count(const struct engine *);
/* The files a dump lists, in its order, without the text: borrowed from
 * the engine's state until it next changes; free() the array. */
struct engine_file {
	const char	*path;
	int		 dir;
	uint64_t	 size;
	const uint8_t	*sha256;	/* 32 bytes */
};
struct engine_file *engine_state_files(const struct engine *, size_t *n);

#endif
