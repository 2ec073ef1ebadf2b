/*
 * fuzz-ledger.c — the ledger directory opener and the record parsers
 * behind it (libvms/ledger_open.c, ledger.c, ledger_hashes.c,
 * ledger_history.c) and the audit's directory source (audit/audit-dir.c):
 * a ledger directory built from the input, as storage may leave it after
 * a crash, a bad disk or an operator's mistake (vms-ledger(5)).
 *
 * The input is sectioned (fuzz.h: "@@NAME\n" then the body). The key is
 * the fixed fuzz key. `entries` is built from these, in order:
 *   @@e          an entry record (uint32 BE length || body)
 *   @@c          a commit record the harness signs: the checkpoint of the
 *                @@e records so far (size and RFC 6962 root)
 *   @@C          a commit record signing the body as note text
 *   @@raw        the body, appended as is
 * and the other files are derived from them unless given:
 *   @@entries @@index @@hashes @@checkpoints @@checkpoint @@vkey
 *                the file's bytes, replacing the derived ones
 *   @@state.snap the snapshot file the audit compares (none by default)
 *   @@checkpoint-sign   `checkpoint`: the body signed as note text
 *   @@checkpoint-at     `checkpoint`: the checkpoint of the first N (the
 *                decimal body) @@e records
 *   @@cut-FILE N        truncate FILE to N bytes after building (N mod
 *                       1 MiB: extending with zeros is the damage, and
 *                       beyond that a larger file only costs time)
 *   @@flip-FILE N       flip bit N of FILE (byte N/8 mod 1 MiB)
 *   @@rm-FILE           remove FILE
 *   @@lost-after N      a crash that lost what was not synced after the
 *                       N-th commit record: `entries` cut at its end,
 *                       `checkpoint` its note, `checkpoints` up to it
 *                       (index and hashes as derived, longer)
 * Derived: index = offsets of the @@e records; hashes = their stored
 * hashes (post-order); checkpoints = the size-0 checkpoint then every
 * commit record's note; checkpoint = the last commit note (size 0 if none).
 * The signed head (ledger_head.c), beside the directory, only if one of:
 *   @@head       its bytes
 *   @@hslot      "SEQ C": a slot of seq SEQ holding the C-th commit
 *                record's checkpoint and its batch (the bytes since the
 *                commit record before it), as a writer journals it; C 0:
 *                the size-0 checkpoint, no batch. "SEQ SIZE AT LEN": a
 *                slot the harness signs, the checkpoint of the first SIZE
 *                @@e records, its batch the LEN bytes of `entries` at AT.
 *                Batches are of `entries` as built, before any damage
 *                (the journal of what a crash then loses); the slot is
 *                SEQ mod 8 of an 8-slot file (after @@head's bytes)
 *
 * Then: a read-only open (reads, roots, proofs, checkpoints by size, the
 * full rehash); an audit over the directory (audit_dir_source); a
 * writable open (recovery), the head attached if there is one (a journal
 * put back: opened and attached again), followed by one append and
 * commit, and a read-only open again. Invariants: when ledger_verify_all
 * passes, every entry reads and every proof verifies against the ledger's
 * roots; a ledger the journal was put back into opens and is no longer
 * behind its head; after a writable open and a commit, the ledger opens
 * again, one entry longer, at the checkpoint it signed, and its head
 * attaches to it.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "fuzz.h"
#include "ledger.h"
#include "ledger_int.h"	/* the head's slot encoder */
#include "merkle.h"
#include "note.h"
#include "util.h"

#define MAXSEC		256
#define REC_NOTE	0x80000000u

struct buf {
	uint8_t		*p;
	size_t		 len;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	b->p = xrealloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_be(struct buf *b, uint64_t v, int n)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(b, x, (size_t)n);
}

static void
put_note(struct buf *b, const char *note)
{
	put_be(b, strlen(note) | REC_NOTE, 4);
	put(b, note, strlen(note));
}

static void
put_rec(struct buf *b, const char *note)
{
	put_be(b, strlen(note), 4);
	put(b, note, strlen(note));
}

static const struct fuzz_section *
find(const struct fuzz_section *s, size_t n, const char *name)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (strcmp(s[i - 1].name, name) == 0)
			return &s[i - 1];
	return NULL;
}

