/*
 * ledger-forge.c — test-only tool that writes and tampers with ledgers, so
 * the audit tests can play a dishonest host. Built by the test scripts
 * (tests/tools/forge.sh) against build/san/libvms.a; never installed.
 *
 *   keygen KEYFILE
 *   build DIR KEYFILE ORIGIN CODE.lua CALLS.jsonl [--commit-every N]
 *         [--commit-at S,S,...]   (one commit per entry, or every N
 *         entries and at each size S and at the end; then DIR/state.snap;
 *         CALLS lines: {"method","args","caller"?}; a line {"repeat":N,
 *         ...} stands for N such calls)
 *   rewrite SRC DST KEYFILE [--set-result I JSON] [--set-time I MS]
 *         [--set=FIELD I JSON]   (set any top-level field of entry I)
 *         [--drop I]   (leave entry I out; the later ones move down)
 *         re-create SRC's entries in DST (re-signed, one commit per entry)
 *   raw DIR (--flip I BIT | --swap I J | --delete I | --truncate N)
 *         edit DIR/entries in place (no re-signing)
 *   badsnap DIR METHOD ARGS-JSON [CALLER]
 *         write DIR/state.snap as if the last entry had been METHOD(ARGS)
 *   resign DIR KEYFILE   re-sign DIR/checkpoint's text with KEYFILE
 *   serve DIR KEYFILE SOCKET [--lie-state] [--bad-proof] [--state-ahead]
 *         [--list-empty] [--log=1..4]
 *         a minimal stand-in for vmsd serving one contract over the
 *         protocol (ping list methods info checkpoint log prove state
 *         call), optionally lying about its state or its proofs, its
 *         state's index (one ahead), its contract list (empty) or its
 *         log pages (1 short then overlapping, 2 too many, 3 skipping,
 *         4 a wrong index)
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "engine.h"
#include "ledger.h"
#include "note.h"
#include "canon.h"
#include "proto.h"
#include "util.h"

static char err[VMS_ERRLEN];

/* An entry, and the commit record (vms-ledger(5)) after it, if any. */
struct rec {
	uint8_t	*buf;
	size_t	 len;
	uint8_t	*note;		/* the whole commit record, or NULL */
	size_t	 nlen;
};

#define REC_NOTE	0x80000000u

static void
die(const char *what)
{
	fprintf(stderr, "ledger-forge: %s: %s\n", what, err);
	exit(1);
}

static void
diex(const char *msg)
{
	fprintf(stderr, "ledger-forge: %s\n", msg);
	exit(1);
}

static size_t
load_entries(const char *dir, struct rec **out)
{
	char *p;
	uint8_t *b;
	size_t len, off = 0, n = 0;
	struct rec *r = NULL;
	uint32_t l;

	xasprintf(&p, "%s/entries", dir);
	if (read_file(p, (size_t)1 << 34, &b, &len, err, sizeof(err)) != 0)
		die(p);
	free(p);
	while (off + 4 <= len) {
		l = (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 |
		    (uint32_t)b[off + 2] << 8 | b[off + 3];
		if ((l & ~REC_NOTE) > len - off - 4)
			break;
		if (l & REC_NOTE) {	/* the commit record of r[n - 1] */
			l &= ~REC_NOTE;
			if (n > 0 && r[n - 1].note == NULL) {
				r[n - 1].note = xmalloc(4 + l);
				memcpy(r[n - 1].note, b + off, 4 + l);
				r[n - 1].nlen = 4 + l;
			}
			off += 4 + l;
			continue;
		}
		r = xrealloc(r, (n + 1) * sizeof(*r));
		r[n].note = NULL;
		r[n].nlen = 0;
		r[n].buf = xmalloc(l + 1);
		memcpy(r[n].buf, b + off + 4, l);
		r[n].buf[l] = '\0';
		r[n].len = l;
		n++;
		off += 4 + l;
	}
	free(b);
	*out = r;
	return n;
}

static void
save_entries(const char *dir, struct rec *r, size_t n)
{
	char *p;
	uint8_t *b = NULL;
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		b = xrealloc(b, len + 4 + r[i].len);
		b[len] = (uint8_t)(r[i].len >> 24);
		b[len + 1] = (uint8_t)(r[i].len >> 16);
		b[len + 2] = (uint8_t)(r[i].len >> 8);
		b[len + 3] = (uint8_t)r[i].len;
		memcpy(b + len + 4, r[i].buf, r[i].len);
		len += 4 + r[i].len;
		if (r[i].note != NULL) {
			b = xrealloc(b, len + r[i].nlen);
			memcpy(b + len, r[i].note, r[i].nlen);
			len += r[i].nlen;
		}
	}
	xasprintf(&p, "%s/entries", dir);
	if (write_file_atomic(p, b ? b : (uint8_t *)"", len, 0644, err,
	    sizeof(err)) != 0)
		die(p);
	free(p);
	free(b);
}

