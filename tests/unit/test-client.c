/*
 * test-client.c — libvms/client.c against a scripted fake server in a
 * child process: results, ids, stale replies, error objects, timeouts,
 * a closed connection, unreachable addresses, requests sent ahead of
 * their replies (client_send/client_reply), and audit-rpc.c's pages of
 * entries asked for one page ahead.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* libasan's (gcc ships no header for it) */
size_t	__sanitizer_get_current_allocated_bytes(void);
#endif

#include "audit.h"
#include "client.h"
#include "httpc.h"
#include "proto.h"
#include "test.h"
#include "util.h"

static char sockpath[108];
static pid_t server;
static int notes[2];	/* the server writes "from" of each log request */

#define LOG_SIZE	12	/* the fake ledger's entries, two a page */

static void
reply(int fd, const char *s)
{
	if (write_all(fd, s, strlen(s)) != 0)
		_exit(1);
}

/* One connection; behaviour chosen by the request's method. */
static void
serve(int lfd)
{
	char buf[65536], out[70000];
	size_t len = 0;
	ssize_t n;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	for (;;) {
		char *nl;
		json_t *req;
		const char *m;
		json_int_t id;

		while ((nl = memchr(buf, '\n', len)) == NULL) {
			n = read(fd, buf + len, sizeof(buf) - len);
			if (n <= 0)
				_exit(0);
			len += (size_t)n;
		}
		req = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
		memmove(buf, nl + 1, len - (size_t)(nl - buf) - 1);
		len -= (size_t)(nl - buf) + 1;
		if (req == NULL)
			_exit(1);
		m = json_string_value(json_object_get(req, "method"));
		id = json_integer_value(json_object_get(req, "id"));
		if (strcmp(m, "echo") == 0) {
			char *p = json_dumps(json_object_get(req, "params"),
			    JSON_COMPACT);

			snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%"
			    JSON_INTEGER_FORMAT ",\"result\":%s}\n", id, p);
			free(p);
			reply(fd, out);
		} else if (strcmp(m, "stale") == 0) {
			reply(fd, "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":1}\n");
			snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%"
			    JSON_INTEGER_FORMAT ",\"result\":\"fresh\"}\n", id);
			reply(fd, out);
		} else if (strcmp(m, "err") == 0) {
			snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%"
			    JSON_INTEGER_FORMAT ",\"error\":{\"code\":-32000,"
			    "\"message\":\"no tickets left\",\"data\":"
			    "{\"index\":7}}}\n", id);
			reply(fd, out);
		} else if (strcmp(m, "split") == 0) {
			/* A reply in two writes. */
			snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":%"
			    JSON_INTEGER_FORMAT ",\"result\":[1,2,3]}\n", id);
			reply(fd, "");
			if (write_all(fd, out, 10) != 0)
				_exit(1);
			usleep(50000);
			reply(fd, out + 10);
		} else if (strcmp(m, "log") == 0) {
			json_int_t from = json_integer_value(json_object_get(
			    json_object_get(req, "params"), "from")), i;
			int k;

			k = snprintf(out, sizeof(out), "%" JSON_INTEGER_FORMAT
			    "\n", from);
			if (write_all(notes[1], out, (size_t)k) != 0)
				_exit(1);
			k = snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\","
			    "\"id\":%" JSON_INTEGER_FORMAT ",\"result\":{"
			    "\"size\":%d,\"entries\":[", id, LOG_SIZE);
			for (i = from; i < from + 2 && i < LOG_SIZE; i++) {
				char e[8], *b;

				snprintf(e, sizeof(e), "e%d", (int)i);
				b = b64_encode((const uint8_t *)e, strlen(e));
				k += snprintf(out + k, sizeof(out) - (size_t)k,
				    "%s{\"index\":%d,\"leaf\":\"%s\"}",
				    i > from ? "," : "", (int)i, b);
				free(b);
			}
			snprintf(out + k, sizeof(out) - (size_t)k, "]}}\n");
			reply(fd, out);
		} else if (strcmp(m, "flood") == 0) {
			/* replies to the request before, without end */
			snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\","
			    "\"id\":%" JSON_INTEGER_FORMAT ",\"result\":"
			    "\"again\"}\n", id - 1);
			for (;;)
				reply(fd, out);
		} else if (strcmp(m, "junk") == 0) {
			reply(fd, "this is not json\n");
		} else if (strcmp(m, "close") == 0) {
			close(fd);
			_exit(0);
		}
		/* "silent": no answer */
		json_decref(req);
	}
}

