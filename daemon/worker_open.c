/*
 * worker_open.c — bring a worker's contract up: lock the contract (one
 * writer per ledger), load and check the signing key, open the ledger
 * (recovering a torn tail), load the snapshot checked against the ledger or
 * rebuild the state from entry 0, and say ready. With --deploy,
 * create a new contract instead (key, ledger, entry 0, snapshot).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "ledger.h"
#include "log.h"
#include "note.h"
#include "proto.h"
#include "util.h"
#include "worker.h"

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

/* The state root and time recorded in an entry. */
static int
entry_state(struct worker *w, uint64_t index, merkle_hash root,
    uint64_t *time_ms, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *e, *t;
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
	t = json_object_get(e, "time");
	if (hex == NULL || hex_decode(hex, root, MERKLE_HASH_LEN) != 0)
		seterr(err, errlen, "entry %llu has no state root",
		    (unsigned long long)index);
	else if (!json_is_integer(t) || json_integer_value(t) < 0)
		seterr(err, errlen, "entry %llu has no time",
		    (unsigned long long)index);
	else {
		*time_ms = (uint64_t)json_integer_value(t);
		rc = 0;
	}
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
	engine_set_origin(w->engine, ledger_origin(w->ledger));
	engine_set_oracle(w->engine, worker_oracle_run, w);
}

struct roll {
	struct worker	*w;
	uint64_t	 last;
	char		 err[VMS_ERRLEN];
	int		 failed;
};

static int
roll_one(void *arg, uint64_t index, const uint8_t *entry, size_t len,
    const merkle_hash leaf)
{
	struct roll *r = arg;

	if (engine_skip(r->w->engine, entry, len, leaf, index == r->last,
	    r->err, sizeof(r->err)) == 0)
		return 0;
	r->failed = 1;
	return 1;
}

/*
 * Entries start..size-1 by their recorded writes (engine_skip): the root
 * only at the last entry, checked against the one it records (and its
 * time taken). The ledger is this host's own, each entry checked when it
 * was executed; its leaf hashes are checked as it is read. 0, or -1 (err)
 * with the state part-way: the caller then starts again entry by entry.
 */
static int
roll_fast(struct worker *w, uint64_t start, uint64_t size, char *err,
    size_t errlen)
{
	struct roll r;

	memset(&r, 0, sizeof(r));
	r.w = w;
	r.last = size - 1;
	if (ledger_read_each(w->ledger, start, size, roll_one, &r, err,
	    errlen) != 0)
		return -1;
	if (r.failed) {
		seterr(err, errlen, "%s", r.err);
		return -1;
	}
	return 0;
}

/* Entries start..size-1 one by one, each one's root checked: names the
 * entry whose writes do not lead to the state it records. */
static void
roll_exact(struct worker *w, uint64_t start, uint64_t size)
{
	char err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	uint64_t i;

	for (i = start; i < size; i++) {
		if (ledger_read(w->ledger, i, &buf, &len, err,
		    sizeof(err)) != 0)
			fatalx("roll forward: %s", err);
		if (engine_apply(w->engine, buf, len, err, sizeof(err)) != 0)
			fatalx("roll forward at entry %llu: %s",
			    (unsigned long long)i, err);
		free(buf);
	}
}

/* Snapshot, checked against the ledger, else rebuild from entry 0; then
 * the entries after it, fast or (exact) one by one. 0, or -1 when the
 * fast roll forward failed (the state is part-way). */