static void
free_entries(struct rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].buf);
		free(r[i].note);
	}
	free(r);
}

static char *
origin_of(const char *dir)
{
	struct ledger *l;
	char *o;

	if (ledger_open(dir, NULL, &l, NULL, err, sizeof(err)) != 0)
		die(dir);
	o = xstrdup(ledger_origin(l));
	ledger_close(l);
	return o;
}

static void
append_commit(struct ledger *l, const void *buf, size_t len)
{
	uint64_t idx;

	if (ledger_append(l, buf, len, &idx, err, sizeof(err)) != 0)
		die("append");
	if (ledger_commit(l, err, sizeof(err)) != 0)
		die("commit");
}

/* Commit after entry count `n` (1-based) under the build's policy. */
static int
commit_due(uint64_t n, uint64_t every, const char *at)
{
	const char *p = at;
	char *end;

	if (every != 0 && n % every == 0)
		return 1;
	if (every == 0 && at == NULL)
		return 1;
	while (p != NULL && *p != '\0') {
		if (strtoull(p, &end, 10) == n)
			return 1;
		p = *end == ',' ? end + 1 : NULL;
	}
	return 0;
}

static void
append_maybe_commit(struct ledger *l, const void *buf, size_t len,
    uint64_t every, const char *at)
{
	uint64_t idx;

	if (ledger_append(l, buf, len, &idx, err, sizeof(err)) != 0)
		die("append");
	if (commit_due(idx + 1, every, at) &&
	    ledger_commit(l, err, sizeof(err)) != 0)
		die("commit");
}

