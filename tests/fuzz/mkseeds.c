/*
 * mkseeds.c — writes the generated seeds of tests/fuzz/corpus/: the ones
 * that need the fixed key's signatures, real entries of the fixed
 * contract, real ledger files or true Merkle proofs. Hand-written seeds
 * sit beside them. Regenerate (the output is deterministic):
 *
 *   make build/san/fuzz/mkseeds && build/san/fuzz/mkseeds tests/fuzz/corpus
 *
 * Every file it writes is named gen-*; it never touches other files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "canon.h"
#include "engine.h"
#include "fuzz.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "tlogproof.h"
#include "util.h"

static const char *top;

struct buf {
	char	*p;
	size_t	 len;
};

static void
add(struct buf *b, const void *p, size_t n)
{
	b->p = xrealloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* "@@name\n" body, then a "\n" before the next section */
static void
sec(struct buf *b, const char *name, const void *body, size_t n)
{
	if (b->len > 0)
		adds(b, "\n");
	adds(b, "@@");
	adds(b, name);
	adds(b, "\n");
	add(b, body, n);
}

static void
secs(struct buf *b, const char *name, const char *body)
{
	sec(b, name, body, strlen(body));
}

static void
out(const char *target, const char *name, const void *p, size_t n)
{
	char *dir, *path;
	int fd;

	xasprintf(&dir, "%s/%s", top, target);
	(void)mkdir(dir, 0755);
	xasprintf(&path, "%s/gen-%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_all(fd, p, n) != 0 || close(fd) != 0) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(path);
	free(dir);
}

static void
outb(const char *target, const char *name, struct buf *b)
{
	out(target, name, b->p, b->len);
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static char *
read_all(const char *dir, const char *name, size_t *len)
{
	char *p, err[VMS_ERRLEN];
	uint8_t *buf;

	xasprintf(&p, "%s/%s", dir, name);
	if (read_file(p, 1 << 24, &buf, len, err, sizeof(err)) != 0) {
		fprintf(stderr, "mkseeds: %s\n", err);
		exit(1);
	}
	free(p);
	return (char *)buf;
}

/* ---- entries of the fixed contract ---- */

#define NCALLS 8
static char *entries[NCALLS + 1];
static size_t entrylens[NCALLS + 1];
static size_t nentries;
static json_t *state_dump;

/* The ledger so far, for System.files.history, as the daemon has it. */
static int
entry_fn(void *ctx, uint64_t index, uint8_t **buf, size_t *len)
{
	if (index >= nentries)
		return -1;
	*buf = (uint8_t *)xstrndup(entries[index], entrylens[index]);
	*len = entrylens[index];
	return 0;
}

static void
make_entries(void)
{
	static const char *calls[NCALLS][2] = {
		{ "id", "[{\"a\":[1,2.5,\"x\",true,null],\"b\":{}}]" },
		{ "put", "[\"/d/f\",\"hello\"]" },
		{ "enc", "[[1,{\"k\":\"\\u00e9\"}]]" },
		{ "dec", "[\"{\\\"x\\\":[1e300,-0.0,0.1]}\"]" },
		{ "mkdir", "[\"/d/sub\"]" },
		{ "hist", "[{\"start\":0}]" },
		{ "fail", "[\"no\"]" },
		{ "rm", "[\"/d/f\"]" },
	};
	struct vms_caller c = { "unix:fuzz", "peercred" };
	struct engine_result res;
	struct engine *e;
	const uint8_t *e0;
	json_t *args;
	size_t i;
	char err[VMS_ERRLEN];

	fuzz_deploy_entry(&e0, &entrylens[0]);
	entries[0] = xstrndup((const char *)e0, entrylens[0]);
	nentries = 1;
	e = fuzz_engine();
	engine_set_entry_source(e, entry_fn, NULL);
	for (i = 0; i < NCALLS; i++) {
		args = json_loads(calls[i][1], 0, NULL);
		if (engine_call(e, calls[i][0], args, &c, FUZZ_TIME + i + 1,
		    &entries[nentries], &entrylens[nentries], &res, err,
		    sizeof(err)) != ENGINE_OK) {
			fprintf(stderr, "mkseeds: call %s: %s\n", calls[i][0],
			    err);
			exit(1);
		}
		engine_result_clear(&res);
		json_decref(args);
		nentries++;
	}
	state_dump = engine_state_dump(e);
	json_object_set_new(state_dump, "index", json_integer(
	    (json_int_t)nentries));
	engine_free(e);
}

/* ---- targets ---- */

static void
seeds_entry(void)
{
	size_t i;
	char name[32];

	for (i = 0; i < nentries; i++) {
		snprintf(name, sizeof(name), "entry-%zu", i);
		out("entry", name, entries[i], entrylens[i]);
	}
}

static void
seeds_note(void)
{
	struct note_signer *other;
	struct note_verifier ov;
	merkle_hash root;
	uint8_t seed[32];
	struct buf b = { NULL, 0 };
	char *n1, *n2, *ovk, *text;

	merkle_empty_root(root);
	n1 = fuzz_sign_checkpoint(0, root);
	out("note", "checkpoint-0", n1, strlen(n1));
	memset(root, 0xab, sizeof(root));
	n2 = fuzz_sign_checkpoint(18446744073709551615ULL, root);
	out("note", "checkpoint-max", n2, strlen(n2));
	out("note", "vkey", fuzz_vkey(), strlen(fuzz_vkey()));
	/* a second signer: two signature lines, and "vkey\nnote" */
	memset(seed, 7, sizeof(seed));
	other = note_signer_new("other.example/key", seed);
	note_verifier_from_signer(other, &ov);
	ovk = note_vkey_format(&ov);
	text = xstrndup(n1, strstr(n1, "\n\n") - n1 + 1);
	free(n2);
	{
		char err[VMS_ERRLEN];

		n2 = note_sign(other, text, strlen(text), err, sizeof(err));
	}
	adds(&b, n1);
	adds(&b, strstr(n2, "\n\n") + 2);
	out("note", "two-signatures", b.p, b.len);
	free(b.p);
	b.p = NULL;
	b.len = 0;
	adds(&b, ovk);
	adds(&b, "\n");
	adds(&b, n2);
	out("note", "vkey-then-note", b.p, b.len);
	free(b.p);
	b.p = NULL;
	b.len = 0;
	/* extension lines */
	free(n2);
	free(text);
	text = xstrdup("fuzz.example/vmsd/fuzz\n3\n"
	    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension one\n");
	n2 = fuzz_sign(text, strlen(text));
	if (n2 != NULL)
		out("note", "extension", n2, strlen(n2));
	free(n1);
	free(n2);
	free(ovk);
	free(text);
	note_signer_free(other);
}

static int
range(void *ctx, uint64_t start, uint64_t end, merkle_hash outh)
{
	merkle_root((const merkle_hash *)ctx + start, end - start, outh);
	return 0;
}

static void
seeds_merkle(void)
{
	static const uint64_t cases[][2] = {
		{ 0, 1 }, { 3, 7 }, { 4, 8 }, { 6, 7 }, { 5, 13 }, { 12, 13 },
		{ 1, 2 }, { 32, 100 }
	};
	merkle_hash leaves[128], proof[MERKLE_MAX_PROOF], root, old;
	uint8_t hdr[17];
	struct buf b = { NULL, 0 };
	char name[48];
	uint64_t i, a, n;
	size_t k, plen;
	int j;

	for (i = 0; i < 128; i++)
		merkle_leaf_hash(&i, sizeof(i), leaves[i]);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		a = cases[k][0];
		n = cases[k][1];
		for (j = 0; j < 2; j++) {
			memset(hdr, 0, sizeof(hdr));
			for (i = 0; i < 8; i++) {
				hdr[i] = (uint8_t)(a >> (8 * i));
				hdr[8 + i] = (uint8_t)(n >> (8 * i));
			}
			hdr[16] = (uint8_t)(k * 37);
			add(&b, hdr, sizeof(hdr));
			merkle_root(leaves, n, root);
			if (j == 0) {
				/* inclusion of leaf a in n */
				merkle_inclusion_proof(range, leaves, a, n,
				    proof, &plen);
				add(&b, leaves[a], MERKLE_HASH_LEN);
			} else {
				/* consistency from a (>= 1) to n */
				uint64_t m = a ? a : 1;

				hdr[0] = (uint8_t)m;
				memcpy(b.p, hdr, sizeof(hdr));
				merkle_root(leaves, m, old);
				merkle_consistency_proof(range, leaves, m, n,
				    proof, &plen);
				add(&b, old, MERKLE_HASH_LEN);
			}
			add(&b, root, MERKLE_HASH_LEN);
			add(&b, proof, plen * MERKLE_HASH_LEN);
			snprintf(name, sizeof(name), "%s-%llu-%llu",
			    j ? "consistency" : "inclusion",
			    (unsigned long long)a, (unsigned long long)n);
			outb("merkle", name, &b);
		}
	}
}

/* Receipts: a tree of 13 leaves (entries "entry N"), each leaf's
 * inclusion proof in tlog-proof form under a checkpoint signed by the
 * fixed key, and the same without its extra data. */
static void
seeds_tlogproof(void)
{
	static const uint64_t cases[] = { 0, 5, 12 };
	merkle_hash leaves[13], root;
	struct tlog_proof p;
	char entry[16], name[48], *text;
	size_t k, len;
	uint64_t i;

	for (i = 0; i < 13; i++) {
		snprintf(entry, sizeof(entry), "entry %llu",
		    (unsigned long long)i);
		merkle_leaf_hash(entry, strlen(entry), leaves[i]);
	}
	merkle_root(leaves, 13, root);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&p, 0, sizeof(p));
		snprintf(entry, sizeof(entry), "entry %llu",
		    (unsigned long long)cases[k]);
		p.has_extra = 1;
		p.extra = (uint8_t *)xstrdup(entry);
		p.extralen = strlen(entry);
		p.index = cases[k];
		merkle_inclusion_proof(range, leaves, cases[k], 13, p.proof,
		    &p.nproof);
		p.note = fuzz_sign_checkpoint(13, root);
		p.notelen = strlen(p.note);
		text = tlog_proof_format(&p, &len);
		snprintf(name, sizeof(name), "receipt-%llu",
		    (unsigned long long)cases[k]);
		out("tlogproof", name, text, len);
		free(text);
		p.has_extra = 0;
		text = tlog_proof_format(&p, &len);
		snprintf(name, sizeof(name), "noextra-%llu",
		    (unsigned long long)cases[k]);
		out("tlogproof", name, text, len);
		free(text);
		p.has_extra = 1;
		tlog_proof_free(&p);
	}
}

