/*
 * bench-daemon.c — end-to-end load generator for a running vmsd: N client
 * threads, one connection each (libvms/client.h, one call in flight per
 * connection, like redis-benchmark -c N), call the guest list's RSVP with a
 * unique caller id per call (debug_auth = yes), so every call writes a new
 * file and a new ledger entry. Reports calls/s and latency percentiles.
 * Driven by bench/daemon.sh, which starts vmsd, deploys the contract and
 * collects RSS, checkpoints and audit figures around it.
 *
 *   bench-daemon --addr ADDR [--contract NAME] [--clients N] [--calls N]
 *       [--seconds S] [--tag TAG] [--label LABEL]
 *   bench-daemon --checkpoints FILE     count the signed checkpoints of a
 *                                       ledger's `checkpoints` file
 *
 * ADDR is a Unix socket path or tcp:HOST:PORT (as for vmsctl -s). The run
 * ends after --calls calls in total or --seconds seconds, whichever first.
 * Output, one line:
 *   LABEL clients=N calls=N errors=N secs=S rate=R p50=.. p90=.. p95=..
 *   p99=.. max=.. (latencies in ms) cpu=.. (this client's CPU, µs/call)
 * Exit 1 if any call failed.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "util.h"

struct run {
	const char	*addr;
	const char	*contract;
	const char	*tag;
	unsigned	 clients;
	uint64_t	 calls;		/* total, all threads */
	uint64_t	 deadline;	/* mono_usec */
	atomic_uint_fast64_t next;	/* calls handed out */
	atomic_uint_fast64_t errors;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	unsigned	 ready;		/* connected threads */
	int		 go;
	char		 first_err[512];
};

struct thr {
	struct run	*run;
	unsigned	 id;
	pthread_t	 tid;
	struct vms_client *cl;
	uint32_t	*lat;		/* µs per call */
	uint64_t	 n, cap;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench-daemon --addr ADDR [--contract NAME] "
	    "[--clients N] [--calls N] [--seconds S] [--tag TAG] "
	    "[--label LABEL]\n"
	    "       bench-daemon --checkpoints FILE\n");
	exit(2);
}

static void
note_error(struct run *r, const char *msg)
{
	atomic_fetch_add(&r->errors, 1);
	pthread_mutex_lock(&r->lock);
	if (r->first_err[0] == '\0')
		snprintf(r->first_err, sizeof(r->first_err), "%s", msg);
	pthread_mutex_unlock(&r->lock);
}

static void *
client_main(void *arg)
{
	struct thr *t = arg;
	struct run *r = t->run;
	struct client_error rerr;
	json_t *params, *res;
	char user[128], err[512];
	uint64_t i, t0, t1;
	enum client_status st;

	pthread_mutex_lock(&r->lock);
	r->ready++;
	pthread_cond_broadcast(&r->cond);
	while (!r->go)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);

	for (;;) {
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->calls || mono_usec() >= r->deadline)
			break;
		snprintf(user, sizeof(user), "%s-%u-%" PRIu64, r->tag, t->id,
		    i);
		params = json_pack("{s:s, s:s, s:s, s:[s, b, s]}",
		    "contract", r->contract, "method", "RSVP", "user", user,
		    "args", "bob", 0, "Sorry, can't make it");
		if (params == NULL) {
			note_error(r, "cannot build the request");
			break;
		}
		t0 = mono_usec();
		st = client_call(t->cl, "call", params, &res, &rerr, err,
		    sizeof(err));
		t1 = mono_usec();
		if (st == CLIENT_RPC_ERROR) {
			json_decref(rerr.data);
			note_error(r, err);
			continue;
		}
		if (st != CLIENT_OK) {
			note_error(r, err);
			break;		/* the connection is gone */
		}
		json_decref(res);
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 4096;
			t->lat = realloc(t->lat, t->cap * sizeof(*t->lat));
			if (t->lat == NULL) {
				fprintf(stderr, "bench-daemon: out of memory\n");
				exit(1);
			}
		}
		t->lat[t->n++] = (uint32_t)(t1 - t0);
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double
pct(const uint32_t *v, uint64_t n, double p)
{
	if (n == 0)
		return 0;
	return v[(uint64_t)((double)(n - 1) * p + 0.5)] / 1000.0;
}

