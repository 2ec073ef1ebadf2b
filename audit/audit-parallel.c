/*
 * audit-parallel.c — check 4 on several threads: the entries, already read
 * and hashed into the verified tree (audit.c), are cut into segments, one
 * per thread. The first thread replays from where the audit's engine is;
 * each other one first brings an engine of its own past the entries before
 * its segment by their recorded writes alone (engine_skip, no Lua; the
 * state root checked after the last one), then replays its segment. Every
 * entry a thread reads is read again from the source (entry_copy) and must
 * hash to the leaf verified before, so the bytes replayed are the bytes
 * the checkpoint signs. Where two segments meet, the state the first one
 * replayed must equal, file by file (engine_state_digest), the state the
 * second one started from: the result is the one a single thread replaying
 * every entry in order would reach, failures named at the same entry.
 *
 * How many threads: as many as asked, one per PARALLEL_MIN entries at most
 * (audit_parallel_threads, which audit.c asks before it reads the entries).
 * Segments are cut so that every thread has about as much work: skipping
 * an entry costs about AUDIT_SKIP_COST of replaying one. Each thread reads
 * its entries ahead through a window of its own (audit_copybuf).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "merkle.h"
#include "util.h"

#define MAX_THREADS	AUDIT_MAX_THREADS

struct segment {
	struct audit	*a;
	uint64_t	 start, end;	/* replays [start, end) */
	struct engine	*eng;		/* a->eng for the first segment */
	struct audit_copybuf cb;	/* entry_copy's, reading ahead */
	struct audit_copybuf hcb;	/* history reads' */
	/* outcome */
	uint64_t	 bad_index;	/* first replay failure */
	int		 bad_check;
	char		 bad_reason[1536];
	int		 srcfail;	/* the source failed (srcerr) */
	char		 srcerr[VMS_ERRLEN];
	uint64_t	 skipfail;	/* engine_skip failed at this entry */
	char		 skipwhy[1024];
	merkle_hash	 first, last;	/* state digests at start and end */
	int		 snap;		/* compared with state.snap: 1 ok,
					   -1 differs (bad_*) */
};

/* Entry i from the source, checked against its verified leaf. */
static int
read_verified(struct segment *s, uint64_t i, const uint8_t **p,
    size_t *len)
{
	struct audit *a = s->a;
	merkle_hash h;
	size_t off;
	enum audit_fetch r;

	r = a->src->entry_copy(a->src->ctx, i, &s->cb, &off, len, s->srcerr,
	    sizeof(s->srcerr));
	if (r != FETCH_OK) {
		if (r == FETCH_END)
			snprintf(s->srcerr, sizeof(s->srcerr), "entry %"
			    PRIu64 " is gone from %s", i, a->src->what);
		s->srcfail = 1;
		return -1;
	}
	merkle_leaf_hash(s->cb.buf + off, *len, h);
	if (i >= a->nleaves || memcmp(h, a->leaves[i], MERKLE_HASH_LEN) != 0) {
		snprintf(s->srcerr, sizeof(s->srcerr), "entry %" PRIu64 " of %s "
		    "changed during the audit (its bytes no longer hash to the "
		    "verified tree)", i, a->src->what);
		s->srcfail = 1;
		return -1;
	}
	*p = s->cb.buf + off;
	return 0;
}

/* System.files.history during a segment's replay: verified bytes only. */
static int
history_cb(void *ctx, uint64_t index, uint8_t **buf, size_t *len)
{
	struct segment *s = ctx;
	struct audit *a = s->a;
	merkle_hash h;
	size_t off, l;
	char err[VMS_ERRLEN];

	if (index >= a->nleaves || a->src->entry_copy(a->src->ctx, index,
	    &s->hcb, &off, &l, err, sizeof(err)) != FETCH_OK)
		return -1;
	merkle_leaf_hash(s->hcb.buf + off, l, h);
	if (memcmp(h, a->leaves[index], MERKLE_HASH_LEN) != 0)
		return -1;
	*buf = xmalloc(l + 1);
	memcpy(*buf, s->hcb.buf + off, l);
	(*buf)[l] = '\0';
	*len = l;
	return 0;
}

