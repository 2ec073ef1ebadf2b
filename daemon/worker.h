/*
 * worker.h — private to the worker process (worker*.c): its state and what
 * its files share. Not an interface; the supervisor sees only worker_main().
 *
 *   worker.c         the loop: read requests, group commit, pipeline
 *   worker_call.c    one request: execute a call, answer a read, replies
 *   worker_receipt.c the receipts of a batch's calls, once it is signed
 *   worker_open.c    open a contract (lock, key, ledger, state) or deploy one
 *   worker_snap.c    state.snap: periodic ones written by a forked child
 *   worker_commit.c  the commit thread: fdatasync of a prepared commit
 *   worker_nonce.c   the nonce thread: signing nonces made ahead
 *   worker_oracle.c  running oracles for the engine (System.oracle)
 *   worker_children.c  making the child contracts committed entries ask
 *                    for (System.contracts), and after a crash
 *   worker_conn.c    client connections attached to the worker (attach)
 *                    or handed over by vmsd (handoff): reading their
 *                    calls, routing their replies
 *   worker_conn_chan.c  the attach channel: taking them, giving vmsd's
 *                    own hand-overs back
 */
#ifndef VMSD_WORKER_H
#define VMSD_WORKER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"
#include "ledger.h"
#include "note.h"
#include "util.h"
#include "wire.h"

struct committer;
struct noncer;
struct wconn;

/* Wire ids of the calls of attached connections: never one of vmsd's. */
#define WCONN_WID	(1ULL << 62)

/* A reply to come on an attached connection, in request order. */
struct wroute {
	uint64_t	 wid;
	struct wconn	*c;
	char		*id;		/* the client's id as JSON text; NULL
					   for a notification (no reply) */
};

/* The connections attached to this worker (worker_conn.c). */
struct wconns {
	int		 chan;		/* the attach channel, or -1 */
	int		 on;		/* started with one */
	struct wconn	**v;		/* open or waiting for replies */
	size_t		 n, cap;
	size_t		 nopen;		/* of which open */
	size_t		 nready;	/* of which with a line to run */
	size_t		 rr;		/* round robin: next to take from */
	struct wroute	*q;		/* replies to come: a ring */
	size_t		 qhead, qlen, qcap;
	uint64_t	 next_wid;
	uint64_t	 lim[WIRE_ATTACH_LIMITS];	/* the latest attach's */
	int		 debug_auth;
	/* the last "attached" message to vmsd */
	uint64_t	 told_n, told_size, told_ms;
	int		 told_ever;
};

/*
 * A call's reply waiting for its receipt: it is encoded at `at` in the
 * open batch's `out` once the batch's checkpoint is signed
 * (worker_fill_receipts).
 */
struct receipt_hole {
	size_t		 at;		/* offset in out */
	uint64_t	 id, size;	/* request id, reply size */
	uint64_t	 index;		/* the entry */
	int		 code;		/* 0: result {value}; else the error */
	json_t		*value;		/* result value (owned) */
	char		*message;	/* error message (owned) */
	uint8_t		*entry;		/* the leaf bytes if asked (owned) */
	size_t		 entrylen;
};

/* An oracle this worker may run (--oracle NAME=PATH, --oracle-key). */
struct worker_oracle {
	char		*name;
	char		*path;
	int		 keyed;
	uint8_t		 key[32];
};

/* Where the reply of a call with an entry is in a reply buffer: if the
 * storage fills before its batch is durable, it is rewritten as an
 * error (worker_storage_full). */
struct reply_span {
	uint64_t	 id;
	size_t		 off, end;
};
struct reply_spans {
	struct reply_span *v;
	size_t		 n, cap;
};

#define WORKER_INFLIGHT	2	/* commits in flight at most */
#define WORKER_BUSY_POLL_US 100	/* busy_poll's default (worker_poll.c) */
#define POLL_LONE_RUN	8	/* polled after so many lone calls */

struct worker {
	const char	*name;
	const char	*dir;
	const char	*keypath;
	const char	*headpath;	/* the signed head, beside the key */
	char		*snap_path;
	int		 fd;
	int		 ep;		/* epoll: all the loop waits for
					   (worker_poll.c) */
	int		 lock_fd;	/* flock on the key file */
	uint64_t	 snapshot_interval;
	unsigned	 batch_max;