static double
tv_usec(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

/* Number of records (uint32 BE length || note) in a checkpoints file. */
static int
count_checkpoints(const char *path)
{
	unsigned char h[4];
	uint64_t n = 0;
	uint32_t len;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "bench-daemon: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	while (fread(h, 1, 4, f) == 4) {
		len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
		    (uint32_t)h[2] << 8 | h[3];
		if (fseek(f, (long)len, SEEK_CUR) != 0) {
			fprintf(stderr, "bench-daemon: %s: truncated record\n",
			    path);
			fclose(f);
			return 1;
		}
		n++;
	}
	if (ferror(f)) {
		fprintf(stderr, "bench-daemon: %s: read error\n", path);
		fclose(f);
		return 1;
	}
	fclose(f);
	printf("%" PRIu64 "\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct run r;
	struct thr *t;
	const char *label = "run";
	uint32_t *all;
	uint64_t n = 0, k, start, end;
	struct rusage ru0, ru1;
	double secs, seconds = 20, cpu;
	char err[512];
	unsigned i;
	int a;

	memset(&r, 0, sizeof(r));
	r.contract = "guestlist";
	r.tag = "b";
	r.clients = 1;
	r.calls = 1000;
	if (argc == 1) {
		/* bench/run runs every bench-*; this one needs a daemon. */
		printf("bench-daemon: needs a running vmsd; see bench/daemon.sh "
		    "below\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--checkpoints") == 0)
		return count_checkpoints(argv[2]);
	for (a = 1; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(o, "--addr") == 0)
			r.addr = v;
		else if (strcmp(o, "--contract") == 0)
			r.contract = v;
		else if (strcmp(o, "--clients") == 0)
			r.clients = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--calls") == 0)
			r.calls = strtoull(v, NULL, 10);
		else if (strcmp(o, "--seconds") == 0)
			seconds = strtod(v, NULL);
		else if (strcmp(o, "--tag") == 0)
			r.tag = v;
		else if (strcmp(o, "--label") == 0)
			label = v;
		else
			usage();
		a++;
	}
	if (r.addr == NULL || r.clients == 0 || r.clients > 1024 ||
	    r.calls == 0 || seconds <= 0)
		usage();

	json_object_seed(0);	/* before threads: jansson's seed is global */
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	t = xcalloc(r.clients, sizeof(*t));
	for (i = 0; i < r.clients; i++) {
		t[i].run = &r;
		t[i].id = i;
		if (client_connect(r.addr, 30000, &t[i].cl, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench-daemon: %s\n", err);
			return 1;
		}
	}
	for (i = 0; i < r.clients; i++)
		if ((errno = pthread_create(&t[i].tid, NULL, client_main,
		    &t[i])) != 0) {
			fprintf(stderr, "bench-daemon: pthread_create: %s\n",
			    strerror(errno));
			return 1;
		}
	pthread_mutex_lock(&r.lock);
	if (getrusage(RUSAGE_SELF, &ru0) != 0) {
		fprintf(stderr, "bench-daemon: getrusage: %s\n", strerror(errno));
		return 1;
	}
	while (r.ready < r.clients)
		pthread_cond_wait(&r.cond, &r.lock);
	start = mono_usec();
	r.deadline = start + (uint64_t)(seconds * 1e6);
	r.go = 1;
	pthread_cond_broadcast(&r.cond);
	pthread_mutex_unlock(&r.lock);
	for (i = 0; i < r.clients; i++)
		pthread_join(t[i].tid, NULL);
	end = mono_usec();
	if (getrusage(RUSAGE_SELF, &ru1) != 0) {
		fprintf(stderr, "bench-daemon: getrusage: %s\n", strerror(errno));
		return 1;
	}
	cpu = tv_usec(&ru1.ru_utime) + tv_usec(&ru1.ru_stime) -
	    tv_usec(&ru0.ru_utime) - tv_usec(&ru0.ru_stime);

	for (i = 0; i < r.clients; i++)
		n += t[i].n;
	all = xcalloc(n ? n : 1, sizeof(*all));
	for (i = 0, k = 0; i < r.clients; i++) {
		memcpy(all + k, t[i].lat, t[i].n * sizeof(*all));
		k += t[i].n;
		free(t[i].lat);
		client_close(t[i].cl);
	}
	free(t);
	qsort(all, n, sizeof(*all), cmp_u32);
	secs = (double)(end - start) / 1e6;
	printf("%s clients=%u calls=%" PRIu64 " errors=%" PRIu64
	    " secs=%.2f rate=%.0f p50=%.3f p90=%.3f p95=%.3f p99=%.3f"
	    " max=%.3f cpu=%.0f\n", label, r.clients, n,
	    (uint64_t)atomic_load(&r.errors), secs,
	    secs > 0 ? (double)n / secs : 0, pct(all, n, 0.50),
	    pct(all, n, 0.90), pct(all, n, 0.95), pct(all, n, 0.99),
	    n ? all[n - 1] / 1000.0 : 0, n ? cpu / (double)n : 0);
	free(all);
	if (atomic_load(&r.errors) > 0) {
		fprintf(stderr, "bench-daemon: %s: %" PRIu64 " calls failed, "
		    "first: %s\n", label, (uint64_t)atomic_load(&r.errors),
		    r.first_err);
		return 1;
	}
	return 0;
}