static void *
run_segment(void *arg)
{
	struct segment *s = arg;
	struct audit *a = s->a;
	const uint8_t *p;
	char why[1024];
	uint64_t i;
	size_t len;

	if (s->eng == NULL) {
		/* an engine of its own, past the entries before the segment */
		if (read_verified(s, 0, &p, &len) == -1)
			return NULL;
		if (engine_open(p, len, &s->eng, why, sizeof(why)) != 0) {
			s->skipfail = 0;
			snprintf(s->skipwhy, sizeof(s->skipwhy), "%s", why);
			return NULL;
		}
		for (i = 0; i < s->start; i++) {
			if (read_verified(s, i, &p, &len) == -1)
				return NULL;
			if (engine_skip(s->eng, p, len, a->leaves[i],
			    i + 1 == s->start, why, sizeof(why)) != 0) {
				s->skipfail = i;
				snprintf(s->skipwhy, sizeof(s->skipwhy), "%s", why);
				return NULL;
			}
		}
		engine_state_digest(s->eng, s->first);
	}
	engine_set_entry_source(s->eng, history_cb, s);
	engine_set_origin(s->eng, a->origin);	/* signed calls: check 4 */
	for (i = s->start; i < s->end; i++) {
		if (read_verified(s, i, &p, &len) == -1)
			return NULL;
		if (engine_replay_leaf(s->eng, p, len, a->leaves[i], why,
		    sizeof(why)) != 0) {
			char what[256];

			audit_describe_entry(p, len, what, sizeof(what));
			s->bad_index = i;
			s->bad_check = 4;
			snprintf(s->bad_reason, sizeof(s->bad_reason), "(%s): %s",
			    what, why);
			return NULL;
		}
		if (audit_check_time(s->eng, i, p, len, s->bad_reason,
		    sizeof(s->bad_reason)) != 0) {
			s->bad_index = i;
			s->bad_check = 4;
			return NULL;
		}
		if (a->snap != NULL && !a->snap_done &&
		    engine_next_index(s->eng) == a->snap_index) {
			if (audit_compare_snapshot(a, s->eng, s->bad_reason,
			    sizeof(s->bad_reason)) == 0)
				s->snap = 1;
			else {
				s->snap = -1;
				s->bad_index = a->snap_index ? a->snap_index - 1 :
				    0;
				s->bad_check = 5;
				return NULL;
			}
		}
	}
	engine_state_digest(s->eng, s->last);
	return NULL;
}

#define PARALLEL_MIN	2048	/* entries per thread */

int
audit_parallel_threads(const struct audit *a, uint64_t upto)
{
	uint64_t n;

	if (a->threads < 2 || a->src->entry_copy == NULL ||
	    a->bad_index != AUDIT_NO_INDEX || a->eng == NULL ||
	    engine_next_index(a->eng) != a->nleaves || upto <= a->nleaves)
		return 1;
	n = (upto - a->nleaves) / PARALLEL_MIN;
	return n < (uint64_t)a->threads ? (int)n : a->threads;
}

/*
 * Where segments start so that every thread works about as long: the
 * first replays [from, c1), thread k skips [0, ck) then replays
 * [ck, ck+1). Found by bisection on the first segment's length.
 */
static void
cut(uint64_t from, uint64_t upto, int n, uint64_t *at)
{
	double lo = 0, hi = (double)(upto - from), t, c;
	int k, iter;

	for (iter = 0; iter < 60; iter++) {
		t = (lo + hi) / 2;
		c = (double)from + t;
		for (k = 1; k < n; k++)
			c += t - AUDIT_SKIP_COST * c;
		if (c < (double)upto)
			lo = t;
		else
			hi = t;
	}
	at[0] = from;
	c = (double)from + hi;
	for (k = 1; k < n; k++) {
		at[k] = c < (double)upto ? (uint64_t)c : upto;
		if (at[k] < at[k - 1])
			at[k] = at[k - 1];
		c += hi - AUDIT_SKIP_COST * c;
	}
	at[n] = upto;
}

