/*
 * ltest.h — what the ledger unit tests (test-ledger.c, test-ledger-recovery.c,
 * test-ledger-corrupt.c, test-ledger-proofs.c; test-ledger-head.c and
 * test-ledger-journal.c through htest.h) share: a temporary directory
 * and a signer with its verifier (lt_init, lt_done), ledgers of numbered
 * entries (make_ledger, append_n, read_all_ok, checkpoint_of), and the
 * tools that damage their files and look at them (snap_take/snap_restore,
 * trunc_file, flip_bit, fsize, idx_off).
 */
#ifndef VMS_LTEST_H
#define VMS_LTEST_H

#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "ledger_int.h"	/* ledger_get_be64, ledger_fault_fsync */
#include "log.h"
#include "test.h"
#include "util.h"

#define ORIGIN "test.example/ledger"

static char tmpdir[64];
static struct note_signer *signer;
static struct note_verifier ver;
static int dircount;

static inline char *
new_dir(void)
{
	char *d;

	xasprintf(&d, "%s/l%d", tmpdir, dircount++);
	return d;
}

static inline size_t
make_entry(uint64_t i, char *buf, size_t cap)
{
	size_t pad = (size_t)((i * 7) % 53), n;

	n = (size_t)snprintf(buf, cap, "{\"i\":%" PRIu64 ",\"pad\":\"", i);
	memset(buf + n, 'a' + (int)(i % 26), pad);
	n += pad;
	n += (size_t)snprintf(buf + n, cap - n, "\"}");
	return n;
}

static inline int
append_n(struct ledger *l, uint64_t from, uint64_t n)
{
	char buf[256], err[VMS_ERRLEN];
	uint64_t i, idx;

	for (i = from; i < from + n; i++) {
		size_t len = make_entry(i, buf, sizeof(buf));
		if (ledger_append(l, buf, len, &idx, err, sizeof(err)) != 0 ||
		    idx != i)
			return -1;
	}
	return 0;
}

static inline int
read_all_ok(struct ledger *l)
{
	char buf[256], err[VMS_ERRLEN];
	uint8_t *data;
	size_t len, want;
	uint64_t i;

	for (i = 0; i < ledger_size(l); i++) {
		want = make_entry(i, buf, sizeof(buf));
		if (ledger_read(l, i, &data, &len, err, sizeof(err)) != 0)
			return -1;
		if (len != want || memcmp(data, buf, len) != 0) {
			free(data);
			return -1;
		}
		free(data);
	}
	return 0;
}

static inline uint64_t
fsize(const char *dir, const char *name)
{
	struct stat st;
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	if (stat(p, &st) != 0)
		st.st_size = -1;
	free(p);
	return (uint64_t)st.st_size;
}

/* Whole-directory snapshot of the files we damage. */
struct snap {
	uint8_t	*data[6];
	size_t	 len[6];
};
static const char *snap_files[6] = {
	"entries", "index", "hashes", "checkpoint", "checkpoints", "vkey"
};

static inline void
snap_take(const char *dir, struct snap *s)
{
	char err[VMS_ERRLEN], *p;
	int i;

	for (i = 0; i < 6; i++) {
		xasprintf(&p, "%s/%s", dir, snap_files[i]);
		if (read_file(p, 1 << 26, &s->data[i], &s->len[i], err,
		    sizeof(err)) != 0)
			fatalx("snap: %s", err);
		free(p);
	}
}

static inline void
snap_restore(const char *dir, const struct snap *s)
{
	char *p;
	int i, fd;

	for (i = 0; i < 6; i++) {
		xasprintf(&p, "%s/%s", dir, snap_files[i]);
		fd = open(p, O_WRONLY | O_TRUNC);
		if (fd < 0 || write_all(fd, s->data[i], s->len[i]) != 0)
			fatal("restore %s", p);
		close(fd);
		free(p);
	}
}

static inline void
snap_free(struct snap *s)
{
	int i;

	for (i = 0; i < 6; i++)
		free(s->data[i]);
}

static inline void
trunc_file(const char *dir, const char *name, uint64_t len)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	if (truncate(p, (off_t)len) != 0)
		fatal("truncate %s", p);
	free(p);
}

static inline void
flip_bit(const char *dir, const char *name, uint64_t off, int bit)
{
	uint8_t b;
	char *p;
	int fd;

	xasprintf(&p, "%s/%s", dir, name);
	if ((fd = open(p, O_RDWR)) < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		fatal("flip %s", p);
	b ^= (uint8_t)(1 << bit);
	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		fatal("flip %s", p);
	close(fd);
	free(p);
}

/* Offset of entry i's record in `entries`, from the index file. */
static inline uint64_t
idx_off(const char *dir, uint64_t i)
{
	uint8_t b[8];
	char *p;
	int fd;

	xasprintf(&p, "%s/index", dir);
	if ((fd = open(p, O_RDONLY)) < 0 || pread(fd, b, 8, (off_t)(i * 8))
	    != 8)
		fatal("idx_off %s", p);
	close(fd);
	free(p);
	return ledger_get_be64(b);
}

/* Create a ledger with `n` committed entries in batches of `batch`. */
static inline char *
make_ledger(uint64_t n, uint64_t batch)
{
	struct ledger *l;
	char err[VMS_ERRLEN], *d = new_dir();
	uint64_t i;

	if (ledger_create(d, ORIGIN, signer, &l, err, sizeof(err)) != 0)
		fatalx("create: %s", err);
	for (i = 0; i < n; i += batch) {
		uint64_t k = n - i < batch ? n - i : batch;
		if (append_n(l, i, k) != 0 ||
		    ledger_commit(l, err, sizeof(err)) != 0)
			fatalx("append/commit: %s", err);
	}
	ledger_close(l);
	return d;
}

static inline int
checkpoint_of(const char *note, struct checkpoint *cp)
{
	char err[VMS_ERRLEN];
	size_t tl;

	if (note_verify(note, strlen(note), &ver, 1, &tl, NULL, err,
	    sizeof(err)) != 0)
		return -1;
	return checkpoint_parse(note, tl, cp, err, sizeof(err));
}

/* Start a ledger test binary: libsodium, the log, tmpdir (/tmp/NAME.XXXXXX)
 * and a fresh signer. -1 if any of them fails. */
static inline int
lt_init(const char *name)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return -1;
	log_init(name, LOG_MODE_PLAIN, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	randombytes_buf(seed, 32);
	signer = note_signer_new(ORIGIN, seed);
	note_verifier_from_signer(signer, &ver);
	return 0;
}

/* Free the signer, remove tmpdir (kept with VMS_TEST_KEEP), summarise. */
static inline int
lt_done(void)
{
	note_signer_free(signer);
	if (getenv("VMS_TEST_KEEP") == NULL)
		rm_rf(tmpdir);
	return test_summary();
}

#endif
