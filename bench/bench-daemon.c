/*
 * bench-daemon.c — end-to-end load generator for a running vmsd, built like
 * redis-benchmark so the two compare fairly: one thread, a poll loop over N
 * connections, one call in flight per connection (closed loop). Each call is
 * the guest list's RSVP with a unique caller id (needs debug_auth = yes), so
 * every call writes a new file and a new ledger entry. Requests are encoded
 * with proto_request() (libvms/proto.h); every reply is parsed and checked
 * (its id, and a "result" rather than an "error"). Reports calls/s, latency
 * percentiles and the client's own CPU per call. Driven by bench/daemon.sh,
 * which starts vmsd, deploys the contract and collects RSS, checkpoints and
 * audit figures around it.
 *
 * Two parts vary independently: the transport (struct transport: JSON
 * lines on the control socket, or HTTP/1.1 POST /rpc on kept-alive
 * connections) and the kind of call (struct callkind: what a call's
 * params are): "rsvp" claims a debug caller id; "rsvp-signed" signs each
 * call with a key of its own (libvms/callsig.c, nonce 1: a new identity,
 * so a new file, per call) for the contract's --origin; "rsvp-presigned"
 * is the same with every call signed before the run, so that the client's
 * signing does not take the daemon's cores.
 *
 *   bench-daemon --addr ADDR [--call rsvp|rsvp-signed|rsvp-presigned]
 *       [--origin ORIGIN]
 *       [--contract NAME] [--clients N] [--calls N] [--seconds S]
 *       [--rounds R] [--tag TAG] [--label LABEL] [--attach]
 *       [--callers N]
 *   bench-daemon --checkpoints FILE     count the signed checkpoints of a
 *                                       ledger's `checkpoints` file
 *
 * ADDR is a Unix socket path, tcp:HOST:PORT (JSON lines over TCP) or
 * http://HOST:PORT (vmsd's HTTP port; a connection the daemon closes after
 * max_requests_per_connection is opened again, which is counted). A round
 * ends after --calls calls or --seconds seconds, whichever first. With
 * --rounds R it does R rounds on the same connections and reports the best
 * one (highest calls/s): on a shared machine, other jobs only ever slow a
 * round down, so the best round is the closest to what vmsd can do
 * (bench/redis.sh treats Redis the same way). With --attach (the control
 * socket only) each connection is first attached to the contract's worker
 * (vmsd-protocol(7), "attach"), which then serves its calls itself. With
 * --callers N the RSVPs come from N caller ids in turn (a state of N
 * files, each replaced in turn) instead of a new one per call.
 * Output, one line:
 *   LABEL clients=N calls=N errors=N secs=S rate=R p50=.. p90=.. p95=..
 *   p99=.. p999=.. max=.. (latencies in ms) cpu=.. (this client's CPU, µs/call)
 *   total=N (calls in all rounds) rates=R1,R2,.. (calls/s of each round)
 * Exit 1 if any call failed.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "benchlib.h"
#include "callsig.h"
#include "proto.h"
#include "util.h"

#define BUFCAP	(1u << 20)	/* per connection; replies are ~100 bytes */

struct conn {
	int		 fd;
	unsigned	 id;
	json_int_t	 rid;		/* id of the call in flight, 0: none */
	uint64_t	 t0;		/* when it was sent, mono_usec */
	char		*buf;
	size_t		 len;
	int		 closing;	/* the daemon closes after this reply */
};

struct run;

/* How a request travels, and how its reply is found in what arrives. */
struct transport {
	const char	*name;
	/* The bytes to send for a JSON-RPC request line (malloc'd). */
	char		*(*frame)(const char *host, char *req, size_t len,
			    size_t *out);
	/* A whole reply at the start of buf[0..len): its JSON at *body,
	 * *blen, and the bytes it takes; 0 if incomplete. *closing: the
	 * daemon closes the connection after it. */
	size_t		 (*parse)(const char *buf, size_t len,
			    const char **body, size_t *blen, int *closing);
};