/* The signed head's path: beside the directory (removed at exit). */
static char head_file[256];

static void
head_rm(void)
{
	(void)unlink(head_file);
}

static char *
head_path(const char *dir)
{
	char *p;

	xasprintf(&p, "%s.head", dir);
	if (head_file[0] == '\0') {
		snprintf(head_file, sizeof(head_file), "%s", p);
		atexit(head_rm);
	}
	return p;
}

/* The signed head from @@head and @@hslot, or none. */
static void
build_head(const char *dir, const struct fuzz_section *s, size_t ns,
    merkle_hash *leaves, uint64_t nleaf, const struct buf *ent,
    char *const *notes, const size_t *cend, size_t nnotes)
{
	size_t flen = LEDGER_HEAD_FILE, room, i, n = 0;
	unsigned long long seq, size, at, len;
	struct merkle_frontier f;
	merkle_hash root;
	uint8_t *file = NULL;
	char *hp = head_path(dir), *text, *note;
	uint64_t j;
	FILE *fp;
	int k;

	for (i = 0; i < ns; i++) {
		if (strcmp(s[i].name, "head") == 0) {
			free(file);
			/* (room for a record from the last page on: cut at
			 * the file's end, as a torn one) */
			room = (s[i].len > flen ? s[i].len : flen) +
			    LEDGER_HEAD_RECORD;
			file = xcalloc(1, room);
			memcpy(file, s[i].data, s[i].len);
			n = s[i].len;
			continue;
		}
		if (strcmp(s[i].name, "hslot") != 0)
			continue;
		text = fuzz_strdup(&s[i]);
		k = sscanf(text, "%llu %llu %llu %llu", &seq, &size, &at,
		    &len);
		free(text);
		if (k != 2 && k != 4)
			continue;
		if (file == NULL) {
			room = flen + LEDGER_HEAD_RECORD;
			file = xcalloc(1, room);
		}
		if (n < flen)
			n = flen;
		if (k == 2) {		/* seq, commit record */
			if (size >= nnotes)
				size = nnotes - 1;
			note = xstrdup(notes[size]);
			at = size > 0 ? cend[size - 1] : 0;
			len = size > 0 ? cend[size] - at : 0;
		} else {
			if (size > nleaf)
				size = nleaf;
			merkle_frontier_init(&f);
			for (j = 0; j < size; j++)
				merkle_frontier_push(&f, leaves[j]);
			merkle_frontier_root(&f, root);
			if (size == 0)
				merkle_empty_root(root);
			note = fuzz_sign_checkpoint(size, root);
		}
		if (at > ent->len)
			at = ent->len;
		if (len > ent->len - at)
			len = ent->len - at;
		/* on page seq of the ring */
		(void)ledger_head_encode(file + (seq % LEDGER_HEAD_PAGES) *
		    LEDGER_HEAD_PAGE, seq, note, len > 0 ? ent->p + at : NULL,
		    (size_t)len, at);
		free(note);
	}
	(void)unlink(hp);
	if (file != NULL && (fp = fopen(hp, "w")) != NULL) {
		if (fwrite(file, 1, n, fp) != n)
			fuzz_fail("cannot write %s", hp);
		fclose(fp);
	}
	free(file);
	free(hp);
}