static int
cmd_build(int argc, char **argv)
{
	const char *dir = argv[0], *keyfile = argv[1], *origin = argv[2];
	struct note_signer *s;
	struct ledger *l;
	struct engine *e;
	struct vms_limits lim;
	struct vms_caller deployer = { "unix:root", "peercred" };
	struct engine_result res;
	json_t *c;
	json_error_t je;
	const char *name = strrchr(origin, '/');
	uint8_t *code;
	size_t codelen, i, elen;
	char *entry, *snap;
	uint64_t t = 1700000000000ULL, every = 0, rep;
	const char *at = NULL;
	int k;

	for (k = 5; k + 1 < argc; k += 2) {
		if (strcmp(argv[k], "--commit-every") == 0)
			every = strtoull(argv[k + 1], NULL, 10);
		else if (strcmp(argv[k], "--commit-at") == 0)
			at = argv[k + 1];
		else
			diex("build: unknown option");
	}
	if (k != argc)
		diex("build: an option needs a value");
	name = name ? name + 1 : origin;
	if ((s = note_signer_load(keyfile, origin, err, sizeof(err))) == NULL)
		die(keyfile);
	if (read_file(argv[3], 1 << 24, &code, &codelen, err, sizeof(err)) != 0)
		die(argv[3]);
	limits_default(&lim);
	if (engine_deploy(name, (const char *)code, codelen, &lim, &deployer,
	    t, &e, &entry, &elen, err, sizeof(err)) != ENGINE_OK)
		die("deploy");
	if (ledger_create(dir, origin, s, &l, err, sizeof(err)) != 0)
		die(dir);
	append_maybe_commit(l, entry, elen, every, at);
	free(entry);
	free(code);
	{
		FILE *f = fopen(argv[4], "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		if (f == NULL)
			diex("cannot open the calls file");
		i = 0;
		while ((n = getline(&line, &cap, f)) > 0) {
			struct vms_caller who;
			const char *caller;

			if (line[0] == '\n' || line[0] == '#')
				continue;
			if ((c = json_loads(line, 0, &je)) == NULL) {
				fprintf(stderr, "ledger-forge: calls line %zu: "
				    "%s\n", i + 1, je.text);
				exit(1);
			}
			caller = json_string_value(json_object_get(c,
			    "caller"));
			who.id = caller ? caller : "unix:alice";
			who.auth = "peercred";
			rep = json_is_integer(json_object_get(c, "repeat")) ?
			    (uint64_t)json_integer_value(json_object_get(c,
			    "repeat")) : 1;
			for (; rep > 0; rep--) {
				t += 1000;
				memset(&res, 0, sizeof(res));
				if (engine_call(e, json_string_value(
				    json_object_get(c, "method")),
				    json_object_get(c, "args"), &who, t, &entry,
				    &elen, &res, err, sizeof(err)) != ENGINE_OK)
					die("call");
				append_maybe_commit(l, entry, elen, every, at);
				free(entry);
				engine_result_clear(&res);
			}
			json_decref(c);
			i++;
		}
		free(line);
		fclose(f);
	}
	if (ledger_commit(l, err, sizeof(err)) != 0)
		die("commit");
	xasprintf(&snap, "%s/state.snap", dir);
	if (engine_snapshot_save(e, snap, err, sizeof(err)) != 0)
		die(snap);
	free(snap);
	engine_free(e);
	ledger_close(l);
	note_signer_free(s);
	return 0;
}

static int
cmd_rewrite(int argc, char **argv)
{
	const char *src = argv[0], *dst = argv[1], *keyfile = argv[2];
	struct note_signer *s;
	struct ledger *l;
	struct rec *r;
	char *origin = origin_of(src), *enc;
	size_t n, i, len;
	int k;

	n = load_entries(src, &r);
	for (k = 3; k < argc; k += 3) {
		unsigned long idx;
		json_t *e, *v;

		if (strcmp(argv[k], "--drop") == 0 && k + 1 < argc) {
			idx = strtoul(argv[k + 1], NULL, 10);
			if (idx >= n)
				diex("rewrite: index out of range");
			free(r[idx].buf);
			free(r[idx].note);
			memmove(&r[idx], &r[idx + 1], (n - idx - 1) *
			    sizeof(*r));
			n--;
			k--;	/* one value, not two */
			continue;
		}
		if (k + 2 >= argc)
			diex("rewrite: option needs two values");
		idx = strtoul(argv[k + 1], NULL, 10);
		if (idx >= n)
			diex("rewrite: index out of range");
		if ((e = json_loadb((char *)r[idx].buf, r[idx].len, 0,
		    NULL)) == NULL)
			diex("rewrite: entry is not JSON");
		if ((v = json_loads(argv[k + 2], JSON_DECODE_ANY, NULL)) == NULL)
			diex("rewrite: value is not JSON");
		if (strcmp(argv[k], "--set-result") == 0)
			json_object_set_new(e, "result", v);
		else if (strcmp(argv[k], "--set-time") == 0)
			json_object_set_new(e, "time", v);
		else if (strncmp(argv[k], "--set=", 6) == 0)
			json_object_set_new(e, argv[k] + 6, v);
		else
			diex("rewrite: unknown option");
		enc = json_canonical(e, &len);
		json_decref(e);
		free(r[idx].buf);
		r[idx].buf = (uint8_t *)enc;
		r[idx].len = len;
	}
	if ((s = note_signer_load(keyfile, origin, err, sizeof(err))) == NULL)
		die(keyfile);
	if (ledger_create(dst, origin, s, &l, err, sizeof(err)) != 0)
		die(dst);
	for (i = 0; i < n; i++)
		append_commit(l, r[i].buf, r[i].len);
	ledger_close(l);
	note_signer_free(s);
	free_entries(r, n);
	free(origin);
	return 0;
}

static int
cmd_raw(int argc, char **argv)
{
	struct rec *r, t;
	size_t n, i, a, b;

	n = load_entries(argv[0], &r);
	if (argc < 3)
		diex("raw: missing arguments");
	a = strtoul(argv[2], NULL, 10);
	if (strcmp(argv[1], "--truncate") == 0) {
		for (i = a; i < n; i++) {
			free(r[i].buf);
			free(r[i].note);
		}
		if (a < n)
			n = a;
	} else if (a >= n)
		diex("raw: index out of range");
	else if (strcmp(argv[1], "--flip") == 0 && argc == 4) {
		b = strtoul(argv[3], NULL, 10);
		if (b / 8 >= r[a].len)
			diex("raw: bit out of range");
		r[a].buf[b / 8] ^= (uint8_t)(1u << (b % 8));
	} else if (strcmp(argv[1], "--swap") == 0 && argc == 4) {
		b = strtoul(argv[3], NULL, 10);
		if (b >= n)
			diex("raw: index out of range");
		t = r[a];	/* the entries move, commit records stay */
		r[a].buf = r[b].buf;
		r[a].len = r[b].len;
		r[b].buf = t.buf;
		r[b].len = t.len;
	} else if (strcmp(argv[1], "--delete") == 0) {
		free(r[a].buf);
		if (a > 0 && r[a - 1].note == NULL) {
			r[a - 1].note = r[a].note;
			r[a - 1].nlen = r[a].nlen;
		} else
			free(r[a].note);
		memmove(r + a, r + a + 1, (n - a - 1) * sizeof(*r));
		n--;
	} else
		diex("raw: unknown operation");
	save_entries(argv[0], r, n);
	free_entries(r, n);
	return 0;
}

static int
cmd_badsnap(int argc, char **argv)
{
	struct vms_caller who = { argc > 3 ? argv[3] : "unix:mallory",
	    "peercred" };
	struct engine_result res;
	struct engine *e;
	struct rec *r;
	json_t *args;
	char *entry, *snap;
	size_t n, i, elen;

	n = load_entries(argv[0], &r);
	if (n < 2)
		diex("badsnap: need at least two entries");
	if (engine_open(r[0].buf, r[0].len, &e, err, sizeof(err)) != 0)
		die("engine_open");
	for (i = 0; i + 1 < n; i++)
		if (engine_apply(e, r[i].buf, r[i].len, err, sizeof(err)) != 0)
			die("apply");
	if ((args = json_loads(argv[2], 0, NULL)) == NULL)
		diex("badsnap: args are not JSON");
	memset(&res, 0, sizeof(res));
	if (engine_call(e, argv[1], args, &who, 1, &entry, &elen, &res, err,
	    sizeof(err)) != ENGINE_OK)
		die("call");
	free(entry);
	engine_result_clear(&res);
	json_decref(args);
	xasprintf(&snap, "%s/state.snap", argv[0]);
	if (engine_snapshot_save(e, snap, err, sizeof(err)) != 0)
		die(snap);
	free(snap);
	engine_free(e);
	free_entries(r, n);
	return 0;
}

static int
cmd_resign(char **argv)
{
	struct note_signer *s;
	struct checkpoint cp;
	uint8_t *buf;
	size_t len, tl;
	char *p, *note, *sep;

	xasprintf(&p, "%s/checkpoint", argv[0]);
	if (read_file(p, NOTE_MAX_LEN, &buf, &len, err, sizeof(err)) != 0)
		die(p);
	if ((sep = strstr((char *)buf, "\n\n")) == NULL)
		diex("resign: not a note");
	tl = (size_t)(sep - (char *)buf) + 1;
	if (checkpoint_parse((char *)buf, tl, &cp, err, sizeof(err)) != 0)
		die("checkpoint");
	if ((s = note_signer_load(argv[1], cp.origin, err, sizeof(err))) == NULL)
		die(argv[1]);
	if ((note = note_sign(s, (char *)buf, tl, err, sizeof(err))) == NULL)
		die("sign");
	if (write_file_atomic(p, note, strlen(note), 0644, err,
	    sizeof(err)) != 0)
		die(p);
	free(note);
	free(buf);
	free(p);
	note_signer_free(s);
	return 0;
}

#define NCLI	16

struct srv {
	struct ledger	*l;
	struct engine	*e;
	const char	*name;
	int		 lie_state, bad_proof, state_ahead, list_empty, log_mode;
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
		param_uint(p, "from", 0, 0, &from, err, sizeof(err));
		param_uint(p, "count", 0, 100, &count, err, sizeof(err));
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
			if (ledger_read(sv->l, i, &buf, &len, err,
			    sizeof(err)) != 0)
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
		param_uint(p, "old", 1, 0, &old, err, sizeof(err));
		param_uint(p, "size", 1, 0, &count, err, sizeof(err));
		if (ledger_consistency_proof(sv->l, old, count, proof, &n, err,
		    sizeof(err)) != 0) {
			*code = RPC_INVALID_PARAMS;
			snprintf(msg, msglen, "%s", err);
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
		    "args"), &who, now_ms(), &entry, &elen, &res, err,
		    sizeof(err)) != ENGINE_OK) {
			*code = RPC_NO_CONTRACT_METHOD;
			snprintf(msg, msglen, "%s", err);
			return NULL;
		}
		if (ledger_append(sv->l, entry, elen, &idx, err,
		    sizeof(err)) != 0 ||
		    ledger_commit(sv->l, err, sizeof(err)) != 0)
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