/* What a call is: its params (the method is always "call"). */
struct callkind {
	const char	*name;
	/* the request line (malloc'd) of call `id` on c */
	char		*(*request)(struct run *, struct conn *, json_int_t id,
			    size_t *len);
};

struct run {
	const struct transport *tr;
	const struct callkind *kind;
	const char	*origin;	/* rsvp-signed: the contract's */
	const char	*addr;
	char		 host[256];	/* HTTP: the Host header */
	uint64_t	 reconnects;
	const char	*contract;
	const char	*tag;
	uint64_t	 calls, sent, done, errors;	/* this round */
	uint64_t	 seq;		/* calls sent in all rounds */
	uint64_t	 callers;	/* --callers: ids in turn, 0 unique */
	uint32_t	*lat;		/* µs per successful call */
	char		**pre;		/* rsvp-presigned: params, signed */
	uint64_t	 npre, nused;
	char		 first_err[512];
};

struct result {
	uint64_t	 done;
	double		 secs, rate, p50, p90, p95, p99, p999, max, cpu;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench-daemon --addr ADDR [--call rsvp|"
	    "rsvp-signed|rsvp-presigned] [--origin ORIGIN] [--contract NAME] "
	    "[--clients N] [--calls N] [--seconds S] [--rounds R] [--tag TAG] "
	    "[--label LABEL] [--attach] [--callers N]\n"
	    "       bench-daemon --checkpoints FILE\n");
	exit(2);
}

