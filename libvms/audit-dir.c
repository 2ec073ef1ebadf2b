/*
 * audit-dir.c — an audit source over a ledger directory (vms-ledger(5)),
 * read directly: `entries` is parsed record by record (uint32 BE length ||
 * bytes) without trusting `index` or `hashes`, skipping commit records
 * (length with the top bit set: a signed checkpoint note); the checkpoint
 * is the newer of the `checkpoint` file (written at sync points) and the
 * last commit record; `checkpoints` and `vkey` are read as they are;
 * `state.snap`, if present, is offered for check 5. Nothing here is
 * verified: audit.c does that.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "ledger.h"
#include "note.h"
#include "util.h"

#define DIR_MAX_FILE	((size_t)1 << 40)

struct dir_src {
	char		*dir;
	char		*what;
	char		*snap;
	uint8_t		*entries;	/* the whole `entries` file */
	size_t		 len;
	size_t		*off;		/* record i's bytes start at off[i] */
	uint32_t	*elen;
	uint64_t	 n;
	int		 torn;		/* a partial record at the end */
	size_t		 note_off;	/* last commit record's note, or 0 */
	uint32_t	 note_len;
};

#define DIR_REC_NOTE	0x80000000u

/* The tree size on a checkpoint note's second line, or 0. */
static uint64_t
note_size(const char *note, size_t len)
{
	const char *p = memchr(note, '\n', len), *end = note + len;
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	for (p++; p < end && *p >= '0' && *p <= '9' &&
	    v < UINT64_MAX / 10 - 9; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

static char *
path_in(struct dir_src *d, const char *file)
{
	char *p;

	xasprintf(&p, "%s/%s", d->dir, file);
	return p;
}

static int
dir_checkpoint(void *ctx, char **note, char *err, size_t errlen)
{
	struct dir_src *d = ctx;
	char *p = path_in(d, "checkpoint");
	uint8_t *buf;
	size_t len;
	int rc;

	rc = read_file(p, NOTE_MAX_LEN, &buf, &len, err, errlen);
	free(p);
	if (rc != 0)
		return -1;
	if (memchr(buf, '\0', len) != NULL) {
		seterr(err, errlen, "%s/checkpoint: contains a NUL byte",
		    d->dir);
		free(buf);
		return -1;
	}
	/* Committed after the last sync point: the commit record is newer. */
	if (d->note_len > 0 && note_size((char *)d->entries + d->note_off,
	    d->note_len) > note_size((char *)buf, len)) {
		free(buf);
		*note = xstrndup((char *)d->entries + d->note_off, d->note_len);
		return 0;
	}
	*note = (char *)buf;
	return 0;
}

static char *
dir_vkey(void *ctx)
{
	struct dir_src *d = ctx;
	char *p = path_in(d, "vkey"), err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;

	if (read_file(p, 4096, &buf, &len, err, sizeof(err)) != 0) {
		free(p);
		return NULL;
	}
	free(p);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return (char *)buf;
}

static int
dir_entry(void *ctx, uint64_t index, const uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct dir_src *d = ctx;

	if (index >= d->n)
		return 1;
	*buf = d->entries + d->off[index];
	*len = d->elen[index];
	return 0;
}

static int
dir_history(void *ctx, char ***notes, size_t *n)
{
	struct dir_src *d = ctx;
	char *p = path_in(d, "checkpoints"), err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len, off = 0, cap = 0;
	uint32_t l;

	*notes = NULL;
	*n = 0;
	if (read_file(p, DIR_MAX_FILE, &buf, &len, err, sizeof(err)) != 0) {
		free(p);
		return -1;
	}
	free(p);
	while (off + 4 <= len) {
		l = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
		    (uint32_t)buf[off + 2] << 8 | buf[off + 3];
		off += 4;
		if (l > len - off || l > NOTE_MAX_LEN)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*notes = xrealloc(*notes, cap * sizeof(char *));
		}
		(*notes)[(*n)++] = xstrndup((const char *)buf + off, l);
		off += l;
	}
	free(buf);
	return 0;
}

static void
dir_free(void *ctx)
{
	struct dir_src *d = ctx;

	free(d->dir);
	free(d->what);
	free(d->snap);
	free(d->entries);
	free(d->off);
	free(d->elen);
	free(d);
}

int
audit_dir_source(const char *dir, struct audit_source **out, char *err,
    size_t errlen)
{
	struct audit_source *s;
	struct dir_src *d;
	struct stat st;
	char *p;
	size_t off = 0, cap = 0;
	uint32_t l;

	*out = NULL;
	if (stat(dir, &st) != 0) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->dir = xstrdup(dir);
	xasprintf(&d->what, "dir %s", dir);
	p = path_in(d, "entries");
	if (read_file(p, DIR_MAX_FILE, &d->entries, &d->len, err,
	    errlen) != 0) {
		free(p);
		dir_free(d);
		return -1;
	}
	free(p);
	while (off + 4 <= d->len) {
		const uint8_t *b = d->entries + off;

		l = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		if (l & DIR_REC_NOTE) {
			l &= ~DIR_REC_NOTE;
			if (l == 0 || l > d->len - off - 4 || l > NOTE_MAX_LEN)
				break;
			if (memchr(b + 4, '\0', l) == NULL) {
				d->note_off = off + 4;
				d->note_len = l;
			}
			off += 4 + (size_t)l;
			continue;
		}
		if (l > d->len - off - 4 || l > LEDGER_MAX_ENTRY)
			break;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 1024;
			d->off = xrealloc(d->off, cap * sizeof(size_t));
			d->elen = xrealloc(d->elen, cap * sizeof(uint32_t));
		}
		d->off[d->n] = off + 4;
		d->elen[d->n] = l;
		d->n++;
		off += 4 + (size_t)l;
	}
	d->torn = off != d->len;
	p = path_in(d, "state.snap");
	if (stat(p, &st) == 0)
		d->snap = p;
	else
		free(p);

	s = xcalloc(1, sizeof(*s));
	s->ctx = d;
	s->what = d->what;
	s->checkpoint = dir_checkpoint;
	s->vkey = dir_vkey;
	s->entry = dir_entry;
	s->history = dir_history;
	s->snapshot = d->snap;
	s->free = dir_free;
	*out = s;
	return 0;
}
