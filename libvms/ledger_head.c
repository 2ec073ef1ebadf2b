/*
 * ledger_head.c — the signed head (ledger.h, vms-ledger(5)): the latest
 * checkpoint the ledger's key has signed for a commit, kept durably in a
 * small file apart from the ledger's directory (vmsd keeps it beside the
 * key). Storage that loses data it had synced, or a ledger restored from
 * an older copy, leaves the ledger behind its head; a writable ledger then
 * refuses to attach it, so no size is ever signed twice with two roots.
 *
 * The file is two slots of LEDGER_HEAD_SLOT bytes, written in turn, in
 * place (never grown: a full disk cannot refuse the write), and
 * fdatasynced after the entries it signs and before any reply; a torn
 * write damages at most the slot being written, the other one holds the
 * previous head. A slot: "VMSHEAD1" || seq (uint64 BE) || note length
 * (uint32 BE) || note || SHA-256 of everything before it; zeros after.
 * The valid slot with the higher seq is the head; slot = seq % 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger_int.h"
#include "util.h"

#define HEAD_MAGIC	"VMSHEAD1"
#define HEAD_HDR	(8 + 8 + 4)
#define HEAD_NOTE_MAX	(LEDGER_HEAD_SLOT - HEAD_HDR - crypto_hash_sha256_BYTES)

int
ledger_head_encode(uint8_t *slot, uint64_t seq, const char *note)
{
	size_t n = strlen(note);

	if (n > HEAD_NOTE_MAX)
		return -1;
	memset(slot, 0, LEDGER_HEAD_SLOT);
	memcpy(slot, HEAD_MAGIC, 8);
	ledger_put_be64(slot + 8, seq);
	ledger_put_be32(slot + 16, (uint32_t)n);
	memcpy(slot + HEAD_HDR, note, n);
	crypto_hash_sha256(slot + HEAD_HDR + n, slot, HEAD_HDR + n);
	return 0;
}

/* A slot's seq and checkpoint if it is whole and signed by the ledger's
 * key for its origin; -1 otherwise. */
static int
slot_decode(const struct ledger *l, const uint8_t *slot, uint64_t *seq,
    struct checkpoint *cp)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char note[LEDGER_HEAD_SLOT], why[VMS_ERRLEN];
	uint32_t n;
	size_t tlen;

	if (memcmp(slot, HEAD_MAGIC, 8) != 0 ||
	    (n = ledger_get_be32(slot + 16)) > HEAD_NOTE_MAX)
		return -1;
	crypto_hash_sha256(h, slot, HEAD_HDR + n);
	if (sodium_memcmp(h, slot + HEAD_HDR + n, sizeof(h)) != 0)
		return -1;
	memcpy(note, slot + HEAD_HDR, n);
	note[n] = '\0';
	if (strlen(note) != n || note_verify(note, n, &l->ver, 1, &tlen, NULL,
	    why, sizeof(why)) != 0 || checkpoint_parse(note, tlen, cp, why,
	    sizeof(why)) != 0 || strcmp(cp->origin, l->ver.name) != 0)
		return -1;
	*seq = ledger_get_be64(slot + 8);
	return 0;
}

/* A new head file holding the ledger's current checkpoint (both slots). */
static int
head_create(struct ledger *l, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = xmalloc(2 * LEDGER_HEAD_SLOT);
	int rc = -1;

	if (ledger_head_encode(buf, 0, l->checkpoint) != 0 ||
	    ledger_head_encode(buf + LEDGER_HEAD_SLOT, 1, l->checkpoint) != 0)
		seterr(err, errlen, "%s: the checkpoint is too large", path);
	else
		rc = write_file_atomic(path, buf, 2 * LEDGER_HEAD_SLOT, 0600,
		    err, errlen);
	free(buf);
	return rc;
}

int
ledger_head_attach(struct ledger *l, const char *path, int *created,
    char *err, size_t errlen)
{
	uint8_t *buf;
	uint64_t seq[2], best = 0;
	struct checkpoint cp[2], *h = NULL;
	merkle_hash root;
	char *r64;
	int fd, ok[2], i;

	*created = 0;
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
		if (head_create(l, path, err, errlen) != 0)
			return -1;
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		*created = 1;
	}
	buf = xmalloc(2 * LEDGER_HEAD_SLOT);
	for (i = 0; i < 2; i++)
		ok[i] = pread_full(fd, buf + i * LEDGER_HEAD_SLOT,
		    LEDGER_HEAD_SLOT, (off_t)i * LEDGER_HEAD_SLOT) == 0 &&
		    slot_decode(l, buf + i * LEDGER_HEAD_SLOT, &seq[i],
		    &cp[i]) == 0;
	free(buf);
	for (i = 0; i < 2; i++)
		if (ok[i] && (h == NULL || seq[i] > best)) {
			h = &cp[i];
			best = seq[i];
		}
	if (h == NULL) {
		close(fd);
		seterr(err, errlen, "the signed head %s is damaged: neither of "
		    "its slots holds a checkpoint signed by the ledger's key",
		    path);
		return 1;
	}
	if (h->size > l->csize) {
		close(fd);
		seterr(err, errlen, "the ledger in %s holds %" PRIu64 " committed "
		    "entries, but a checkpoint of size %" PRIu64 " was signed "
		    "(%s): the storage lost entries it had synced, or the "
		    "ledger was restored from an older copy", l->dir, l->csize,
		    h->size, path);
		return 1;
	}
	if (ledger_root(l, h->size, root) != 0 ||
	    sodium_memcmp(root, h->root, MERKLE_HASH_LEN) != 0) {
		close(fd);
		r64 = b64_encode(h->root, MERKLE_HASH_LEN);
		seterr(err, errlen, "the first %" PRIu64 " entries of the ledger "
		    "in %s are not the ones a checkpoint signed (%s, root %s): "
		    "the ledger was replaced or damaged", h->size, l->dir, path,
		    r64);
		free(r64);
		return 1;
	}
	l->head_fd = fd;
	l->head_seq = best;
	l->head_size = h->size;
	memcpy(l->head_root, h->root, MERKLE_HASH_LEN);
	return 0;
}

/* Phase 2 of a commit (any thread): the ticket's slot, in place, synced. */
int
ledger_head_write(const struct ledger_ticket *t)
{
	errno = 0;
	if (pwrite_full(t->head_fd, t->head_slot, LEDGER_HEAD_SLOT,
	    (off_t)t->head_off) != 0 || fdatasync(t->head_fd) != 0)
		return errno ? errno : EIO;
	return 0;
}