static void die(const char *, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench-daemon: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static int
dial(const char *addr)
{
	struct sockaddr_un sun;
	struct addrinfo hints, *res, *ai;
	char *host, *port;
	int fd = -1, one = 1, rc;

	if (strncmp(addr, "http://", 7) == 0) {
		host = xstrdup(addr + 7);
		host[strcspn(host, "/")] = '\0';
		xasprintf(&port, "tcp:%s", host);
		free(host);
		fd = dial(port);
		free(port);
		return fd;
	}
	if (strncmp(addr, "tcp:", 4) != 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(addr) >= sizeof(sun.sun_path))
			die("%s: socket path too long", addr);
		memcpy(sun.sun_path, addr, strlen(addr));
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			die("cannot connect to %s: %s", addr, strerror(errno));
		return fd;
	}
	host = xstrdup(addr + 4);
	if ((port = strrchr(host, ':')) == NULL)
		die("bad address %s: want tcp:HOST:PORT", addr);
	*port++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s: %s", addr, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		die("cannot connect to %s: %s", addr, strerror(errno));
	/* Like redis-benchmark: small requests go out at once. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("%s: TCP_NODELAY: %s", addr, strerror(errno));
	free(host);
	return fd;
}

static void
note_error(struct run *r, const char *msg)
{
	r->errors++;
	if (r->first_err[0] == '\0')
		snprintf(r->first_err, sizeof(r->first_err), "%s", msg);
}

/* ---- transports ---- */

static char *
lines_frame(const char *host, char *req, size_t len, size_t *out)
{
	*out = len;
	return req;
}

static size_t
lines_parse(const char *buf, size_t len, const char **body, size_t *blen,
    int *closing)
{
	const char *nl = memchr(buf, '\n', len);

	if (nl == NULL)
		return 0;
	*body = buf;
	*blen = (size_t)(nl - buf);
	*closing = 0;
	return *blen + 1;
}

static char *
http_frame(const char *host, char *req, size_t len, size_t *out)
{
	char *msg;
	int n;

	n = asprintf(&msg, "POST /rpc HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n"
	    "%.*s", host, len, (int)len, req);
	if (n < 0)
		die("out of memory");
	free(req);
	*out = (size_t)n;
	return msg;
}

/* A header's value in head[0..hlen), case-insensitive name, or NULL. */
static const char *
http_header(const char *head, size_t hlen, const char *name, size_t *vlen)
{
	const char *p = head, *end = head + hlen, *eol, *v;
	size_t n = strlen(name);

	while (p < end && (eol = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			for (v = p + n + 1; v < eol && *v == ' '; v++)
				;
			*vlen = (size_t)(eol - v);
			if (*vlen > 0 && v[*vlen - 1] == '\r')
				(*vlen)--;
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

static size_t
http_parse(const char *buf, size_t len, const char **body, size_t *blen,
    int *closing)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *v;
	size_t hlen, vlen, cl;

	if (end == NULL)
		return 0;
	hlen = (size_t)(end - buf) + 4;
	if (len < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0)
		die("not an HTTP/1.1 response: %.40s", buf);
	if ((v = http_header(buf, hlen, "Content-Length", &vlen)) == NULL)
		die("HTTP response without Content-Length");
	cl = (size_t)strtoull(v, NULL, 10);
	if (len < hlen + cl)
		return 0;
	v = http_header(buf, hlen, "Connection", &vlen);
	*closing = v != NULL && vlen == 5 && strncasecmp(v, "close", 5) == 0;
	*body = buf + hlen;
	*blen = cl;
	return hlen + cl;
}

static const struct transport tr_lines = { "lines", lines_frame, lines_parse };
static const struct transport tr_http = { "http", http_frame, http_parse };

/* ---- kinds of call ---- */

#define SAFE	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		"0123456789._-"

/* RSVP under a unique debug caller id: every call writes a new file (with
 * --callers N, one of N ids in turn: each call replaces one of N files).
 * Written as text, as redis-benchmark writes its command: the client's
 * CPU is taken from the same two cores as the daemon's (the tag and the
 * contract name are checked to need no JSON escapes in main()). */
static char *
rsvp_request(struct run *r, struct conn *c, json_int_t id, size_t *len)
{
	char *req;
	int n;

	n = asprintf(&req, "{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT
	    ",\"method\":\"call\",\"params\":{\"contract\":\"%s\",\"method\":"
	    "\"RSVP\",\"user\":\"%s-%u-%" PRIu64 "\",\"args\":[\"bob\",false,"
	    "\"Sorry, can't make it\"]}}\n", id, r->contract, r->tag,
	    r->callers ? 0 : c->id, r->callers ? r->seq % r->callers : r->seq);
	if (n < 0)
		die("out of memory");
	*len = (size_t)n;
	return req;
}

/* The params of an RSVP signed by a fresh key (as rsvp-signed). */
static char *
signed_params(struct run *r)
{
	struct callsig cs;
	uint8_t pk[32], sk[64];
	char err[VMS_ERRLEN], *s;
	json_t *args, *p;

	if (r->origin == NULL)
		die("--call rsvp-signed and rsvp-presigned need --origin");
	crypto_sign_keypair(pk, sk);
	args = json_pack("[s, b, s]", "bob", 0, "Sorry, can't make it");
	if (args == NULL || callsig_sign(&cs, sk, 1, r->origin, "RSVP", args,
	    err, sizeof(err)) != 0)
		die("cannot sign: %s", args ? err : "out of memory");
	p = json_pack("{s:s, s:s, s:o, s:o}", "contract", r->contract,
	    "method", "RSVP", "args", args, "signed", callsig_to_json(&cs));
	if (p == NULL || (s = json_dumps(p, JSON_COMPACT)) == NULL)
		die("cannot encode the request");
	json_decref(p);
	return s;
}

/* RSVP signed by a fresh Ed25519 key (nonce 1): a new caller, so a new
 * file, per call, as with "rsvp"; the client's CPU includes signing. */
static char *
rsvp_signed_request(struct run *r, struct conn *c, json_int_t id,
    size_t *len)
{
	char *req, *params;
	int n;

	params = signed_params(r);
	n = asprintf(&req, "{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT
	    ",\"method\":\"call\",\"params\":%s}\n", id, params);
	free(params);
	if (n < 0)
		die("out of memory");
	*len = (size_t)n;
	return req;
}

/* As rsvp-signed, but every call of every round is signed before the
 * first one starts: during the run the client only sends bytes, as a
 * client on another machine would, and the daemon's two cores are the
 * daemon's. */
static char *
rsvp_presigned_request(struct run *r, struct conn *c, json_int_t id,
    size_t *len)
{
	char *req;
	int n;

	if (r->nused >= r->npre)
		die("out of presigned calls");
	n = asprintf(&req, "{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT
	    ",\"method\":\"call\",\"params\":%s}\n", id, r->pre[r->nused]);
	if (n < 0)
		die("out of memory");
	free(r->pre[r->nused]);
	r->pre[r->nused++] = NULL;
	*len = (size_t)n;
	return req;
}

static const struct callkind kinds[] = {
	{ "rsvp", rsvp_request },
	{ "rsvp-signed", rsvp_signed_request },
	{ "rsvp-presigned", rsvp_presigned_request },
};

/* Send the next call on c; 0 if there is none left to send. */
static int
send_call(struct run *r, struct conn *c)
{
	char *req;
	size_t len;

	if (r->sent >= r->calls)
		return 0;
	if (c->closing) {
		/* the daemon closed it after its last reply */
		close(c->fd);
		c->fd = dial(r->addr);
		c->closing = 0;
		c->len = 0;
		r->reconnects++;
	}
	r->sent++;
	c->rid = (json_int_t)++r->seq;
	req = r->kind->request(r, c, c->rid, &len);
	req = r->tr->frame(r->host, req, len, &len);
	c->t0 = mono_usec();
	if (write_all(c->fd, req, len) != 0)
		die("write: %s", strerror(errno));
	free(req);
	return 1;
}

/* One reply line for c: check it, record the latency. */
static void
got_reply(struct run *r, struct conn *c, const char *line, size_t len,
    uint64_t now)
{
	json_error_t jerr;
	json_t *msg, *e;
	const char *m;
	char head[64];
	int n;

	/* A result for this call, as vmsd writes it (rpcreq_result_text):
	 * counted without parsing the result and its receipt, as
	 * redis-benchmark counts a reply; anything else is parsed. */
	n = snprintf(head, sizeof(head), "{\"jsonrpc\":\"2.0\",\"id\":%"
	    JSON_INTEGER_FORMAT ",\"result\":", c->rid);
	if (n > 0 && len > (size_t)n && memcmp(line, head, (size_t)n) == 0 &&
	    line[len - 1] == '}') {
		r->lat[r->done++] = (uint32_t)(now - c->t0);
		c->rid = 0;
		return;
	}
	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL)
		die("malformed reply: %s", jerr.text);
	if (json_integer_value(json_object_get(msg, "id")) != c->rid)
		die("reply with an unexpected id on connection %u", c->id);
	if ((e = json_object_get(msg, "error")) != NULL) {
		m = json_string_value(json_object_get(e, "message"));
		note_error(r, m ? m : "(error without a message)");
	} else if (json_object_get(msg, "result") == NULL)
		note_error(r, "reply has neither result nor error");
	else
		r->lat[r->done++] = (uint32_t)(now - c->t0);
	json_decref(msg);
	c->rid = 0;
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

/* attach: the connection is the contract's worker's from its reply on. */
static void
attach(int fd, const char *contract)
{
	char req[256], buf[4096];
	size_t len = 0;
	ssize_t n;
	int k;

	k = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":0,"
	    "\"method\":\"attach\",\"params\":{\"contract\":\"%s\"}}\n",
	    contract);
	if (k < 0 || (size_t)k >= sizeof(req) || write_all(fd, req,
	    (size_t)k) != 0)
		die("attach: cannot send: %s", strerror(errno));
	while (len == 0 || memchr(buf, '\n', len) == NULL) {
		if (len == sizeof(buf) - 1)
			die("attach: reply too long");
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			die("attach: no reply");
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strstr(buf, "\"attached\":true") == NULL)
		die("attach refused: %s", buf);
	if (memchr(buf, '\n', len) != buf + len - 1)
		die("attach: more than its reply came");
}

/* One round: r->calls calls over the open connections. */
static void
run_round(struct run *r, struct conn *cs, struct pollfd *pfd,
    unsigned clients, double seconds, struct result *res)
{
	struct rusage ru0, ru1;
	uint64_t start, end, deadline, hard, now;
	unsigned i, inflight = 0;
	const char *body;
	size_t blen, used;
	ssize_t n;
	int wait, closing;

	r->sent = r->done = 0;
	if (getrusage(RUSAGE_SELF, &ru0) != 0)
		die("getrusage: %s", strerror(errno));
	start = mono_usec();
	deadline = start + (uint64_t)(seconds * 1e6);
	hard = deadline + 30000000;	/* for the calls still in flight */
	for (i = 0; i < clients; i++) {
		inflight += (unsigned)send_call(r, &cs[i]);
		pfd[i].fd = cs[i].fd;
	}
	while (inflight > 0) {
		now = mono_usec();
		if (now >= hard)
			die("%u calls unanswered 30 s after the time limit",
			    inflight);
		wait = (int)((hard - now) / 1000) + 1;
		if (poll(pfd, clients, wait) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < clients; i++) {
			struct conn *c = &cs[i];

			if (pfd[i].revents == 0)
				continue;
			n = recv(c->fd, c->buf + c->len, BUFCAP - c->len,
			    MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n < 0)
				die("recv: %s", strerror(errno));
			if (n == 0 && !c->closing)
				die("connection closed by the daemon");
			if (n == 0) {
				pfd[i].fd = -1;	/* until the next call */
				continue;
			}
			c->len += (size_t)n;
			now = mono_usec();
			while ((used = r->tr->parse(c->buf, c->len, &body,
			    &blen, &closing)) > 0) {
				if (c->rid == 0)
					die("a reply nobody asked for");
				got_reply(r, c, body, blen, now);
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
				c->closing = closing;
				inflight--;
				if (now < deadline)
					inflight += (unsigned)send_call(r, c);
				pfd[i].fd = c->fd;
			}
			if (c->len == BUFCAP)
				die("reply line too long");
		}
	}
	end = mono_usec();
	if (getrusage(RUSAGE_SELF, &ru1) != 0)
		die("getrusage: %s", strerror(errno));
	bench_sort_u32(r->lat, r->done);
	res->done = r->done;
	res->secs = (double)(end - start) / 1e6;
	res->rate = res->secs > 0 ? (double)r->done / res->secs : 0;
	res->p50 = bench_pct_ms(r->lat, r->done, 0.50);
	res->p90 = bench_pct_ms(r->lat, r->done, 0.90);
	res->p95 = bench_pct_ms(r->lat, r->done, 0.95);
	res->p99 = bench_pct_ms(r->lat, r->done, 0.99);
	res->p999 = bench_pct_ms(r->lat, r->done, 0.999);
	res->max = r->done ? r->lat[r->done - 1] / 1000.0 : 0;
	res->cpu = r->sent == 0 ? 0 : (bench_usec(&ru1.ru_utime) +
	    bench_usec(&ru1.ru_stime) - bench_usec(&ru0.ru_utime) -
	    bench_usec(&ru0.ru_stime)) / (double)r->sent;
}

int
main(int argc, char **argv)
{
	struct run r;
	struct conn *cs;
	struct pollfd *pfd;
	struct result res, best;
	const char *label = "run", *addr = NULL, *kind = "rsvp";
	double seconds = 20;
	unsigned i, clients = 1, rounds = 1;
	int attached = 0;
	uint64_t k;
	char rates[512];
	size_t rl = 0;
	int a;

	memset(&r, 0, sizeof(r));
	memset(&best, 0, sizeof(best));
	r.contract = "guestlist";
	r.tag = "b";
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

		if (strcmp(o, "--attach") == 0) {
			attached = 1;
			continue;
		}
		if (v == NULL)
			usage();
		if (strcmp(o, "--addr") == 0)
			addr = v;
		else if (strcmp(o, "--contract") == 0)
			r.contract = v;
		else if (strcmp(o, "--call") == 0)
			kind = v;
		else if (strcmp(o, "--origin") == 0)
			r.origin = v;
		else if (strcmp(o, "--clients") == 0)
			clients = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--calls") == 0)
			r.calls = strtoull(v, NULL, 10);
		else if (strcmp(o, "--seconds") == 0)
			seconds = strtod(v, NULL);
		else if (strcmp(o, "--rounds") == 0)
			rounds = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(o, "--tag") == 0)
			r.tag = v;
		else if (strcmp(o, "--label") == 0)
			label = v;
		else if (strcmp(o, "--callers") == 0)
			r.callers = strtoull(v, NULL, 10);
		else
			usage();
		a++;
	}
	if (addr == NULL || clients == 0 || clients > 1024 || r.calls == 0 ||
	    r.calls > 100000000 || seconds <= 0 || rounds == 0 || rounds > 20)
		usage();

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, kind) == 0)
			r.kind = &kinds[i];
	if (r.kind == NULL)
		die("unknown kind of call %s", kind);
	if (attached && (strncmp(addr, "http://", 7) == 0 ||
	    strncmp(addr, "tcp:", 4) == 0))
		die("--attach: the control socket only");
	if (strspn(r.contract, SAFE) != strlen(r.contract) ||
	    strspn(r.tag, SAFE) != strlen(r.tag))
		die("--contract and --tag: letters, digits, '.', '_', '-' only");
	r.addr = addr;
	r.tr = strncmp(addr, "http://", 7) == 0 ? &tr_http : &tr_lines;
	if (r.tr == &tr_http) {
		snprintf(r.host, sizeof(r.host), "%s", addr + 7);
		r.host[strcspn(r.host, "/")] = '\0';
	}
	if (sodium_init() < 0)
		die("cannot initialise libsodium");
	signal(SIGPIPE, SIG_IGN);
	r.lat = xcalloc(r.calls, sizeof(*r.lat));
	if (r.kind->request == rsvp_presigned_request) {
		r.npre = r.calls * rounds;
		r.pre = xcalloc(r.npre, sizeof(*r.pre));
		for (k = 0; k < r.npre; k++)
			r.pre[k] = signed_params(&r);
	}
	cs = xcalloc(clients, sizeof(*cs));
	pfd = xcalloc(clients, sizeof(*pfd));
	for (i = 0; i < clients; i++) {
		cs[i].fd = dial(addr);
		if (attached)
			attach(cs[i].fd, r.contract);
		cs[i].id = i;
		cs[i].buf = xmalloc(BUFCAP);
		pfd[i].fd = cs[i].fd;
		pfd[i].events = POLLIN;
	}
	rates[0] = '\0';
	for (i = 0; i < rounds && r.errors == 0; i++) {
		run_round(&r, cs, pfd, clients, seconds, &res);
		if (i == 0 || res.rate > best.rate)
			best = res;
		rl += (size_t)snprintf(rates + rl, sizeof(rates) - rl, "%s%.0f",
		    i ? "," : "", res.rate);
		if (rl >= sizeof(rates))
			rl = sizeof(rates) - 1;
	}
	for (i = 0; i < clients; i++) {
		close(cs[i].fd);
		free(cs[i].buf);
	}
	free(cs);
	free(pfd);
	free(r.lat);

	printf("%s clients=%u calls=%" PRIu64 " errors=%" PRIu64
	    " secs=%.2f rate=%.0f p50=%.3f p90=%.3f p95=%.3f p99=%.3f"
	    " p999=%.3f max=%.3f cpu=%.0f total=%" PRIu64 " rates=%s"
	    " reconnects=%" PRIu64 "\n", label, clients, best.done, r.errors,
	    best.secs, best.rate, best.p50, best.p90, best.p95, best.p99,
	    best.p999, best.max,
	    best.cpu, r.seq, rates, r.reconnects);
	if (r.errors > 0) {
		fprintf(stderr, "bench-daemon: %s: %" PRIu64 " calls failed, "
		    "first: %s\n", label, r.errors, r.first_err);
		return 1;
	}
	return 0;
}
