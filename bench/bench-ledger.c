/*
 * bench-ledger.c — ledger figures: appends/s with one commit (sign + commit
 * record + one fdatasync; a sync point every LEDGER_SYNC_*) per batch of 1, 32 and 256 entries of ~300
 * bytes; open time, inclusion/consistency proof generation and verification
 * and verified random reads at 1M entries; then the disk under it: what one
 * fdatasync costs after the writes a commit makes (an append to `entries`,
 * the signed head's slot overwritten in place), after an overwrite of
 * zero-filled space, two files synced at once from two threads, and two
 * threads flushing slots of one file at once. Runs in well under 30 s.
 *
 *   make bench              (all benchmarks), or
 *   make build/bench/bench-ledger && VMS_BENCH_DIR=/var/tmp build/bench/bench-ledger
 *
 * Data goes under $VMS_BENCH_DIR (default build/bench-data), which must be
 * on a real disk (not tmpfs) for the fsync figures to mean anything.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "log.h"
#include "util.h"

#define ENTRY_LEN	300
#define BIG_N		(1u << 20)	/* 1,048,576 entries */
#define BIG_BATCH	4096

static struct note_signer *signer;
static char entry[ENTRY_LEN];

static void
fill_entry(uint64_t i)
{
	int n = snprintf(entry, sizeof(entry), "{\"v\":1,\"type\":\"call\","
	    "\"i\":%" PRIu64 ",\"pad\":\"", i);

	memset(entry + n, 'x', ENTRY_LEN - (size_t)n - 2);
	memcpy(entry + ENTRY_LEN - 2, "\"}", 2);
}

static char *
fresh_dir(const char *base, const char *name)
{
	char *d;

	xasprintf(&d, "%s/bench-ledger-%ld-%s", base, (long)getpid(), name);
	rm_rf(d);
	return d;
}

/* Appends with a commit every `batch` entries for ~budget_us. */
static void
bench_batches(const char *base, uint64_t batch, uint64_t budget_us)
{
	struct ledger *l;
	char err[VMS_ERRLEN], name[48], *d;
	uint64_t t0, t, n = 0, commits = 0, k;

	snprintf(name, sizeof(name), "b%" PRIu64, batch);
	d = fresh_dir(base, name);
	if (ledger_create(d, "bench.example/ledger", signer, &l, err,
	    sizeof(err)) != 0)
		fatalx("create: %s", err);
	t0 = mono_usec();
	do {
		for (k = 0; k < batch; k++) {
			fill_entry(n);
			if (ledger_append(l, entry, ENTRY_LEN, NULL, err,
			    sizeof(err)) != 0)
				fatalx("append: %s", err);
			n++;
		}
		if (ledger_commit(l, err, sizeof(err)) != 0)
			fatalx("commit: %s", err);
		commits++;
		t = mono_usec() - t0;
	} while (t < budget_us);
	snprintf(name, sizeof(name), "append, commit per %" PRIu64, batch);
	printf("  %-34s %10.0f entries/s  %8.0f commits/s  %8.2f ms/commit"
	    "  (%" PRIu64 " entries)\n", name, n * 1e6 / (double)t, commits * 1e6 / (double)t,
	    (double)t / 1000.0 / (double)commits, n);
	ledger_close(l);
	rm_rf(d);
	free(d);
}

/*
 * The disk alone: a file written and fdatasynced `n` times, each time
 * `len` bytes appended (`how` APPEND), two slots of `len` bytes at `at`
 * and `at` + 4096 overwritten in turn (SLOTS: the signed head), or `len`
 * bytes written over zeros synced beforehand (ZEROED: a preallocated
 * file). A `shared` file is the caller's: opened without truncating it,
 * through a descriptor of the run's own, and left in place.
 */
enum disk_write { APPEND, SLOTS, ZEROED };

struct disk_run {
	const char	*path;
	enum disk_write	 how;
	size_t		 len;
	unsigned	 n;
	double		 us;		/* per fdatasync */
	off_t		 at;
	int		 shared;
};

static void *
disk_run(void *arg)
{
	struct disk_run *r = arg;
	static const char zeros[65536];
	char buf[8192];
	uint64_t t0;
	off_t off = r->at, z;
	unsigned i;
	int fd;

	memset(buf, 'x', sizeof(buf));
	if ((fd = open(r->path, O_RDWR | O_CREAT | O_CLOEXEC |
	    (r->shared ? 0 : O_TRUNC), 0600)) < 0)
		fatal("open %s", r->path);
	if (r->how == ZEROED) {
		for (z = 0; z < (off_t)(r->len * r->n); z += sizeof(zeros))
			if (write_all(fd, zeros, sizeof(zeros)) != 0)
				fatal("write %s", r->path);
		if (fsync(fd) != 0)
			fatal("fsync %s", r->path);
	}
	t0 = mono_usec();
	for (i = 0; i < r->n; i++) {
		if (pwrite_full(fd, buf, r->len, off) != 0 ||
		    fdatasync(fd) != 0)
			fatal("write and fdatasync %s", r->path);
		off = r->how == SLOTS ? (off == r->at ? r->at + 4096 :
		    r->at) : off + (off_t)r->len;
	}
	r->us = (double)(mono_usec() - t0) / r->n;
	close(fd);
	if (!r->shared && unlink(r->path) != 0)
		fatal("unlink %s", r->path);
	return NULL;
}

