/*
 * worker.c — one contract's worker process (vmsd --worker NAME ...), exec'd
 * by the supervisor so it has a clean address space. It owns the contract's
 * ledger, signing key, engine and snapshot, and executes the requests it
 * reads from its socketpair strictly in order.
 *
 * Group commit: it drains every request already waiting (up to batch_max),
 * executes them, appends each entry, makes them durable with ONE
 * ledger_commit (fsync + one signed checkpoint) and only then writes the
 * replies. A reply is never written for an entry that is not durable: if
 * appending or committing fails the worker exits without replying, and the
 * supervisor answers "not executed or not acknowledged".
 *
 * With --deploy it instead creates a new contract (key, ledger, entry 0,
 * snapshot) in the directory it was given, answers, and exits.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "vmsd.h"

struct worker {
	const char	*name;
	const char	*dir;
	const char	*keypath;
	char		*snap_path;
	int		 fd;
	int		 lock_fd;	/* flock on the key file */
	uint64_t	 snapshot_interval;
	unsigned	 batch_max;

	struct note_signer *signer;
	struct ledger	*ledger;
	struct engine	*engine;
	uint64_t	 snap_index;	/* engine_next_index at last snapshot */

	char		*in;		/* unparsed input */
	size_t		 inlen, incap;
	int		 eof;
	char		*out;		/* replies held until the commit */
	size_t		 outlen, outcap;
	int		 dirty;		/* appended, not yet committed */
	int		 must_exit;	/* restart after this batch */
};

static void
out_add(struct worker *w, const char *s, size_t len)
{
	if (w->outlen + len > w->outcap) {
		w->outcap = (w->outlen + len) * 2;
		w->out = xrealloc(w->out, w->outcap);
	}
	memcpy(w->out + w->outlen, s, len);
	w->outlen += len;
}

static void
out_json(struct worker *w, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(17));

	json_decref(msg);
	if (s == NULL)
		fatalx("cannot encode a reply");
	out_add(w, s, strlen(s));
	out_add(w, "\n", 1);
	free(s);
}

static uint64_t
committed(struct worker *w)
{
	return w->ledger ? ledger_committed_size(w->ledger) : 0;
}

static void
reply_result(struct worker *w, json_t *id, json_t *result)
{
	/* The size the client will see once this batch is committed. */
	out_json(w, json_pack("{s:O,s:I,s:o}", "id", id, "size",
	    (json_int_t)(w->ledger ? ledger_size(w->ledger) : 0), "result",
	    result ? result : json_null()));
}

static void
reply_error(struct worker *w, json_t *id, int code, json_t *data,
    const char *msg)
{
	json_t *e = json_pack("{s:i,s:s?}", "code", code, "message", msg);

	if (json_object_get(e, "message") == NULL)
		json_object_set_new(e, "message",
		    json_string("(error message is not valid UTF-8)"));
	if (data)
		json_object_set_new(e, "data", data);
	out_json(w, json_pack("{s:O,s:I,s:o}", "id", id, "size",
	    (json_int_t)(w->ledger ? ledger_size(w->ledger) : 0), "error", e));
}

static void
send_out(struct worker *w)
{
	if (w->outlen == 0)
		return;
	if (write_all(w->fd, w->out, w->outlen) != 0)
		fatal("worker %s: write to vmsd", w->name);
	w->outlen = 0;
}

static void
save_snapshot(struct worker *w)
{
	char err[VMS_ERRLEN];

	if (w->engine == NULL ||
	    engine_next_index(w->engine) == w->snap_index)
		return;
	if (engine_snapshot_save(w->engine, w->snap_path, err,
	    sizeof(err)) != 0) {
		log_warnx("snapshot not saved: %s", err);
		return;
	}
	w->snap_index = engine_next_index(w->engine);
	log_debug("snapshot saved at entry %llu",
	    (unsigned long long)w->snap_index);
}

/* Make the batch durable, then acknowledge it. */
static void
flush_batch(struct worker *w)
{
	char err[VMS_ERRLEN];

	if (w->dirty) {
		if (ledger_commit(w->ledger, err, sizeof(err)) != 0)
			fatalx("commit failed, batch not acknowledged: %s",
			    err);
		w->dirty = 0;
		if (engine_next_index(w->engine) - w->snap_index >=
		    w->snapshot_interval)
			save_snapshot(w);
	}
	send_out(w);
}