/* Build the directory; returns its path. */
static const char *
build(const uint8_t *data, size_t size)
{
	static const char *files[] = {
		"entries", "index", "hashes", "checkpoints", "checkpoint",
		"vkey", "state.snap"
	};
	struct fuzz_section s[MAXSEC];
	struct merkle_frontier f, at;
	struct buf b[7];
	merkle_hash leaf, cur, root;
	char **notes = NULL, *note, *text, name[64], *path;
	size_t ns, nnotes = 0, i, k;
	uint64_t nleaf = 0, want_at = UINT64_MAX, j;
	const struct fuzz_section *x;
	const char *dir = fuzz_scratch();
	merkle_hash leaves[MAXSEC];
	size_t *cend;
	int kk;

	memset(b, 0, sizeof(b));
	ns = fuzz_sections(data, size, s, MAXSEC);
	if ((x = find(s, ns, "checkpoint-at")) != NULL)
		want_at = fuzz_u64(x);
	merkle_frontier_init(&f);
	merkle_frontier_init(&at);
	merkle_empty_root(root);
	notes = xmalloc(sizeof(char *));
	cend = xmalloc(sizeof(size_t));
	cend[0] = 0;
	notes[nnotes++] = fuzz_sign_checkpoint(0, root);
	for (i = 0; i < ns; i++) {
		if (strcmp(s[i].name, "e") == 0) {
			put_be(&b[1], b[0].len, 8);
			put_be(&b[0], s[i].len, 4);
			put(&b[0], s[i].data, s[i].len);
			merkle_leaf_hash(s[i].data, s[i].len, leaf);
			memcpy(leaves[nleaf], leaf, MERKLE_HASH_LEN);
			/* the stored hashes this leaf completes */
			put(&b[2], leaf, MERKLE_HASH_LEN);
			memcpy(cur, leaf, MERKLE_HASH_LEN);
			for (j = nleaf, kk = f.npeaks - 1; j & 1; j >>= 1, kk--) {
				merkle_node_hash(f.peaks[kk], cur, cur);
				put(&b[2], cur, MERKLE_HASH_LEN);
			}
			merkle_frontier_push(&f, leaf);
			nleaf++;
			if (nleaf == want_at)
				at = f;
		} else if (strcmp(s[i].name, "c") == 0 ||
		    strcmp(s[i].name, "C") == 0) {
			if (s[i].name[0] == 'c') {
				merkle_frontier_root(&f, root);
				note = fuzz_sign_checkpoint(nleaf, root);
			} else {
				text = fuzz_strdup(&s[i]);
				note = fuzz_sign(text, s[i].len);
				free(text);
				if (note == NULL)
					continue;
			}
			put_note(&b[0], note);
			notes = xrealloc(notes, (nnotes + 1) * sizeof(char *));
			cend = xrealloc(cend, (nnotes + 1) * sizeof(size_t));
			cend[nnotes] = b[0].len;
			notes[nnotes++] = note;
		} else if (strcmp(s[i].name, "raw") == 0)
			put(&b[0], s[i].data, s[i].len);
	}
	for (i = 0; i < nnotes; i++)
		put_rec(&b[3], notes[i]);
	if ((x = find(s, ns, "checkpoint-sign")) != NULL) {
		text = fuzz_strdup(x);
		note = fuzz_sign(text, x->len);
		free(text);
		if (note != NULL) {
			put(&b[4], note, strlen(note));
			free(note);
		}
	} else if (want_at != UINT64_MAX) {
		if (want_at > nleaf)
			want_at = nleaf;
		merkle_frontier_root(&at, root);
		if (want_at == 0)
			merkle_empty_root(root);
		note = fuzz_sign_checkpoint(want_at, root);
		put(&b[4], note, strlen(note));
		free(note);
	} else
		put(&b[4], notes[nnotes - 1], strlen(notes[nnotes - 1]));
	put(&b[5], fuzz_vkey(), strlen(fuzz_vkey()));
	put(&b[5], "\n", 1);
	build_head(dir, s, ns, leaves, nleaf, &b[0], notes, cend, nnotes);
	for (k = 0; k < 7; k++) {
		if ((x = find(s, ns, files[k])) != NULL) {
			b[k].len = 0;
			put(&b[k], x->data, x->len);
		} else if (k == 6)
			break;
		fuzz_write(dir, files[k], b[k].p ? b[k].p : (uint8_t *)"",
		    b[k].len);
		free(b[k].p);
	}
	if ((x = find(s, ns, "lost-after")) != NULL &&
	    (j = fuzz_u64(x)) < nnotes) {
		size_t hl = 0;

		for (i = 0; i <= j; i++)
			hl += 4 + strlen(notes[i]);
		xasprintf(&path, "%s/entries", dir);
		(void)truncate(path, (off_t)cend[j]);
		free(path);
		xasprintf(&path, "%s/checkpoints", dir);
		(void)truncate(path, (off_t)hl);
		free(path);
		fuzz_write(dir, "checkpoint", (const uint8_t *)notes[j],
		    strlen(notes[j]));
	}
	for (i = 0; i < nnotes; i++)
		free(notes[i]);
	free(notes);
	free(cend);
	/* damage */
	for (i = 0; i < ns; i++) {
		const char *fn = strchr(s[i].name, '-');
		uint64_t v = fuzz_u64(&s[i]);

		if (fn == NULL)
			continue;
		for (k = 0; k < 7; k++)
			if (strcmp(fn + 1, files[k]) == 0)
				break;
		if (k == 7)
			continue;
		snprintf(name, sizeof(name), "%s", files[k]);
		xasprintf(&path, "%s/%s", dir, name);
		if (strncmp(s[i].name, "cut-", 4) == 0)
			(void)truncate(path, (off_t)(v & 0xfffff));
		else if (strncmp(s[i].name, "rm-", 3) == 0)
			(void)unlink(path);
		else if (strncmp(s[i].name, "flip-", 5) == 0) {
			FILE *fp = fopen(path, "r+");
			int c;

			if (fp != NULL && fseek(fp, (long)((v >> 3) &
			    0xfffff), SEEK_SET) == 0 && (c = fgetc(fp)) !=
			    EOF && fseek(fp, -1, SEEK_CUR) == 0)
				fputc(c ^ (1 << (v & 7)), fp);
			if (fp != NULL)
				fclose(fp);
		}
		free(path);
	}
	return dir;
}

