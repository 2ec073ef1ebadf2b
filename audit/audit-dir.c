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
 *
 * `entries` is read with pread(2), never mapped: the file may be truncated
 * or rewritten while it is audited (the daemon recovering, an operator, an
 * attacker), and a mapping would then kill the auditor with SIGBUS. The
 * scan keeps only offsets and lengths (and the small commit notes); each
 * entry is read again when asked for, and a short read or a record header
 * that changed since the scan is an error naming the file and the offset.
 * Entries asked for in file order come out of a read-ahead window (one
 * pread of DIR_WINDOW bytes from the entry asked for, not one per entry):
 * dir_entry's own, and each thread's for entry_copy when it reads ahead
 * (the thread's audit_copybuf); any other (an earlier entry, one larger
 * than the window, a history read) or one the window does not hold whole
 * with its length prefix as the scan saw it is read alone, as before,
 * into its own buffer (which gives the errors). Where the readable
 * records end, and why, is kept to explain an entry the checkpoint covers
 * but the file does not hold.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "ledger.h"
#include "note.h"
#include "util.h"

#define DIR_MAX_FILE	((uint64_t)1 << 40)
#define DIR_WINDOW	((size_t)1 << 20)	/* read-ahead: scan, dir_entry */
#define DIR_REC_NOTE	0x80000000u

/* Read-ahead window over `entries` (the scan, then dir_entry). */
struct win {
	int		 fd;
	uint8_t		*buf;
	uint64_t	 base;
	size_t		 have;
};

struct dir_src {
	char		*dir;
	char		*what;
	char		*snap;
	char		*epath;		/* DIR/entries */
	int		 fd;		/* `entries`, read with pread */
	uint64_t	 len;		/* its size when scanned */
	uint64_t	*off;		/* record i's bytes start at off[i] */
	uint32_t	*elen;
	uint64_t	 n;
	char		 end[256];	/* where and why the records end */
	uint8_t		*buf;		/* the last entry read alone */
	size_t		 bufcap;
	struct win	*ahead;		/* read-ahead of dir_entry, or NULL */
	char		*note;		/* last commit record's note, or NULL */
	char	       **cr;		/* every commit record's note */
	size_t		 ncr;
};

/* The tree size on a checkpoint note's second line, or 0. */
static uint64_t
note_size(const char *note, size_t len)
{
	uint64_t v;

	return checkpoint_note_size(note, len, &v) == 0 ? v : 0;
}

static char *
path_in(struct dir_src *d, const char *file)
{
	char *p;

	xasprintf(&p, "%s/%s", d->dir, file);
	return p;
}

