/*
 * audit_int.h — private to the auditor (audit.c: the checks in order;
 * audit-deploy.c: check 3, the deploy entry and a child's link;
 * audit-state.c: check 5, states compared; audit-report.c: the report;
 * audit-history.c: cross-checks against the ledger's signed checkpoint
 * history; audit-parallel.c: check 4 on several threads; audit-tilecheck.c:
 * a tlog-tiles source's hash tiles against the entries): the live audit
 * state and what the files share.
 */
#ifndef VMS_AUDIT_INT_H
#define VMS_AUDIT_INT_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "engine.h"
#include "merkle.h"
#include "note.h"
#include "util.h"

struct audit {
	struct audit_source	*src;
	char			*name;
	int			 progress;
	int			 threads;	/* replaying (audit_opts) */
	int			 used_threads;	/* by the last parallel replay */
	struct note_verifier	 key;
	char			*vkey;
	struct engine		*eng;
	struct merkle_frontier	 fr;
	merkle_hash		*leaves;	/* every leaf hash so far */
	uint64_t		 nleaves, capleaves;
	uint64_t		 size;		/* verified checkpoint size */
	merkle_hash		 root;
	char			 origin[NOTE_NAME_MAX + 1];
	struct engine		*snap;		/* the host's snapshot (dir) */
	uint64_t		 snap_index;
	int			 snap_done;
	/* first failure seen while processing entries */
	uint64_t		 bad_index;
	char			 bad_reason[1536];
	int			 bad_check;
	int			 stop;		/* fetch nothing more */
	uint64_t		 max_entry;	/* entry_size limit (deploy) */
	char			 missing[VMS_ERRLEN];	/* why the source
					   ended early (its words), or "" */
	uint8_t			*ebuf;		/* the entry being replayed */
	size_t			 ebufcap;
	/* audit-tilecheck.c: the tree's hashes at levels 8, 16, ... (the
	 * level-L tile hashes for L >= 1; level 0 is `leaves`), and the
	 * size up to which the source's tiles were compared */
	merkle_hash		*lvl[8];
	uint64_t		 nlvl[8], caplvl[8];
	uint64_t		 tiles_size;
};

/* An entry's time may be this far ahead of the auditor's clock. */
#define AUDIT_CLOCK_SLACK_MS	(24ULL * 3600 * 1000)
/* After entry i (buf) replayed on e: its time (the replay checked that it
 * does not decrease) is not far ahead of this auditor's clock. 0, or -1
 * with the failure's reason. */
int	 audit_check_time(const struct engine *e, uint64_t i,
	    const uint8_t *buf, size_t len, char *reason, size_t rlen);

/* audit-report.c: the report. */
/* Record the audit's failure: check 1..5, the entry (or AUDIT_NO_INDEX). */
void	 audit_fail(struct audit_report *, int check, uint64_t index,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "deploy", "call RSVP by unix:bob": an entry named for a failure. */
void	 audit_describe_entry(const uint8_t *buf, size_t len, char *out,
	    size_t outlen);
/* Every check passed: the report of a's verified size, root and key. */
void	 audit_report_success(struct audit *, struct audit_report *);

/* audit-deploy.c: check 3. */
/* Entry 0 is a well-formed deploy entry of contract name (any if NULL):
 * version, code and its hash, limits (*max_entry: its entry_size). 0, or
 * -1 with why. */
int	 audit_check_deploy(const uint8_t *buf, size_t len, const char *name,
	    uint64_t *max_entry, char *why, size_t whylen);
/* A child's entry 0 is the one its parent recorded (the link it names
 * and its leaf hash). 0, or -1 with why. */
int	 audit_check_parent(const uint8_t *buf, size_t len,
	    const struct audit_parent *p, char *why, size_t whylen);

/* audit-state.c: check 5, the states compared. */
/* Check 5 against the host's live state (a->src->state_page): first, its
 * first page, at the replay's index; the others are read as the
 * comparison reaches them, beside the replay's files in the same order
 * (engine_state_files: a pointer and a few numbers each).
 * 0 the same, 1 not (why names the first difference), 2 the contract
 * moved on between two pages (read it again), -1 the source failed
 * (err). */
int	 audit_compare_live(struct audit *, json_t *first, char *why,
	    size_t whylen, char *err, size_t errlen);
/* The host's state.snap (a->snap) against the state eng replayed. */
int	 audit_compare_snapshot(const struct audit *, const struct engine *,
	    char *why, size_t whylen);
/* Once the replay reaches the snapshot's index: compare, record a
 * failure in a->bad_*. */
void	 audit_check_snapshot(struct audit *);

/* audit.c: the engine's entry source (System.files.history reads
 * verified entries only). */
void	 audit_engine_attach(struct audit *);

/* audit-parallel.c */
/* Skipping an entry (engine_skip: its writes applied, no Lua) costs about
 * this much of replaying it; segments are cut by it. Measured on the
 * guest-list ledger (bench-audit): 2.2-2.3 us against 14.4-15.7 us. */
#define AUDIT_SKIP_COST	0.15
/* On how many threads to replay up to upto: at most a->threads, with at
 * least 2,048 new entries each (a second engine is only worth it for
 * many); 1 when not in parallel (one thread asked, a source without
 * entry_copy, a failure already found). */
int	 audit_parallel_threads(const struct audit *, uint64_t upto);
/* Replay entries [engine position, upto), already hashed into a->leaves,
 * on threads threads; failures in a->bad_* (as the sequential replay
 * records them). 0, or -1 when the source failed (err). */
int	 audit_replay_parallel(struct audit *, uint64_t upto, int threads,
	    char *err, size_t errlen);
/* fn on each of the n jobs of size bytes at jobs, at once: job 0 on the
 * calling thread, the others on threads of their own (one that cannot
 * be started runs here after job 0); returns when all are done. */
void	 audit_on_threads(void *(*fn)(void *), void *jobs, size_t size,
	    int n);

/* audit-tilecheck.c */
/* Check 2 on a tlog-tiles source's hash tiles: every tile the tree of
 * a->size entries has and the tree of a->tiles_size did not (or had
 * narrower) equals the one recomputed from the entries. 0 ok, 1 failure
 * (r filled), -1 error (err). */
int	 audit_check_tiles(struct audit *, struct audit_report *, char *err,
	    size_t errlen);
void	 audit_tiles_free(struct audit *);
/* The entries of a tiles source do not hash to the signed root cp: if the
 * source's level-0 tiles do, they prove which served entry is not the
 * signed one: 1 with *index and why, 0 if they do not (no conclusion), -1
 * error (err). */
int	 audit_tiles_localise(struct audit *, const struct checkpoint *cp,
	    uint64_t *index, char *why, size_t whylen, char *err,
	    size_t errlen);

/* audit-history.c */
/* Check 2 on the source's signed history, once every leaf is known: each
 * note verifies under the key, names the origin, lies within the newest
 * checkpoint and signs the root of exactly that many entries. 0 ok, 1
 * failure (r filled). */
int	 audit_check_history(struct audit *, struct audit_report *);
/* After a root mismatch: the first signed size whose root differs from
 * the entries' (lo, returned; *hi its last entry), or AUDIT_NO_INDEX. */
uint64_t audit_localise(struct audit *, uint64_t *hi);

#endif