static int
entry_source(void *ctx, uint64_t index, uint8_t **buf, size_t *len)
{
	struct worker *w = ctx;
	char err[VMS_ERRLEN];

	if (ledger_read(w->ledger, index, buf, len, err, sizeof(err)) != 0) {
		log_warnx("history: %s", err);
		return -1;
	}
	return 0;
}

static void
contract_log(void *ctx, const char *msg)
{
	log_info("System.log: %s", msg);
}

static void
do_call(struct worker *w, json_t *id, json_t *params,
    const struct vms_caller *caller)
{
	const char *method = json_string_value(json_object_get(params,
	    "method"));
	json_t *args = json_object_get(params, "args");
	struct engine_result res;
	enum engine_status st;
	char err[VMS_ERRLEN], *entry = NULL;
	size_t len = 0;
	uint64_t index;

	if (method == NULL || !json_is_array(args)) {
		reply_error(w, id, RPC_INVALID_PARAMS, NULL,
		    "parameters \"method\" (string) and \"args\" (array) "
		    "are required");
		return;
	}
	memset(&res, 0, sizeof(res));
	st = engine_call(w->engine, method, args, caller, now_ms(), &entry,
	    &len, &res, err, sizeof(err));
	if (st == ENGINE_REFUSED) {
		reply_error(w, id, RPC_NO_CONTRACT_METHOD, NULL, err);
		engine_result_clear(&res);
		return;
	}
	if (st != ENGINE_OK) {
		log_warnx("call %s failed inside the engine: %s", method, err);
		reply_error(w, id, RPC_INTERNAL_ERROR, NULL, err);
		engine_result_clear(&res);
		free(entry);
		w->must_exit = 1;
		return;
	}
	if (ledger_append(w->ledger, entry, len, &index, err,
	    sizeof(err)) != 0)
		fatalx("append failed, batch not acknowledged: %s", err);
	free(entry);
	w->dirty = 1;
	if (res.ok) {
		reply_result(w, id, json_pack("{s:O,s:I}", "value",
		    res.value ? res.value : json_null(), "index",
		    (json_int_t)index));
	} else {
		reply_error(w, id, RPC_CONTRACT_ERROR, json_pack("{s:I}",
		    "index", (json_int_t)index), res.error ? res.error :
		    "error");
	}
	engine_result_clear(&res);
}

/* ls entries name files relative to the directory; add the full path. */
static void
add_paths(json_t *entries, const char *dir)
{
	size_t i, dl = strlen(dir);
	const char *name;
	json_t *e;
	char *full;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	json_array_foreach(entries, i, e) {
		name = json_string_value(json_object_get(e, "name"));
		if (name == NULL || json_object_get(e, "path") != NULL)
			continue;
		xasprintf(&full, "%.*s/%s", dl == 1 ? 0 : (int)dl, dir, name);
		json_object_set_new(e, "path", json_string(full));
		free(full);
	}
}

static void
do_files(struct worker *w, const char *method, json_t *id, json_t *params)
{
	const char *path;
	char err[VMS_ERRLEN], *b;
	uint8_t *data;
	size_t len;
	json_t *r;
	int rec = 0;

	if (strcmp(method, M_READ) == 0) {
		path = json_string_value(json_object_get(params, "path"));
		if (path == NULL) {
			reply_error(w, id, RPC_INVALID_PARAMS, NULL,
			    "missing parameter \"path\"");
			return;
		}
		if (engine_read(w->engine, path, &data, &len, err,
		    sizeof(err)) != 0) {
			reply_error(w, id, RPC_NOT_FOUND, NULL, err);
			return;
		}
		b = b64_encode(data, len);
		reply_result(w, id, json_pack("{s:s,s:s,s:I}", "path", path,
		    "data", b, "size", (json_int_t)len));
		free(b);
		free(data);
	} else if (strcmp(method, M_LS) == 0) {
		path = json_string_value(json_object_get(params, "path"));
		rec = json_is_true(json_object_get(params, "recursive"));
		r = engine_ls(w->engine, path ? path : "/", rec, err,
		    sizeof(err));
		if (r == NULL) {
			reply_error(w, id, RPC_NOT_FOUND, NULL, err);
			return;
		}
		if (json_is_array(r))
			add_paths(r, path ? path : "/");
		if (!json_is_object(r))
			r = json_pack("{s:o}", "entries", r);
		reply_result(w, id, r);
	} else {
		r = engine_state_dump(w->engine);
		if (r == NULL) {
			reply_error(w, id, RPC_INTERNAL_ERROR, NULL,
			    "cannot dump the state");
			return;
		}
		json_object_set_new(r, "index",
		    json_integer((json_int_t)engine_next_index(w->engine)));
		reply_result(w, id, r);
	}
}