/* Reads, roots, proofs and checkpoints of an open ledger. */
static void
exercise(struct ledger *l)
{
	merkle_hash root, rootm, leaf, proof[MERKLE_MAX_PROOF];
	uint64_t size = ledger_size(l), csize = ledger_committed_size(l);
	uint64_t i, s, m, sizes[4];
	char err[VMS_ERRLEN], *note;
	uint8_t *buf;
	size_t len, n, k;
	int verified;

	if (csize > size)
		fuzz_fail("committed size %llu > size %llu",
		    (unsigned long long)csize, (unsigned long long)size);
	if (ledger_checkpoint(l) == NULL || ledger_vkey(l) == NULL ||
	    ledger_origin(l) == NULL)
		fuzz_fail("open ledger without checkpoint or key");
	verified = ledger_verify_all(l, err, sizeof(err)) == 0;
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "exercise: size %llu committed %llu: %s\n",
		    (unsigned long long)size, (unsigned long long)csize,
		    verified ? "verified" : err);
	for (i = 0; i < size && i < 64; i++) {
		if (ledger_read(l, i, &buf, &len, err, sizeof(err)) != 0) {
			if (verified)
				fuzz_fail("verified, but entry %llu does not "
				    "read: %s", (unsigned long long)i, err);
			continue;
		}
		merkle_leaf_hash(buf, len, leaf);
		free(buf);
	}
	sizes[0] = size;
	sizes[1] = csize;
	sizes[2] = size / 2 + 1 <= size ? size / 2 + 1 : size;
	sizes[3] = size > 0 ? size - 1 : 0;
	for (k = 0; k < 4; k++) {
		s = sizes[k];
		if (ledger_root(l, s, root) != 0) {
			if (verified)
				fuzz_fail("verified, no root at %llu",
				    (unsigned long long)s);
			continue;
		}
		for (i = 0; i < s; i += 1 + s / 3) {
			if (ledger_inclusion_proof(l, i, s, proof, &n, err,
			    sizeof(err)) != 0 ||
			    ledger_leaf_hash(l, i, leaf) != 0) {
				if (verified)
					fuzz_fail("verified, no inclusion "
					    "proof: %s", err);
				continue;
			}
			if (verified && merkle_verify_inclusion(leaf, i, s,
			    proof, n, root) != 0)
				fuzz_fail("inclusion proof of %llu in %llu does "
				    "not verify", (unsigned long long)i,
				    (unsigned long long)s);
		}
		m = s / 2 + 1;
		if (m <= s && ledger_root(l, m, rootm) == 0 &&
		    ledger_consistency_proof(l, m, s, proof, &n, err,
		    sizeof(err)) == 0 && verified &&
		    merkle_verify_consistency(m, s, rootm, root, proof, n) != 0)
			fuzz_fail("consistency %llu -> %llu does not verify",
			    (unsigned long long)m, (unsigned long long)s);
		if (ledger_checkpoint_at(l, s, &note, err, sizeof(err)) == 0)
			free(note);
	}
	(void)ledger_checkpoint_at(l, 0, &note, err, sizeof(err));
	free(note);
}

