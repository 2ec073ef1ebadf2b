/*
 * client.c — blocking JSON-RPC client. Over a Unix socket: connect, send
 * request lines, read reply lines until the one carrying the id waited
 * for (replies to one connection come back in request order); a reply to
 * another request still outstanding (client_send) is held for its
 * client_reply, any other is stale (its caller gave up) and dropped. Over
 * HTTP(S): POST the request to URL/rpc on a kept-alive connection
 * (httpc.c), at client_send, and hold the reply.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "fastjson.h"
#include "httpc.h"
#include "proto.h"
#include "util.h"

struct vms_client {
	struct httpc	*http;		/* HTTP(S) URL; else fd */
	int		 fd;
	int		 timeout_ms;
	json_int_t	 next_id;
	char		*addr;
	char		*buf;		/* received, not yet consumed */
	size_t		 len, cap;
	size_t		 scanned;	/* buf[0..scanned) holds no newline */
	json_int_t	*waiting;	/* sent, not yet claimed by client_reply */
	size_t		 nwaiting, capwaiting;
	struct held {			/* replies to them already read, */
					/* one each at most */
		json_int_t	 id;
		json_t		*msg;
	}		*held;
	size_t		 nheld, capheld;
};

static int
connect_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		seterr(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		seterr(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		seterr(err, errlen, "cannot connect to %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
client_connect(const char *addr, int timeout_ms, struct vms_client **out,
    char *err, size_t errlen)
{
	struct vms_client *c;
	int fd;

	*out = NULL;
	/* A daemon closing on us must be an error, not a fatal signal. */
	signal(SIGPIPE, SIG_IGN);
	if (addr == NULL || *addr == '\0') {
		seterr(err, errlen, "no socket address given");
		return -1;
	}
	if (httpc_is_url(addr)) {
		struct httpc_opts o = { timeout_ms, getenv("VMS_CAFILE") };

		c = xcalloc(1, sizeof(*c));
		c->fd = -1;
		if (httpc_open(addr, &o, &c->http, err, errlen) != 0) {
			free(c);
			return -1;
		}
	} else {
		if (strncmp(addr, "tcp:", 4) == 0) {
			seterr(err, errlen, "%s: the remote port speaks HTTP: "
			    "use http://%s", addr, addr + 4);
			return -1;
		}
		if ((fd = connect_unix(addr, err, errlen)) < 0)
			return -1;
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
	}
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	c->addr = xstrdup(addr);
	*out = c;
	return 0;
}

void
client_close(struct vms_client *c)
{
	if (c == NULL)
		return;
	httpc_close(c->http);
	if (c->fd >= 0)
		close(c->fd);
	while (c->nheld > 0)
		json_decref(c->held[--c->nheld].msg);
	free(c->held);
	free(c->waiting);
	free(c->addr);
	free(c->buf);
	free(c);
}

void
client_set_timeout(struct vms_client *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

/* One request over HTTP: the reply is the response's body, whatever its
 * status (429, 413, ... carry a JSON-RPC error too). */
static int
http_exchange(struct vms_client *c, const char *req, size_t len,
    json_t **msg, char *err, size_t errlen)
{
	struct httpc_resp resp;
	json_error_t jerr;

	if (httpc_request(c->http, "POST", "/rpc", "application/json", req,
	    len, &resp, err, errlen) != 0)
		return -1;
	*msg = fastjson_loadb(resp.body, resp.len, 0, &jerr);
	if (*msg == NULL || !json_is_object(*msg)) {
		seterr(err, errlen, "%s: HTTP %d: %.200s", c->addr, resp.status,
		    resp.len ? resp.body : "(empty body)");
		json_decref(*msg);
		*msg = NULL;
		httpc_resp_free(&resp);
		return -1;
	}
	httpc_resp_free(&resp);
	return 0;
}

/* Read one line (without "\n", NUL-terminated, malloc'd), by deadline
 * (mono_usec; 0: none). */
static int
read_line(struct vms_client *c, uint64_t deadline, char **line,
    size_t *linelen, char *err, size_t errlen)
{
	struct pollfd pfd;
	uint64_t now;
	char *nl;
	ssize_t n;
	int wait;

	for (;;) {
		/* (only what arrived since the last look: a reply of many
		 * MB comes in many reads) */
		if (c->len > c->scanned && (nl = memchr(c->buf + c->scanned,
		    '\n', c->len - c->scanned)) != NULL) {
			size_t l = (size_t)(nl - c->buf);

			*line = xstrndup(c->buf, l);
			*linelen = l;
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			c->scanned = 0;
			return 0;
		}
		c->scanned = c->len;
		if (c->len >= CLIENT_MAX_REPLY) {
			seterr(err, errlen, "%s: reply longer than %u bytes",
			    c->addr, CLIENT_MAX_REPLY);
			return -1;
		}
		wait = -1;
		if (deadline != 0) {
			now = mono_usec();
			if (now >= deadline) {
				seterr(err, errlen, "%s: no reply within %d ms",
				    c->addr, c->timeout_ms);
				return -1;
			}
			wait = (int)((deadline - now + 999) / 1000);
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			continue;	/* deadline check above */
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = xrealloc(c->buf, c->cap);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			seterr(err, errlen, "%s: read: %s", c->addr,
			    strerror(errno));
			return -1;
		}
		if (n == 0) {
			seterr(err, errlen, "%s: connection closed by the "
			    "daemon", c->addr);
			return -1;
		}
		c->len += (size_t)n;
	}
}

/* Has the other end closed fd (EOF waiting, nothing else to read)? */
static int
peer_closed(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char b;

	if (poll(&pfd, 1, 0) != 1)
		return 0;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
	    (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

/* Is id sent and not yet claimed? With remove, it no longer is. */
static int
waiting(struct vms_client *c, json_int_t id, int remove)
{
	size_t i;

	for (i = 0; i < c->nwaiting; i++)
		if (c->waiting[i] == id) {
			if (remove)
				c->waiting[i] = c->waiting[--c->nwaiting];
			return 1;
		}
	return 0;
}

static void
hold(struct vms_client *c, json_int_t id, json_t *msg)
{
	if (c->nheld == c->capheld) {
		c->capheld = c->capheld ? 2 * c->capheld : 4;
		c->held = xrealloc(c->held, c->capheld * sizeof(*c->held));
	}
	c->held[c->nheld].id = id;
	c->held[c->nheld++].msg = msg;
}

static int
is_held(const struct vms_client *c, json_int_t id)
{
	size_t i;

	for (i = 0; i < c->nheld; i++)
		if (c->held[i].id == id)
			return 1;
	return 0;
}

/* The held reply to id, taken out of the list, or NULL. */
static json_t *
unhold(struct vms_client *c, json_int_t id)
{
	json_t *msg;
	size_t i;

	for (i = 0; i < c->nheld; i++)
		if (c->held[i].id == id) {
			msg = c->held[i].msg;
			c->held[i] = c->held[--c->nheld];
			return msg;
		}
	return NULL;
}

enum client_status
client_send(struct vms_client *c, const char *method, json_t *params,
    json_int_t *idp, char *err, size_t errlen)
{
	json_int_t id = c->next_id++;
	json_t *msg;
	char *req;
	size_t len;

	if ((req = proto_request(id, method, params, &len)) == NULL) {
		seterr(err, errlen, "cannot encode the %s request", method);
		return CLIENT_FAILED;
	}
	if (c->http != NULL) {
		int rc = http_exchange(c, req, len, &msg, err, errlen);

		free(req);
		if (rc != 0)
			return CLIENT_FAILED;
		hold(c, id, msg);
		goto sent;
	}
	if (c->len == 0 && c->nwaiting == 0 && peer_closed(c->fd)) {
		/* The daemon closed the idle connection (its
		 * client_idle_timeout): nothing was sent, connect again. */
		int fd = connect_unix(c->addr, err, errlen);

		if (fd < 0) {
			free(req);
			return CLIENT_FAILED;
		}
		close(c->fd);
		c->fd = fd;
	}
	if (write_all(c->fd, req, len) != 0) {
		seterr(err, errlen, "%s: write: %s", c->addr, strerror(errno));
		free(req);
		return CLIENT_FAILED;
	}
	free(req);
sent:
	if (c->nwaiting == c->capwaiting) {
		c->capwaiting = c->capwaiting ? 2 * c->capwaiting : 4;
		c->waiting = xrealloc(c->waiting, c->capwaiting *
		    sizeof(*c->waiting));
	}
	c->waiting[c->nwaiting++] = id;
	*idp = id;
	return CLIENT_OK;
}

void
client_forget(struct vms_client *c, json_int_t id)
{
	waiting(c, id, 1);
	json_decref(unhold(c, id));
}

/* Nothing returned yet: no result, no error object. */
static void
reply_clear(json_t **result, struct client_error *rerr)
{
	*result = NULL;
	if (rerr != NULL) {
		rerr->code = 0;
		rerr->message[0] = '\0';
		rerr->data = NULL;
	}
}

enum client_status
client_reply(struct vms_client *c, json_int_t id, json_t **result,
    struct client_error *rerr, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *msg, *jid, *e, *r;
	char *line;
	size_t len;
	uint64_t deadline = 0;

	reply_clear(result, rerr);
	if (!waiting(c, id, 1)) {
		seterr(err, errlen, "%s: no request %" JSON_INTEGER_FORMAT
		    " is waiting for its reply", c->addr, id);
		return CLIENT_FAILED;
	}
	if ((msg = unhold(c, id)) != NULL)
		goto reply;
	/* (one deadline for the reply, whatever other lines come first: a
	 * host sending stale replies without end cannot hold the caller) */
	if (c->timeout_ms > 0)
		deadline = mono_usec() + (uint64_t)c->timeout_ms * 1000;
	for (;;) {
		if (read_line(c, deadline, &line, &len, err, errlen) != 0)
			return CLIENT_FAILED;
		msg = fastjson_loadb(line, len, 0, &jerr);
		free(line);
		if (msg == NULL || !json_is_object(msg)) {
			seterr(err, errlen, "%s: malformed reply: %s", c->addr,
			    msg ? "not an object" : jerr.text);
			json_decref(msg);
			return CLIENT_FAILED;
		}
		jid = json_object_get(msg, "id");
		e = json_object_get(msg, "error");
		/* An error with a null id concerns the connection itself. */
		if (json_is_integer(jid) && json_integer_value(jid) == id)
			break;
		if ((jid == NULL || json_is_null(jid)) && e != NULL)
			break;
		if (json_is_integer(jid) && waiting(c, json_integer_value(jid),
		    0) && !is_held(c, json_integer_value(jid)))
			hold(c, json_integer_value(jid), msg);
		else	/* a stale reply, or a second one to a request */
			json_decref(msg);
	}
reply:
	if ((e = json_object_get(msg, "error")) != NULL) {
		const char *m = json_string_value(json_object_get(e,
		    "message"));
		json_t *code = json_object_get(e, "code");

		if (m == NULL)
			m = "(no message)";
		seterr(err, errlen, "%s", m);
		if (rerr != NULL) {
			rerr->code = json_is_integer(code) ?
			    (int)json_integer_value(code) : 0;
			snprintf(rerr->message, sizeof(rerr->message), "%s", m);
			rerr->data = json_incref(json_object_get(e, "data"));
		}
		json_decref(msg);
		return CLIENT_RPC_ERROR;
	}
	if ((r = json_object_get(msg, "result")) == NULL) {
		seterr(err, errlen, "%s: reply has neither result nor error",
		    c->addr);
		json_decref(msg);
		return CLIENT_FAILED;
	}
	*result = json_incref(r);
	json_decref(msg);
	return CLIENT_OK;
}

enum client_status
client_call(struct vms_client *c, const char *method, json_t *params,
    json_t **result, struct client_error *rerr, char *err, size_t errlen)
{
	json_int_t id;

	reply_clear(result, rerr);
	if (client_send(c, method, params, &id, err, errlen) != CLIENT_OK)
		return CLIENT_FAILED;
	return client_reply(c, id, result, rerr, err, errlen);
}