static void
handle(struct worker *w, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg, *id, *params, *r;
	const char *method;
	struct vms_caller caller;
	char err[VMS_ERRLEN];
	int code;

	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL)
		fatalx("bad message from vmsd: %s", jerr.text);
	id = json_object_get(msg, "id");
	method = json_string_value(json_object_get(msg, "method"));
	params = json_object_get(msg, "params");
	if (id == NULL || method == NULL || !json_is_object(params))
		fatalx("bad message from vmsd: no id, method or params");
	caller.id = json_string_value(json_object_get(msg, "caller"));
	caller.auth = json_string_value(json_object_get(msg, "auth"));
	if (caller.auth == NULL)
		caller.auth = caller.id ? "peercred" : "anonymous";

	if (strcmp(method, M_CALL) == 0) {
		do_call(w, id, params, &caller);
		json_decref(msg);
		return;
	}
	/* Reads see only what is committed: finish the batch first. */
	flush_batch(w);
	if (ledgerq_handles(method)) {
		code = ledgerq(w->ledger, w->name, method, params, &r, err,
		    sizeof(err));
		if (code != 0)
			reply_error(w, id, code, NULL, err);
		else
			reply_result(w, id, r);
	} else if (strcmp(method, M_READ) == 0 || strcmp(method, M_LS) == 0 ||
	    strcmp(method, M_STATE) == 0)
		do_files(w, method, id, params);
	else
		reply_error(w, id, RPC_METHOD_NOT_FOUND, NULL,
		    "method not found");
	json_decref(msg);
}

/* Read what is available; block only if asked. 0 on EOF or nothing. */
static int
read_more(struct worker *w, int block)
{
	ssize_t n;

	for (;;) {
		if (w->incap - w->inlen < 65536) {
			w->incap = w->incap ? w->incap * 2 : 131072;
			w->in = xrealloc(w->in, w->incap);
		}
		n = recv(w->fd, w->in + w->inlen, w->incap - w->inlen,
		    block ? 0 : MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			fatal("worker %s: read from vmsd", w->name);
		}
		if (n == 0) {
			w->eof = 1;
			return 0;
		}
		w->inlen += (size_t)n;
		return 1;
	}
}

static int
has_line(const struct worker *w)
{
	return w->inlen > 0 && memchr(w->in, '\n', w->inlen) != NULL;
}

/* Run up to batch_max complete lines; returns how many. */
static unsigned
run_lines(struct worker *w)
{
	char *nl, *p = w->in;
	size_t left = w->inlen;
	unsigned n = 0;

	while (n < w->batch_max && left > 0 &&
	    (nl = memchr(p, '\n', left)) != NULL) {
		handle(w, p, (size_t)(nl - p));
		left -= (size_t)(nl - p) + 1;
		p = nl + 1;
		n++;
	}
	if (left > 0)
		memmove(w->in, p, left);
	w->inlen = left;
	return n;
}

static void
serve(struct worker *w)
{
	for (;;) {
		while (!has_line(w) && !w->eof)
			read_more(w, 1);
		if (!has_line(w))
			break;		/* EOF: vmsd asked us to stop */
		/* Group commit: take everything that is already waiting. */
		while (!w->eof && read_more(w, 0))
			;
		run_lines(w);
		flush_batch(w);
		if (w->must_exit) {
			log_warnx("restarting after an engine failure");
			break;
		}
	}
}

