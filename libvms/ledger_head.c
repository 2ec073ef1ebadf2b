/*
 * ledger_head.c — the signed head (ledger.h, vms-ledger(5)): the latest
 * checkpoint the ledger's key has signed for a commit, kept durably in a
 * small file apart from the ledger's directory (vmsd keeps it beside the
 * key). Storage that loses data it had synced, or a ledger restored from
 * an older copy, leaves the ledger behind its head; a writable ledger then
 * refuses to attach it, so no size is ever signed twice with two roots.
 *
 * The file is a ring of LEDGER_HEAD_PAGES pages of LEDGER_HEAD_PAGE bytes
 * (512 KiB), never grown (a full disk cannot refuse a write) and written
 * in place. A record: "VMSHEAD3" || seq (uint64 BE) || note length
 * (uint32 BE) || batch offset (uint64 BE) || batch length (uint32 BE) ||
 * note || batch || CRC-32C of everything before it (uint32 BE), at most
 * LEDGER_HEAD_RECORD bytes. Each starts on a page boundary: on the page
 * after the record before it, or on page 0 when it does not fit before the
 * end of the file. Each is fdatasynced before any reply; a torn write
 * damages at most the record being written, never the one before it (the
 * ring holds more than four of the largest records: two commits in flight
 * and the head behind them never meet). The valid record with the highest
 * seq is the head. A reader looks for a record at every page boundary;
 * one whose bytes a later record overwrote in part fails its checksum.
 * The checksum catches torn and overwritten records only: neither it
 * nor the SHA-256 it replaced is keyed, and none is needed against a
 * forger, since the head's note must be signed (head_pick) and the
 * journal's batches must make the signed tree (journal_check). Records
 * headed "VMSHEAD2", the same with SHA-256 in place of the CRC (six to
 * nine times the CPU on a batch: bench/README.md, round 28), are read as
 * they are, and overwritten by the ring in its turn.
 *
 * The batch is the commit's bytes as written to `entries` at that offset
 * (its entries and its commit record): the head's journal. One flush, the
 * head's, then makes the commit durable; `entries` is synced when a record
 * would cover a page of one whose batch it may not hold durably yet, or
 * when a batch does not fit a record (ledger_commit.c). Small records
 * take a page each, so the ring holds the last 128 batches of one call
 * and about 40 of 16 calls before `entries` must be synced (eight, when
 * each record had a 64 KiB slot of its own). An open after a crash
 * that lost unsynced writes to `entries` finds the ledger behind its
 * head; the journal then holds every batch it lacks, which attach writes
 * back. Anything more missing is storage that lost synced data.
 *
 * Files written before the ring, eight slots of 64 KiB, are the same
 * ring with a record every 16 pages, and are read as they are.
 * Files of the first format, two slots of 4096 bytes headed "VMSHEAD1"
 * and no batch, are read and rewritten in this one when attached.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crc32c.h"
#include "ledger_int.h"
#include "sha256.h"
#include "util.h"

#define HEAD_MAGIC	"VMSHEAD3"
#define HEAD_HDR	(8 + 8 + 4 + 8 + 4)
#define HEAD_CRC	VMS_CRC32C_LEN
#define V2_MAGIC	"VMSHEAD2"	/* the same, SHA-256 at the end */
#define HEAD_HASH	crypto_hash_sha256_BYTES
#define HEAD_NOTE_MAX	4000	/* a checkpoint note is a few hundred */
#define HEAD_BATCH_MAX	(LEDGER_HEAD_RECORD - HEAD_HDR - HEAD_NOTE_MAX - HEAD_HASH)
#define HEAD_FILE	((off_t)LEDGER_HEAD_FILE)

_Static_assert(LEDGER_HEAD_FILE % LEDGER_HEAD_PAGE == 0 &&
    LEDGER_HEAD_FILE >= 4 * (LEDGER_HEAD_RECORD + LEDGER_HEAD_PAGE),
    "the head's ring must hold more than four of its largest records");
#define V1_MAGIC	"VMSHEAD1"
#define V1_SLOT		4096
#define V1_HDR		(8 + 8 + 4)

size_t
ledger_head_len(size_t notelen, size_t batchlen)
{
	if (notelen > HEAD_NOTE_MAX || batchlen > HEAD_BATCH_MAX)
		return 0;
	return HEAD_HDR + notelen + batchlen + HEAD_CRC;
}