static void
bench_disk(const char *base)
{
	char *a, *b;
	struct disk_run ent, head, zeroed, ent2, head2, s1, s2;
	pthread_t t1, t2;
	unsigned n = 1000;

	xasprintf(&a, "%s/bench-ledger-%ld-disk-a", base, (long)getpid());
	xasprintf(&b, "%s/bench-ledger-%ld-disk-b", base, (long)getpid());
	/* a batch of ~16 RSVPs and its commit record; the head's slot */
	ent = (struct disk_run){ a, APPEND, 6000, n, 0, 0, 0 };
	head = (struct disk_run){ b, SLOTS, 4096, n, 0, 0, 0 };
	zeroed = (struct disk_run){ a, ZEROED, 6000, n, 0, 0, 0 };
	disk_run(&ent);
	disk_run(&head);
	disk_run(&zeroed);
	printf("  disk: fdatasync after appending 6000 bytes   %8.1f us\n",
	    ent.us);
	printf("  disk: fdatasync after a 4 KiB slot in place  %8.1f us\n",
	    head.us);
	printf("  disk: fdatasync after 6000 bytes over zeros  %8.1f us\n",
	    zeroed.us);
	ent2 = ent;
	head2 = head;
	if (pthread_create(&t1, NULL, disk_run, &ent2) != 0 ||
	    pthread_create(&t2, NULL, disk_run, &head2) != 0)
		fatalx("pthread_create");
	(void)pthread_join(t1, NULL);
	(void)pthread_join(t2, NULL);
	printf("  disk: the append and the slot at once        %8.1f and "
	    "%.1f us (one after the other: %.1f us)\n", ent2.us, head2.us,
	    ent.us + head.us);
	/*
	 * Two commits' flushes in flight on the signed head: two threads,
	 * each with a descriptor of its own, each overwriting slots of its
	 * own in one file. How many flushes a second the disk then takes,
	 * against one thread's: what a second commit in flight could win
	 * (bench/README.md, round 16).
	 */
	s1 = (struct disk_run){ b, SLOTS, 4096, n, 0, 0, 1 };
	s2 = (struct disk_run){ b, SLOTS, 4096, n, 0, 8192, 1 };
	if (pthread_create(&t1, NULL, disk_run, &s1) != 0 ||
	    pthread_create(&t2, NULL, disk_run, &s2) != 0)
		fatalx("pthread_create");
	(void)pthread_join(t1, NULL);
	(void)pthread_join(t2, NULL);
	if (unlink(b) != 0)
		fatal("unlink %s", b);
	printf("  disk: two slots of one file at once          %8.1f and "
	    "%.1f us (%.0f flushes/s in all; one at a time %.0f)\n", s1.us,
	    s2.us, 1e6 / s1.us + 1e6 / s2.us, 1e6 / head.us);
	free(a);
	free(b);
}