static int
entry_state(struct worker *w, uint64_t index, merkle_hash root, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *e;
	uint8_t *buf;
	size_t len;
	const char *hex;
	int rc = -1;

	if (ledger_read(w->ledger, index, &buf, &len, err, errlen) != 0)
		return -1;
	if ((e = json_loadb((const char *)buf, len, 0, &jerr)) == NULL) {
		seterr(err, errlen, "entry %llu: %s", (unsigned long long)index,
		    jerr.text);
		free(buf);
		return -1;
	}
	hex = json_string_value(json_object_get(e, "state"));
	if (hex == NULL || hex_decode(hex, root, MERKLE_HASH_LEN) != 0)
		seterr(err, errlen, "entry %llu has no state root",
		    (unsigned long long)index);
	else
		rc = 0;
	json_decref(e);
	free(buf);
	return rc;
}

/* Entry 0 only: a fresh engine, nothing applied. */
static void
engine_fresh(struct worker *w)
{
	char err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;

	if (w->engine)
		engine_free(w->engine);
	w->engine = NULL;
	if (ledger_read(w->ledger, 0, &buf, &len, err, sizeof(err)) != 0)
		fatalx("cannot read the deploy entry: %s", err);
	if (engine_open(buf, len, &w->engine, err, sizeof(err)) != 0)
		fatalx("cannot load the contract: %s", err);
	free(buf);
	engine_set_entry_source(w->engine, entry_source, w);
	engine_set_log(w->engine, contract_log, w);
}

/* Snapshot, checked against the ledger, else rebuild from entry 0. */
static void
load_state(struct worker *w)
{
	char err[VMS_ERRLEN];
	merkle_hash want, have;
	uint64_t size = ledger_committed_size(w->ledger), i, next, start;
	uint8_t *buf;
	size_t len;
	struct stat st;

	engine_fresh(w);
	if (stat(w->snap_path, &st) == 0) {
		if (engine_snapshot_load(w->engine, w->snap_path, err,
		    sizeof(err)) != 0)
			log_warnx("snapshot unusable, rebuilding from the "
			    "ledger: %s", err);
		else if ((next = engine_next_index(w->engine)) == 0 ||
		    next > size)
			log_warnx("snapshot is at entry %llu but the ledger "
			    "has %llu: rebuilding from the ledger",
			    (unsigned long long)next,
			    (unsigned long long)size);
		else if (entry_state(w, next - 1, want, err,
		    sizeof(err)) != 0)
			log_warnx("snapshot not checked (%s): rebuilding",
			    err);
		else {
			engine_state_root(w->engine, have);
			if (memcmp(want, have, MERKLE_HASH_LEN) == 0) {
				w->snap_index = next;
				goto roll;
			}
			log_warnx("snapshot state root differs from ledger "
			    "entry %llu: rebuilding from the ledger",
			    (unsigned long long)(next - 1));
		}
		engine_fresh(w);
	} else if (errno != ENOENT)
		log_warn("%s", w->snap_path);
	else if (size > 1)
		log_info("no snapshot: rebuilding from the ledger");
roll:
	start = engine_next_index(w->engine);
	for (i = start; i < size; i++) {
		if (ledger_read(w->ledger, i, &buf, &len, err,
		    sizeof(err)) != 0)
			fatalx("roll forward: %s", err);
		if (engine_apply(w->engine, buf, len, err, sizeof(err)) != 0)
			fatalx("roll forward at entry %llu: %s",
			    (unsigned long long)i, err);
		free(buf);
	}
	if (size > start) {
		log_info("state rolled forward over entries %llu..%llu",
		    (unsigned long long)start, (unsigned long long)size - 1);
		save_snapshot(w);
	}
}