static void
start_server(void)
{
	struct sockaddr_un sun;
	int lfd;

	snprintf(sockpath, sizeof(sockpath), "/tmp/vms-test-client.%d",
	    (int)getpid());
	unlink(sockpath);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, sockpath, sizeof(sun.sun_path) - 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 4) != 0) {
		perror("fake server");
		exit(1);
	}
	if (pipe(notes) != 0) {
		perror("pipe");
		exit(1);
	}
	if ((server = fork()) == 0) {
		close(notes[0]);
		serve(lfd);
		_exit(0);
	}
	close(lfd);
	close(notes[1]);
}

/* The next `from` the server was asked for, waiting up to 5 s; -1 if
 * none came. */
static long
next_from(void)
{
	struct pollfd pfd = { notes[0], POLLIN, 0 };
	char b[32];
	size_t n = 0;

	while (n < sizeof(b) - 1) {
		if (poll(&pfd, 1, 5000) != 1 || read(notes[0], b + n, 1) != 1)
			return -1;
		if (b[n] == '\n')
			break;
		n++;
	}
	b[n] = '\0';
	return atol(b);
}

/* The fake server started, and a client connected to it (NULL: failed,
 * a check failed with it). */
static struct vms_client *
connect_fake(void)
{
	struct vms_client *c;
	char err[VMS_ERRLEN];

	start_server();
	CHECK_MSG(client_connect(sockpath, 2000, &c, err, sizeof(err)) == 0,
	    "%s", err);
	return c;
}

static void
stop_server(void)
{
	int st;

	close(notes[0]);
	kill(server, SIGTERM);
	waitpid(server, &st, 0);
	unlink(sockpath);
}

TEST(results_and_ids)
{
	struct vms_client *c;
	struct client_error e;
	char err[VMS_ERRLEN];
	json_t *res;

	if ((c = connect_fake()) == NULL)
		return;
	CHECK_EQ_INT(client_call(c, "echo", json_pack("{s:i}", "x", 42), &res,
	    &e, err, sizeof(err)), CLIENT_OK);
	CHECK_EQ_INT(json_integer_value(json_object_get(res, "x")), 42);
	json_decref(res);

	CHECK_EQ_INT(client_call(c, "stale", NULL, &res, &e, err,
	    sizeof(err)), CLIENT_OK);
	CHECK_EQ_STR(json_string_value(res), "fresh");
	json_decref(res);

	CHECK_EQ_INT(client_call(c, "split", NULL, &res, &e, err,
	    sizeof(err)), CLIENT_OK);
	CHECK_EQ_INT(json_array_size(res), 3);
	json_decref(res);

	CHECK_EQ_INT(client_call(c, "err", NULL, &res, &e, err, sizeof(err)),
	    CLIENT_RPC_ERROR);
	CHECK(res == NULL);
	CHECK_EQ_INT(e.code, RPC_CONTRACT_ERROR);
	CHECK_EQ_STR(e.message, "no tickets left");
	CHECK_EQ_STR(err, "no tickets left");
	CHECK_EQ_INT(json_integer_value(json_object_get(e.data, "index")), 7);
	json_decref(e.data);

	/* Timeout: the server never answers. */
	client_set_timeout(c, 200);
	CHECK_EQ_INT(client_call(c, "silent", NULL, &res, &e, err,
	    sizeof(err)), CLIENT_FAILED);
	CHECK_CONTAINS(err, "no reply within 200 ms");
	client_close(c);
	stop_server();
}

/* Two requests out, their replies claimed in the other order; one given
 * up (its reply dropped when it comes); an id never sent. */
