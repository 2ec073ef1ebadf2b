/*
 * worker_children.c — the child contracts a parent's committed entries
 * ask for (System.contracts, engine.h "CHILD CONTRACTS"), made by the
 * parent's worker:
 *   1. an entry that makes or stops children is appended: before its batch
 *      can commit, CONTRACT_CHILDREN_PENDING (contract.h) holds its index,
 *      written and synced (the intent);
 *   2. once the batch is durable, and before its replies go out, each op
 *      is carried out: a child's key and ledger (holding the entry 0 its
 *      parent's call built, the same bytes: checked against the leaf hash
 *      the parent recorded) are made under .deploy- names and renamed into
 *      place, key first, then the directory; a stop writes the child's
 *      status file. vmsd hears of each (wire.h's child message);
 *   3. when none is left, the intent file goes.
 * A worker that dies in between leaves the intent: at its next open (vmsd
 * starts it at startup for this) the entries from that index on are read
 * from the ledger and their ops carried out again. Each is idempotent: a
 * child whose directory exists with that very entry 0 is not made twice,
 * and a name already taken by another ledger is never overwritten.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "engine.h"
#include "ledger.h"
#include "log.h"
#include "note.h"
#include "util.h"
#include "worker.h"

/* <state>/contracts (the parent's directory's parent) and <state>/keys. */
static char *
sibling(const char *path, const char *name, const char *suffix)
{
	const char *slash = strrchr(path, '/');
	char *p;

	xasprintf(&p, "%.*s/%s%s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".", name, suffix);
	return p;
}

static char *
intent_path(const struct worker *w)
{
	char *p;

	xasprintf(&p, "%s/%s", w->dir, CONTRACT_CHILDREN_PENDING);
	return p;
}

/* Tell vmsd (before any reply that follows). */
static void
notice(struct worker *w, const char *op, const char *name, uint64_t size,
    const char *vkey, const char *origin)
{
	struct jbuf b;
	char err[VMS_ERRLEN];

	memset(&b, 0, sizeof(b));
	if (wire_put_child(&b, op, name, size, vkey, origin, err,
	    sizeof(err)) != 0)
		log_warnx("child %s: %s", name, err);
	else if (write_all(w->fd, b.s, b.len) != 0)
		fatal("worker %s: write to vmsd", w->name);
	jbuf_free(&b);
}

int
worker_children_intent(struct worker *w, uint64_t index, char *err,
    size_t errlen)
{
	char *p, buf[32];
	int e;

	if (w->nfx == w->capfx) {
		w->capfx = w->capfx ? w->capfx * 2 : 16;
		w->fx = xrealloc(w->fx, w->capfx * sizeof(*w->fx));
	}
	w->fx[w->nfx++] = index;
	if (w->intent)
		return 0;
	p = intent_path(w);
	snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)index);
	/* durable before the entry's batch is: else no commit */
	if (write_file_atomic(p, buf, strlen(buf), 0644, err, errlen) != 0) {
		e = errno;
		free(p);
		return e != 0 ? e : EIO;
	}
	free(p);
	w->intent = 1;
	return 0;
}

/* The entry 0 of child `name`, if its directory holds a ledger: 0 and its
 * leaf hash, size, vkey and origin; 1 no ledger there; -1 unreadable. */
static int
existing(const char *dir, merkle_hash h, uint64_t *size, char **vkey,
    char **origin, char *err, size_t errlen)
{
	struct ledger *l;
	struct stat st;

	if (stat(dir, &st) != 0 && errno == ENOENT)
		return 1;
	if (ledger_open(dir, NULL, &l, NULL, err, errlen) != 0)
		return -1;
	if (ledger_committed_size(l) == 0 || ledger_leaf_hash(l, 0, h) != 0) {
		seterr(err, errlen, "%s holds no entry 0", dir);
		ledger_close(l);
		return -1;
	}
	*size = ledger_committed_size(l);
	*vkey = xstrdup(ledger_vkey(l));
	*origin = xstrdup(ledger_origin(l));
	ledger_close(l);
	return 0;
}

