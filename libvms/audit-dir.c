/*
 * audit-dir.c — an audit source over a ledger directory (vms-ledger(5)),
 * read directly: `entries` is parsed record by record (uint32 BE length ||
 * bytes) without trusting `index` or `hashes`, skipping commit records
 * (length with the top bit set: a signed checkpoint note); the checkpoint
 * is the newer of the `checkpoint` file (written at sync points) and the
 * last commit record; `checkpoints` and `vkey` are read as they are; the
 * history offered is every note in `checkpoints` followed by every commit
 * record's note (audit.c verifies each one against the entries);
 * `state.snap`, if present, is offered for check 5. Nothing here is
 * verified: audit.c does that.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "ledger.h"
#include "note.h"
#include "util.h"

#define DIR_MAX_FILE	((size_t)1 << 40)

struct dir_src {
	char		*dir;
	char		*what;
	char		*snap;
	uint8_t		*entries;	/* `entries`, mapped read-only */
	size_t		 len;
	size_t		*off;		/* record i's bytes start at off[i] */
	uint32_t	*elen;
	uint64_t	 n;
	int		 torn;		/* a partial record at the end */
	size_t		 note_off;	/* last commit record's note, or 0 */
	uint32_t	 note_len;
	size_t		*cr_off;	/* every commit record's note */
	uint32_t	*cr_len;
	size_t		 ncr;
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
	size_t len, off = 0, cap = 0, k;
	uint32_t l;

	*notes = NULL;
	*n = 0;
	if (read_file(p, DIR_MAX_FILE, &buf, &len, err, sizeof(err)) != 0) {
		free(p);
		if (errno != ENOENT)
			return -1;
		buf = NULL;
		len = 0;
	} else
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
	/* Then every commit record's note in `entries`. */
	*notes = xrealloc(*notes, (*n + d->ncr + 1) * sizeof(char *));
	for (k = 0; k < d->ncr; k++)
		(*notes)[(*n)++] = xstrndup((const char *)d->entries +
		    d->cr_off[k], d->cr_len[k]);
	return 0;
}

/*
 * Map `entries` rather than read it: an absurdly large file costs address
 * space and page cache, not heap, and only the records the audit reaches
 * are ever touched.
 */
static int
map_entries(struct dir_src *d, const char *p, char *err, size_t errlen)
{
	struct stat st;
	void *m;
	int fd;

	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s: %s", p, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > DIR_MAX_FILE) {
		seterr(err, errlen, "%s: not a regular file of sane size", p);
		close(fd);
		return -1;
	}
	d->len = (size_t)st.st_size;
	if (d->len == 0) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, d->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		seterr(err, errlen, "%s: mmap: %s", p, strerror(errno));
		d->len = 0;
		return -1;
	}
	d->entries = m;
	return 0;
}

static void
dir_free(void *ctx)
{
	struct dir_src *d = ctx;

	free(d->dir);
	free(d->what);
	free(d->snap);
	if (d->entries != NULL)
		munmap(d->entries, d->len);
	free(d->off);
	free(d->elen);
	free(d->cr_off);
	free(d->cr_len);
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
	if (map_entries(d, p, err, errlen) != 0) {
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
			if ((d->ncr & (d->ncr - 1)) == 0) {
				d->cr_off = xrealloc(d->cr_off, (d->ncr ?
				    2 * d->ncr : 1) * sizeof(size_t));
				d->cr_len = xrealloc(d->cr_len, (d->ncr ?
				    2 * d->ncr : 1) * sizeof(uint32_t));
			}
			d->cr_off[d->ncr] = off + 4;
			d->cr_len[d->ncr++] = l;
			off += 4 + (size_t)l;
			continue;
		}
		if (l == 0 || l > d->len - off - 4 || l > LEDGER_MAX_ENTRY)
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
