/*
 * htest.h — what the signed head's unit tests (test-ledger-head.c,
 * test-ledger-journal.c) share beside ltest.h's temporary directory and
 * signer (lt_init, lt_done): a fresh path per test case (path), ledgers of
 * numbered entries committed one at a time with their head attached
 * (make, commit_n, open_attached, reattach), an entry too large for a
 * slot (append_big), a crash and the unsynced writes to `entries` it
 * loses (crash, lose_entries, copy_dir), and the check that a reopen
 * puts lost batches back from the journal (check_put_back, entries_are).
 */
#ifndef VMS_HTEST_H
#define VMS_HTEST_H

#include <sys/stat.h>

#include <errno.h>

#include "ltest.h"	/* tmpdir, signer, lt_init, lt_done */

static int n;			/* the test case: path()'s suffix */

static inline char *
path(const char *what)
{
	char *p;

	xasprintf(&p, "%s/%s%d", tmpdir, what, n);
	return p;
}

/* Commit `count` entries, one commit each, tagged "tag". */
static inline int
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
static inline struct ledger *
make(const char *dir, const char *hp, int count, const char *tag)
{
	struct ledger *l;
	char err[VMS_ERRLEN];
	uint64_t rep;
	int created;

	if (ledger_create(dir, ORIGIN, signer, &l, err, sizeof(err)) != 0)
		return NULL;
	if (ledger_head_attach(l, hp, &created, &rep, err, sizeof(err)) != 0 ||
	    !created || commit_n(l, count, tag) != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

static inline int
reattach(const char *dir, const char *hp, char *err, size_t errlen)
{
	struct ledger *l;
	uint64_t rep;
	int created, r;

	if (ledger_open(dir, signer, &l, NULL, err, errlen) != 0)
		return -2;
	r = ledger_head_attach(l, hp, &created, &rep, err, errlen);
	ledger_close(l);
	return r;
}

/* Open dir and attach hp: the ledger, or NULL (err). */
static inline struct ledger *
open_attached(const char *dir, const char *hp, char *err, size_t errlen)
{
	struct ledger *l;
	uint64_t rep;
	int created;

	if (ledger_open(dir, signer, &l, NULL, err, errlen) != 0)
		return NULL;
	if (ledger_head_attach(l, hp, &created, &rep, err, errlen) != 0) {
		ledger_close(l);
		return NULL;
	}
	return l;
}

/* The process dies: nothing more is written or synced by it. */
static inline void
crash(struct ledger *l)
{
	l->broken = 1;
	ledger_close(l);
}

/* A crash lost every write to `entries` past off that was not synced:
 * the file cut there, or zeros from there on (preallocated space). */
static inline int
lose_entries(const char *dir, uint64_t off, int zeros)
{
	char *p;
	struct stat st;
	int fd, r = -1;
	uint8_t z[4096] = { 0 };
	off_t at;

	xasprintf(&p, "%s/entries", dir);
	if ((fd = open(p, O_RDWR)) >= 0 && fstat(fd, &st) == 0) {
		r = 0;
		if (!zeros)
			r = ftruncate(fd, (off_t)off);
		for (at = (off_t)off; zeros && at < st.st_size; at += 4096)
			if (pwrite(fd, z, st.st_size - at < 4096 ?
			    (size_t)(st.st_size - at) : 4096, at) < 0)
				r = -1;
	}
	if (fd >= 0)
		close(fd);
	free(p);
	return r;
}

static inline int
copy_dir(const char *from, const char *to)
{
	char *cmd;
	int r;

	xasprintf(&cmd, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

/* Append an entry too large for a record of the head (its batch is then
 * synced in `entries` before the record, which goes without it). */
static inline int
append_big(struct ledger *l, char *err, size_t errlen)
{
	size_t len = LEDGER_HEAD_RECORD + 100;
	char *big = xmalloc(len);
	int r;

	memset(big, ' ', len);
	big[0] = '[';
	big[len - 1] = ']';
	r = ledger_append(l, big, len, NULL, err, errlen);
	free(big);
	return r;
}

/* Entries [0, count) read back: "tag":i each. */
static inline int
entries_are(struct ledger *l, uint64_t from, uint64_t count, const char *tag)
{
	char want[64], err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	uint64_t i;
	int ok = 1;

	for (i = from; i < count && ok; i++) {
		snprintf(want, sizeof(want), "{\"%s\":%llu}", tag,
		    (unsigned long long)i);
		ok = ledger_read(l, i, &buf, &len, err, sizeof(err)) == 0 &&
		    len == strlen(want) && memcmp(buf, want, len) == 0;
		if (ok)
			free(buf);
	}
	return ok;
}

/* Reopen after a crash: 2 (put back) then 0, with `want` entries. */
static inline void
check_put_back(const char *d, const char *hp, uint64_t want,
    uint64_t nput, const char *tag)
{
	struct ledger *l;
	char err[VMS_ERRLEN], msg[128];
	uint64_t rep = 0;
	int created;

	CHECK(ledger_open(d, signer, &l, NULL, err, sizeof(err)) == 0);
	if (l == NULL)
		return;
	CHECK(ledger_committed_size(l) < want);
	CHECK_EQ_INT(ledger_head_attach(l, hp, &created, &rep, err,
	    sizeof(err)), 2);
	CHECK_EQ_INT(rep, nput);
	snprintf(msg, sizeof(msg), "%llu entries put back from the head's "
	    "journal", (unsigned long long)nput);
	CHECK_CONTAINS(err, msg);
	ledger_close(l);
	l = open_attached(d, hp, err, sizeof(err));
	CHECK_MSG(l != NULL, "%s", err);
	if (l == NULL)
		return;
	CHECK_EQ_INT(ledger_committed_size(l), want);
	CHECK_MSG(ledger_verify_all(l, err, sizeof(err)) == 0, "%s", err);
	CHECK(entries_are(l, 0, want, tag));
	/* and it goes on committing */
	CHECK(commit_n(l, 2, tag) == 0);
	CHECK(entries_are(l, 0, want + 2, tag));
	ledger_close(l);
}

#endif