/* Load the key named by the ledger's vkey, and check it is that key. */
static void
load_signer(struct worker *w)
{
	char err[VMS_ERRLEN], *path, *line;
	uint8_t *buf;
	size_t len;
	struct note_verifier v;

	xasprintf(&path, "%s/vkey", w->dir);
	if (read_file(path, 4096, &buf, &len, err, sizeof(err)) != 0)
		fatalx("%s", err);
	free(path);
	line = (char *)buf;
	line[strcspn(line, "\r\n")] = '\0';
	if (note_vkey_parse(line, &v, err, sizeof(err)) != 0)
		fatalx("vkey: %s", err);
	free(buf);
	if ((w->signer = note_signer_load(w->keypath, v.name, err,
	    sizeof(err))) == NULL)
		fatalx("signing key: %s", err);
	if (memcmp(w->signer->pk, v.pk, sizeof(v.pk)) != 0 ||
	    memcmp(w->signer->keyid, v.keyid, sizeof(v.keyid)) != 0)
		fatalx("signing key %s does not match the ledger's vkey",
		    w->keypath);
}

/*
 * One writer per ledger: hold an exclusive lock on the contract's key file
 * for the worker's lifetime. A worker left over from a daemon that was
 * killed finishes its batch and exits on EOF; its successor waits for it.
 */
static void
lock_contract(struct worker *w)
{
	int fd;

	if ((fd = open(w->keypath, O_RDONLY | O_CLOEXEC)) < 0)
		fatal("%s", w->keypath);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			fatal("lock %s", w->keypath);
		log_warnx("another worker still holds %s: waiting",
		    w->keypath);
		while (flock(fd, LOCK_EX) != 0)
			if (errno != EINTR)
				fatal("lock %s", w->keypath);
	}
	w->lock_fd = fd;
}

static void
open_contract(struct worker *w)
{
	struct ledger_recovery rec;
	char err[VMS_ERRLEN];
	json_t *m;

	lock_contract(w);
	load_signer(w);
	memset(&rec, 0, sizeof(rec));
	if (ledger_open(w->dir, w->signer, &w->ledger, &rec, err,
	    sizeof(err)) != 0)
		fatalx("ledger: %s", err);
	if (rec.dropped_entries || rec.dropped_bytes)
		log_warnx("ledger had a torn tail: dropped %llu uncommitted "
		    "entries (%llu bytes) past the checkpoint",
		    (unsigned long long)rec.dropped_entries,
		    (unsigned long long)rec.dropped_bytes);
	if (ledger_committed_size(w->ledger) == 0)
		fatalx("ledger is empty: no deploy entry");
	load_state(w);
	m = engine_methods(w->engine);
	out_json(w, json_pack("{s:b,s:I,s:s,s:s,s:o}", "ready", 1, "size",
	    (json_int_t)committed(w), "vkey", ledger_vkey(w->ledger),
	    "origin", ledger_origin(w->ledger), "methods",
	    m ? m : json_array()));
	send_out(w);
	log_info("ready: %llu entries", (unsigned long long)committed(w));
}