TEST(sent_ahead)
{
	struct vms_client *c;
	char err[VMS_ERRLEN];
	json_int_t a, b, f;
	json_t *res;

	if ((c = connect_fake()) == NULL)
		return;
	CHECK_EQ_INT(client_send(c, "echo", json_pack("{s:i}", "x", 1), &a,
	    err, sizeof(err)), CLIENT_OK);
	CHECK_EQ_INT(client_send(c, "echo", json_pack("{s:i}", "x", 2), &b,
	    err, sizeof(err)), CLIENT_OK);
	CHECK_EQ_INT(client_reply(c, b, &res, NULL, err, sizeof(err)),
	    CLIENT_OK);
	CHECK_EQ_INT(json_integer_value(json_object_get(res, "x")), 2);
	json_decref(res);
	CHECK_EQ_INT(client_reply(c, a, &res, NULL, err, sizeof(err)),
	    CLIENT_OK);	/* held while b's was waited for */
	CHECK_EQ_INT(json_integer_value(json_object_get(res, "x")), 1);
	json_decref(res);
	CHECK_EQ_INT(client_reply(c, a, &res, NULL, err, sizeof(err)),
	    CLIENT_FAILED);
	CHECK_CONTAINS(err, "is waiting for its reply");

	CHECK_EQ_INT(client_send(c, "echo", json_pack("{s:i}", "x", 3), &f,
	    err, sizeof(err)), CLIENT_OK);
	client_forget(c, f);
	CHECK_EQ_INT(client_call(c, "echo", json_pack("{s:i}", "x", 4), &res,
	    NULL, err, sizeof(err)), CLIENT_OK);
	CHECK_EQ_INT(json_integer_value(json_object_get(res, "x")), 4);
	json_decref(res);
	client_close(c);
	stop_server();
}

/* Entry i of src is the fake ledger's "e<i>". */
static int
entry_is(struct audit_source *src, uint64_t i)
{
	char err[VMS_ERRLEN], want[16];
	const uint8_t *b;
	size_t len;

	snprintf(want, sizeof(want), "e%d", (int)i);
	return src->entry(src->ctx, i, &b, &len, err, sizeof(err)) ==
	    FETCH_OK && len == strlen(want) && memcmp(b, want, len) == 0;
}

/* vmsctl audit's source asks for the next page of entries as soon as a
 * page arrives, before the audit reads past it, and claims that reply
 * (each page asked for once); a page read again for a look back (four
 * are kept) leaves the page asked ahead be; none past the ledger's
 * size. */
TEST(audit_pages_ahead)
{
	static const long want[] = { 0, 2, 4, 6, 8, 10, 0, LOG_SIZE };
	struct vms_client *c;
	struct audit_source *src;
	char err[VMS_ERRLEN];
	const uint8_t *b;
	size_t len, k;
	int tf = 0, ok = 1;
	uint64_t i;

	if ((c = connect_fake()) == NULL)
		return;
	src = audit_rpc_source(c, "x", &tf);
	CHECK(entry_is(src, 0));
	CHECK_EQ_INT(next_from(), 0);
	CHECK_EQ_INT(next_from(), 2);	/* asked before entry 2 is read */
	for (i = 1; i < 10; i++)
		ok &= entry_is(src, i);
	CHECK(ok);
	CHECK(entry_is(src, 0));	/* its page was dropped: read again */
	CHECK(entry_is(src, 10));	/* asked ahead before that */
	CHECK(entry_is(src, 11));
	CHECK_EQ_INT(src->entry(src->ctx, LOG_SIZE, &b, &len, err,
	    sizeof(err)), FETCH_END);
	for (k = 2; k < sizeof(want) / sizeof(want[0]); k++)
		CHECK_EQ_INT(next_from(), want[k]);
	CHECK_EQ_INT(tf, 0);
	audit_source_free(src);
	client_close(c);
	stop_server();
}

/* Bytes the heap holds now (under AddressSanitizer: not counting its
 * quarantine of freed blocks). */
static size_t
heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* A host that answers with other replies without end (here copies of
 * the reply to a request still waiting) cannot hold a client past its
 * timeout, nor make it keep them: the call fails in time, and the
 * client's memory does not grow with what it read. (In a child, with an
 * alarm: a client that never returns fails the test.) */