/* Key and ledger under .deploy- names, renamed into place (key first). */
static int
create(struct worker *w, const char *name, const char *origin,
    const char *entry, size_t len, char *err, size_t errlen)
{
	char *dir = sibling(w->dir, name, ""), *key = sibling(w->keypath,
	    name, ".key"), *tmpdir, *tmpkey, pre[80];
	struct note_signer *s = NULL;
	struct ledger *l = NULL;
	uint64_t idx;
	int rc = -1;

	snprintf(pre, sizeof(pre), ".deploy-%s", name);
	tmpdir = sibling(w->dir, pre, "");
	tmpkey = sibling(w->keypath, pre, ".key");
	rm_rf(tmpdir);
	unlink(tmpkey);
	if (note_keyfile_create(tmpkey, err, errlen) != 0 ||
	    (s = note_signer_load(tmpkey, origin, err, errlen)) == NULL ||
	    ledger_create(tmpdir, origin, s, &l, err, errlen) != 0 ||
	    ledger_append(l, entry, len, &idx, err, errlen) != 0 ||
	    ledger_commit(l, err, errlen) != 0)
		goto done;
	ledger_close(l);
	l = NULL;
	if (rename(tmpkey, key) != 0 || fsync_parent(key) != 0) {
		seterr(err, errlen, "install %s: %s", key, strerror(errno));
		goto done;
	}
	if (rename(tmpdir, dir) != 0 || fsync_parent(dir) != 0) {
		seterr(err, errlen, "install %s: %s", dir, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (l != NULL)
		ledger_close(l);
	note_signer_free(s);
	if (rc != 0) {
		rm_rf(tmpdir);
		unlink(tmpkey);
	}
	free(tmpdir);
	free(tmpkey);
	free(dir);
	free(key);
	return rc;
}

/*
 * One "deploy" op of entry index: 0 made (or made before), 1 given up
 * (logged: it cannot be made, ever), -1 failed (err: try again later).
 */
static int
make_child(struct worker *w, const json_t *op, uint64_t index,
    uint64_t time_ms, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(op, "name"));
	const char *want = json_string_value(json_object_get(op, "entry"));
	const char *parent = engine_contract(w->engine);
	const char *porigin = ledger_origin(w->ledger);
	char hex[65], why[VMS_ERRLEN], *entry = NULL, *dir, *origin;
	char *vkey = NULL, *had = NULL;
	merkle_hash h, h0;
	uint64_t size;
	size_t len, pl = strlen(parent);
	int r;

	if (name == NULL || want == NULL || strncmp(name, parent, pl) != 0 ||
	    name[pl] != '.' || !valid_contract_name(name)) {
		log_warnx("entry %llu asks for a child with a bad name",
		    (unsigned long long)index);
		return 1;
	}
	if (engine_child_entry(parent, porigin, index, time_ms, op, &entry,
	    &len, why, sizeof(why)) != 0) {
		log_warnx("child %s of entry %llu cannot be built: %s", name,
		    (unsigned long long)index, why);
		return 1;
	}
	merkle_leaf_hash(entry, len, h);
	hex_encode(h, 32, hex);
	if (strcmp(hex, want) != 0) {
		log_warnx("child %s of entry %llu: its entry 0 is not the one "
		    "the entry records (%.16s…, built %.16s…)", name,
		    (unsigned long long)index, want, hex);
		free(entry);
		return 1;
	}
	xasprintf(&origin, "%s%s", porigin, name + pl);
	dir = sibling(w->dir, name, "");
	r = existing(dir, h0, &size, &vkey, &had, why, sizeof(why));
	if (r == 0 && memcmp(h0, h, 32) == 0) {
		/* made before (a restart after making it) */
		notice(w, "deploy", name, size, vkey, had);
		r = 0;
	} else if (r == 0 || r == -1) {
		log_warnx("child %s of entry %llu: %s is another ledger (%s); "
		    "not made", name, (unsigned long long)index, dir, r == 0 ?
		    "its entry 0 differs" : why);
		r = 1;
	} else if (create(w, name, origin, entry, len, err, errlen) != 0) {
		r = -1;
	} else {
		free(vkey);
		free(had);
		had = NULL;
		vkey = NULL;
		r = existing(dir, h0, &size, &vkey, &had, err, errlen);
		if (r == 0) {
			log_info("child %s made (entry %llu)", name,
			    (unsigned long long)index);
			notice(w, "deploy", name, size, vkey, had);
		}
	}
	free(vkey);
	free(had);
	free(dir);
	free(origin);
	free(entry);
	return r;
}

/* A "stop" op: the child's status file. 0, 1 given up, -1 failed. */
static int
stop_child(struct worker *w, const json_t *op, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(op, "name"));
	char *dir, *path;
	struct stat st;
	int r = 0;

	if (name == NULL || !valid_contract_name(name))
		return 1;
	dir = sibling(w->dir, name, "");
	xasprintf(&path, "%s/status", dir);
	if (stat(dir, &st) != 0) {
		log_warnx("child %s to stop: %s: %s", name, dir,
		    strerror(errno));
		r = 1;
	} else if (write_file_atomic(path, "stopped\n", 8, 0644, err,
	    errlen) != 0)
		r = -1;
	else
		notice(w, "stop", name, 0, "", "");
	free(path);
	free(dir);
	return r;
}

