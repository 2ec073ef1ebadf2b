/*
 * worker.c — one contract's worker process (vmsd --worker NAME ...), exec'd
 * by the supervisor so it has a clean address space. It owns the contract's
 * ledger, signing key, engine and snapshot, and executes the requests it
 * reads from its socketpair strictly in order (worker_call.c); opening and
 * deploying are in worker_open.c.
 *
 * Group commit, pipelined: calls executed since the last commit form the
 * open batch (entries appended, replies held). When the commit thread
 * (worker_commit.c) is idle, the open batch is prepared (one signed
 * checkpoint, its commit record appended) and the thread fdatasyncs it
 * while this thread goes on executing the requests that arrive into the
 * next batch (with none to run, it waits in one epoll_wait for a request or
 * the commit's end). Replies of a batch are written only once its
 * fdatasync has returned: a reply is never written for an entry that is
 * not durable. If appending or committing fails the worker exits without
 * replying, and the supervisor answers "not executed or not acknowledged"
 * — unless the storage is full: then the lost batch's calls are answered
 * with an error saying so (nothing of them was recorded), the engine goes
 * back to the committed state, and the worker goes on serving reads and
 * trying calls, which succeed again once space is freed. Entries are
 * appended, and batches committed, in execution order.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "ledger.h"
#include "log.h"
#include "note.h"
#include "proto.h"
#include "util.h"
#include "worker.h"

/* A durable batch's replies: to vmsd, or to the attached connections
 * their calls came from (worker_conn.c). */
static void
send_replies(struct worker *w, struct jbuf *r, struct reply_spans *sp)
{
	sp->n = 0;
	if (r->len == 0)
		return;
	wconns_send(w, r->s, r->len);
	r->len = 0;
	wconns_tell(w, 0);
}

void
worker_send_out(struct worker *w)
{
	send_replies(w, &w->out, &w->out_calls);
	w->nopen = 0;
}

const char worker_no_space[] = "no space left on device: the call was not "
    "recorded and had no effect; retry once space is freed";

