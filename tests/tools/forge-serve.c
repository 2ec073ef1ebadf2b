/*
 * forge-serve.c — ledger-forge's `serve` command: a minimal stand-in for
 * vmsd serving one contract's ledger over the control protocol (ping list
 * methods info checkpoint log prove state call), which can lie about its
 * state, its proofs, its state's index, its contract list or its log
 * pages, so that the audit tests (audit-host.sh) can play a dishonest
 * host. The options are in the comment at the top of ledger-forge.c.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "forge.h"
#include "ledger.h"
#include "proto.h"
#include "util.h"

#define NCLI	16

struct srv {
	struct ledger	*l;
	struct engine	*e;
	const char	*name;
	int		 lie_state, bad_proof, state_ahead, list_empty, log_mode;
	int		 endless_state, paged_state, moving_state;
	unsigned long long nfake;
};

static json_t *
srv_handle(struct srv *sv, const char *method, json_t *p, int *code,
    char *msg, size_t msglen)
{
	uint64_t from, count, i, size = ledger_committed_size(sv->l), old;
	merkle_hash proof[MERKLE_MAX_PROOF];
	json_t *a, *o;
	uint8_t *buf;
	size_t len, n;
	char *b;

	*code = 0;
	if (strcmp(method, "ping") == 0)
		return json_pack("{s:s}", "version", "forge");
	if (strcmp(method, "list") == 0 && sv->list_empty)
		return json_pack("{s:[]}", "contracts");
	if (strcmp(method, "list") == 0)
		return json_pack("{s:[{s:s,s:s,s:I,s:n}]}", "contracts", "name",
		    sv->name, "status", "running", "size", (json_int_t)size,
		    "pid");
	if (strcmp(json_string_value(json_object_get(p, "contract")) ?
	    json_string_value(json_object_get(p, "contract")) : "",
	    sv->name) != 0) {
		*code = RPC_NO_CONTRACT;
		snprintf(msg, msglen, "no such contract");
		return NULL;
	}
	if (strcmp(method, "methods") == 0 || strcmp(method, "info") == 0)
		return json_pack("{s:s,s:s,s:I,s:o}", "name", sv->name, "vkey",
		    ledger_vkey(sv->l), "size", (json_int_t)size, "methods",
		    engine_methods(sv->e));
	if (strcmp(method, "checkpoint") == 0)
		return json_pack("{s:s,s:I}", "note", ledger_checkpoint(sv->l),
		    "size", (json_int_t)size);
	if (strcmp(method, "log") == 0) {
		param_uint(p, "from", 0, 0, &from, ferr, sizeof(ferr));
		param_uint(p, "count", 0, 100, &count, ferr, sizeof(ferr));
		if (sv->log_mode == 1 && from == 0)	/* short page */
			count = 5;
		else if (sv->log_mode == 1)		/* then overlap */
			from -= 2;
		if (sv->log_mode == 2)			/* more than asked */
			count = size;
		if (sv->log_mode == 3 && from == 0)	/* skip entries */
			count = 3;
		a = json_array();
		for (i = from; i < size && i - from < count; i++) {
			if (ledger_read(sv->l, i, &buf, &len, ferr,
			    sizeof(ferr)) != 0)
				die("read");
			b = b64_encode(buf, len);
			if (sv->log_mode == 3 && from > 0 && i == from)
				continue;		/* skip one, indexes honest */
			json_array_append_new(a, json_pack("{s:I,s:s}", "index",
			    (json_int_t)(sv->log_mode == 4 && i == 5 ? 6 : i),
			    "leaf", b));
			free(b);
			free(buf);
		}
		return json_pack("{s:I,s:o}", "size", (json_int_t)size,
		    "entries", a);
	}
	if (strcmp(method, "prove") == 0) {
		param_uint(p, "old", 1, 0, &old, ferr, sizeof(ferr));
		param_uint(p, "size", 1, 0, &count, ferr, sizeof(ferr));
		if (ledger_consistency_proof(sv->l, old, count, proof, &n, ferr,
		    sizeof(ferr)) != 0) {
			*code = RPC_INVALID_PARAMS;
			snprintf(msg, msglen, "%s", ferr);
			return NULL;
		}
		if (sv->bad_proof && n > 0)
			proof[0][0] ^= 1;
		a = json_array();
		for (i = 0; i < n; i++) {
			b = b64_encode(proof[i], MERKLE_HASH_LEN);
			json_array_append_new(a, json_string(b));
			free(b);
		}
		return json_pack("{s:I,s:I,s:o}", "old", (json_int_t)old,
		    "size", (json_int_t)count, "proof", a);
	}
	if (strcmp(method, "state") == 0 && sv->endless_state) {
		/* pages of made-up files that never end (a next every time) */
		json_int_t lim = json_integer_value(json_object_get(p, "limit"));
		json_t *files = json_array();
		char path[64];

		for (i = 0; i < (uint64_t)(lim > 0 ? lim : 1); i++) {
			snprintf(path, sizeof(path), "/~%020llu", sv->nfake++);
			json_array_append_new(files, json_pack("{s:s,s:s,s:i,s:s}",
			    "path", path, "type", "file", "size", 0, "sha256",
			    "0000000000000000000000000000000000000000000000000000000000000000"));
		}
		return json_pack("{s:s,s:o,s:s,s:I}", "root",
		    "0000000000000000000000000000000000000000000000000000000000000000",
		    "files", files, "next", path, "index",
		    (json_int_t)engine_next_index(sv->e));
	}
	if (strcmp(method, "state") == 0 &&
	    (sv->paged_state || sv->moving_state)) {
		/* pages of 3 files; moving: every page after the first at
		 * the next index, as if a call landed while it was read */
		const char *after = json_string_value(json_object_get(p,
		    "after"));

		o = engine_state_page(sv->e, after, 3, 0);
		json_object_set_new(o, "index", json_integer((json_int_t)
		    engine_next_index(sv->e) + (sv->moving_state &&
		    after != NULL)));
		return o;
	}
	if (strcmp(method, "state") == 0) {
		o = engine_state_dump(sv->e);
		if (sv->lie_state) {
			json_t *f = json_array_get(json_object_get(o, "files"),
			    json_array_size(json_object_get(o, "files")) - 1);

			json_object_set_new(f, "sha256", json_string(
			    "0000000000000000000000000000000000000000000000000000000000000000"));
		}
		json_object_set_new(o, "index",
		    json_integer((json_int_t)engine_next_index(sv->e) +
		    sv->state_ahead));
		return o;
	}
	if (strcmp(method, "call") == 0) {
		struct vms_caller who = { "unix:forge", "peercred" };
		struct engine_result res;
		const char *m = json_string_value(json_object_get(p, "method"));
		char *entry;
		size_t elen;
		uint64_t idx;

		if (json_string_value(json_object_get(p, "user")) != NULL) {
			who.id = json_string_value(json_object_get(p, "user"));
			who.auth = "debug";
		}
		memset(&res, 0, sizeof(res));
		if (m == NULL || engine_call(sv->e, m, json_object_get(p,
		    "args"), &who, now_ms(), &entry, &elen, &res, ferr,
		    sizeof(ferr)) != ENGINE_OK) {
			*code = RPC_NO_CONTRACT_METHOD;
			snprintf(msg, msglen, "%s", ferr);
			return NULL;
		}
		if (ledger_append(sv->l, entry, elen, &idx, ferr,
		    sizeof(ferr)) != 0 ||
		    ledger_commit(sv->l, ferr, sizeof(ferr)) != 0)
			die("append");
		free(entry);
		if (!res.ok) {
			*code = RPC_CONTRACT_ERROR;
			snprintf(msg, msglen, "%s", res.error);
			engine_result_clear(&res);
			return NULL;
		}
		o = json_pack("{s:O,s:I}", "value", res.value ? res.value :
		    json_null(), "index", (json_int_t)idx);
		engine_result_clear(&res);
		return o;
	}
	*code = RPC_METHOD_NOT_FOUND;
	snprintf(msg, msglen, "unknown method %s", method);
	return NULL;
}