static void
audit_dir(const char *dir)
{
	struct audit_source *src;
	struct audit_opts o;
	struct audit_report r;
	char err[VMS_ERRLEN];

	if (audit_dir_source(dir, &src, err, sizeof(err)) != 0)
		return;
	memset(&o, 0, sizeof(o));
	o.pinned_vkey = fuzz_vkey();
	(void)audit_run(src, &o, &r, NULL, err, sizeof(err));
	free(audit_report_line(&r));
	json_decref(audit_report_json(&r));
	audit_source_free(src);
}

/*
 * Attach the head, if there is one, to l (open for writing): l, the
 * ledger opened again if the journal was put back, or NULL (refused or
 * failed, l closed).
 */
static struct ledger *
attach(const char *dir, struct ledger *l)
{
	struct ledger_recovery rec;
	char err[VMS_ERRLEN], *hp = head_path(dir);
	uint64_t rep;
	int created, r;

	if (access(hp, F_OK) != 0) {
		free(hp);
		return l;
	}
	r = ledger_head_attach(l, hp, &created, &rep, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "attach: %d %s\n", r, r != 0 ? err : "");
	if (r == 2) {
		ledger_close(l);
		if (ledger_open(dir, fuzz_signer(), &l, &rec, err,
		    sizeof(err)) != 0)
			fuzz_fail("no open after the journal was put back: %s",
			    err);
		exercise(l);
		r = ledger_head_attach(l, hp, &created, &rep, err,
		    sizeof(err));
		if (r == 2)
			fuzz_fail("still behind its head after the journal "
			    "was put back: %s", err);
	}
	free(hp);
	if (r != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_recovery rec;
	struct ledger *l;
	char err[VMS_ERRLEN], *cp, *hp;
	const char *dir;
	uint64_t idx, want, rep;
	int created, r;

	fuzz_init();
	dir = build(data, size);
	if (ledger_open(dir, NULL, &l, &rec, err, sizeof(err)) == 0) {
		exercise(l);
		ledger_close(l);
	} else if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "read-only open: %s\n", err);
	audit_dir(dir);
	if (ledger_open(dir, fuzz_signer(), &l, &rec, err, sizeof(err)) != 0) {
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "writable open: %s\n", err);
		return 0;
	}
	exercise(l);
	if ((l = attach(dir, l)) == NULL)
		return 0;
	if (ledger_append(l, "{}", 2, &idx, err, sizeof(err)) != 0 ||
	    ledger_commit(l, err, sizeof(err)) != 0) {
		ledger_close(l);
		return 0;
	}
	want = ledger_committed_size(l);
	cp = xstrdup(ledger_checkpoint(l));
	if (want != idx + 1)
		fuzz_fail("appended at %llu, committed size %llu",
		    (unsigned long long)idx, (unsigned long long)want);
	ledger_close(l);
	if (ledger_open(dir, NULL, &l, &rec, err, sizeof(err)) != 0)
		fuzz_fail("the ledger does not open after a commit: %s", err);
	if (ledger_committed_size(l) != want ||
	    strcmp(ledger_checkpoint(l), cp) != 0)
		fuzz_fail("reopened at %llu, committed %llu",
		    (unsigned long long)ledger_committed_size(l),
		    (unsigned long long)want);
	exercise(l);
	ledger_close(l);
	free(cp);
	/* the writer's head attaches to what it wrote */
	hp = head_path(dir);
	if (access(hp, F_OK) == 0) {
		if (ledger_open(dir, fuzz_signer(), &l, &rec, err,
		    sizeof(err)) != 0)
			fuzz_fail("no writable open after a commit: %s", err);
		if ((r = ledger_head_attach(l, hp, &created, &rep, err,
		    sizeof(err))) != 0)
			fuzz_fail("its own head does not attach (%d): %s", r,
			    err);
		ledger_close(l);
	}
	free(hp);
	return 0;
}
