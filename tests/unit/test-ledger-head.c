/*
 * test-ledger-head.c — the signed head (ledger_head.c, #16 item 4): created
 * when missing, kept by every commit; a ledger behind its head or with
 * another history under it is refused; a torn slot falls back to the
 * other; both damaged is refused; a failed head write acknowledges
 * nothing, keeps the durable batch and never leaves the head ahead.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "ledger.h"
#include "ledger_int.h"	/* head_fd, for the failing write */
#include "log.h"
#include "test.h"
#include "util.h"

#define ORIGIN "test.example/head"

static char tmpdir[] = "/tmp/test-ledger-head.XXXXXX";
static struct note_signer *signer;
static int n;

static char *
path(const char *what)
{
	char *p;

	xasprintf(&p, "%s/%s%d", tmpdir, what, n);
	return p;
}

/* Commit `count` entries, one commit each, tagged "tag". */
static int
commit_n(struct ledger *l, int count, const char *tag)
{
	char buf[64], err[VMS_ERRLEN];
	int i;

	for (i = 0; i < count; i++) {
		snprintf(buf, sizeof(buf), "{\"%s\":%llu}", tag,
		    (unsigned long long)ledger_size(l));
		if (ledger_append(l, buf, strlen(buf), NULL, err,
		    sizeof(err)) != 0 || ledger_commit(l, err,
		    sizeof(err)) != 0)
			return -1;
	}
	return 0;
}

/* A ledger of `count` committed entries with its head at hp. */
static struct ledger *
make(const char *dir, const char *hp, int count, const char *tag)
{
	struct ledger *l;
	char err[VMS_ERRLEN];
	int created;

	if (ledger_create(dir, ORIGIN, signer, &l, err, sizeof(err)) != 0)
		return NULL;
	if (ledger_head_attach(l, hp, &created, err, sizeof(err)) != 0 ||
	    !created || commit_n(l, count, tag) != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

static int
reattach(const char *dir, const char *hp, char *err, size_t errlen)
{
	struct ledger *l;
	int created, r;

	if (ledger_open(dir, signer, &l, NULL, err, errlen) != 0)
		return -2;
	r = ledger_head_attach(l, hp, &created, err, errlen);
	ledger_close(l);
	return r;
}

static int
copy_dir(const char *from, const char *to)
{
	char *cmd;
	int r;

	xasprintf(&cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

TEST(created_and_kept)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 5, "a");
	struct stat st;

	CHECK(l != NULL);
	if (l != NULL)
		ledger_close(l);
	CHECK(stat(hp, &st) == 0 && st.st_size == 2 * LEDGER_HEAD_SLOT &&
	    (st.st_mode & 0777) == 0600);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

TEST(ledger_behind_refused)
{
	char *d = path("d"), *old = path("old"), *hp = path("h"),
	    err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 3, "a");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	CHECK(copy_dir(d, old) == 0);
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	{
		int created;

		CHECK(ledger_head_attach(l, hp, &created, err,
		    sizeof(err)) == 0 && !created);
	}
	CHECK(commit_n(l, 3, "a") == 0);	/* head: 6 */
	ledger_close(l);
	CHECK(copy_dir(old, d) == 0);		/* ledger back to 3 */
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "holds 3 committed entries, but a checkpoint of "
	    "size 6 was signed");
	CHECK_CONTAINS(err, "the storage lost entries it had synced");
	free(d);
	free(old);
	free(hp);
}

TEST(other_history_refused)
{
	char *d = path("d"), *hp = path("h"), *d2 = path("d2"),
	    *hp2 = path("h2"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 4, "a"), *l2 = make(d2, hp2, 6, "b");

	if (l == NULL || l2 == NULL) { CHECK(0); return; }
	ledger_close(l);
	ledger_close(l2);
	/* the same key, another history of more entries: the head's 4
	 * entries are not its first 5 */
	CHECK(reattach(d2, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "the first 4 entries of the ledger in");
	CHECK_CONTAINS(err, "are not the ones a checkpoint signed");
	free(d);
	free(hp);
	free(d2);
	free(hp2);
}

static int
flip(const char *p, off_t off)
{
	uint8_t b;
	int fd = open(p, O_RDWR), r = -1;

	if (fd >= 0 && pread(fd, &b, 1, off) == 1) {
		b ^= 0x40;
		r = pwrite(fd, &b, 1, off) == 1 ? 0 : -1;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

TEST(torn_slot_falls_back)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 4, "a");

	if (l == NULL) { CHECK(0); return; }
	ledger_close(l);
	/* 4 commits after the two initial slots (seq 0, 1): the newest is
	 * seq 5, in slot 1 */
	CHECK(flip(hp, LEDGER_HEAD_SLOT + 100) == 0);
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	/* both damaged: refused */
	CHECK(flip(hp, 100) == 0);
	CHECK(reattach(d, hp, err, sizeof(err)) == 1);
	CHECK_CONTAINS(err, "is damaged: neither of its slots holds a "
	    "checkpoint signed by the ledger's key");
	free(d);
	free(hp);
}

TEST(failed_head_write_keeps_batch)
{
	char *d = path("d"), *hp = path("h"), err[VMS_ERRLEN];
	struct ledger *l = make(d, hp, 2, "a");
	int fd;

	if (l == NULL) { CHECK(0); return; }
	/* the head's descriptor can no longer be written */
	fd = open(hp, O_RDONLY);
	CHECK(fd >= 0 && dup2(fd, l->head_fd) >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(ledger_append(l, "{\"x\":1}", 7, NULL, err, sizeof(err)) == 0);
	CHECK(ledger_commit(l, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "writing the signed head: Bad file descriptor; the "
	    "batch of 1 entries is durable but not acknowledged");
	CHECK(ledger_append(l, "{\"x\":2}", 7, NULL, err, sizeof(err)) != 0);
	ledger_close(l);
	/* reopened: the batch is there, the head is behind it, fine */
	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l != NULL) {
		CHECK_EQ_INT(ledger_committed_size(l), 3);
		ledger_close(l);
	}
	CHECK_MSG(reattach(d, hp, err, sizeof(err)) == 0, "%s", err);
	free(d);
	free(hp);
}

int
main(void)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return 2;
	log_init("test-ledger-head", LOG_MODE_PLAIN, 0);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	randombytes_buf(seed, 32);
	signer = note_signer_new(ORIGIN, seed);
	n++; RUN(created_and_kept);
	n++; RUN(ledger_behind_refused);
	n++; RUN(other_history_refused);
	n++; RUN(torn_slot_falls_back);
	n++; RUN(failed_head_write_keeps_batch);
	note_signer_free(signer);
	rm_rf(tmpdir);
	return test_summary();
}