	struct note_signer *signer;
	struct ledger	*ledger;
	struct engine	*engine;
	uint64_t	 snap_index;	/* engine_next_index at last snapshot */
	uint64_t	 snap_try;	/* ... at the last one started */
	pid_t		 snap_pid;	/* its writer (worker_snap.c), or 0 */
	int		 snap_fd;	/* its pipe: error text, EOF at exit */

	char		*in;		/* unparsed input */
	size_t		 inlen, incap;
	int		 eof;
	int		 fresh;		/* nothing run since a blocking wait
					   took what was ready: a wait that
					   would not block is skipped
					   (worker_poll.c) */

	/*
	 * Group commit, pipelined: the open batch (calls executed and
	 * appended since the last prepare, their replies in `out`) grows
	 * while the commits in flight (up to `inflight`, their replies in
	 * `fly`) are fdatasynced, each by a committer thread of its own (one
	 * started per commit that may be in flight). The i-th oldest in
	 * flight is at index (ffirst + i) % inflight of fly, fly_calls,
	 * tickets and com. Replies are
	 * sent only once their batch is durable, and always in request
	 * order: the oldest batch in flight first, `out` last.
	 */
	struct jbuf	 out;
	struct jbuf	 fly[WORKER_INFLIGHT];
	struct reply_spans out_calls, fly_calls[WORKER_INFLIGHT];
	int		 full;		/* storage full: calls refused */
	uint64_t	 nrefused;	/* calls refused since */
	int		 dirty;		/* open batch has entries */
	unsigned	 nopen;		/* requests in the open batch */
	unsigned	 nfly, ffirst;	/* commits in flight; the oldest */
	unsigned	 inflight;	/* at most this many (1 or 2:
					   commits_in_flight, vmsd.conf(5)) */
	struct ledger_ticket tickets[WORKER_INFLIGHT];
	struct committer *com[WORKER_INFLIGHT];
	struct noncer	*noncer;	/* keeps the signer's nonces made */
	uint64_t	 ncommits;	/* batches committed */
	uint64_t	 noverlap;	/* of which while calls executed */
	uint64_t	 nbeside;	/* of which flushed beside another */
	uint64_t	 nwaited;	/* of which waited (beside_in) and
					   then went alone */
	uint64_t	 nwaited_past;	/* of which behind a flush that ran
					   past beside_after */
	uint64_t	 ninline;	/* of which 2 calls or more flushed
					   by the main thread (inline_ok) */
	unsigned	 inline_max;	/* calls: commit_inline_max,
					   vmsd.conf(5) (worker.c) */
	unsigned	 busy_poll;	/* µs: busy_poll, vmsd.conf(5)
					   (worker_poll.c) */
	unsigned	 lone_run;	/* lone calls flushed here in a row */
	int		 poll_armed;	/* the next blocking wait is the
					   first after POLL_LONE_RUN of them */
	int		 poll_dry;	/* a poll found nothing: none until
					   such a wait ends within busy_poll */
	uint64_t	 npolled;	/* waits that polled */
	uint64_t	 npoll_met;	/* of which found something */
	uint64_t	 nrun;		/* requests run so far */
	uint64_t	 fly_nrun[WORKER_INFLIGHT]; /* nrun at each one's
					   start; UINT64_MAX: flushed by the
					   main thread */
	unsigned	 arrived16;	/* requests that arrived during a
					   flush: moving average, x16 */
	int		 waiting;	/* the open batch has waited so */
	int		 overlapped;	/* a call ran while the one in flight
					   was being fdatasynced */
	uint64_t	 fly_usec;	/* mono_usec() when the youngest
					   commit in flight was handed over */
	unsigned	 fly_n;		/* requests in the youngest in flight */
	uint64_t	 flush_min;	/* µs: the shortest flush of the last
					   FLUSH_WINDOW to 2x that (worker.c) */
	uint64_t	 flush_min_next;	/* ... of this window */
	unsigned	 flush_seen;	/* flushes in this window */
	uint64_t	 flush_last;	/* µs the last one collected ran */
	uint64_t	 beside_after;	/* µs: commit_beside_after,
					   vmsd.conf(5) (worker.c) */
	int64_t		 beside_wait;	/* µs the blocking wait may last at
					   most for the open batch's flush to
					   start beside; -1: no such limit */
	int		 must_exit;	/* restart after this batch */
	/* the open batch's call replies, in request order */
	struct receipt_hole *holes;
	size_t		 nholes, capholes;
	/* worker_receipt.c's buffers, kept from batch to batch: the open
	 * batch's output is rebuilt in `spliced` (the old one's becomes the
	 * next), a reply's text in `rtext` */
	struct jbuf	 spliced, rtext;
	merkle_hash	(*proofs)[MERKLE_MAX_PROOF];
	size_t		*prooflens, capproofs;

