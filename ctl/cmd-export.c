/*
 * cmd-export.c — vmsctl export NAME DIR [--state-dir S | --ledger L]: write
 * a contract's ledger to DIR as a C2SP tlog-tiles tree (the same files
 * vmsd serves under /c/NAME/), for any static web server to mirror.
 *
 * It reads the ledger directory directly (read-only, safe while vmsd
 * appends: it exports the last commit it finds), so it runs on the host
 * as a user who may read the state directory. Incremental: the checkpoint
 * already in DIR must be a prefix of the ledger (same origin, its root the
 * ledger's root at its size; anything else is refused, as it proves the
 * ledger was rewritten); only tiles that changed since it, and full tiles
 * missing from DIR, are written. Every file is written to a temporary
 * name and renamed; the checkpoint last, so a reader never sees a
 * checkpoint whose tiles are missing. Partial tiles superseded by a full
 * tile are removed after the new checkpoint is in place.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "note.h"
#include "tile.h"
#include "util.h"
#include "vmsctl.h"
#include "vmsd_paths.h"

static int cmd_export(struct ctl *, int, char **);

const struct cmd_entry cmd_export_entry = {
	"export", "NAME DIR [--state-dir PATH | --ledger PATH] [--json]",
	"write the ledger as C2SP tlog-tiles into DIR (incremental), for a "
	"static mirror",
	cmd_export
};

struct export {
	const char	*dir;
	struct ledger	*l;
	uint64_t	 old, size;
	uint64_t	 written, bytes, kept, removed;
};

/* Write path (relative to the export dir) atomically. */
static int
put(struct export *x, const char *rel, const void *data, size_t len,
    char *err, size_t errlen)
{
	char *path, *tmp, *slash;
	int fd;

	xasprintf(&path, "%s/%s", x->dir, rel);
	xasprintf(&tmp, "%s.tmp%ld", path, (long)getpid());
	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir_p(path, 0755) != 0) {
		seterr(err, errlen, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	*slash = '/';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (write_all(fd, data, len) != 0 || close(fd) != 0) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		unlink(tmp);
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		seterr(err, errlen, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	x->written++;
	x->bytes += len;
	free(path);
	free(tmp);
	return 0;
fail:
	free(path);
	free(tmp);
	return -1;
}

/* DIR holds the tile already: a hash tile of its exact length, a bundle
 * of at least its length prefixes. */
static int
have(struct export *x, const struct tile_id *t)
{
	char rel[TILE_PATH_MAX], *path;
	struct stat st;
	int ok;

	tile_path(t, rel, sizeof(rel));
	xasprintf(&path, "%s/%s", x->dir, rel);
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (t->level == TILE_ENTRIES ? (uint64_t)st.st_size >= 2ULL *
	    t->width : (uint64_t)st.st_size == (uint64_t)t->width *
	    MERKLE_HASH_LEN);
	free(path);
	return ok;
}

/* Write rel unless it already holds exactly these bytes. */
static int
put_if_changed(struct export *x, const char *rel, const char *text,
    char *err, size_t errlen)
{
	char *path, why[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	int same;

	xasprintf(&path, "%s/%s", x->dir, rel);
	same = 0;
	if (read_file(path, NOTE_MAX_LEN, &buf, &len, why, sizeof(why)) == 0) {
		same = len == strlen(text) && memcmp(buf, text, len) == 0;
		free(buf);
	}
	free(path);
	if (same) {
		x->kept++;
		return 0;
	}
	return put(x, rel, text, strlen(text), err, errlen);
}

static int
write_tile(struct export *x, const struct tile_id *t, char *err,
    size_t errlen)
{
	char rel[TILE_PATH_MAX], why[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	int rc;

	tile_path(t, rel, sizeof(rel));
	rc = ledger_tile(x->l, t, &buf, &len, why, sizeof(why));
	if (rc != 0) {
		seterr(err, errlen, "%s: %s", rel, rc == 1 ?
		    "not in the ledger" : why);
		return -1;
	}
	rc = put(x, rel, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* Every tile of one level (TILE_ENTRIES: the bundles) that the new size
 * adds or changes, and full ones missing from DIR. */
static int
export_level(struct export *x, int level, char *err, size_t errlen)
{
	uint64_t n = tile_count(x->size, level), first, i;
	struct tile_id t;

	first = tile_first_changed(x->old, level);
	for (i = 0; i < n; i++) {
		t.level = level;
		t.index = i;
		t.width = tile_width(x->size, level, i);
		/* under the previous checkpoint (verified a prefix of the
		 * ledger), or all of it when nothing was added */
		if ((i < first || x->old == x->size) && have(x, &t)) {
			x->kept++;
			continue;
		}
		if (write_tile(x, &t, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Partial tiles of tiles that are full now: not needed by the new
 * checkpoint (a reader of an older one falls back to the full tile). */
static void
remove_partials(struct export *x, int level)
{
	uint64_t i, full = tile_count(x->size, level);
	char rel[TILE_PATH_MAX], *path;
	struct tile_id t;
	struct stat st;

	if (tile_width(x->size, level, full - 1) != TILE_WIDTH)
		full--;
	for (i = tile_first_changed(x->old, level); i < full; i++) {
		t.level = level;
		t.index = i;
		t.width = TILE_WIDTH;
		tile_path(&t, rel, sizeof(rel));
		xasprintf(&path, "%s/%s.p", x->dir, rel);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    rm_rf(path) == 0)
			x->removed++;
		free(path);
	}
}

/* The checkpoint already in DIR: its size, or 0 if there is none. It
 * must be a prefix of the ledger. */
static int
previous(struct export *x, char *err, size_t errlen)
{
	char *path, why[VMS_ERRLEN], *b64;
	struct checkpoint cp;
	const char *sep;
	merkle_hash root;
	uint8_t *buf;
	size_t len;

	x->old = 0;
	xasprintf(&path, "%s/checkpoint", x->dir);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	if (read_file(path, NOTE_MAX_LEN, &buf, &len, why,
	    sizeof(why)) != 0) {
		seterr(err, errlen, "%s", why);
		free(path);
		return -1;
	}
	sep = memmem(buf, len, "\n\n", 2);
	if (sep == NULL || checkpoint_parse((char *)buf, (size_t)(sep -
	    (char *)buf) + 1, &cp, why, sizeof(why)) != 0) {
		seterr(err, errlen, "%s is not a checkpoint: refusing to write "
		    "over it", path);
		goto fail;
	}
	if (strcmp(cp.origin, ledger_origin(x->l)) != 0) {
		seterr(err, errlen, "%s is the checkpoint of another log (%s, "
		    "not %s): refusing to write over it", path, cp.origin,
		    ledger_origin(x->l));
		goto fail;
	}
	if (cp.size > x->size) {
		seterr(err, errlen, "%s is at size %" PRIu64 ", beyond the "
		    "ledger's %" PRIu64 " committed entries: the ledger was "
		    "truncated or rolled back", path, cp.size, x->size);
		goto fail;
	}
	if (ledger_root(x->l, cp.size, root) != 0 ||
	    memcmp(root, cp.root, MERKLE_HASH_LEN) != 0) {
		b64 = b64_encode(root, MERKLE_HASH_LEN);
		seterr(err, errlen, "%s signs size %" PRIu64 " but the ledger's "
		    "first %" PRIu64 " entries hash to %s: the ledger was "
		    "rewritten since the last export (keep that checkpoint: it "
		    "is evidence)", path, cp.size, cp.size, b64);
		free(b64);
		goto fail;
	}
	x->old = cp.size;
	free(buf);
	free(path);
	return 0;
fail:
	free(buf);
	free(path);
	return -1;
}

static int
cmd_export(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir",	required_argument,	NULL, 's' },
		{ "ledger",	required_argument,	NULL, 'l' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL,		0,			NULL, 0 }
	};
	const char *state = VMSD_STATEDIR, *ledger = NULL;
	struct export x;
	char err[VMS_ERRLEN], *ldir = NULL, *vk;
	int ch, level, rc = EXIT_FAILED;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			state = optarg;
			break;
		case 'l':
			ledger = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		default:
			return ctl_usage(&cmd_export_entry);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		return ctl_usage(&cmd_export_entry);
	if (!valid_contract_name(argv[0])) {
		ctl_errx("bad contract name \"%s\"", argv[0]);
		return EXIT_USAGE;
	}
	memset(&x, 0, sizeof(x));
	x.dir = argv[1];
	if (ledger != NULL)
		ldir = xstrdup(ledger);
	else
		xasprintf(&ldir, "%s/contracts/%s", state, argv[0]);
	if (ledger_open(ldir, NULL, &x.l, NULL, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		free(ldir);
		return EXIT_FAILED;
	}
	x.size = ledger_committed_size(x.l);
	if (mkdir_p(x.dir, 0755) != 0) {
		ctl_errx("mkdir %s: %s", x.dir, strerror(errno));
		goto out;
	}
	if (previous(&x, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		goto out;
	}
	for (level = TILE_ENTRIES; level <= tile_top_level(x.size); level++)
		if (x.size > 0 && export_level(&x, level, err,
		    sizeof(err)) != 0) {
			ctl_errx("%s", err);
			goto out;
		}
	xasprintf(&vk, "%s\n", ledger_vkey(x.l));
	if (put_if_changed(&x, "vkey", vk, err, sizeof(err)) != 0 ||
	    put_if_changed(&x, "checkpoint", ledger_checkpoint(x.l), err,
	    sizeof(err)) != 0) {
		free(vk);
		ctl_errx("%s", err);
		goto out;
	}
	free(vk);
	for (level = TILE_ENTRIES; level <= tile_top_level(x.size); level++)
		if (x.size > 0)
			remove_partials(&x, level);
	if (c->json) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
		    "contract", argv[0], "dir", x.dir, "size",
		    (json_int_t)x.size, "previous", (json_int_t)x.old,
		    "written", (json_int_t)x.written, "bytes",
		    (json_int_t)x.bytes, "kept", (json_int_t)x.kept,
		    "removed", (json_int_t)x.removed);

		ctl_print_json(o);
		json_decref(o);
	} else
		printf("%s: exported %" PRIu64 " entries to %s (from %" PRIu64
		    "): %" PRIu64 " files written (%" PRIu64 " bytes), %" PRIu64
		    " kept, %" PRIu64 " superseded partial tiles removed\n",
		    argv[0], x.size, x.dir, x.old, x.written, x.bytes, x.kept,
		    x.removed);
	rc = EXIT_OK;
out:
	ledger_close(x.l);
	free(ldir);
	return rc;
}
