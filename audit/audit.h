/*
 * audit.h — the auditor's core: verify a contract's ledger from bytes alone.
 * The bytes come from an audit source (the daemon over its socket, or a
 * ledger directory read directly); nothing the source says is trusted. In
 * order: (1) the checkpoint's signature under the pinned key (or the one
 * remembered for its origin), origin and size; (2) the entries hash to the
 * checkpoint root (RFC 6962, hashed here), the tree is consistent with the
 * checkpoint this auditor verified before, and every signed note in the
 * source's history signs the root of that many entries, and every hash
 * tile a tlog-tiles source serves is the tree of the entries; (3) entry 0
 * is the deploy entry, its code hash matches, limits
 * are recorded; (4) every entry replays byte for byte in a fresh sandbox
 * (a signed call only if it names the checkpoint's origin, its nonce is
 * above its key's previous one and its signature verifies);
 * (5) the host's materialised state equals the replayed state.
 * A child contract's entry 0 is also checked against what its parent's
 * verified ledger recorded (audit_opts.parent, audit_children).
 *
 * Used by `vmsctl audit` (ctl/cmd-audit.c) and bench/bench-audit.c.
 */
#ifndef VMS_AUDIT_H
#define VMS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "merkle.h"
#include "note.h"
#include "tile.h"

#define AUDIT_NO_INDEX	UINT64_MAX

/* What an audit, or one of its checks, comes to. */
enum audit_verdict {
	AUDIT_ERROR = -1,	/* the source could not be read: err says why */
	AUDIT_PASS = 0,
	AUDIT_FAIL = 1		/* a check failed: the report says which, why */
};

/* What a source answers when asked for an entry. */
enum audit_fetch {
	FETCH_ERROR = -1,	/* err says why */
	FETCH_OK = 0,
	FETCH_END = 1		/* the source holds no such entry; err may say
				   where and why its entries end */
};

/* What a source over HTTP fetched (for progress and reports). */
struct audit_fetch_stats {
	uint64_t	requests, bytes, bundles, tiles;
};

/*
 * Where the bytes come from. Every callback returns 0 or -1 with err set.
 * Entry bytes returned by entry() stay valid until the next entry() call
 * on the source (or until it is freed): copy them to keep them longer.
 */
/*
 * A reader's own buffer for entry_copy (zeroed before the first call, the
 * reader frees buf). With ahead set, the source may read past the entry
 * asked for and serve the next ones in order from the same bytes; base
 * and have are the source's, to know which bytes buf holds.
 */
struct audit_copybuf {
	uint8_t		*buf;
	size_t		 cap;
	int		 ahead;
	uint64_t	 base;
	size_t		 have;
};

struct audit_source {
	void	*ctx;
	/* Human description for messages ("dir /x", "/run/vmsd.sock"). */
	const char *what;
	/* The latest signed checkpoint note (malloc'd). */
	int	(*checkpoint)(void *ctx, char **note, char *err, size_t errlen);
	/* The key the source claims (malloc'd vkey string) or NULL: used
	 * only for trust on first use and to explain a key change. */
	char   *(*vkey)(void *ctx);
	/* Entry i. */
	enum audit_fetch (*entry)(void *ctx, uint64_t index,
		    const uint8_t **buf, size_t *len, char *err,
		    size_t errlen);
	/* Optional (NULL: entries are replayed on one thread): entry i
	 * read into the reader's buffer cb (grown as needed), its bytes at
	 * cb->buf + *off. Safe to call from several threads at once, each
	 * with its own buffer. Same returns as entry(). */
	enum audit_fetch (*entry_copy)(void *ctx, uint64_t index,
		    struct audit_copybuf *cb, size_t *off, size_t *len,
		    char *err, size_t errlen);
	/* Optional (NULL): a consistency proof old -> size. */
	int	(*prove)(void *ctx, uint64_t old, uint64_t size,
		    merkle_hash *proof, size_t *n, char *err, size_t errlen);
	/* Optional (NULL): the host's materialised state, a page at a
	 * time: engine_state_page()'s object plus "index", the files whose
	 * paths sort after `after` (NULL: from the first). Check 5 compares
	 * each page with the replay's own as it comes and asks for the one
	 * after its "next" only while they match: the auditor holds a page
	 * of each side, whatever the size of the state, and a host's
	 * endless pages end at the first file the replay does not have. */
	int	(*state_page)(void *ctx, const char *after, json_t **page,
		    char *err, size_t errlen);
	/* Optional (NULL): a snapshot file of the host's state (dir). */
	const char *snapshot;
	/* Optional (NULL): every signed checkpoint in the ledger's history
	 * (dir: `checkpoints`, then every commit record). Each must verify
	 * under the key and match the root of that many entries (else the
	 * host signed two trees); also used to narrow a root mismatch down
	 * to an entry. */
	int	(*history)(void *ctx, char ***notes, size_t *n);
	/* Optional (NULL): a tlog-tiles hash tile of the latest checkpoint's
	 * tree (id->width hashes into out). Check 2 then compares every
	 * tile of the tree with the one recomputed from the entries
	 * (audit-tilecheck.c): a log whose tiles do not match its entries
	 * misleads every client that proves inclusion from them. */
	enum audit_fetch (*tile)(void *ctx, const struct tile_id *id,
		    merkle_hash *out, char *err, size_t errlen);
	/* Optional (NULL): what was fetched so far. */
	const struct audit_fetch_stats *(*stats)(void *ctx);
	void	(*free)(void *ctx);
};