/* Deploy mode: build the contract in w->dir, answer, exit. */
static int
deploy(struct worker *w)
{
	json_error_t jerr;
	json_t *msg, *id, *params, *methods;
	const char *name, *code, *origin;
	struct vms_caller caller;
	struct vms_limits lim;
	enum engine_status st;
	char err[VMS_ERRLEN], *entry = NULL;
	size_t elen = 0;
	uint64_t index;
	int code_rpc = RPC_INTERNAL_ERROR;

	while (!has_line(w) && !w->eof)
		read_more(w, 1);
	if (!has_line(w))
		fatalx("deploy: no request");
	if ((msg = json_loadb(w->in, (size_t)((char *)memchr(w->in, '\n',
	    w->inlen) - w->in), 0, &jerr)) == NULL)
		fatalx("deploy: bad request: %s", jerr.text);
	id = json_object_get(msg, "id");
	params = json_object_get(msg, "params");
	name = json_string_value(json_object_get(params, "name"));
	code = json_string_value(json_object_get(params, "code"));
	origin = json_string_value(json_object_get(params, "origin"));
	caller.id = json_string_value(json_object_get(msg, "caller"));
	caller.auth = json_string_value(json_object_get(msg, "auth"));
	if (caller.auth == NULL)
		caller.auth = "anonymous";
	if (id == NULL || name == NULL || code == NULL || origin == NULL)
		fatalx("deploy: incomplete request");

	limits_default(&lim);
	if (limits_from_json(&lim, json_object_get(params, "limits"), err,
	    sizeof(err)) != 0) {
		code_rpc = RPC_INVALID_PARAMS;
		goto fail;
	}
	if (note_keyfile_create(w->keypath, err, sizeof(err)) != 0)
		goto fail;
	if ((w->signer = note_signer_load(w->keypath, origin, err,
	    sizeof(err))) == NULL)
		goto fail;
	st = engine_deploy(name, code, strlen(code), &lim, &caller, now_ms(),
	    &w->engine, &entry, &elen, err, sizeof(err));
	if (st == ENGINE_REFUSED) {
		code_rpc = RPC_CONTRACT_ERROR;
		goto fail;
	}
	if (st != ENGINE_OK)
		goto fail;
	if (ledger_create(w->dir, origin, w->signer, &w->ledger, err,
	    sizeof(err)) != 0)
		goto fail;
	if (ledger_append(w->ledger, entry, elen, &index, err,
	    sizeof(err)) != 0 || ledger_commit(w->ledger, err,
	    sizeof(err)) != 0)
		goto fail;
	free(entry);
	entry = NULL;
	save_snapshot(w);
	methods = engine_methods(w->engine);
	reply_result(w, id, json_pack("{s:s,s:s,s:s,s:I,s:o}", "name", name,
	    "vkey", ledger_vkey(w->ledger), "origin", origin, "size",
	    (json_int_t)ledger_committed_size(w->ledger), "methods",
	    methods ? methods : json_array()));
	send_out(w);
	json_decref(msg);
	log_info("deployed: %s", ledger_vkey(w->ledger));
	return 0;

fail:
	free(entry);
	if (w->ledger) {
		ledger_close(w->ledger);
		w->ledger = NULL;
	}
	if (rm_rf(w->dir) != 0)
		log_warn("cleanup %s", w->dir);
	if (unlink(w->keypath) != 0 && errno != ENOENT)
		log_warn("cleanup %s", w->keypath);
	log_info("deploy refused: %s", err);
	reply_error(w, id, code_rpc, NULL, err);
	send_out(w);
	json_decref(msg);
	return 0;
}

static void
worker_usage(void)
{
	fatalx("usage: vmsd --worker NAME --fd N --dir DIR --key FILE "
	    "[--deploy] [--snapshot-interval N] [--batch-max N] [--syslog] "
	    "[-v] (internal: started by vmsd)");
}

int
worker_main(int argc, char **argv)
{
	struct worker w;
	char prefix[128];
	int i, deploy_mode = 0, syslog_mode = 0, verbose = 0;
	struct sigaction sa;

	memset(&w, 0, sizeof(w));
	w.fd = -1;
	w.lock_fd = -1;
	w.snapshot_interval = 10000;
	w.batch_max = 256;
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
		else if (strcmp(a, "--fd") == 0)
			w.fd = atoi(v), i++;
		else if (strcmp(a, "--dir") == 0)
			w.dir = v, i++;
		else if (strcmp(a, "--key") == 0)
			w.keypath = v, i++;
		else if (strcmp(a, "--snapshot-interval") == 0)
			w.snapshot_interval = strtoull(v, NULL, 10), i++;
		else if (strcmp(a, "--batch-max") == 0)
			w.batch_max = (unsigned)atoi(v), i++;
		else
			worker_usage();
	}
	if (w.name == NULL || w.fd < 0 || w.dir == NULL || w.keypath == NULL)
		worker_usage();
	if (w.snapshot_interval == 0)
		w.snapshot_interval = 1;
	if (w.batch_max == 0)
		w.batch_max = 1;

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
	if (deploy_mode)
		deploy(&w);
	else {
		open_contract(&w);
		serve(&w);
		flush_batch(&w);
		save_snapshot(&w);
		log_debug("stopped at %llu entries",
		    (unsigned long long)committed(&w));
	}
	if (w.engine)
		engine_free(w.engine);
	if (w.ledger)
		ledger_close(w.ledger);
	if (w.signer)
		note_signer_free(w.signer);
	free(w.snap_path);
	free(w.in);
	free(w.out);
	close(w.fd);
	if (w.lock_fd >= 0)
		close(w.lock_fd);
	return w.must_exit ? 3 : 0;
}