/* A real ledger: every entry of the fixed contract, committed in
 * batches, the checkpoint file lagging (no sync point after the first
 * batch), as its raw files. */
static void
seeds_ledger(void)
{
	static const char *files[] = {
		"entries", "index", "hashes", "checkpoints", "checkpoint"
	};
	struct ledger *l;
	struct buf b = { NULL, 0 };
	char err[VMS_ERRLEN], *dir, *data;
	uint64_t idx;
	size_t i, len;

	/* structured: entries and commits, everything else derived */
	for (i = 0; i < nentries; i++) {
		sec(&b, "e", entries[i], entrylens[i]);
		if (i % 3 == 2 || i + 1 == nentries)
			secs(&b, "c", "");
	}
	outb("ledger", "derived", &b);
	for (i = 0; i < 4; i++) {
		sec(&b, "e", entries[i], entrylens[i]);
		secs(&b, "c", "");
	}
	secs(&b, "e", "{\"torn\":");
	secs(&b, "checkpoint-at", "2");
	outb("ledger", "lagging-checkpoint-torn-tail", &b);
	for (i = 0; i < 3; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	secs(&b, "c", "");
	secs(&b, "cut-index", "16");
	secs(&b, "flip-hashes", "77");
	outb("ledger", "damaged-index-hashes", &b);
	secs(&b, "e", "x");
	secs(&b, "C", "fuzz.example/vmsd/fuzz\n1\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	outb("ledger", "bad-root-commit", &b);
	secs(&b, "rm-hashes", "");
	secs(&b, "vkey", "garbage+00000000+AAAA\n");
	outb("ledger", "no-hashes-bad-vkey", &b);

	/* raw files of a ledger written by the ledger code */
	xasprintf(&dir, "%s/l", fuzz_scratch());
	if (ledger_create(dir, FUZZ_ORIGIN, fuzz_signer(), &l, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "mkseeds: ledger_create: %s\n", err);
		exit(1);
	}
	for (i = 0; i < nentries; i++) {
		if (ledger_append(l, entries[i], entrylens[i], &idx, err,
		    sizeof(err)) != 0 || ((i % 2 == 1 || i + 1 == nentries) &&
		    ledger_commit(l, err, sizeof(err)) != 0)) {
			fprintf(stderr, "mkseeds: ledger: %s\n", err);
			exit(1);
		}
		if (i == 1 && ledger_sync(l, err, sizeof(err)) != 0)
			exit(1);
	}
	/* an uncommitted entry in the files, then "crash" (no close) */
	(void)ledger_append(l, "{\"uncommitted\":1}", 17, &idx, err,
	    sizeof(err));
	(void)ledger_flush(l, err, sizeof(err));
	for (i = 0; i < 5; i++) {
		data = read_all(dir, files[i], &len);
		sec(&b, files[i], data, len);
		free(data);
	}
	outb("ledger", "raw-unsynced", &b);
	ledger_close(l);
	for (i = 0; i < 5; i++) {
		data = read_all(dir, files[i], &len);
		sec(&b, files[i], data, len);
		free(data);
	}
	outb("ledger", "raw-closed", &b);
	free(dir);
}

static void
seeds_audit(void)
{
	struct engine *e;
	struct buf b = { NULL, 0 };
	char *dump, *snap, err[VMS_ERRLEN];
	const char *dir;
	size_t i, len;

	for (i = 0; i < nentries; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	outb("audit", "entries", &b);

	for (i = 0; i < nentries; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	secs(&b, "history-at", "1");
	secs(&b, "history-at", "4");
	secs(&b, "history-at", "9");
	secs(&b, "trusted-at", "3");
	dump = json_canonical(state_dump, NULL);
	secs(&b, "state", dump);
	free(dump);
	secs(&b, "follow", "");
	outb("audit", "history-trusted-state", &b);

	/* a snapshot of the state after entry 4 */
	e = fuzz_engine();
	for (i = 1; i < 5; i++)
		if (engine_apply(e, (const uint8_t *)entries[i], entrylens[i],
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "mkseeds: apply: %s\n", err);
			exit(1);
		}
	dir = fuzz_scratch();
	xasprintf(&snap, "%s/state.snap", dir);
	if (engine_snapshot_save(e, snap, err, sizeof(err)) != 0)
		exit(1);
	engine_free(e);
	dump = read_all(dir, "state.snap", &len);
	for (i = 0; i < nentries; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	sec(&b, "snap-sum", dump, len - 32);
	secs(&b, "tofu", "");
	outb("audit", "snapshot-tofu", &b);
	for (i = 0; i < 5; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	sec(&b, "state.snap", dump, len);
	secs(&b, "c", "");
	outb("ledger", "with-snapshot", &b);
	free(dump);
	free(snap);

	for (i = 0; i < 3; i++)
		sec(&b, "e", entries[i], entrylens[i]);
	secs(&b, "checkpoint-at", "5");
	secs(&b, "trusted-at", "2");
	secs(&b, "proof", "0123456789abcdef0123456789abcdef");
	outb("audit", "short-ledger-bad-proof", &b);
	sec(&b, "e", entries[1], entrylens[1]);
	sec(&b, "e", entries[0], entrylens[0]);
	outb("audit", "swapped", &b);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS-DIR\n");
		return 2;
	}
	top = argv[1];
	fuzz_init();
	make_entries();
	seeds_entry();
	seeds_note();
	seeds_merkle();
	seeds_tlogproof();
	seeds_ledger();
	seeds_audit();
	json_decref(state_dump);
	return 0;
}