/* A checkpoint this auditor verified before (trust on first use). */
struct audit_trusted {
	char		vkey[1024];
	uint64_t	size;
	merkle_hash	root;
};

/* What a parent's ledger says of a child (audit_children): the child's
 * entry 0 must be exactly the one whose leaf hash the parent recorded,
 * naming that parent and entry. */
struct audit_parent {
	const char	*contract;	/* the parent's name */
	const char	*origin;	/* its verified checkpoint origin */
	uint64_t	 index;		/* the entry that made the child */
	merkle_hash	 entry;		/* leaf hash of the child's entry 0 */
	int		 stopped;	/* the parent stopped it */
};

#define AUDIT_MAX_THREADS	64

struct audit_opts {
	const char	*name;		/* expected contract name, or NULL */
	const char	*pinned_vkey;	/* --key, or NULL */
	const struct audit_trusted *trusted;	/* remembered, or NULL */
	/* Optional (NULL): find the checkpoint remembered for ORIGIN (read
	 * from the source's checkpoint before anything else; its signature
	 * is then checked under the key chosen from what this returns).
	 * AUDIT_PASS with *found set (and *t filled when found),
	 * AUDIT_FAIL to refuse (why says why: a check 1 failure),
	 * AUDIT_ERROR (why says why). Used instead of `trusted` when set. */
	enum audit_verdict (*lookup)(void *arg, const char *origin,
			    struct audit_trusted *t, int *found, char *why,
			    size_t whylen);
	void		*lookup_arg;
	int		 progress;	/* progress lines on stderr */
	/* Threads replaying entries (0 or 1: the calling thread only).
	 * More need the source's entry_copy; each thread replays a
	 * segment of the ledger from the state the entries before it
	 * record, and the states where segments meet are compared. At
	 * most AUDIT_MAX_THREADS are used, and one per 2,048 entries to
	 * replay (the report's replay_threads). */
	int		 threads;
	/* Optional (NULL): the contract is this parent's child (check 3). */
	const struct audit_parent *parent;
};

struct audit_report {
	int		ok;
	char		contract[NOTE_NAME_MAX + 1];
	char		origin[NOTE_NAME_MAX + 1];
	char		vkey[1024];	/* the key that verified */
	uint64_t	size;		/* entries verified (checkpoint size) */
	merkle_hash	root;
	uint64_t	fail_index;	/* AUDIT_NO_INDEX if none / unknown */
	char		fail_what[256];	/* "call RSVP by unix:bob" */
	int		fail_check;	/* 1..5, 0 if ok */
	char		reason[2048];
	double		replay_secs;
	int		replay_threads;	/* threads the replay ran on (1, or
					   more with audit_opts.threads) */
	int		state_checked;	/* check 5 ran */
	uint64_t	state_index;
	char		note[256];	/* a remark that is not a failure */
	int		first_use;	/* no remembered checkpoint, no --key:
					   the key was trusted on first use */
};

/*
 * The auditor's live state: a verified prefix of the ledger and the engine
 * replayed up to it. audit_run() creates it; audit_follow_step() extends
 * it to a newer checkpoint.
 */
struct audit;

/* *out (may be NULL) receives the live state on success for follow-up
 * steps. */
enum audit_verdict audit_run(struct audit_source *, const struct audit_opts *,
	    struct audit_report *, struct audit **out, char *err,
	    size_t errlen);
/* Verify a newer checkpoint against the last one (consistency proof from
 * the source AND recomputed), replay the new entries. Same returns; *grew
 * says whether a new checkpoint was seen. */
enum audit_verdict audit_follow_step(struct audit *, struct audit_report *, int *grew,
	    char *err, size_t errlen);
void	audit_free(struct audit *);
/* The children the verified ledger made, in name order:
 * [{"name","index","entry":HEX,"stopped"},...] (a new reference). */
json_t *audit_children(const struct audit *);
/* The verified origin of the audited contract. */
const char *audit_origin(const struct audit *);

/* A source over a ledger directory (audit-dir.c). */
int	audit_dir_source(const char *dir, struct audit_source **out,
	    char *err, size_t errlen);
/* A source over vmsd's JSON-RPC methods log, checkpoint, prove and state
 * (audit-rpc.c), through a connected client (borrowed). *transport_failed
 * is set when a failure was the connection's, not the daemon's. */
struct vms_client;
struct audit_source *audit_rpc_source(struct vms_client *,
	    const char *name, int *transport_failed);
/* A source over a C2SP tlog-tiles log at a URL prefix (audit-tiles.c):
 * vmsd's http://HOST:PORT/c/NAME or a static mirror. *transport_failed is
 * set when a failure was the connection's. */
int	audit_tiles_source(const char *url, int timeout_ms,
	    struct audit_source **out, int *transport_failed, char *err,
	    size_t errlen);
void	audit_source_free(struct audit_source *);

/* One line for humans: "NAME: OK — ..." or "NAME: FAIL at entry ...". */
char   *audit_report_line(const struct audit_report *);	/* malloc'd */
json_t *audit_report_json(const struct audit_report *);

#endif