int
main(void)
{
	struct ledger *l;
	merkle_hash proof[MERKLE_MAX_PROOF], leaf, root, r2;
	struct checkpoint cp;
	char err[VMS_ERRLEN], *d, *note;
	const char *base = getenv("VMS_BENCH_DIR");
	uint64_t t0, t, i, k, reps;
	uint8_t seed[32], *buf;
	size_t np, len, tl;
	struct note_verifier v;

	if (sodium_init() < 0)
		return 1;
	log_init("bench-ledger", LOG_MODE_PLAIN, 0);
	if (base == NULL)
		base = "build/bench-data";
	if (mkdir_p(base, 0755) != 0)
		fatal("mkdir %s", base);
	randombytes_buf(seed, 32);
	signer = note_signer_new("bench.example/ledger", seed);
	note_verifier_from_signer(signer, &v);

	printf("bench-ledger: entries of %d bytes, data in %s\n", ENTRY_LEN,
	    base);
	printf("reproduce: make build/bench/bench-ledger && "
	    "VMS_BENCH_DIR=%s build/bench/bench-ledger\n", base);
	bench_batches(base, 1, 3000000);
	bench_batches(base, 32, 3000000);
	bench_batches(base, 256, 3000000);

	/* A 1M-entry ledger, built with big batches. */
	d = fresh_dir(base, "1m");
	if (ledger_create(d, "bench.example/ledger", signer, &l, err,
	    sizeof(err)) != 0)
		fatalx("create: %s", err);
	t0 = mono_usec();
	for (i = 0; i < BIG_N; i++) {
		fill_entry(i);
		if (ledger_append(l, entry, ENTRY_LEN, NULL, err,
		    sizeof(err)) != 0)
			fatalx("append: %s", err);
		if ((i + 1) % BIG_BATCH == 0 &&
		    ledger_commit(l, err, sizeof(err)) != 0)
			fatalx("commit: %s", err);
	}
	t = mono_usec() - t0;
	printf("  %-34s %10.0f entries/s  (%u entries, %.1f s)\n",
	    "build 1M, commit per 4096", BIG_N * 1e6 / (double)t, BIG_N,
	    (double)t / 1e6);
	ledger_close(l);

	/* Open at 1M (warm cache): writable and read-only. */
	reps = 50;
	t0 = mono_usec();
	for (k = 0; k < reps; k++) {
		if (ledger_open(d, signer, &l, NULL, err, sizeof(err)) != 0)
			fatalx("open: %s", err);
		ledger_close(l);
	}
	t = mono_usec() - t0;
	printf("  %-34s %10.3f ms\n", "open 1M (writable, warm cache)",
	    (double)t / 1000.0 / (double)reps);
	t0 = mono_usec();
	for (k = 0; k < reps; k++) {
		if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) != 0)
			fatalx("open: %s", err);
		ledger_close(l);
	}
	t = mono_usec() - t0;
	printf("  %-34s %10.3f ms\n", "open 1M (read-only, warm cache)",
	    (double)t / 1000.0 / (double)reps);

	if (ledger_open(d, NULL, &l, NULL, err, sizeof(err)) != 0)
		fatalx("open: %s", err);
	note = (char *)ledger_checkpoint(l);
	if (note_verify(note, strlen(note), &v, 1, &tl, NULL, err,
	    sizeof(err)) != 0 || checkpoint_parse(note, tl, &cp, err,
	    sizeof(err)) != 0 || cp.size != BIG_N)
		fatalx("checkpoint: %s", err);

	/* Inclusion proofs at 1M: generate, then verify. */
	reps = 20000;
	t0 = mono_usec();
	for (k = 0; k < reps; k++) {
		i = randombytes_uniform(BIG_N);
		if (ledger_inclusion_proof(l, i, BIG_N, proof, &np, err,
		    sizeof(err)) != 0)
			fatalx("proof: %s", err);
	}
	t = mono_usec() - t0;
	printf("  %-34s %10.2f us  (%zu hashes)\n",
	    "inclusion proof generate, 1M", (double)t / (double)reps, np);
	i = 777777;
	if (ledger_inclusion_proof(l, i, BIG_N, proof, &np, err,
	    sizeof(err)) != 0 || ledger_leaf_hash(l, i, leaf) != 0)
		fatalx("proof: %s", err);
	t0 = mono_usec();
	for (k = 0; k < reps; k++)
		if (merkle_verify_inclusion(leaf, i, BIG_N, proof, np,
		    cp.root) != 0)
			fatalx("inclusion proof does not verify");
	t = mono_usec() - t0;
	printf("  %-34s %10.2f us\n", "inclusion proof verify, 1M",
	    (double)t / (double)reps);
	/* consistency 600000 -> 1M */
	if (ledger_root(l, 600000, r2) != 0)
		fatalx("root");
	t0 = mono_usec();
	for (k = 0; k < 2000; k++)
		if (ledger_consistency_proof(l, 600000, BIG_N, proof, &np, err,
		    sizeof(err)) != 0)
			fatalx("proof: %s", err);
	t = mono_usec() - t0;
	printf("  %-34s %10.2f us  (%zu hashes)\n",
	    "consistency proof generate, 1M", (double)t / 2000.0, np);
	if (merkle_verify_consistency(600000, BIG_N, r2, cp.root, proof, np)
	    != 0)
		fatalx("consistency proof does not verify");
	memcpy(root, cp.root, 32);
	/* Verified random reads. */
	reps = 20000;
	t0 = mono_usec();
	for (k = 0; k < reps; k++) {
		if (ledger_read(l, randombytes_uniform(BIG_N), &buf, &len, err,
		    sizeof(err)) != 0)
			fatalx("read: %s", err);
		free(buf);
	}
	t = mono_usec() - t0;
	printf("  %-34s %10.2f us\n", "verified random read, 1M",
	    (double)t / (double)reps);
	ledger_close(l);
	rm_rf(d);
	free(d);
	bench_disk(base);
	note_signer_free(signer);
	return 0;
}