	struct worker_oracle *oracles;
	size_t		 noracles;
	unsigned	 oracle_timeout;	/* ms */
	size_t		 oracle_max_output;	/* bytes */
	int		 oracle_ran;	/* this request ran one: commit now */
	/* before waiting for something slow (an oracle): worker_settle,
	 * set by the loop (worker.c) */
	void		(*settle)(struct worker *);

	struct wconns	 wc;

	uint64_t	*fx;		/* entries whose children are to make */
	size_t		 nfx, capfx;
	uint64_t	 fx_warned;	/* 1 + the entry whose children were
					   last reported not made */
	int		 intent;	/* CONTRACT_CHILDREN_PENDING exists */
};

/* worker.c */
/* vmsd --worker ...: the process's main(). */
int	 worker_main(int argc, char **argv);
void	 worker_send_out(struct worker *);
/* Commit everything executed and send every reply (reads see only
 * committed state; also before a snapshot and at exit). */
void	 worker_drain(struct worker *);
/* Wait for the commit in flight, if any, and send its replies (before
 * waiting for something slow). */
void	 worker_settle(struct worker *);
int	 worker_has_line(const struct worker *);
/* The error a call whose entry could not be written gets. */
extern const char worker_no_space[];
/* Is this errno the storage being full (ENOSPC, EDQUOT)? */
int	 worker_storage_errno(int);
/* The storage is full: the open batch's entries were not written (the
 * ledger is rolled back here; a commit in flight is finished first):
 * their calls are answered with an error saying so, the engine goes back
 * to the committed state, and the worker goes on. */
void	 worker_storage_full(struct worker *, const char *why);

/* worker_poll.c: the loop's one epoll set. wpoll_init adds vmsd's
 * socket; wpoll_commits commit thread k's eventfd; wpoll_snapshot a
 * snapshot writer's pipe (on) or takes it out (before it is closed). */
void	 wpoll_init(struct worker *);
void	 wpoll_commits(struct worker *, unsigned k, int efd);
void	 wpoll_snapshot(struct worker *, int fd, int on);
void	 wpoll_close(struct worker *);
/* Read what waits (vmsd's requests, the connections'); block if asked
 * until something is ready. 1 if input was read. */
int	 worker_read_more(struct worker *, int block);
/* Read all that waits, without blocking (until EOF or nothing more). */
void	 worker_read_waiting(struct worker *);

/* worker_call.c */
void	 worker_handle(struct worker *, const char *line, size_t len);
/* Queue a reply (steals result/data; borrows msg). */
void	 worker_reply_result(struct worker *, uint64_t id, json_t *result);
void	 worker_reply_error(struct worker *, uint64_t id, int code,
	    json_t *data, const char *msg);
/* Execute a call (params checked against the method table). */
void	 worker_call(struct worker *, uint64_t id, json_t *params,
	    const struct vms_caller *);

/* worker_conn.c */
void	 wconns_init(struct worker *, int chan);
/* ms until the next of their deadlines (-1: none). */
int	 wconns_timeout(const struct worker *);
/* An event of the epoll set for the channel (tag NULL: take new
 * connections) or a connection (read what it sent, write what waits);
 * 1 if input was read. wconns_after, after a round of them: close those
 * done or over a limit. */
int	 wconns_event(struct worker *, void *tag, uint32_t events);
void	 wconns_after(struct worker *);
int	 wconns_has_line(const struct worker *);
/* The next line of the connections (one of each in turn), decoded: a
 * call to run (code 0: params and caller), or the error to answer with
 * (code, err, data), under the wire id wid. 0 if it was empty (or none
 * waits). */
struct wconn_req {
	uint64_t	 wid;
	json_t		*msg;		/* owns params */
	json_t		*params;
	char		*caller;
	const char	*auth;
	int		 code;
	char		 err[VMS_ERRLEN];
	json_t		*data;
};
int	 wconns_next(struct worker *, struct wconn_req *);
void	 wconns_req_clear(struct wconn_req *);
/* Replies of a durable batch (wire lines): attached connections' go to
 * them, the rest to vmsd. */
void	 wconns_send(struct worker *, const char *buf, size_t len);
/* Tell vmsd how many are attached and the ledger's size (wire.h
 * "attached"), if it changed (the size: at most every WIRE_ATTACHED_MS
 * unless force). */