static int
load_state(struct worker *w, int quiet, int exact)
{
	char err[VMS_ERRLEN];
	merkle_hash want, have;
	uint64_t size = ledger_committed_size(w->ledger), next, start, tm;
	struct stat st;

	engine_fresh(w);
	if (stat(w->snap_path, &st) == 0) {
		if (engine_snapshot_load(w->engine, w->snap_path, err,
		    sizeof(err)) != 0)
			log_warnx("snapshot unusable, rebuilding from the "
			    "ledger: %s", err);
		else if ((next = engine_next_index(w->engine)) > size) {
			/* The snapshot is only ever of durable entries. */
			snprintf(err, sizeof(err), "%s is at entry %llu but the "
			    "ledger holds only %llu committed entries: the "
			    "storage lost entries it had synced, or the ledger "
			    "was restored from an older copy", w->snap_path,
			    (unsigned long long)next - 1,
			    (unsigned long long)size);
			worker_refuse(w, err);
		} else if (next == 0)
			log_warnx("snapshot is at no entry: rebuilding from "
			    "the ledger");
		else if (entry_state(w, next - 1, want, &tm, err,
		    sizeof(err)) != 0)
			log_warnx("snapshot not checked (%s): rebuilding",
			    err);
		else {
			engine_state_root(w->engine, have);
			if (memcmp(want, have, MERKLE_HASH_LEN) == 0) {
				w->snap_index = w->snap_try = next;
				engine_set_last_time(w->engine, tm);
				goto roll;
			}
			log_warnx("snapshot state root differs from ledger "
			    "entry %llu: rebuilding from the ledger",
			    (unsigned long long)(next - 1));
		}
		engine_fresh(w);
	} else if (errno != ENOENT)
		log_warn("%s", w->snap_path);
	else if (size > 1 && !exact)
		log_info("no snapshot: rebuilding from the ledger");
roll:
	start = engine_next_index(w->engine);
	if (size > start && exact)
		roll_exact(w, start, size);
	else if (size > start && roll_fast(w, start, size, err,
	    sizeof(err)) != 0) {
		log_warnx("roll forward over entries %llu..%llu: %s: again "
		    "entry by entry", (unsigned long long)start,
		    (unsigned long long)size - 1, err);
		return -1;
	}
	if (size > start) {
		(quiet ? log_debug : log_info)("state rolled forward over "
		    "entries %llu..%llu", (unsigned long long)start,
		    (unsigned long long)size - 1);
		worker_save_snapshot(w);
	}
	return 0;
}