static int
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
		else if (strcmp(argv[k], "--list-empty") == 0)
			sv.list_empty = 1;
		else if (strncmp(argv[k], "--log=", 6) == 0)
			sv.log_mode = atoi(argv[k] + 6);
	}
	sv.name = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	if ((s = note_signer_load(argv[1], origin, err, sizeof(err))) == NULL)
		die(argv[1]);
	if (ledger_open(argv[0], s, &sv.l, NULL, err, sizeof(err)) != 0)
		die(argv[0]);
	if (ledger_read(sv.l, 0, &e, &elen, err, sizeof(err)) != 0 ||
	    engine_open(e, elen, &sv.e, err, sizeof(err)) != 0)
		die("entry 0");
	free(e);
	for (i = 0; i < ledger_committed_size(sv.l); i++) {
		if (ledger_read(sv.l, i, &e, &elen, err, sizeof(err)) != 0 ||
		    engine_apply(sv.e, e, elen, err, sizeof(err)) != 0)
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

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n", argv[0]);
		return 1;
	}
	if (argc >= 3 && strcmp(argv[1], "keygen") == 0) {
		if (note_keyfile_create(argv[2], err, sizeof(err)) != 0)
			die(argv[2]);
		return 0;
	}
	if (argc >= 7 && strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "rewrite") == 0)
		return cmd_rewrite(argc - 2, argv + 2);
	if (argc >= 4 && strcmp(argv[1], "raw") == 0)
		return cmd_raw(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "badsnap") == 0)
		return cmd_badsnap(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "resign") == 0)
		return cmd_resign(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	fprintf(stderr, "usage: ledger-forge keygen|build|rewrite|raw|badsnap|"
	    "resign|serve ... (see the comment at the top of ledger-forge.c)\n");
	return 2;
}