size_t
ledger_head_encode(uint8_t *slot, uint64_t seq, const char *note,
    const uint8_t *batch, size_t batchlen, uint64_t at)
{
	size_t n = strlen(note), len;

	if (batch == NULL)
		batchlen = 0;
	if (ledger_head_len(n, batchlen) == 0)
		return 0;
	memcpy(slot, HEAD_MAGIC, 8);
	ledger_put_be64(slot + 8, seq);
	ledger_put_be32(slot + 16, (uint32_t)n);
	ledger_put_be64(slot + 20, batchlen > 0 ? at : 0);
	ledger_put_be32(slot + 28, (uint32_t)batchlen);
	memcpy(slot + HEAD_HDR, note, n);
	if (batchlen > 0)
		memcpy(slot + HEAD_HDR + n, batch, batchlen);
	len = HEAD_HDR + n + batchlen;
	ledger_put_be32(slot + len, vms_crc32c(slot, len));
	return len + HEAD_CRC;
}

/* One decoded slot. */
struct head_slot {
	size_t		 page, npages;	/* where it is in the ring */
	size_t		 len;		/* its bytes */
	uint64_t	 seq;
	const uint8_t	*note;		/* in the file's image, not checked */
	size_t		 notelen;
	struct checkpoint cp;		/* once checked (head_pick) */
	uint64_t	 at;		/* its batch's offset in `entries` */
	const uint8_t	*batch;		/* in the file's image; NULL: none */
	size_t		 batchlen;
};

/* A note that is the ledger's checkpoint, signed by its key. */
static int
note_decode(const struct ledger *l, const uint8_t *p, size_t n,
    struct checkpoint *cp)
{
	char note[HEAD_NOTE_MAX + 1], why[VMS_ERRLEN];
	size_t tlen;

	memcpy(note, p, n);
	note[n] = '\0';
	if (strlen(note) != n || note_verify(note, n, &l->ver, 1, &tlen, NULL,
	    why, sizeof(why)) != 0 || checkpoint_parse(note, tlen, cp, why,
	    sizeof(why)) != 0 || strcmp(cp->origin, l->ver.name) != 0)
		return -1;
	return 0;
}

/* The seq, note and batch of the record at slot (avail bytes to the end
 * of the file) if it is whole (its SHA-256 matches); -1 otherwise. Its
 * note's signature is checked only if it is the head (head_pick): the
 * journal's batches are checked on their own (journal_check). */
static int
slot_decode(const uint8_t *slot, size_t avail, struct head_slot *s)
{
	uint8_t h[HEAD_HASH];
	uint32_t n, b;
	size_t sum;
	int v2;

	if (avail < HEAD_HDR + HEAD_CRC)
		return -1;
	if (memcmp(slot, HEAD_MAGIC, 8) == 0)
		v2 = 0, sum = HEAD_CRC;
	else if (memcmp(slot, V2_MAGIC, 8) == 0)
		v2 = 1, sum = HEAD_HASH;
	else
		return -1;
	if ((n = ledger_get_be32(slot + 16)) > HEAD_NOTE_MAX ||
	    (b = ledger_get_be32(slot + 28)) > HEAD_BATCH_MAX ||
	    HEAD_HDR + (size_t)n + b + sum > avail)
		return -1;
	if (v2) {
		vms_sha256(slot, HEAD_HDR + n + b, h);
		if (sodium_memcmp(h, slot + HEAD_HDR + n + b, sizeof(h)) != 0)
			return -1;
	} else if (ledger_get_be32(slot + HEAD_HDR + n + b) !=
	    vms_crc32c(slot, HEAD_HDR + n + b))
		return -1;
	s->len = HEAD_HDR + n + b + sum;
	s->note = slot + HEAD_HDR;
	s->notelen = n;
	s->seq = ledger_get_be64(slot + 8);
	s->at = ledger_get_be64(slot + 20);
	s->batch = b > 0 ? slot + HEAD_HDR + n : NULL;
	s->batchlen = b;
	return 0;
}