/* Read up to len bytes at off; returns the count read, or -1. */
static ssize_t
pread_upto(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * Point *p at len bytes of the file at off, through the window. Returns
 * the number of bytes available (< len at the end of the file), or -1.
 */
static ssize_t
win_get(struct win *w, uint64_t off, size_t len, const uint8_t **p)
{
	ssize_t r;

	if (off < w->base || off + len > w->base + w->have) {
		if ((r = pread_upto(w->fd, w->buf, DIR_WINDOW, off)) < 0)
			return -1;
		w->base = off;
		w->have = (size_t)r;
	}
	*p = w->buf + (off - w->base);
	return (ssize_t)(off + len <= w->base + w->have ? len :
	    w->base + w->have - off);
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
	if (d->note != NULL && note_size(d->note, strlen(d->note)) >
	    note_size((char *)buf, len)) {
		free(buf);
		*note = xstrdup(d->note);
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

/*
 * Entry i, read again from the file into *buf (grown as needed, *cap): its
 * length prefix must still be the one the scan saw, and all its bytes
 * must still be there. Reads only what the scan left, so several threads
 * may call it at once, each with its own buffer.
 */
static enum audit_fetch
read_entry(struct dir_src *d, uint64_t index, uint8_t **buf, size_t *cap,
    char *err, size_t errlen)
{
	struct stat st;
	size_t need;
	ssize_t r;
	uint32_t l;

	if (index >= d->n) {
		seterr(err, errlen, "%s holds %" PRIu64 " entries: %s",
		    d->epath, d->n, d->end);
		return FETCH_END;
	}
	need = 4 + (size_t)d->elen[index];
	if (*cap < need) {
		*buf = xrealloc(*buf, need);
		*cap = need;
	}
	if ((r = pread_upto(d->fd, *buf, need, d->off[index] - 4)) < 0) {
		seterr(err, errlen, "%s: entry %" PRIu64 " at offset %" PRIu64
		    ": %s", d->epath, index, d->off[index] - 4,
		    strerror(errno));
		return FETCH_ERROR;
	}
	if ((size_t)r < need) {
		seterr(err, errlen, "%s: entry %" PRIu64 " at offset %" PRIu64
		    " (%zu bytes with its length) is cut short: the file now "
		    "ends at offset %" PRIu64 ", it was %" PRIu64 " bytes when "
		    "the audit began (truncated during the audit)", d->epath,
		    index, d->off[index] - 4, need, fstat(d->fd, &st) == 0 ?
		    (uint64_t)st.st_size : d->off[index] - 4 + (uint64_t)r,
		    d->len);
		return FETCH_ERROR;
	}
	l = (uint32_t)(*buf)[0] << 24 | (uint32_t)(*buf)[1] << 16 |
	    (uint32_t)(*buf)[2] << 8 | (*buf)[3];
	if (l != d->elen[index]) {
		seterr(err, errlen, "%s: entry %" PRIu64 " at offset %" PRIu64
		    ": its length prefix is now %" PRIu32 ", it was %" PRIu32
		    " when the audit began (the file changed during the "
		    "audit)", d->epath, index, d->off[index] - 4, l,
		    d->elen[index]);
		return FETCH_ERROR;
	}
	return FETCH_OK;
}

/*
 * Entry i out of a read-ahead window of DIR_WINDOW bytes at buf (the file's
 * bytes [*base, *base + *have)), refilled from its record when it lies
 * beyond: the offset of its bytes in buf, or -1 when the window cannot
 * give them whole with the length prefix the scan saw (the caller then
 * reads it alone, which names what went wrong). Reads only what the scan
 * left: threads may each use a window of their own.
 */
static ssize_t
ahead_entry(const struct dir_src *d, uint64_t index, uint8_t *buf,
    uint64_t *base, size_t *have)
{
	uint64_t start;
	size_t need;
	ssize_t r;
	const uint8_t *b;

	if (index >= d->n)
		return -1;
	start = d->off[index] - 4;
	need = 4 + (size_t)d->elen[index];
	if (need > DIR_WINDOW || start < *base)
		return -1;
	if (start + need > *base + *have) {
		if ((r = pread_upto(d->fd, buf, DIR_WINDOW, start)) < 0) {
			*have = 0;
			return -1;
		}
		*base = start;
		*have = (size_t)r;
		if (need > *have)
			return -1;
	}
	b = buf + (start - *base);
	if (((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3]) != d->elen[index])
		return -1;
	return (ssize_t)(start - *base) + 4;
}

static enum audit_fetch
dir_entry(void *ctx, uint64_t index, const uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct dir_src *d = ctx;
	struct win *w = d->ahead;
	enum audit_fetch r;
	ssize_t o;

	if (w != NULL && (o = ahead_entry(d, index, w->buf, &w->base,
	    &w->have)) >= 0) {
		*buf = w->buf + o;
		*len = d->elen[index];
		return FETCH_OK;
	}
	if ((r = read_entry(d, index, &d->buf, &d->bufcap, err,
	    errlen)) != FETCH_OK)
		return r;
	*buf = d->buf + 4;
	*len = d->elen[index];
	return FETCH_OK;
}

static enum audit_fetch
dir_entry_copy(void *ctx, uint64_t index, struct audit_copybuf *cb,
    size_t *off, size_t *len, char *err, size_t errlen)
{
	struct dir_src *d = ctx;
	enum audit_fetch r;
	ssize_t o;

	if (cb->ahead) {
		if (cb->cap < DIR_WINDOW) {
			free(cb->buf);
			cb->buf = xmalloc(DIR_WINDOW);
			cb->cap = DIR_WINDOW;
			cb->have = 0;
		}
		if ((o = ahead_entry(d, index, cb->buf, &cb->base,
		    &cb->have)) >= 0) {
			*off = (size_t)o;
			*len = d->elen[index];
			return FETCH_OK;
		}
	}
	/* read alone into the buffer: it no longer holds a window */
	cb->base = 0;
	cb->have = 0;
	if ((r = read_entry(d, index, &cb->buf, &cb->cap, err, errlen)) !=
	    FETCH_OK)
		return r;
	*off = 4;
	*len = d->elen[index];
	return FETCH_OK;
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
		(*notes)[(*n)++] = xstrdup(d->cr[k]);
	return 0;
}

static void
dir_free(void *ctx)
{
	struct dir_src *d = ctx;
	size_t k;

	free(d->dir);
	free(d->what);
	free(d->snap);
	free(d->epath);
	if (d->fd != -1)
		close(d->fd);
	free(d->off);
	free(d->elen);
	free(d->buf);
	if (d->ahead != NULL)
		free(d->ahead->buf);
	free(d->ahead);
	free(d->note);
	for (k = 0; k < d->ncr; k++)
		free(d->cr[k]);
	free(d->cr);
	free(d);
}

static void
add_commit(struct dir_src *d, const uint8_t *b, uint32_t l)
{
	char *s = xstrndup((const char *)b, l);

	if (memchr(b, '\0', l) == NULL) {
		free(d->note);
		d->note = xstrdup(s);
	}
	if ((d->ncr & (d->ncr - 1)) == 0)
		d->cr = xrealloc(d->cr, (d->ncr ? 2 * d->ncr : 1) *
		    sizeof(char *));
	d->cr[d->ncr++] = s;
}

/*
 * Walk `entries` once: offsets and lengths of the entry records, the
 * commit records' notes, and in d->end where and why the records end.
 */
static int
scan_entries(struct dir_src *d, char *err, size_t errlen)
{
	struct win w;
	const uint8_t *b;
	uint64_t off = 0, cap = 0;
	uint32_t l;
	ssize_t r;

	w.fd = d->fd;
	w.buf = xmalloc(DIR_WINDOW);
	w.base = 0;
	w.have = 0;
	for (;;) {
		if ((r = win_get(&w, off, 4, &b)) < 0)
			goto readerr;
		if (r == 0) {
			snprintf(d->end, sizeof(d->end), "the file ends at "
			    "offset %" PRIu64 ", after a complete record",
			    off);
			break;
		}
		if (r < 4) {
			snprintf(d->end, sizeof(d->end), "a record header at "
			    "offset %" PRIu64 " is cut short (%zd of 4 bytes; "
			    "the file ends at offset %" PRIu64 ")", off, r,
			    d->len);
			break;
		}
		l = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		if (l & DIR_REC_NOTE) {
			l &= ~DIR_REC_NOTE;
			if (l == 0 || l > NOTE_MAX_LEN) {
				snprintf(d->end, sizeof(d->end), "the commit "
				    "record at offset %" PRIu64 " claims %"
				    PRIu32 " bytes, not 1..%d", off, l,
				    NOTE_MAX_LEN);
				break;
			}
			if ((r = win_get(&w, off + 4, l, &b)) < 0)
				goto readerr;
			if ((size_t)r < l) {
				snprintf(d->end, sizeof(d->end), "the commit "
				    "record at offset %" PRIu64 " claims %"
				    PRIu32 " bytes, the file ends at offset %"
				    PRIu64 " (truncated mid-record)", off, l,
				    off + 4 + (uint64_t)r);
				break;
			}
			add_commit(d, b, l);
			off += 4 + (uint64_t)l;
			continue;
		}
		if (l == 0 || l > LEDGER_MAX_ENTRY) {
			snprintf(d->end, sizeof(d->end), "the record at offset "
			    "%" PRIu64 " claims %" PRIu32 " bytes, not 1..%u",
			    off, l, LEDGER_MAX_ENTRY);
			break;
		}
		if (off + 4 + l > d->len) {
			snprintf(d->end, sizeof(d->end), "the record at offset "
			    "%" PRIu64 " claims %" PRIu32 " bytes, the file "
			    "ends at offset %" PRIu64 " (truncated mid-record)",
			    off, l, d->len);
			break;
		}
		if (d->n == cap) {
			cap = cap ? cap * 2 : 1024;
			d->off = xrealloc(d->off, cap * sizeof(uint64_t));
			d->elen = xrealloc(d->elen, cap * sizeof(uint32_t));
		}
		d->off[d->n] = off + 4;
		d->elen[d->n] = l;
		d->n++;
		off += 4 + (uint64_t)l;
	}
	/* the window goes on for dir_entry, from the first entry */
	d->ahead = xmalloc(sizeof(*d->ahead));
	*d->ahead = w;
	d->ahead->base = 0;
	d->ahead->have = 0;
	return 0;
 readerr:
	seterr(err, errlen, "%s: read at offset %" PRIu64 ": %s", d->epath,
	    off, strerror(errno));
	free(w.buf);
	return -1;
}

int
audit_dir_source(const char *dir, struct audit_source **out, char *err,
    size_t errlen)
{
	struct audit_source *s;
	struct dir_src *d;
	struct stat st;
	char *p;

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
	d->epath = path_in(d, "entries");
	if ((d->fd = open(d->epath, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s: %s", d->epath, strerror(errno));
		dir_free(d);
		return -1;
	}
	if (fstat(d->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > DIR_MAX_FILE) {
		seterr(err, errlen, "%s: not a regular file of sane size",
		    d->epath);
		dir_free(d);
		return -1;
	}
	d->len = (uint64_t)st.st_size;
	if (scan_entries(d, err, errlen) != 0) {
		dir_free(d);
		return -1;
	}
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
	s->entry_copy = dir_entry_copy;
	s->history = dir_history;
	s->snapshot = d->snap;
	s->free = dir_free;
	*out = s;
	return 0;
}
