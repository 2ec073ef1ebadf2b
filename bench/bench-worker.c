/*
 * bench-worker.c — a contract's worker alone, over its wire, without vmsd:
 * the ceiling for calls that would not travel through vmsd. It starts the
 * worker as the supervisor does (vmsd --worker, the socketpair on fd 3) on
 * a state directory where a vmsd deployed the guest list and stopped, and
 * runs N closed-loop callers multiplexed on the socketpair: each reply is
 * followed by that caller's next RSVP (a unique debug caller id, as
 * bench-daemon's), written at once, one write per reply, as separate
 * clients would write. (One write per turn of replies makes the callers
 * one cohort: every batch then holds all of them and none overlaps a
 * commit, which is slower than through vmsd.) Requests are encoded by
 * wire_put_request_text and replies decoded by wire_decode_reply: vmsd's
 * own code for the wire. Reports calls/s, p50, p99.9 and the CPU per
 * call of the worker (all its threads) and of this client. bench/worker.sh
 * alternates its rounds with rounds through vmsd.
 *
 *   build/bench/bench-worker VMSD STATEDIR CALLERS SECONDS
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"
#include "canon.h"
#include "util.h"
#include "wire.h"

#define INCAP	(8u << 20)

/* Caller k's next RSVP (the seq-th call: its caller id is new, so it
 * writes a new file), id = seq * callers + k, appended to b. */
static void
put_call(struct jbuf *b, unsigned k, unsigned callers, uint64_t seq)
{
	char params[256], caller[64], err[VMS_ERRLEN];
	int n;

	snprintf(caller, sizeof(caller), "w-%u-%" PRIu64, k, seq);
	n = snprintf(params, sizeof(params), "{\"contract\":\"guestlist\","
	    "\"method\":\"RSVP\",\"user\":\"%s\",\"args\":[\"bob\",false,"
	    "\"Sorry, can't make it\"]}", caller);
	if (n < 0 || (size_t)n >= sizeof(params) ||
	    wire_put_request_text(b, seq * callers + k, "call", caller,
	    "debug", params, (size_t)n, err, sizeof(err)) != 0)
		bench_die("request", "cannot encode");
}

static void
write_out(int fd, struct jbuf *b)
{
	if (b->len > 0 && write_all(fd, b->s, b->len) != 0)
		bench_die("write to the worker", strerror(errno));
	b->len = 0;
}

int
main(int argc, char **argv)
{
	struct jbuf out = { NULL, 0, 0 };
	struct wire_reply rp;
	struct rusage rc, rs;
	char *in, *nl, *p, err[VMS_ERRLEN], dir[512], key[512], head[512],
	    wire[16];
	unsigned callers, k;
	uint64_t *t0, sent = 0, done = 0, start, deadline, now, end;
	uint32_t *lat;
	size_t ilen = 0, cap, nlat;
	double secs;
	int sv[2], ready = 0, status;
	ssize_t n;
	pid_t pid;

	if (argc == 1) {
		/* bench/run runs every bench-*; this one needs a state. */
		printf("bench-worker: needs a deployed contract; see "
		    "bench/worker.sh below\n");
		return 0;
	}
	if (argc != 5 || (callers = (unsigned)atoi(argv[3])) == 0 ||
	    (secs = atof(argv[4])) <= 0)
		bench_die("usage", "bench-worker VMSD STATEDIR CALLERS SECONDS");
	snprintf(dir, sizeof(dir), "%s/contracts/guestlist", argv[2]);
	snprintf(key, sizeof(key), "%s/keys/guestlist.key", argv[2]);
	snprintf(head, sizeof(head), "%s/keys/guestlist.head", argv[2]);
	snprintf(wire, sizeof(wire), "%d", WIRE_VERSION);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		bench_die("socketpair", strerror(errno));
	if ((pid = fork()) < 0)
		bench_die("fork", strerror(errno));
	if (pid == 0) {
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execl(argv[1], argv[1], "--worker", "guestlist", "--fd", "3",
		    "--dir", dir, "--key", key, "--head", head, "--wire",
		    wire, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	in = xmalloc(INCAP);
	cap = (size_t)(secs * 200000) + callers;
	lat = xcalloc(cap, sizeof(*lat));
	t0 = xcalloc(callers, sizeof(*t0));
	while (!ready) {
		if ((n = read(sv[0], in + ilen, INCAP - ilen)) <= 0)
			bench_die("the worker", "exited before it was ready");
		ilen += (size_t)n;
		if ((nl = memchr(in, '\n', ilen)) != NULL) {
			if (wire_decode_reply(in, (size_t)(nl - in), &rp, err,
			    sizeof(err)) != 0 || rp.kind != WIRE_READY)
				bench_die("the worker's first line", err);
			wire_reply_clear(&rp);
			ilen -= (size_t)(nl + 1 - in);
			memmove(in, nl + 1, ilen);
			ready = 1;
		}
	}

	start = mono_usec();
	deadline = start + (uint64_t)(secs * 1e6);
	for (k = 0; k < callers; k++) {
		t0[k] = start;
		put_call(&out, k, callers, sent);
		sent++;
	}
	write_out(sv[0], &out);
	while (done < sent) {
		if ((n = read(sv[0], in + ilen, INCAP - ilen)) <= 0)
			bench_die("the worker", n == 0 ? "exited" :
			    strerror(errno));
		ilen += (size_t)n;
		now = mono_usec();
		p = in;
		while ((nl = memchr(p, '\n', ilen - (size_t)(p - in))) !=
		    NULL) {
			if (wire_decode_reply(p, (size_t)(nl - p), &rp, err,
			    sizeof(err)) != 0)
				bench_die("a reply", err);
			if (rp.kind != WIRE_RESULT)
				bench_die("a call", "failed (not a result)");
			k = (unsigned)(rp.id % callers);
			wire_reply_clear(&rp);
			if (done < cap)
				lat[done] = (uint32_t)(now - t0[k]);
			done++;
			if (now < deadline) {
				t0[k] = now;
				put_call(&out, k, callers, sent);
				sent++;
				write_out(sv[0], &out);
			}
			p = nl + 1;
		}
		ilen -= (size_t)(p - in);
		memmove(in, p, ilen);
		if (ilen == INCAP)
			bench_die("a reply", "too long");
	}
	end = mono_usec();
	close(sv[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die("the worker", "did not exit cleanly");
	if (getrusage(RUSAGE_CHILDREN, &rc) != 0 ||
	    getrusage(RUSAGE_SELF, &rs) != 0)
		bench_die("getrusage", strerror(errno));
	nlat = done < cap ? done : cap;
	bench_sort_u32(lat, nlat);
	printf("worker-alone clients=%u calls=%" PRIu64 " secs=%.2f rate=%.0f "
	    "p50=%.3f p999=%.3f worker_cpu=%.1f client_cpu=%.1f\n", callers,
	    done, (double)(end - start) / 1e6,
	    (double)done / ((double)(end - start) / 1e6),
	    bench_pct_ms(lat, nlat, 0.50), bench_pct_ms(lat, nlat, 0.999),
	    (bench_usec(&rc.ru_utime) + bench_usec(&rc.ru_stime)) /
	    (double)done,
	    (bench_usec(&rs.ru_utime) + bench_usec(&rs.ru_stime)) /
	    (double)done);
	free(in);
	free(lat);
	free(t0);
	jbuf_free(&out);
	return 0;
}
