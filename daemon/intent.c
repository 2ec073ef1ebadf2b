/*
 * intent.c — crash-atomic install and remove of a contract's ledger, and
 * their recovery at startup (intent.h): write the intent durably, run
 * the idempotent steps, sync, forget the intent.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "contract.h"
#include "intent.h"
#include "log.h"
#include "util.h"
#include "vmsd.h"

#define INTENT_SUFFIX	".intent"

/* The paths of one operation, absolute. */
struct paths {
	char	*dir, *key, *head;		/* installed */
	char	*ndir, *nkey, *nhead;		/* .deploy- */
	char	*purge;				/* .purge- */
	char	*intent;
};

static void
paths_init(struct paths *p, const char *name)
{
	p->dir = contract_path("contracts/", name, "");
	p->key = contract_path("keys/", name, ".key");
	p->head = contract_path("keys/", name, ".head");
	p->ndir = contract_path("contracts/.deploy-", name, "");
	p->nkey = contract_path("keys/.deploy-", name, ".key");
	p->nhead = contract_path("keys/.deploy-", name, ".head");
	p->purge = contract_path("contracts/.purge-", name, "");
	p->intent = contract_path("intents/", name, INTENT_SUFFIX);
}

static void
paths_free(struct paths *p)
{
	free(p->dir);
	free(p->key);
	free(p->head);
	free(p->ndir);
	free(p->nkey);
	free(p->nhead);
	free(p->purge);
	free(p->intent);
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Is the ledger in dir the one of this vkey? -1 if its vkey cannot be
 * read (no ledger there, or a damaged one). */
static int
ledger_is(const char *dir, const char *vkey)
{
	char *p, err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	int r;

	xasprintf(&p, "%s/vkey", dir);
	r = read_file(p, 4096, &buf, &len, err, sizeof(err));
	free(p);
	if (r != 0)
		return -1;
	buf[strcspn((char *)buf, "\r\n")] = '\0';
	r = strcmp((char *)buf, vkey) == 0;
	free(buf);
	return r;
}

/* removed/NAME.<unix-time>[.N], relative to the state directory, not yet
 * existing. */
static char *
removed_rel(const char *name)
{
	char *rel, *abs;
	long long t = (long long)time(NULL);
	int i;

	for (i = 0;; i++) {
		if (i == 0)
			xasprintf(&rel, "removed/%s.%lld", name, t);
		else
			xasprintf(&rel, "removed/%s.%lld.%d", name, t, i);
		xasprintf(&abs, "%s/%s", vmsd_conf->state_dir, rel);
		if (!exists(abs)) {
			free(abs);
			return rel;
		}
		free(abs);
		free(rel);
	}
}

static char *
abs_path(const char *rel)
{
	char *p;

	xasprintf(&p, "%s/%s", vmsd_conf->state_dir, rel);
	return p;
}

static int
step_rename(const char *from, const char *to, char *err, size_t errlen)
{
	if (rename(from, to) != 0) {
		seterr(err, errlen, "rename %s to %s: %s", from, to,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
step_unlink(const char *path, char *err, size_t errlen)
{
	if (unlink(path) != 0 && errno != ENOENT) {
		seterr(err, errlen, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
sync_dirs(char *err, size_t errlen)
{
	static const char *const dirs[] = { "contracts", "keys", "removed" };
	char *p;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = abs_path(dirs[i]);
		if (fsync_dir(p) != 0) {
			seterr(err, errlen, "fsync %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

/* The steps done: forget the intent, durably (a stale intent is a no-op
 * anyway, but it would be reported at the next start). */
static void
forget(const struct paths *p)
{
	if (unlink(p->intent) != 0 && errno != ENOENT)
		log_warn("%s", p->intent);
	else if (fsync_parent(p->intent) != 0)
		log_warn("fsync the directory of %s", p->intent);
}

/*
 * The install steps, each done only if not done yet. 0 done (*moved set
 * if another ledger was moved aside); 1 nothing done: the new ledger is
 * gone and not installed (roll back); -1 err (a step failed).
 */
static int
install_steps(const char *name, const char *vkey, const char *removed,
    struct paths *p, int *moved, char *err, size_t errlen)
{
	char *rm;
	int is;

	*moved = 0;
	is = ledger_is(p->dir, vkey);
	if (is != 1 && !exists(p->ndir)) {
		seterr(err, errlen, "the new ledger of %s is gone (%s)", name,
		    p->ndir);
		return 1;
	}
	if (is != 1 && exists(p->dir)) {
		if (removed == NULL) {
			seterr(err, errlen, "%s holds another ledger and the "
			    "intent names no place for it", p->dir);
			return -1;
		}
		rm = abs_path(removed);
		if (step_rename(p->dir, rm, err, errlen) != 0) {
			free(rm);
			return -1;
		}
		free(rm);
		*moved = 1;
		fault_point("install:old-moved");
	}
	if (exists(p->ndir)) {
		if (step_rename(p->ndir, p->dir, err, errlen) != 0)
			return -1;
		fault_point("install:ledger-installed");
	}
	if (exists(p->nkey)) {
		if (step_rename(p->nkey, p->key, err, errlen) != 0)
			return -1;
		fault_point("install:key-installed");
	}
	if (exists(p->nhead)) {
		if (step_rename(p->nhead, p->head, err, errlen) != 0)
			return -1;
		fault_point("install:head-installed");
	}
	if (sync_dirs(err, errlen) != 0)
		return -1;
	fault_point("install:synced");
	return 0;
}

static int
remove_steps(const char *vkey, const char *removed, struct paths *p,
    char *err, size_t errlen)
{
	char *to;
	int r;

	if (exists(p->dir) && (vkey == NULL || (r = ledger_is(p->dir,
	    vkey)) != 0)) {
		to = removed ? abs_path(removed) : xstrdup(p->purge);
		r = step_rename(p->dir, to, err, errlen);
		free(to);
		if (r != 0)
			return -1;
		fault_point("remove:moved");
	}
	if (step_unlink(p->key, err, errlen) != 0 ||
	    step_unlink(p->head, err, errlen) != 0)
		return -1;
	fault_point("remove:key-unlinked");
	if (removed == NULL && exists(p->purge)) {
		if (rm_rf(p->purge) != 0) {
			seterr(err, errlen, "purge %s: %s", p->purge,
			    strerror(errno));
			return -1;
		}
		fault_point("remove:purged");
	}
	if (sync_dirs(err, errlen) != 0)
		return -1;
	fault_point("remove:synced");
	return 0;
}

static int
intent_write(const struct paths *p, json_t *intent, char *err,
    size_t errlen)
{
	char *text = json_dumps(intent, JSON_COMPACT);
	int rc;

	if (text == NULL) {
		seterr(err, errlen, "%s: cannot encode the intent", p->intent);
		return -1;
	}
	/* a line, for whoever reads it */
	text = xrealloc(text, strlen(text) + 2);
	strcat(text, "\n");
	rc = write_file_atomic(p->intent, text, strlen(text), 0644, err,
	    errlen);
	free(text);
	return rc;
}

int
intent_install(const char *name, const char *vkey, char **removed,
    char *err, size_t errlen)
{
	struct paths p;
	json_t *in;
	char *rel = NULL;
	int moved, rc = -1;

	*removed = NULL;
	paths_init(&p, name);
	/* The new ledger must be complete and durable before its intent. */
	if (!exists(p.ndir) || !exists(p.nkey) || !exists(p.nhead)) {
		seterr(err, errlen, "the new ledger of %s is incomplete", name);
		goto out;
	}
	if (fsync_parent(p.ndir) != 0 || fsync_parent(p.nkey) != 0) {
		seterr(err, errlen, "fsync: %s", strerror(errno));
		goto out;
	}
	if (exists(p.dir))
		rel = removed_rel(name);
	fault_point("install:before-intent");
	in = json_pack("{s:s,s:s,s:s,s:s?}", "op", "install", "name", name,
	    "vkey", vkey, "removed", rel);
	rc = intent_write(&p, in, err, errlen);
	json_decref(in);
	if (rc != 0)
		goto out;
	fault_point("install:intent-written");
	if (install_steps(name, vkey, rel, &p, &moved, err, errlen) != 0) {
		rc = 1;
		goto out;
	}
	forget(&p);
	if (moved)
		*removed = abs_path(rel);
out:
	free(rel);
	paths_free(&p);
	return rc;
}

int
intent_remove(const char *name, const char *vkey, int purge,
    char **removed, char *err, size_t errlen)
{
	struct paths p;
	json_t *in;
	char *rel = NULL;
	int rc;

	*removed = NULL;
	paths_init(&p, name);
	if (!purge)
		rel = removed_rel(name);
	fault_point("remove:before-intent");
	in = json_pack("{s:s,s:s,s:s?,s:s?}", "op", "remove", "name", name,
	    "vkey", vkey, "removed", rel);
	rc = intent_write(&p, in, err, errlen);
	json_decref(in);
	if (rc != 0)
		goto out;
	fault_point("remove:intent-written");
	if (remove_steps(vkey, rel, &p, err, errlen) != 0) {
		rc = 1;
		goto out;
	}
	forget(&p);
	if (rel != NULL)
		*removed = abs_path(rel);
out:
	free(rel);
	paths_free(&p);
	return rc;
}

/* Roll one intent forward. */
static void
recover_one(const char *file)
{
	char err[VMS_ERRLEN], *path;
	const char *op, *name, *vkey, *removed;
	struct paths p;
	json_error_t jerr;
	json_t *in;
	int moved, r;

	path = abs_path(file);
	if ((in = json_load_file(path, 0, &jerr)) == NULL) {
		log_warnx("%s: %s: left for an administrator", path, jerr.text);
		free(path);
		return;
	}
	op = json_string_value(json_object_get(in, "op"));
	name = json_string_value(json_object_get(in, "name"));
	vkey = json_string_value(json_object_get(in, "vkey"));
	removed = json_string_value(json_object_get(in, "removed"));
	if (op == NULL || name == NULL || !valid_contract_name(name) ||
	    (removed != NULL && (strncmp(removed, "removed/", 8) != 0 ||
	    !valid_contract_name(removed + 8))) ||
	    (strcmp(op, "install") == 0 && vkey == NULL) ||
	    (strcmp(op, "install") != 0 && strcmp(op, "remove") != 0)) {
		log_warnx("%s: not an intent vmsd wrote: left for an "
		    "administrator", path);
		json_decref(in);
		free(path);
		return;
	}
	paths_init(&p, name);
	if (strcmp(op, "install") == 0) {
		r = install_steps(name, vkey, removed, &p, &moved, err,
		    sizeof(err));
		if (r < 0)
			log_warnx("%s: the interrupted deploy cannot be "
			    "completed: %s (the intent %s and the new ledger "
			    "are left for an administrator)", name, err,
			    p.intent);
		else if (r > 0) {
			/* never installed: the old ledger, if any, stays */
			log_warnx("%s: an interrupted deploy was rolled back: "
			    "%s", name, err);
			forget(&p);
		} else {
			log_warnx("%s: an interrupted deploy was completed%s%s",
			    name, moved ? "; the old ledger is in " : "",
			    moved ? removed : "");
			forget(&p);
		}
	} else if (remove_steps(vkey, removed, &p, err, sizeof(err)) != 0)
		log_warnx("%s: the interrupted remove cannot be completed: %s",
		    name, err);
	else {
		log_warnx("%s: an interrupted remove was completed%s%s", name,
		    removed ? "; the ledger is in " : " (purged)",
		    removed ? removed : "");
		forget(&p);
	}
	paths_free(&p);
	json_decref(in);
	free(path);
}

int
intent_recover(char *err, size_t errlen)
{
	static const char *const subs[] = { "contracts", "keys" };
	struct dirent *de;
	char *path, *sub, *file, *name, *in;
	size_t i, n;
	int pending;
	DIR *d;

	path = abs_path("intents");
	if ((d = opendir(path)) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= strlen(INTENT_SUFFIX) || strcmp(de->d_name + n -
		    strlen(INTENT_SUFFIX), INTENT_SUFFIX) != 0)
			continue;
		xasprintf(&file, "intents/%s", de->d_name);
		recover_one(file);
		free(file);
	}
	closedir(d);
	free(path);
	/* What no intent names was never installed or was being purged. */
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		path = abs_path(subs[i]);
		if ((d = opendir(path)) == NULL) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, ".deploy-", 8) != 0 &&
			    strncmp(de->d_name, ".purge-", 7) != 0)
				continue;
			/* ... unless an intent left for an administrator
			 * still needs it */
			name = xstrdup(de->d_name + (de->d_name[1] == 'd' ?
			    8 : 7));
			n = strlen(name);
			if (i == 1 && n > 4 && strcmp(name + n - 4, ".key") == 0)
				name[n - 4] = '\0';
			else if (i == 1 && n > 5 && strcmp(name + n - 5,
			    ".head") == 0)
				name[n - 5] = '\0';
			in = contract_path("intents/", name, INTENT_SUFFIX);
			pending = exists(in);
			free(in);
			free(name);
			if (pending)
				continue;
			xasprintf(&sub, "%s/%s", path, de->d_name);
			log_info("removing the leftover of an interrupted "
			    "%s: %s", de->d_name[1] == 'd' ? "deploy" :
			    "purge", sub);
			if (rm_rf(sub) != 0)
				log_warn("%s", sub);
			free(sub);
		}
		closedir(d);
		free(path);
	}
	return 0;
}