int
cmd_serve(int argc, char **argv)
{
	struct srv sv;
	struct note_signer *s;
	struct sockaddr_un sun;
	char *origin = origin_of(argv[0]), msg[1024], *line;
	const char *method;
	json_t *req, *params, *id, *r;
	uint8_t *e;
	size_t elen, ll;
	uint64_t i;
	int lfd, fd, k, code;
	ssize_t n;
	struct client {
		int	fd;
		size_t	len;
		char	buf[1 << 16];
	} *cli = xcalloc(NCLI, sizeof(*cli));

	memset(&sv, 0, sizeof(sv));
	for (k = 3; k < argc; k++) {
		if (strcmp(argv[k], "--lie-state") == 0)
			sv.lie_state = 1;
		else if (strcmp(argv[k], "--bad-proof") == 0)
			sv.bad_proof = 1;
		else if (strcmp(argv[k], "--state-ahead") == 0)
			sv.state_ahead = 1;
		else if (strcmp(argv[k], "--endless-state") == 0)
			sv.endless_state = 1;
		else if (strcmp(argv[k], "--paged-state") == 0)
			sv.paged_state = 1;
		else if (strcmp(argv[k], "--moving-state") == 0)
			sv.moving_state = 1;
		else if (strcmp(argv[k], "--list-empty") == 0)
			sv.list_empty = 1;
		else if (strncmp(argv[k], "--log=", 6) == 0)
			sv.log_mode = atoi(argv[k] + 6);
	}
	sv.name = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	if ((s = note_signer_load(argv[1], origin, ferr, sizeof(ferr))) == NULL)
		die(argv[1]);
	if (ledger_open(argv[0], s, &sv.l, NULL, ferr, sizeof(ferr)) != 0)
		die(argv[0]);
	if (ledger_read(sv.l, 0, &e, &elen, ferr, sizeof(ferr)) != 0 ||
	    engine_open(e, elen, &sv.e, ferr, sizeof(ferr)) != 0)
		die("entry 0");
	free(e);
	for (i = 0; i < ledger_committed_size(sv.l); i++) {
		if (ledger_read(sv.l, i, &e, &elen, ferr, sizeof(ferr)) != 0 ||
		    engine_apply(sv.e, e, elen, ferr, sizeof(ferr)) != 0)
			die("apply");
		free(e);
	}
	for (k = 0; k < NCLI; k++)
		cli[k].fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[2]);
	unlink(argv[2]);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 8) != 0)
		diex("serve: cannot listen");
	for (;;) {
		struct pollfd pf[NCLI + 1];
		int np = 0;

		pf[np].fd = lfd;
		pf[np++].events = POLLIN;
		for (k = 0; k < NCLI; k++)
			if (cli[k].fd >= 0) {
				pf[np].fd = cli[k].fd;
				pf[np++].events = POLLIN;
			}
		if (poll(pf, (nfds_t)np, -1) < 0)
			continue;
		if ((pf[0].revents & POLLIN) &&
		    (fd = accept(lfd, NULL, NULL)) >= 0) {
			for (k = 0; k < NCLI && cli[k].fd >= 0; k++)
				;
			if (k == NCLI)
				close(fd);
			else {
				cli[k].fd = fd;
				cli[k].len = 0;
			}
		}
		for (k = 0; k < NCLI; k++) {
			struct client *c = &cli[k];
			int m, ready = 0;
			char *nl;

			for (m = 1; m < np; m++)
				if (pf[m].fd == c->fd && c->fd >= 0 &&
				    pf[m].revents != 0)
					ready = 1;
			if (!ready)
				continue;
			n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (n <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)n;
			while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
				ll = (size_t)(nl - c->buf);
				if (proto_parse_request(c->buf, ll, &req,
				    &method, &params, &id, msg,
				    sizeof(msg)) != 0) {
					close(c->fd);
					c->fd = -1;
					break;
				}
				memmove(c->buf, nl + 1, c->len - ll - 1);
				c->len -= ll + 1;
				r = srv_handle(&sv, method, params, &code, msg,
				    sizeof(msg));
				line = code == 0 ? proto_result(id, r, &ll) :
				    proto_error(id, code, msg, NULL, &ll);
				json_decref(req);
				if (write_all(c->fd, line, ll) != 0) {
					close(c->fd);
					c->fd = -1;
					free(line);
					break;
				}
				free(line);
			}
		}
	}
	return 0;
}