void
audit_on_threads(void *(*fn)(void *), void *jobs, size_t size, int n)
{
	pthread_t tid[MAX_THREADS];
	int started[MAX_THREADS], k;
	char *job = jobs;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	for (k = 1; k < n; k++)
		started[k] = pthread_create(&tid[k], NULL, fn,
		    job + (size_t)k * size) == 0;
	if (n > 0)
		fn(job);
	for (k = 1; k < n; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		else
			fn(job + (size_t)k * size);	/* no thread: here */
	}
}

int
audit_replay_parallel(struct audit *a, uint64_t upto, int threads,
    char *err, size_t errlen)
{
	struct segment *seg;
	uint64_t at[MAX_THREADS + 1], from = engine_next_index(a->eng);
	int n = threads, k, rc = 0;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if (n > (int)(upto - from))
		n = (int)(upto - from);
	if (n < 1)
		return 0;
	cut(from, upto, n, at);
	a->used_threads = n;
	seg = xcalloc((size_t)n, sizeof(*seg));
	for (k = 0; k < n; k++) {
		seg[k].a = a;
		seg[k].start = at[k];
		seg[k].end = at[k + 1];
		seg[k].eng = k == 0 ? a->eng : NULL;
		seg[k].bad_index = AUDIT_NO_INDEX;
		seg[k].skipfail = AUDIT_NO_INDEX;
		seg[k].cb.ahead = 1;
	}
	audit_on_threads(run_segment, seg, sizeof(*seg), n);

	/* the first failure in ledger order, as one thread would find it */
	for (k = 0; k < n; k++) {
		struct segment *s = &seg[k];

		if (s->srcfail) {
			seterr(err, errlen, "%s", s->srcerr);
			rc = -1;
			break;
		}
		if (k > 0 && s->skipfail != AUDIT_NO_INDEX) {
			/* the entries skipped replay in an earlier segment:
			 * one of them failed there (reported above) */
			a->bad_index = s->skipfail;
			a->bad_check = 4;
			snprintf(a->bad_reason, sizeof(a->bad_reason), "(entry %"
			    PRIu64 "): its writes do not apply: %s",
			    s->skipfail, s->skipwhy);
			break;
		}
		if (k > 0 && memcmp(seg[k - 1].last, s->first,
		    MERKLE_HASH_LEN) != 0) {
			a->bad_index = s->start - 1;
			a->bad_check = 4;
			snprintf(a->bad_reason, sizeof(a->bad_reason), "(entry %"
			    PRIu64 "): the state replayed up to it is not the "
			    "state its writes record", s->start - 1);
			break;
		}
		if (s->snap != 0)
			a->snap_done = 1;
		if (s->bad_index != AUDIT_NO_INDEX) {
			a->bad_index = s->bad_index;
			a->bad_check = s->bad_check;
			if (s->bad_check == 5)
				snprintf(a->bad_reason, sizeof(a->bad_reason),
				    "state.snap (host state after entry %" PRIu64
				    ") does not match the replay: %.1200s",
				    a->bad_index, s->bad_reason);
			else
				snprintf(a->bad_reason, sizeof(a->bad_reason),
				    "%s", s->bad_reason);
			break;
		}
	}
	/* the audit goes on with the last segment's engine */
	if (rc == 0 && a->bad_index == AUDIT_NO_INDEX && n > 1) {
		engine_free(a->eng);
		a->eng = seg[n - 1].eng;
		seg[n - 1].eng = NULL;
	}
	audit_engine_attach(a);
	for (k = 0; k < n; k++) {
		if (k > 0)
			engine_free(seg[k].eng);
		free(seg[k].cb.buf);
		free(seg[k].hcb.buf);
	}
	free(seg);
	return rc;
}