void	 wconns_tell(struct worker *, int force);
/* At exit: write what waits (for a moment), close them all. */
void	 wconns_close_all(struct worker *);

/* worker_receipt.c */
/* The open batch's checkpoint (note, signing `size` entries) is signed:
 * encode each call's reply with its receipt into `out`, in place. */
void	 worker_fill_receipts(struct worker *, const char *note,
	    uint64_t size);
/* The open batch is lost (the storage is full): encode each call's
 * reply as this error instead (data {"reason": reason}). The number of
 * calls refused. */
size_t	 worker_refuse_holes(struct worker *, int code, const char *message,
	    const char *reason);
void	 worker_free_receipts(struct worker *);

/* worker_open.c */
void	 worker_open(struct worker *);
/* The contract cannot be run as it is (storage lost synced data, ...):
 * say so to vmsd and the log, with how to recover, and exit. */
void	 worker_refuse(struct worker *, const char *what)
	    __attribute__((noreturn));
int	 worker_deploy(struct worker *);
/* The engine back at the ledger's committed state (snapshot, then the
 * entries after it); quiet: the roll forward is logged at debug level. */
void	 worker_load_state(struct worker *, int quiet);

/* worker_snap.c */
/* Is a snapshot due (snapshot_interval entries since the last one
 * started, and that one written)? Then drain (a snapshot is of committed
 * state only) and start it: fork the child that writes it. */
int	 worker_snapshot_due(struct worker *);
void	 worker_snapshot_start(struct worker *);
/* Reap the child if it has ended; wait until it has. */
void	 worker_snapshot_check(struct worker *);
void	 worker_snapshot_wait(struct worker *);
/* Remove the temporary files of snapshot writers that did not finish
 * (at open, under the contract's lock). */
void	 worker_snapshot_clean(struct worker *);
/* Write the snapshot in line (after waiting for any child), unless the
 * last one saved is of this very state. */
void	 worker_save_snapshot(struct worker *);

/* worker_oracle.c */
/* --oracle NAME=PATH / --oracle-key NAME=KEY; -1 if malformed. */
int	 worker_oracle_option(struct worker *, const char *opt,
	    const char *val);
/* The engine's oracle callback (engine_set_oracle), arg the worker. */
int	 worker_oracle_run(void *w, const char *name, const char *req,
	    size_t reqlen, uint8_t **out, size_t *outlen, uint8_t key[32],
	    int *keyed, char *err, size_t errlen);
void	 worker_oracles_free(struct worker *);

/* worker_children.c */
/* Entry index (appended) makes or stops children: the intent is written
 * and synced now, before its batch can commit. 0, or the errno of the
 * failed write (err says what): the batch must not commit. */
int	 worker_children_intent(struct worker *, uint64_t index, char *err,
	    size_t errlen);
/* A batch is durable: make the children its entries ask for (tell vmsd);
 * on failure the worker exits after this batch, to retry at open. */
void	 worker_children_run(struct worker *);
/* The open batch is lost (rolled back): forget the children its entries
 * asked for (their indexes will be other entries'). */
void	 worker_children_lost(struct worker *);
/* At open: what a worker that died left to make. */
void	 worker_children_recover(struct worker *);

/* worker_commit.c: one thread running ledger_commit_fsync() of the
 * ticket it is given. */
struct committer *committer_start(char *err, size_t errlen);
void	 committer_submit(struct committer *, const struct ledger_ticket *);
/* Has the submitted fsync returned? No lock, no system call. */
int	 committer_done(struct committer *);
/* Wait for the submitted fsync (blocks); returns its errno, 0 if done. */
int	 committer_result(struct committer *);
/* How long, in µs, the fsync whose result was collected ran. */
uint64_t committer_usec(const struct committer *);
/* Readable once the submitted fsync has returned; committer_result()
 * and committer_event() (the loop saw it readable) reset it: `done`, not
 * the eventfd, tells a result is there. */
int	 committer_fd(const struct committer *);
void	 committer_event(struct committer *);
void	 committer_stop(struct committer *);

/* worker_nonce.c: a thread that keeps the signer's pool of signing
 * nonces full (note_nonce.c); kicked after each signature, it wakes once
 * the pool is half empty (noncer_wakes: how many times). */
struct noncer *noncer_start(struct note_signer *, char *err, size_t errlen);
void	 noncer_kick(struct noncer *);
uint64_t noncer_wakes(struct noncer *);
void	 noncer_stop(struct noncer *);

#endif