/* Carry out the ops of committed entry index: 0, or -1 (err) to retry. */
static int
carry_out(struct worker *w, uint64_t index, char *err, size_t errlen)
{
	const char *kind;
	uint8_t *buf;
	size_t len, i;
	json_t *e, *ops, *op;
	int r = 0, x;

	if (ledger_read(w->ledger, index, &buf, &len, err, errlen) != 0)
		return -1;
	e = json_loadb((const char *)buf, len, 0, NULL);
	free(buf);
	ops = json_object_get(e, "contracts");
	json_array_foreach(ops, i, op) {
		kind = json_string_value(json_object_get(op, "op"));
		if (kind != NULL && strcmp(kind, "deploy") == 0)
			x = make_child(w, op, index, (uint64_t)
			    json_integer_value(json_object_get(e, "time")),
			    err, errlen);
		else if (kind != NULL && strcmp(kind, "stop") == 0)
			x = stop_child(w, op, err, errlen);
		else
			x = 1;
		if (x < 0) {
			r = -1;
			break;
		}
	}
	json_decref(e);
	return r;
}

static void
intent_done(struct worker *w)
{
	char *p = intent_path(w);

	if (unlink(p) != 0 && errno != ENOENT)
		log_warn("%s", p);
	else
		fsync_parent(p);
	free(p);
	w->intent = 0;
}

void
worker_children_run(struct worker *w)
{
	uint64_t committed = ledger_committed_size(w->ledger);
	char err[VMS_ERRLEN];
	size_t i, keep = 0;

	for (i = 0; i < w->nfx; i++) {
		if (w->fx[i] >= committed) {
			w->fx[keep++] = w->fx[i];
			continue;
		}
		if (carry_out(w, w->fx[i], err, sizeof(err)) != 0) {
			/* The intent stays: tried again after each commit
			 * and at the next start. Not a restart: a full disk
			 * would make that a crash loop and the parent
			 * failed, while its calls are refused cleanly. */
			if (w->fx_warned != w->fx[i] + 1)
				log_warnx("children of entry %llu not made: %s; "
				    "trying again after each commit",
				    (unsigned long long)w->fx[i], err);
			w->fx_warned = w->fx[i] + 1;
			w->fx[keep++] = w->fx[i];
		} else if (w->fx_warned == w->fx[i] + 1) {
			log_info("children of entry %llu made",
			    (unsigned long long)w->fx[i]);
			w->fx_warned = 0;
		}
	}
	w->nfx = keep;
	if (w->nfx == 0 && w->intent)
		intent_done(w);
}

void
worker_children_lost(struct worker *w)
{
	uint64_t size = ledger_size(w->ledger);
	size_t i, keep = 0;

	for (i = 0; i < w->nfx; i++)
		if (w->fx[i] < size)
			w->fx[keep++] = w->fx[i];
	w->nfx = keep;
	if (w->nfx == 0 && w->intent)
		intent_done(w);
}

void
worker_children_recover(struct worker *w)
{
	uint64_t from, i, size = ledger_committed_size(w->ledger);
	char err[VMS_ERRLEN], *p = intent_path(w), *end;
	uint8_t *buf;
	size_t len;
	int failed = 0;

	if (read_file(p, 64, &buf, &len, err, sizeof(err)) != 0) {
		if (access(p, F_OK) == 0)
			log_warnx("%s", err);
		free(p);
		return;
	}
	free(p);
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	from = strtoull((char *)buf, &end, 10);
	free(buf);
	w->intent = 1;
	log_info("making the children asked for by entries %llu.. (a worker "
	    "stopped before it had)", (unsigned long long)from);
	for (i = from; i < size; i++) {
		if (ledger_read(w->ledger, i, &buf, &len, err,
		    sizeof(err)) != 0) {
			log_warnx("%s", err);
			failed = 1;
			break;
		}
		/* only entries that ask for children need parsing */
		if (memmem(buf, len, "\"contracts\":", 12) != NULL &&
		    carry_out(w, i, err, sizeof(err)) != 0) {
			log_warnx("children of entry %llu not made: %s",
			    (unsigned long long)i, err);
			failed = 1;
		}
		free(buf);
		if (failed)
			break;
	}
	if (!failed)
		intent_done(w);
}