void
worker_load_state(struct worker *w, int quiet)
{
	if (load_state(w, quiet, 0) != 0)
		(void)load_state(w, quiet, 1);
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

/* Trouble the ledger reports that is not an error of the call at hand. */
static void
ledger_warning(void *arg, const char *msg)
{
	log_warnx("ledger: %s", msg);
}

void
worker_refuse(struct worker *w, const char *what)
{
	char *msg;

	xasprintf(&msg, "%s. Refusing to run or sign anything (a log must "
	    "never sign two different trees of one size); nothing was "
	    "changed. Put back the ledger's lost entries (restore its files "
	    "from a copy that holds every signed entry), then vmsctl start "
	    "%s; see vmsd(8), RECOVERY", what, w->name);
	log_warnx("%s", msg);
	wire_put_refused(&w->out, msg);
	free(msg);
	worker_send_out(w);
	exit(4);
}

/*
 * The signed head, beside the key: the ledger must hold what it signs.
 * 1 if the head's journal put back entries a crash lost (the ledger must
 * be opened again), 0 if attached.
 */
static int
attach_head(struct worker *w, int again)
{
	char err[VMS_ERRLEN], *why;
	uint64_t repaired;
	int r, created;

	if (w->headpath == NULL)
		return 0;
	r = ledger_head_attach(w->ledger, w->headpath, &created, &repaired,
	    err, sizeof(err));
	if (r == 2 && again) {
		/* (the ledger's open did not take what was put back) */
		xasprintf(&why, "the ledger is still behind its signed head "
		    "%s after the head's journal was put back: %s",
		    w->headpath, err);
		worker_refuse(w, why);
	}
	if (r == 2) {
		log_warnx("ledger repaired at open: %s", err);
		return 1;
	}
	if (r > 0)
		worker_refuse(w, err);
	if (r < 0)
		fatalx("signed head: %s", err);
	if (created)
		log_info("signed head started in %s", w->headpath);
	return 0;
}

void
worker_open(struct worker *w)
{
	struct ledger_recovery rec;
	char err[VMS_ERRLEN], what[VMS_ERRLEN];
	json_t *m;
	int tries;

	lock_contract(w);
	worker_snapshot_clean(w);
	load_signer(w);
	for (tries = 0;; tries++) {
		memset(&rec, 0, sizeof(rec));
		if (ledger_open(w->dir, w->signer, &w->ledger, &rec, err,
		    sizeof(err)) != 0)
			fatalx("ledger: %s", err);
		ledger_on_warning(w->ledger, ledger_warning, w);
		ledger_recovery_text(&rec, what, sizeof(what));
		if (what[0] != '\0')
			log_warnx("ledger repaired at open: %s", what);
		if (ledger_committed_size(w->ledger) == 0)
			fatalx("ledger is empty: no deploy entry");
		if (attach_head(w, tries > 0) == 0)
			break;
		/* (a second open finds every batch the journal put back) */
		ledger_close(w->ledger);
		w->ledger = NULL;
	}
	/* the sync points run on the commit threads too (worker_commit.c),
	 * up to w->inflight commits at once (worker.c) */
	ledger_sync_in_commits(w->ledger, 1);
	ledger_commits_in_flight(w->ledger, w->inflight);
	worker_load_state(w, 0);
	worker_children_recover(w);
	m = engine_methods(w->engine);
	if (m == NULL)
		m = json_array();
	if (wire_put_ready(&w->out, ledger_committed_size(w->ledger),
	    ledger_vkey(w->ledger), ledger_origin(w->ledger), m, err,
	    sizeof(err)) != 0)
		fatalx("ready: %s", err);
	json_decref(m);
	worker_send_out(w);
	log_info("ready: %llu entries", (unsigned long long)ledger_committed_size(w->ledger));
}

/* Deploy mode: build the contract in w->dir, answer, exit. */
int
worker_deploy(struct worker *w)
{
	struct wire_request rq;
	json_t *params, *methods;
	const char *name, *code, *origin;
	struct vms_caller caller;
	struct vms_limits lim;
	enum engine_status st;
	char err[VMS_ERRLEN], *entry = NULL;
	size_t elen = 0;
	uint64_t index, repaired;
	int code_rpc = RPC_INTERNAL_ERROR, created;

	while (!worker_has_line(w) && !w->eof)
		worker_read_more(w, 1);
	if (!worker_has_line(w))
		fatalx("deploy: no request");
	if (wire_decode_request(w->in, (size_t)((char *)memchr(w->in, '\n',
	    w->inlen) - w->in), &rq, err, sizeof(err)) != 0)
		fatalx("deploy: bad request: %s", err);
	params = rq.params;
	name = json_string_value(json_object_get(params, "name"));
	code = json_string_value(json_object_get(params, "code"));
	origin = json_string_value(json_object_get(params, "origin"));
	caller.id = rq.caller;
	caller.auth = rq.auth;
	if (strcmp(rq.method, proto_method_name(PM_DEPLOY)) != 0 || name == NULL || code == NULL ||
	    origin == NULL)
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
	if (w->headpath != NULL && unlink(w->headpath) != 0 &&
	    errno != ENOENT) {
		seterr(err, sizeof(err), "%s: %s", w->headpath,
		    strerror(errno));
		goto fail;
	}
	if (w->headpath != NULL && ledger_head_attach(w->ledger, w->headpath,
	    &created, &repaired, err, sizeof(err)) != 0)
		goto fail;
	if (ledger_append(w->ledger, entry, elen, &index, err,
	    sizeof(err)) != 0 || ledger_commit(w->ledger, err,
	    sizeof(err)) != 0)
		goto fail;
	free(entry);
	entry = NULL;
	worker_save_snapshot(w);
	methods = engine_methods(w->engine);
	worker_reply_result(w, rq.id, json_pack("{s:s,s:s,s:s,s:I,s:o}", "name", name,
	    "vkey", ledger_vkey(w->ledger), "origin", origin, "size",
	    (json_int_t)ledger_committed_size(w->ledger), "methods",
	    methods ? methods : json_array()));
	worker_send_out(w);
	wire_request_clear(&rq);
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
	if (w->headpath != NULL && unlink(w->headpath) != 0 &&
	    errno != ENOENT)
		log_warn("cleanup %s", w->headpath);
	log_info("deploy refused: %s", err);
	worker_reply_error(w, rq.id, code_rpc, NULL, err);
	worker_send_out(w);
	wire_request_clear(&rq);
	return 0;
}