int
worker_storage_errno(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* Rewrite the replies of calls whose entries are lost as errors. */
static size_t
refuse_calls(struct worker *w, struct jbuf *b, struct reply_spans *sp)
{
	struct jbuf nb = { NULL, 0, 0 };
	size_t i, pos = 0, n = sp->n;
	json_t *data;

	if (n == 0)
		return 0;
	data = json_pack("{s:s}", "reason", "no_space");
	for (i = 0; i < n; i++) {
		if (sp->v[i].off > pos)
			jbuf_raw(&nb, b->s + pos, sp->v[i].off - pos);
		wire_put_error(&nb, sp->v[i].id,
		    ledger_committed_size(w->ledger), RPC_UNAVAILABLE,
		    worker_no_space, data);
		pos = sp->v[i].end;
	}
	json_decref(data);
	if (b->len > pos)
		jbuf_raw(&nb, b->s + pos, b->len - pos);
	jbuf_free(b);
	*b = nb;
	sp->n = 0;
	return n;
}

/* The open batch is lost to a full storage (the ledger dropped it). */
static void
open_batch_lost(struct worker *w, const char *why)
{
	char err[VMS_ERRLEN];
	size_t n;

	if (ledger_rollback(w->ledger, err, sizeof(err)) != 0)
		fatalx("rollback after a failed write: %s", err);
	n = refuse_calls(w, &w->out, &w->out_calls);
	n += worker_refuse_holes(w, RPC_UNAVAILABLE, worker_no_space,
	    "no_space");
	w->nrefused += n;
	worker_children_lost(w);
	w->dirty = 0;
	if (!w->full)
		log_warnx("storage full: calls are refused until space is "
		    "freed (%s)", why);
	w->full = 1;
	worker_load_state(w, 1);
	worker_send_out(w);
}

/*
 * COMMIT_AUTO flushes here, with nothing in flight and no request
 * waiting, a lone call, or a batch of up to inline_max calls
 * (commit_inline_max, vmsd.conf(5)) when the last flushes saw at most
 * INLINE_ARRIVED requests arrive while they ran (arrived16): few callers,
 * all in this batch, so little would run beside the flush. A commit
 * thread costs such a batch two thread switches, the thread's to start
 * the flush and the main thread's to see it end, ~35 us each on a host
 * whose idle CPUs halt (bench/README.md, round 23: at 8 clients 1.09x
 * the calls/s for 5 us less worker CPU a call; at 4 clients 1.2x; 16, 32
 * and 128 clients, where more arrive, unchanged). What arrives is
 * counted after each flush by a commit thread (the requests run while it
 * ran, and those waiting at its end) and after each of 2 calls or more
 * made here (those waiting at its end), as a moving average.
 */
#define INLINE_MAX_CALLS	8	/* the default */
#define INLINE_ARRIVED		2

/* Requests read and not yet run: a line each (an attached connection
 * with lines, which holds one but for a client that pipelines, counts
 * once). */
static unsigned
waiting_lines(const struct worker *w)
{
	const char *p = w->in, *e = w->in + w->inlen;
	unsigned n = (unsigned)w->wc.nready;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* One flush saw n requests arrive (the average moves a quarter). */
static void
arrived(struct worker *w, uint64_t n)
{
	if (n > 1024)
		n = 1024;
	w->arrived16 = (w->arrived16 * 3 + (unsigned)n * 16) / 4;
}

static int
inline_ok(const struct worker *w, unsigned n)
{
	return n <= w->inline_max && w->arrived16 <= INLINE_ARRIVED * 16;
}

/* The oldest commit in flight's fdatasync returned (e: its errno):
 * finish, acknowledge its batch. 1 if the storage is full and the batch
 * (and the open one) are lost. */
static int
commit_done(struct worker *w, int e)
{
	char err[VMS_ERRLEN];
	unsigned k = w->ffirst;

	if (w->fly_nrun[k] != UINT64_MAX)	/* (a commit thread's) */
		arrived(w, w->nrun - w->fly_nrun[k] + waiting_lines(w));
	w->ffirst = (k + 1) % w->inflight;
	w->nfly--;
	if (w->nfly == 0)
		w->ffirst = 0;	/* (the first thread takes the next) */
	if (ledger_commit_finish(w->ledger, &w->tickets[k], e, err,
	    sizeof(err)) != 0) {
		/* (with a younger one in flight, the ledger must be
		 * reopened: it may be durable, and holds this batch) */
		if (!worker_storage_errno(ledger_errno(w->ledger)) ||
		    w->nfly > 0)
			fatalx("commit failed, batch not acknowledged: %s",
			    err);
		/* This batch and the open one are gone. */
		w->nrefused += refuse_calls(w, &w->fly[k], &w->fly_calls[k]);
		send_replies(w, &w->fly[k], &w->fly_calls[k]);
		open_batch_lost(w, err);
		return 1;
	}
	w->ncommits++;
	if (w->full) {
		log_info("storage has space again: calls are recorded again "
		    "(%llu refused meanwhile)",
		    (unsigned long long)w->nrefused);
		w->full = 0;
		w->nrefused = 0;
	}
	/* durable: the children its entries ask for, then the replies */
	if (w->nfx > 0)
		worker_children_run(w);
	send_replies(w, &w->fly[k], &w->fly_calls[k]);
	return 0;
}

/* A commit thread's flush ran usec µs: the shortest of a window of
 * them, the disk's own time without the waits of a busy host. */
#define FLUSH_WINDOW	256
static void
flush_ran(struct worker *w, uint64_t usec)
{
	if (w->flush_seen == 0 || usec < w->flush_min_next)
		w->flush_min_next = usec;
	if (++w->flush_seen == FLUSH_WINDOW || w->flush_min == 0) {
		w->flush_min = w->flush_min_next;
		if (w->flush_seen == FLUSH_WINDOW)
			w->flush_seen = 0;
	}
}

/* The shortest flush of the last FLUSH_WINDOW or more (0: none yet). */
static uint64_t
flush_shortest(const struct worker *w)
{
	return w->flush_seen > 0 && w->flush_min_next < w->flush_min ?
	    w->flush_min_next : w->flush_min;
}

/* Wait for the oldest commit in flight. 1 as commit_done. */
static int
commit_end(struct worker *w)
{
	int e = committer_result(w->com[w->ffirst]);

	w->flush_last = committer_usec(w->com[w->ffirst]);
	flush_ran(w, w->flush_last);
	return commit_done(w, e);
}

/* Acknowledge every commit in flight that has returned, oldest first. */
static void
commits_collect(struct worker *w)
{
	while (w->nfly > 0 && committer_done(w->com[w->ffirst]))
		(void)commit_end(w);
}

/* Wait for every commit in flight. 1 if the storage turned out full. */
static int
commits_settle(struct worker *w)
{
	while (w->nfly > 0)
		if (commit_end(w) != 0)
			return 1;
	return 0;
}

/* Can the open batch's commit start now? */
static int
commit_room(const struct worker *w)
{
	return w->nfly == 0 || (w->nfly < w->inflight &&
	    ledger_commit_room(w->ledger));
}

void
worker_storage_full(struct worker *w, const char *why)
{
	/* The commits in flight were written before: they may well
	 * succeed. If one does not, it takes the open batch with it. */
	if (commits_settle(w) != 0)
		return;
	open_batch_lost(w, why);
}

/*
 * How commit_start() runs the fdatasync: here (no thread switch), on the
 * commit thread (the caller has lines to run meanwhile), or either,
 * decided after reading what has arrived (never with lines being run:
 * reading may move them).
 */
enum commit_how { COMMIT_HERE, COMMIT_THREAD, COMMIT_AUTO };

/*
 * Prepare the open batch's commit and start its fdatasync. COMMIT_AUTO
 * takes the thread when requests are waiting, or when the batch holds
 * more than one call (other clients are active: their next requests can
 * execute during the fdatasync instead of after it; serve() waits for
 * them and for the commit in one epoll_wait, worker_poll.c).
 */
static void
commit_start(struct worker *w, enum commit_how how)
{
	struct jbuf t;
	struct reply_spans ts;
	char err[VMS_ERRLEN];
	enum commit_prepared r;
	unsigned n = w->nopen, k = (w->ffirst + w->nfly) % w->inflight;
	int e, probe = 0;

	if (!commit_room(w))
		fatalx("commit_start: no room for a commit (%u in flight)",
		    w->nfly);
	r = ledger_commit_prepare(w->ledger, &w->tickets[k], err,
	    sizeof(err));
	if (r != COMMIT_NOTHING)
		noncer_kick(w->noncer);		/* a signature took a nonce */
	if (r == COMMIT_FAILED) {
		if (!worker_storage_errno(ledger_errno(w->ledger)))
			fatalx("commit failed, batch not acknowledged: %s",
			    err);
		/* (the commits in flight first: the rollback waits for
		 * them, and their replies go before the open batch's) */
		if (commits_settle(w) == 0)
			open_batch_lost(w, err);
		return;
	}
	if (r == COMMIT_NOTHING) {
		w->dirty = 0;
		if (w->nfly == 0)
			worker_send_out(w);
		return;
	}
	/* Each call's reply carries its receipt: the checkpoint just
	 * signed and the entry's inclusion proof in it. */
	worker_fill_receipts(w, ledger_prepared_checkpoint(w->ledger),
	    w->tickets[k].size);
	/* The open batch's replies travel with its commit. */
	t = w->fly[k];
	w->fly[k] = w->out;
	w->out = t;
	ts = w->fly_calls[k];
	w->fly_calls[k] = w->out_calls;
	w->out_calls = ts;
	w->dirty = 0;
	w->nopen = 0;
	if (w->nfly > 0)
		how = COMMIT_THREAD;	/* (in order, after the one flying) */
	if (how == COMMIT_AUTO) {
		worker_read_waiting(w);
		how = !worker_has_line(w) && (n == 1 || inline_ok(w, n)) ?
		    COMMIT_HERE : COMMIT_THREAD;
		probe = how == COMMIT_HERE && n > 1;
	}
	if (w->nfly > 0)
		w->nbeside++;
	else if (w->waiting)
		w->nwaited++;
	if (w->nfly == 0 && w->waiting && w->flush_last > w->beside_after)
		w->nwaited_past++;
	w->waiting = 0;
	w->nfly++;
	/* (a lone client's next call may be polled for: worker_poll.c) */
	w->lone_run = how == COMMIT_HERE && n == 1 ? w->lone_run + 1 : 0;
	w->poll_armed = w->lone_run >= POLL_LONE_RUN;
	if (how == COMMIT_HERE) {
		w->fly_nrun[k] = UINT64_MAX;
		e = ledger_commit_fsync(&w->tickets[k]);
		if (probe) {
			w->ninline++;
			worker_read_waiting(w);
			arrived(w, waiting_lines(w));
		}
		(void)commit_done(w, e);
		return;
	}
	w->fly_nrun[k] = w->nrun;
	committer_submit(w->com[k], &w->tickets[k]);
	w->fly_usec = mono_usec();
	w->fly_n = n;
	w->overlapped = 0;
}

void
worker_settle(struct worker *w)
{
	(void)commits_settle(w);
}

void
worker_drain(struct worker *w)
{
	if (commits_settle(w) != 0)
		return;
	if (w->dirty)
		commit_start(w, COMMIT_HERE);
	worker_send_out(w);
}

int
worker_has_line(const struct worker *w)
{
	return (w->inlen > 0 && memchr(w->in, '\n', w->inlen) != NULL) ||
	    wconns_has_line(w);
}

/*
 * Run complete lines into the open batch, up to batch_max requests.
 * Between two, a commit in flight that has returned is acknowledged (its
 * replies go out); the open batch is committed once the lines read are
 * run (serve()), so that it takes all of them.
 */
/* The next line of an attached connection: its call, or its error. 0 if
 * it was empty. */
static int
run_attached(struct worker *w)
{
	struct wconn_req rq;
	struct vms_caller caller;

	if (!wconns_next(w, &rq))
		return 0;
	if (rq.code != 0) {
		worker_reply_error(w, rq.wid, rq.code, rq.data, rq.err);
		rq.data = NULL;		/* (taken) */
	} else {
		caller.id = rq.caller;
		caller.auth = rq.auth;
		worker_call(w, rq.wid, rq.params, &caller);
	}
	wconns_req_clear(&rq);
	return 1;
}

static void
run_lines(struct worker *w)
{
	char *nl, *p = w->in;
	size_t left = w->inlen;

	while (w->nopen < w->batch_max) {
		nl = left > 0 ? memchr(p, '\n', left) : NULL;
		if (nl == NULL && !wconns_has_line(w))
			break;
		if (w->nfly > 0 && !w->overlapped) {
			w->overlapped = 1;
			w->noverlap++;
		}
		w->oracle_ran = 0;
		/* vmsd's requests first, then the attached connections' */
		if (nl != NULL) {
			worker_handle(w, p, (size_t)(nl - p));
			left -= (size_t)(nl - p) + 1;
			p = nl + 1;
		} else if (!run_attached(w))
			continue;	/* an empty line */
		w->nopen++;
		w->nrun++;
		w->fresh = 0;
		/* A call that waited for an oracle: commit and answer now
		 * rather than make the calls after it wait for theirs too
		 * (and vmsd's call_timeout run out). */
		if (w->oracle_ran)
			break;
		/* Acknowledge the batches in flight as soon as they are
		 * durable. */
		commits_collect(w);
	}
	if (left > 0 && p != w->in)
		memmove(w->in, p, left);
	w->inlen = left;
}

/*
 * The open batch's flush starts beside the one in flight only once that
 * one has run beside_after µs (commit_beside_after, vmsd.conf(5)), if it
 * holds BESIDE_MIN_CALLS calls or more; else, or when lines wait, an
 * oracle ran, or at the end, at once. A flush that returns sooner takes
 * the calls run meanwhile into one commit. Batches that large mean calls
 * arrive faster than they are made durable: the host is busy, and a flush
 * saved (its fdatasync, signature and receipts, ~70 µs of CPU) goes to
 * calls. With smaller ones few callers wait, each for its own flush: a
 * wait would cost them more than the flush does. Against starting it at
 * once (bench/README.md, round 22, medians of alternating pairs): 32
 * clients on a fast disk (flushes of 90-220 µs) 1.07x the calls/s for 1 µs
 * less worker CPU a call; with every flush 0.3 or 1 ms slower 1.15x and
 * 1.09x; 8 and 128 clients the same. Waiting behind any batch (no
 * minimum) cost 8 clients 10 %; 100 and 300 µs did no better than 200.
 *
 * A disk whose flushes are short, the shortest of the last FLUSH_WINDOW
 * or more under 1.5 times beside_after, waits instead for a flush that
 * runs past beside_after, up to BESIDE_STUCK times that shortest: such a
 * flush is one held up (by the ring's sync of `entries`, or by a busy
 * host, which wakes the commit thread late) and about to end, and this
 * VM's disk runs two flushes one after the other, so the one started
 * beside it ended no sooner and cost a signature, a flush and two thread
 * switches for a smaller batch. The shortest, not the average: on a busy
 * host the average grows with the commit thread's waits for a CPU, and
 * hid the disk's speed. bench/README.md, round 27 (4 alternating runs of
 * daemon.sh's 1, 8 and 32-client rounds): 32 clients 1.12x the calls/s
 * for 1.1 µs less worker CPU a call (as with no flush beside a batch of
 * 8 or more at all), 1 and 8 clients the same; flushes of 0.3 and 1 ms
 * (flushdelay.so: they run at once, as a network volume's may) keep
 * going beside after beside_after, whose calls/s were 1.15x and 1.4x
 * those of never going beside.
 */
#define BESIDE_AFTER_US		200	/* the default */
#define BESIDE_MIN_CALLS	8
#define BESIDE_STUCK		32

/* µs until the open batch's flush may start beside the one in flight
 * (the youngest: with room for one more, the only one); 0: now */
static int64_t
beside_in(const struct worker *w)
{
	uint64_t limit = w->beside_after, m;
	int64_t d;

	if (w->fly_n < BESIDE_MIN_CALLS)
		return 0;
	m = flush_shortest(w);
	if (limit > 0 && m > 0 && m * 2 < limit * 3 &&
	    m * BESIDE_STUCK > limit)
		limit = m * BESIDE_STUCK;
	d = (int64_t)(w->fly_usec + limit) - (int64_t)mono_usec();
	return d > 0 ? d : 0;
}

/*
 * Two-stage pipeline: execute batch N+1 (whatever arrives) while the
 * commit thread fdatasyncs batch N; as soon as N returns, acknowledge it
 * and hand N+1 over. With nothing to run, wait in one epoll_wait for input or
 * for the commit in flight. Only when nothing is executing or in flight
 * does the worker wait for input alone.
 */
static void
serve(struct worker *w)
{
	int urgent;

	for (;;) {
		/* Group commit: take everything that is already waiting. */
		worker_read_waiting(w);
		run_lines(w);
		commits_collect(w);
		/* a full batch (lines wait), a call that waited for an
		 * oracle, or the end: the open batch's commit starts now,
		 * after the oldest in flight unless it can start beside it
		 * (with nothing to commit, its replies wait for the oldest:
		 * never spin) */
		urgent = w->eof || w->oracle_ran || worker_has_line(w);
		if (w->nfly > 0 && (w->eof || (urgent &&
		    !(w->dirty && commit_room(w)))))
			(void)commit_end(w);
		w->oracle_ran = 0;
		w->beside_wait = -1;
		if (w->dirty && commit_room(w) && w->nfly > 0 && !urgent &&
		    (w->beside_wait = beside_in(w)) > 0)
			w->waiting = 1;	/* (the wait below is cut to it) */
		else if (w->dirty && commit_room(w))
			commit_start(w, COMMIT_AUTO);
		else if (!w->dirty && w->nfly == 0)
			worker_send_out(w);
		if (worker_snapshot_due(w)) {
			worker_drain(w);
			worker_snapshot_start(w);
		}
		if (w->must_exit) {
			log_warnx("restarting after an engine failure");
			break;
		}
		if (worker_has_line(w))
			continue;
		if (w->nfly == 0 && w->eof)
			break;		/* vmsd asked us to stop */
		if (!w->eof)
			(void)worker_read_more(w, 1);
	}
}

static void
worker_usage(void)
{
	fatalx("usage: vmsd --worker NAME --wire V --fd N --dir DIR --key FILE "
	    "[--head FILE] [--deploy | --attach-fd N] [--snapshot-interval N] "
	    "[--batch-max N] [--commits-in-flight N] "
	    "[--commit-beside-after US] [--commit-inline-max N] "
	    "[--busy-poll US] "
	    "[--oracle NAME=PATH] [--oracle-key NAME=KEY] [--oracle-timeout MS] "
	    "[--oracle-max-output N] [--syslog] [-v] (internal: started by "
	    "vmsd)");
}

int
worker_main(int argc, char **argv)
{
	struct worker w;
	char prefix[128], err[VMS_ERRLEN];
	int i, deploy_mode = 0, syslog_mode = 0, verbose = 0;
	uint64_t used, missed, wakes;
	const char *wire = NULL;
	struct sigaction sa;
	int chan = -1;

	memset(&w, 0, sizeof(w));
	w.fd = -1;
	w.inflight = WORKER_INFLIGHT;
	w.beside_wait = -1;
	w.beside_after = BESIDE_AFTER_US;
	w.inline_max = INLINE_MAX_CALLS;
	w.busy_poll = WORKER_BUSY_POLL_US;
	w.lock_fd = -1;
	w.snap_fd = -1;
	wconns_init(&w, -1);
	w.snapshot_interval = 10000;
	w.batch_max = 256;
	w.oracle_timeout = 5000;
	w.settle = worker_settle;
	w.oracle_max_output = 64 << 10;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--deploy") == 0)
			deploy_mode = 1;
		else if (strcmp(a, "--syslog") == 0)
			syslog_mode = 1;
		else if (strcmp(a, "-v") == 0)
			verbose = 1;
		else if (v == NULL)
			worker_usage();
		else if (strcmp(a, "--worker") == 0)
			w.name = v, i++;
		else if (strcmp(a, "--wire") == 0)
			wire = v, i++;
		else if (strcmp(a, "--fd") == 0)
			w.fd = atoi(v), i++;
		else if (strcmp(a, "--attach-fd") == 0)
			chan = atoi(v), i++;
		else if (strcmp(a, "--dir") == 0)
			w.dir = v, i++;
		else if (strcmp(a, "--key") == 0)
			w.keypath = v, i++;
		else if (strcmp(a, "--head") == 0)
			w.headpath = v, i++;
		else if (strcmp(a, "--snapshot-interval") == 0)
			w.snapshot_interval = strtoull(v, NULL, 10), i++;
		else if (strcmp(a, "--batch-max") == 0)
			w.batch_max = (unsigned)atoi(v), i++;
		else if (strcmp(a, "--commits-in-flight") == 0)
			w.inflight = (unsigned)atoi(v), i++;
		else if (strcmp(a, "--commit-beside-after") == 0)
			w.beside_after = strtoull(v, NULL, 10), i++;
		else if (strcmp(a, "--commit-inline-max") == 0)
			w.inline_max = (unsigned)strtoul(v, NULL, 10), i++;
		else if (strcmp(a, "--busy-poll") == 0)
			w.busy_poll = (unsigned)strtoul(v, NULL, 10), i++;
		else if (strcmp(a, "--oracle") == 0 ||
		    strcmp(a, "--oracle-key") == 0) {
			if (worker_oracle_option(&w, a, v) != 0)
				worker_usage();
			i++;
		} else if (strcmp(a, "--oracle-timeout") == 0)
			w.oracle_timeout = (unsigned)atoi(v), i++;
		else if (strcmp(a, "--oracle-max-output") == 0)
			w.oracle_max_output = strtoull(v, NULL, 10), i++;
		else
			worker_usage();
	}
	if (w.name == NULL || w.fd < 0 || w.dir == NULL || w.keypath == NULL ||
	    wire == NULL)
		worker_usage();
	/* Started by another vmsd binary than this one (replaced on disk)? */
	if (strtoul(wire, NULL, 10) != WIRE_VERSION)
		fatalx("worker %s: vmsd speaks wire version %s, this worker %d",
		    w.name, wire, WIRE_VERSION);
	if (w.snapshot_interval == 0)
		w.snapshot_interval = 1;
	if (w.batch_max == 0)
		w.batch_max = 1;
	if (w.inflight < 1 || w.inflight > WORKER_INFLIGHT)
		w.inflight = 1;

	log_init("vmsd", syslog_mode ? LOG_MODE_SYSLOG_PREFIX :
	    LOG_MODE_PLAIN, verbose);
	snprintf(prefix, sizeof(prefix), "%s %s", deploy_mode ? "deploy" :
	    "worker", w.name);
	log_setprefix(prefix);

	/* Stop only when vmsd closes our socket (it drains us first). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	xasprintf(&w.snap_path, "%s/state.snap", w.dir);
	wpoll_init(&w);
	if (deploy_mode)
		worker_deploy(&w);
	else {
		worker_open(&w);
		for (i = 0; i < (int)w.inflight; i++) {
			if ((w.com[i] = committer_start(err,
			    sizeof(err))) == NULL)
				fatalx("%s", err);
			wpoll_commits(&w, (unsigned)i, committer_fd(w.com[i]));
		}
		if ((w.noncer = noncer_start(w.signer, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
		wconns_init(&w, chan);
		serve(&w);
		worker_drain(&w);
		wconns_close_all(&w);
		worker_save_snapshot(&w);
		for (i = 0; i < (int)w.inflight; i++)
			committer_stop(w.com[i]);
		wakes = noncer_wakes(w.noncer);
		noncer_stop(w.noncer);
		note_nonce_counts(w.signer, &used, &missed);
		log_info("stopped at %llu entries; %llu batches committed, "
		    "%llu of them while the next one executed, %llu flushed "
		    "beside the one before, %llu waited for it instead (%llu "
		    "past commit_beside_after: the disk's flushes are short, "
		    "the shortest %llu us), %llu "
		    "of 2 calls or more flushed without a commit thread; %llu "
		    "waits busy-polled, %llu of them found work; %llu "
		    "checkpoints signed with a nonce made ahead, %llu without; "
		    "nonce thread woken %llu times",
		    (unsigned long long)ledger_committed_size(w.ledger),
		    (unsigned long long)w.ncommits,
		    (unsigned long long)w.noverlap,
		    (unsigned long long)w.nbeside,
		    (unsigned long long)w.nwaited,
		    (unsigned long long)w.nwaited_past,
		    (unsigned long long)flush_shortest(&w),
		    (unsigned long long)w.ninline,
		    (unsigned long long)w.npolled,
		    (unsigned long long)w.npoll_met,
		    (unsigned long long)used, (unsigned long long)missed,
		    (unsigned long long)wakes);
	}
	if (w.engine)
		engine_free(w.engine);
	if (w.ledger)
		ledger_close(w.ledger);
	if (w.signer)
		note_signer_free(w.signer);
	free(w.snap_path);
	free(w.in);
	worker_free_receipts(&w);
	jbuf_free(&w.out);
	for (i = 0; i < WORKER_INFLIGHT; i++) {
		jbuf_free(&w.fly[i]);
		free(w.fly_calls[i].v);
	}
	worker_oracles_free(&w);
	free(w.fx);
	free(w.out_calls.v);
	wpoll_close(&w);
	close(w.fd);
	if (w.lock_fd >= 0)
		close(w.lock_fd);
	return w.must_exit ? 3 : 0;
}