/* The same for a slot of the first format (no batch). */
static int
v1_slot_decode(const uint8_t *slot, struct head_slot *s)
{
	uint8_t h[HEAD_HASH];
	uint32_t n;

	if (memcmp(slot, V1_MAGIC, 8) != 0 ||
	    (n = ledger_get_be32(slot + 16)) > V1_SLOT - V1_HDR - HEAD_HASH)
		return -1;
	crypto_hash_sha256(h, slot, V1_HDR + n);
	if (n > HEAD_NOTE_MAX ||
	    sodium_memcmp(h, slot + V1_HDR + n, sizeof(h)) != 0)
		return -1;
	s->len = V1_HDR + n + HEAD_HASH;
	s->note = slot + V1_HDR;
	s->notelen = n;
	s->seq = ledger_get_be64(slot + 8);
	s->at = 0;
	s->batch = NULL;
	s->batchlen = 0;
	return 0;
}

/* A new head file holding one head, seq seq (note, no batch), on page 0,
 * the others empty; replaces path atomically. */
static int
head_create(const char *path, uint64_t seq, const char *note, char *err,
    size_t errlen)
{
	uint8_t *buf = xcalloc(1, (size_t)HEAD_FILE);
	int rc = -1;

	if (ledger_head_encode(buf, seq, note, NULL, 0, 0) == 0)
		seterr(err, errlen, "%s: the checkpoint is too large", path);
	else
		rc = write_file_atomic(path, buf, (size_t)HEAD_FILE, 0600,
		    err, errlen);
	free(buf);
	return rc;
}

/*
 * Do the batches (in order, the first at the ledger's committed end) hold
 * records whose entries extend its tree to the head's, each commit record
 * signing the tree so far? Checked before anything is written: a journal
 * that would not bring the ledger to its head is not put back. The number
 * of entries they hold, or -1.
 */
static int64_t
journal_check(struct ledger *l, const struct head_slot *const *order,
    size_t n, const struct head_slot *head)
{
	struct merkle_frontier f = l->cfront;
	struct checkpoint cp;
	merkle_hash leaf, root;
	uint64_t size = l->csize;
	size_t i, off, len = 0;
	uint32_t rec = 0;

	/* Each batch as a writer makes it: entries, at least one, then its
	 * commit record, which ends it. */
	for (i = 0; i < n; i++) {
		const uint8_t *b = order[i]->batch;
		uint64_t first = size;

		for (off = 0; off < order[i]->batchlen; off += 4 + len) {
			if (order[i]->batchlen - off < 4)
				return -1;
			rec = ledger_get_be32(b + off);
			len = rec & ~LEDGER_REC_NOTE;
			if (len == 0 || len > order[i]->batchlen - off - 4)
				return -1;
			if (!(rec & LEDGER_REC_NOTE)) {
				merkle_leaf_hash(b + off + 4, len, leaf);
				merkle_frontier_push(&f, leaf);
				size++;
				continue;
			}
			merkle_frontier_root(&f, root);
			if (size == first || off + 4 + len !=
			    order[i]->batchlen || len > HEAD_NOTE_MAX ||
			    note_decode(l, b + off + 4, len, &cp) != 0 ||
			    cp.size != size ||
			    sodium_memcmp(cp.root, root, MERKLE_HASH_LEN) != 0)
				return -1;
		}
		if (!(rec & LEDGER_REC_NOTE))
			return -1;
	}
	merkle_frontier_root(&f, root);
	if (size != head->cp.size ||
	    sodium_memcmp(root, head->cp.root, MERKLE_HASH_LEN) != 0)
		return -1;
	return (int64_t)(size - l->csize);
}

/*
 * The ledger is behind its head: write back the batches the journal holds
 * from where `entries` ends on, in seq order, once checked (journal_check),
 * then sync them. 0 with the number of entries put back, or -1 if the
 * journal does not bring the ledger to its head (nothing is written then)
 * or -2 if a write fails (err).
 */