TEST(reply_flood)
{
	struct vms_client *c;
	char err[VMS_ERRLEN];
	json_int_t a;
	json_t *res;
	pid_t pid;
	int st;

	if ((c = connect_fake()) == NULL)
		return;
	if ((pid = fork()) == 0) {
		size_t m0 = heap_in_use(), m1;

		alarm(30);
		client_set_timeout(c, 1500);
		if (client_send(c, "silent", NULL, &a, err, sizeof(err)) !=
		    CLIENT_OK || client_call(c, "flood", NULL, &res, NULL, err,
		    sizeof(err)) != CLIENT_FAILED ||
		    strstr(err, "no reply within 1500 ms") == NULL)
			_exit(1);
		m1 = heap_in_use();
		_exit(m1 < m0 + (1u << 20) ? 0 : 2);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s %d",
	    WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ?
	    WTERMSIG(st) : WEXITSTATUS(st));
	client_close(c);
	stop_server();
}

TEST(malformed_and_closed)
{
	struct vms_client *c;
	char err[VMS_ERRLEN];
	json_t *res;

	if ((c = connect_fake()) == NULL)
		return;
	CHECK_EQ_INT(client_call(c, "junk", NULL, &res, NULL, err,
	    sizeof(err)), CLIENT_FAILED);
	CHECK_CONTAINS(err, "malformed reply");
	CHECK_EQ_INT(client_call(c, "close", NULL, &res, NULL, err,
	    sizeof(err)), CLIENT_FAILED);
	CHECK_CONTAINS(err, "connection closed");
	client_close(c);
	stop_server();
}

TEST(unreachable)
{
	struct vms_client *c;
	char err[VMS_ERRLEN];

	CHECK(client_connect("/nonexistent/vmsd.sock", 1000, &c, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "cannot connect to /nonexistent/vmsd.sock");
	/* the remote port speaks HTTP now: the old form says so */
	CHECK(client_connect("tcp:127.0.0.1:1", 1000, &c, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "use http://127.0.0.1:1");
	CHECK(client_connect("", 1000, &c, err, sizeof(err)) == -1);
	/* an HTTP URL connects lazily: the call fails, as transport */
	CHECK(client_connect("http://127.0.0.1:1", 1000, &c, err,
	    sizeof(err)) == 0);
	if (c != NULL) {
		json_t *res;

		CHECK(client_call(c, "ping", NULL, &res, NULL, err,
		    sizeof(err)) == CLIENT_FAILED);
		CHECK_CONTAINS(err, "http://127.0.0.1:1/rpc");
		client_close(c);
	}
	CHECK(client_connect("http://[::1", 1000, &c, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "unclosed [");
}

TEST(urls)
{
	static const struct {
		const char *url;
		int ok, tls, port;
		const char *host, *path;
	} u[] = {
		{ "http://h", 1, 0, 80, "h", "" },
		{ "https://h.example", 1, 1, 443, "h.example", "" },
		{ "http://127.0.0.1:5555/", 1, 0, 5555, "127.0.0.1", "" },
		{ "https://[::1]:8443/vmsd//", 1, 1, 8443, "::1", "/vmsd" },
		{ "http://h:0", 0, 0, 0, NULL, NULL },
		{ "http://h:65536", 0, 0, 0, NULL, NULL },
		{ "http://h:12x", 0, 0, 0, NULL, NULL },
		{ "http://:80", 0, 0, 0, NULL, NULL },
		{ "http://h:", 0, 0, 0, NULL, NULL },
		{ "ftp://h", 0, 0, 0, NULL, NULL },
		{ "h:80", 0, 0, 0, NULL, NULL },
	};
	struct httpc_url p;
	char err[VMS_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		int rc = httpc_parse_url(u[i].url, &p, err, sizeof(err));

		CHECK_MSG((rc == 0) == u[i].ok, "%s: %s", u[i].url, err);
		if (rc != 0 || !u[i].ok)
			continue;
		CHECK_EQ_INT(p.tls, u[i].tls);
		CHECK_EQ_INT(p.port, u[i].port);
		CHECK_EQ_STR(p.host, u[i].host);
		CHECK_EQ_STR(p.path, u[i].path);
	}
}

int
main(void)
{
	RUN(results_and_ids);
	RUN(sent_ahead);
	RUN(audit_pages_ahead);
	RUN(reply_flood);
	RUN(malformed_and_closed);
	RUN(unreachable);
	RUN(urls);
	return test_summary();
}