static int
journal_replay(struct ledger *l, const struct head_slot *s, const int *ok,
    size_t ns, const struct head_slot *head, uint64_t *nentries, char *err,
    size_t errlen)
{
	const struct head_slot *order[LEDGER_HEAD_PAGES], *t;
	uint64_t end = l->cent_end, first;
	size_t n = 0, i, j;
	int64_t put;

	for (i = 0; i < ns; i++)
		if (ok[i] && s[i].batch != NULL && s[i].seq <= head->seq &&
		    s[i].at + s[i].batchlen > end)
			order[n++] = &s[i];
	for (i = 1; i < n; i++)		/* seq order (insertion sort) */
		for (j = i; j > 0 && order[j - 1]->seq > order[j]->seq; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	/* They must follow each other from the ledger's committed end to
	 * the head's commit record, with no gap. */
	for (i = 0; i < n; i++) {
		if (order[i]->at != end)
			return -1;
		end = order[i]->at + order[i]->batchlen;
	}
	if (n == 0 || order[n - 1]->seq != head->seq)
		return -1;
	if ((put = journal_check(l, order, n, head)) < 0)
		return -1;
	*nentries = (uint64_t)put;
	first = order[0]->at;
	for (i = 0; i < n; i++)
		if (pwrite_full(l->fd_ent, order[i]->batch,
		    order[i]->batchlen, (off_t)order[i]->at) != 0) {
			seterr(err, errlen, "%s/entries: putting back the "
			    "head's journal: %s", l->dir, strerror(errno));
			return -2;
		}
	if (fdatasync(l->fd_ent) != 0) {
		seterr(err, errlen, "%s/entries: putting back the head's "
		    "journal: fdatasync: %s", l->dir, strerror(errno));
		return -2;
	}
	seterr(err, errlen, "the ledger in %s held %" PRIu64 " committed "
	    "entries, its signed head %" PRIu64 ": %" PRIu64 " entries put "
	    "back from the head's journal (%" PRIu64 " bytes at offset %"
	    PRIu64 " of entries, lost by a crash before they were synced)",
	    l->dir, l->csize, head->cp.size, *nentries, end - first, first);
	return 0;
}

/*
 * The head: the whole record with the highest seq whose note is a
 * checkpoint signed by the ledger's key for its origin (a record whose
 * note is not is passed over, as a torn one is). NULL if none.
 */
static struct head_slot *
head_pick(const struct ledger *l, struct head_slot *s, int *ok, size_t ns)
{
	struct head_slot *h;
	size_t i;

	for (;;) {
		h = NULL;
		for (i = 0; i < ns; i++)
			if (ok[i] && (h == NULL || s[i].seq > h->seq))
				h = &s[i];
		if (h == NULL || note_decode(l, h->note, h->notelen,
		    &h->cp) == 0)
			return h;
		ok[h - s] = 0;
	}
}

/*
 * Every whole record of the file's image (len bytes; a file of the first
 * format: its two slots), in s (room for LEDGER_HEAD_PAGES), their number.
 */
static size_t
records_find(const uint8_t *buf, size_t len, int v1, struct head_slot *s,
    int *ok)
{
	size_t p, n = 0;

	if (v1) {
		for (p = 0; p < 2; p++)
			if (v1_slot_decode(buf + p * V1_SLOT, &s[n]) == 0) {
				s[n].page = p;
				s[n].npages = 1;
				ok[n++] = 1;
			}
		return n;
	}
	for (p = 0; p < LEDGER_HEAD_PAGES && p * LEDGER_HEAD_PAGE < len; p++) {
		const uint8_t *r = buf + p * LEDGER_HEAD_PAGE;

		if (slot_decode(r, len - p * LEDGER_HEAD_PAGE, &s[n]) != 0)
			continue;
		s[n].page = p;
		s[n].npages = ledger_head_pages(s[n].len);
		ok[n++] = 1;
	}
	return n;
}

int
ledger_head_attach(struct ledger *l, const char *path, int *created,
    uint64_t *repaired, char *err, size_t errlen)
{
	uint8_t *buf;
	struct head_slot *s, *h = NULL;
	struct stat st;
	merkle_hash root, hroot;
	uint64_t hsize;
	char *r64;
	size_t ns, i, k, len;
	int fd, *ok, v1, r;

	*created = 0;
	*repaired = 0;
	if (l->signer == NULL || l->broken || l->head_fd >= 0) {
		seterr(err, errlen, "%s: the signed head can only be attached "
		    "once to a ledger open for writing", l->dir);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		/* A ledger from before the signed head: start it now. */
		if (head_create(path, 0, l->checkpoint, err, errlen) != 0)
			return -1;
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		*created = 1;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* (what the file holds of the ring: a short one is read as far as
	 * it goes, and rewritten whole below if it is the first format) */
	v1 = st.st_size == 2 * V1_SLOT;
	len = st.st_size < HEAD_FILE ? (size_t)st.st_size : (size_t)HEAD_FILE;
	buf = xcalloc(1, (size_t)HEAD_FILE);
	s = xcalloc(LEDGER_HEAD_PAGES, sizeof(*s));
	ok = xcalloc(LEDGER_HEAD_PAGES, sizeof(*ok));
	ns = pread_full(fd, buf, len, 0) == 0 ?
	    records_find(buf, len, v1, s, ok) : 0;
	h = head_pick(l, s, ok, ns);
	if (h == NULL) {
		free(buf);
		free(s);
		free(ok);
		close(fd);
		seterr(err, errlen, "the signed head %s is damaged: none of "
		    "its records holds a checkpoint signed by the ledger's key",
		    path);
		return 1;
	}
	hsize = h->cp.size;
	memcpy(hroot, h->cp.root, MERKLE_HASH_LEN);
	if (hsize > l->csize) {
		r = journal_replay(l, s, ok, ns, h, repaired, err, errlen);
		free(buf);
		free(s);
		free(ok);
		close(fd);
		if (r == 0) {
			l->broken = 1;	/* reopen it: its files changed */
			return 2;
		}
		if (r == -1)
			seterr(err, errlen, "the ledger in %s holds %" PRIu64
			    " committed entries, but a checkpoint of size %"
			    PRIu64 " was signed (%s): the storage lost "
			    "entries it had synced, or the ledger was restored "
			    "from an older copy", l->dir, l->csize, hsize,
			    path);
		return r == -1 ? 1 : -1;
	}
	if (ledger_root(l, hsize, root) != 0 ||
	    sodium_memcmp(root, hroot, MERKLE_HASH_LEN) != 0) {
		free(buf);
		free(s);
		free(ok);
		close(fd);
		r64 = b64_encode(hroot, MERKLE_HASH_LEN);
		seterr(err, errlen, "the first %" PRIu64 " entries of the ledger "
		    "in %s are not the ones a checkpoint signed (%s, root %s): "
		    "the ledger was replaced or damaged", hsize, l->dir,
		    path, r64);
		free(r64);
		return 1;
	}
	l->head_seq = h->seq;
	l->head_size = h->cp.size;
	memcpy(l->head_root, h->cp.root, MERKLE_HASH_LEN);
	/*
	 * The journal's batches are in `entries` now, perhaps not durably
	 * (a process crash keeps unsynced writes): a page of a record
	 * holding one is written again only once `entries` is synced (the
	 * first commit whose record covers such a page syncs it). The next
	 * record goes after the head's. A file of the first format is
	 * rewritten in this one, holding its head.
	 */
	l->ent_durable = 0;
	memset(l->head_end, 0, sizeof(l->head_end));
	for (i = 0; i < ns; i++)
		if (ok[i] && s[i].batch != NULL && !v1)
			for (k = 0; k < s[i].npages &&
			    s[i].page + k < LEDGER_HEAD_PAGES; k++)
				l->head_end[s[i].page + k] = s[i].at +
				    s[i].batchlen;
	l->head_next = v1 ? 1 : (h->page + h->npages) % LEDGER_HEAD_PAGES;
	free(buf);
	free(s);
	free(ok);
	if (v1) {
		/* (the ledger's checkpoint: the head's or one extending it) */
		close(fd);
		if (head_create(path, l->head_seq, l->checkpoint, err,
		    errlen) != 0)
			return -1;
		l->head_size = l->csize;
		memcpy(l->head_root, l->croot, MERKLE_HASH_LEN);
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if ((l->head_fds[1] = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	l->head_fd = l->head_fds[0] = fd;
	return 0;
}

/* Phase 2 of a commit (any thread): the ticket's record written in place,
 * unless prepare wrote it (head_slot NULL), and the head synced. */
int
ledger_head_write(const struct ledger_ticket *t)
{
	errno = 0;
	if ((t->head_slot != NULL && pwrite_full(t->head_fd, t->head_slot,
	    t->head_len, (off_t)t->head_off) != 0) ||
	    fdatasync(t->head_fd) != 0)
		return errno ? errno : EIO;
	return 0;
}
