/*
 * test-note.c — C2SP signed notes, vkeys, key files and checkpoint bodies.
 * The Go reference vector (golang.org/x/mod/sumdb/note, key "PeterNeumann")
 * pins key IDs, vkey encoding and signatures byte for byte.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "note.h"
#include "test.h"
#include "util.h"

static const char go_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_skey_b64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char go_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char go_sig[] = "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n";

static char tmpdir[] = "/tmp/test-note.XXXXXX";

static struct note_signer *
go_signer(void)
{
	uint8_t key[33];

	if (b64_decode_fixed(go_skey_b64, strlen(go_skey_b64), key, 33) != 0 ||
	    key[0] != 1)
		return NULL;
	return note_signer_new("PeterNeumann", key + 1);
}

static struct note_signer *
rand_signer(const char *name)
{
	uint8_t seed[32];

	randombytes_buf(seed, 32);
	return note_signer_new(name, seed);
}

static int
verify(const char *note, const struct note_verifier *k, size_t nk,
    int *nv, char *err)
{
	size_t tl;

	return note_verify(note, strlen(note), k, nk, &tl, nv, err,
	    VMS_ERRLEN);
}

TEST(go_vector)
{
	struct note_signer *s = go_signer();
	struct note_verifier v, pv;
	char err[VMS_ERRLEN], *vk, *note, *want;
	size_t tl;
	int nv;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(memcmp(s->keyid, "\xc7\x4f\x20\xa3", 4) == 0);
	note_verifier_from_signer(s, &v);
	vk = note_vkey_format(&v);
	CHECK_EQ_STR(vk, go_vkey);
	CHECK(note_vkey_parse(go_vkey, &pv, err, sizeof(err)) == 0);
	CHECK_EQ_STR(pv.name, "PeterNeumann");
	CHECK(memcmp(pv.pk, s->pk, 32) == 0);
	note = note_sign(s, go_text, strlen(go_text), err, sizeof(err));
	xasprintf(&want, "%s\n%s", go_text, go_sig);
	CHECK_EQ_STR(note, want);
	CHECK(note_verify(want, strlen(want), &pv, 1, &tl, &nv, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(tl, strlen(go_text));
	CHECK_EQ_INT(nv, 1);
	free(vk);
	free(note);
	free(want);
	note_signer_free(s);
}

TEST(vkey_rejects)
{
	struct note_verifier v;
	char err[VMS_ERRLEN], buf[128];
	size_t n = strlen(go_vkey), i, j;
	static const char *bad[] = {
	    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
	    "BADKEY==",
	    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    "PeterNeumann+c74f20a3", "PeterNeumann+c74f20a3+!!!!", "", "+",
	    "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	};
	int accepted = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (note_vkey_parse(bad[i], &v, err, sizeof(err)) == 0) {
			FAILF("accepted %s", bad[i]);
			accepted++;
		}
	/* every proper substring and every single-byte increment */
	for (i = 0; i <= n; i++)
		for (j = i + 1; j <= n; j++) {
			if (i == 0 && j == n)
				continue;
			memcpy(buf, go_vkey + i, j - i);
			buf[j - i] = '\0';
			if (note_vkey_parse(buf, &v, err, sizeof(err)) == 0)
				accepted++;
		}
	for (i = 0; i < n; i++) {
		memcpy(buf, go_vkey, n + 1);
		buf[i]++;
		if (note_vkey_parse(buf, &v, err, sizeof(err)) == 0)
			accepted++;
	}
	CHECK_EQ_INT(accepted, 0);
	CHECK(note_vkey_parse(go_vkey, &v, err, sizeof(err)) == 0);
}

TEST(names)
{
	uint8_t seed[32] = { 0 };
	char longname[300];

	CHECK(note_valid_name("example.com/log"));
	CHECK(note_valid_name("h\xc3\xa9llo"));
	CHECK(!note_valid_name(""));
	CHECK(!note_valid_name("a b"));
	CHECK(!note_valid_name("a+b"));
	CHECK(!note_valid_name("a\tb"));
	CHECK(!note_valid_name("a\nb"));
	CHECK(!note_valid_name("\xc3"));	/* truncated UTF-8 */
	CHECK(!note_valid_name("\xc0\xaf"));	/* overlong */
	memset(longname, 'a', 256);
	longname[256] = '\0';
	CHECK(!note_valid_name(longname));
	longname[255] = '\0';
	CHECK(note_valid_name(longname));
	CHECK(note_signer_new("bad name", seed) == NULL);
}

TEST(sign_verify_reject)
{
	struct note_signer *s = rand_signer("alice.example/log");
	struct note_signer *o = rand_signer("bob.example/log");
	struct note_verifier v, ov, fake;
	char err[VMS_ERRLEN], *note, *bad;
	const char *text = "hello\nworld\n";
	uint8_t *blob;
	size_t blen, tl;
	int nv;

	note_verifier_from_signer(s, &v);
	note_verifier_from_signer(o, &ov);
	note = note_sign(s, text, strlen(text), err, sizeof(err));
	CHECK(note != NULL);
	if (note == NULL)
		goto out;
	CHECK(note_verify(note, strlen(note), &v, 1, &tl, &nv, err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(tl, strlen(text));
	CHECK(memcmp(note, text, tl) == 0);
	CHECK_EQ_INT(nv, 1);

	/* wrong key only: no known signature */
	CHECK(verify(note, &ov, 1, &nv, err) == -1);
	CHECK_CONTAINS(err, "no signature by a known key");
	/* same name and key ID but another public key: a known key fails */
	fake = v;
	memcpy(fake.pk, ov.pk, 32);
	CHECK(verify(note, &fake, 1, &nv, err) == -1);
	CHECK_CONTAINS(err, "invalid signature");
	/* known + other: ok */
	{
		struct note_verifier two[2] = { ov, v };
		CHECK(verify(note, two, 2, &nv, err) == 0 && nv == 1);
	}

	/* flipped byte in the text */
	bad = xstrdup(note);
	bad[1] ^= 1;
	CHECK(verify(bad, &v, 1, &nv, err) == -1);
	CHECK_CONTAINS(err, "invalid signature");
	free(bad);

	/* flipped bit in the signature */
	{
		const char *sp = strrchr(note, ' ') + 1;
		char *enc;

		CHECK(b64_decode(sp, strlen(sp) - 1, &blob, &blen) == 0);
		blob[10] ^= 0x10;
		enc = b64_encode(blob, blen);
		xasprintf(&bad, "%.*s%s\n", (int)(sp - note), note, enc);
		CHECK(verify(bad, &v, 1, &nv, err) == -1);
		CHECK_CONTAINS(err, "invalid signature");
		free(bad);
		/* truncated signature for a known key */
		free(enc);
		enc = b64_encode(blob, 40);
		xasprintf(&bad, "%.*s%s\n", (int)(sp - note), note, enc);
		CHECK(verify(bad, &v, 1, &nv, err) == -1);
		free(bad);
		free(enc);
		free(blob);
	}

	/* missing signature */
	CHECK(verify(text, &v, 1, &nv, err) == -1);
	xasprintf(&bad, "%s\n", text);
	CHECK(verify(bad, &v, 1, &nv, err) == -1);
	free(bad);
out:
	free(note);
	note_signer_free(s);
	note_signer_free(o);
}

TEST(many_signatures)
{
	struct note_signer *s[20];
	struct note_verifier v[2];
	char err[VMS_ERRLEN], name[32], *note, *one, *all;
	const char *text = "many\n";
	size_t i, len = 0, cap = 65536;
	int nv;

	all = xmalloc(cap);
	len = (size_t)snprintf(all, cap, "%s\n", text);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "witness%zu", i);
		s[i] = rand_signer(name);
		note = note_sign(s[i], text, strlen(text), err, sizeof(err));
		one = note + strlen(text) + 1;
		memcpy(all + len, one, strlen(one));
		len += strlen(one);
		free(note);
	}
	all[len] = '\0';
	/* 20 lines, 2 known (7 and 15), 18 unknown */
	note_verifier_from_signer(s[7], &v[0]);
	note_verifier_from_signer(s[15], &v[1]);
	CHECK(verify(all, v, 2, &nv, err) == 0);
	CHECK_EQ_INT(nv, 2);
	/* unknown-only */
	CHECK(verify(all, v, 0, &nv, err) == -1);
	/* a duplicate known line counts once */
	{
		char *dup, *l7 = strstr(all, "witness7 ");
		size_t l = (size_t)(strchr(l7, '\n') - l7) + 1;

		l7 -= 4;	/* back to the em dash */
		xasprintf(&dup, "%s%.*s", all, (int)l + 4, l7);
		CHECK(verify(dup, v, 2, &nv, err) == 0 && nv == 2);
		free(dup);
	}
	/* 101 signature lines are refused, 100 accepted */
	{
		char *big = xmalloc(cap * 4), *line = strstr(all, "\n\n") + 2;
		size_t ll = (size_t)(strchr(line, '\n') - line) + 1, k, bl;

		bl = (size_t)snprintf(big, cap, "%s\n", text);
		for (k = 0; k < 100; k++) {
			/* repeat the lines of all, 20 per round */
			size_t r = k % 20;
			const char *l = line;
			size_t lln;

			for (; r > 0; r--)
				l = strchr(l, '\n') + 1;
			lln = (size_t)(strchr(l, '\n') - l) + 1;
			memcpy(big + bl, l, lln);
			bl += lln;
		}
		big[bl] = '\0';
		CHECK(verify(big, v, 2, &nv, err) == 0 && nv == 2);
		memcpy(big + bl, line, ll);
		big[bl + ll] = '\0';
		CHECK(verify(big, v, 2, &nv, err) == -1);
		CHECK_CONTAINS(err, "more than 100");
		free(big);
	}
	for (i = 0; i < 20; i++)
		note_signer_free(s[i]);
	free(all);
}

TEST(malformed)
{
	struct note_signer *s = rand_signer("log");
	struct note_verifier v;
	char err[VMS_ERRLEN], *note, *sig, *bad;
	static const char *bodies[] = {
		"- log AAAA\n",			/* hyphen, not em dash */
		"\xe2\x80\x94log AAAAAAAA\n",	/* no space after dash */
		"\xe2\x80\x94 log\n",		/* no signature */
		"\xe2\x80\x94 log !!!!\n",	/* bad base64 */
		"\xe2\x80\x94 log AAAA\n",	/* < 5 bytes */
		"\xe2\x80\x94 lo+g AAAAAAAA\n",	/* bad name */
		"\xe2\x80\x94  AAAAAAAA\n",	/* empty name */
		"\n",				/* empty line */
	};
	size_t i;
	int nv;

	note_verifier_from_signer(s, &v);
	note = note_sign(s, "t\n", 2, err, sizeof(err));
	sig = note + 3;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		xasprintf(&bad, "t\n\n%s%s", sig, bodies[i]);
		if (verify(bad, &v, 1, &nv, err) == 0)
			FAILF("accepted malformed line %zu", i);
		free(bad);
	}
	/* no final newline */
	bad = xstrndup(note, strlen(note) - 1);
	CHECK(verify(bad, &v, 1, &nv, err) == -1);
	free(bad);
	/* control character / bad UTF-8 in text */
	CHECK(verify("t\x01\n\n\xe2\x80\x94 log AAAAAAAA\n", &v, 1, &nv, err)
	    == -1);
	CHECK(verify("t\xff\n\n\xe2\x80\x94 log AAAAAAAA\n", &v, 1, &nv, err)
	    == -1);
	/* signing refuses bad text */
	CHECK(note_sign(s, "no newline", 10, err, sizeof(err)) == NULL);
	CHECK(note_sign(s, "a\n\nb\n", 5, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "blank line");
	CHECK(note_sign(s, "a\tb\n", 4, err, sizeof(err)) == NULL);
	CHECK(note_sign(s, "", 0, err, sizeof(err)) == NULL);
	free(note);
	note_signer_free(s);
}

TEST(keyfiles)
{
	struct note_signer *s;
	struct note_verifier v;
	struct stat st;
	char err[VMS_ERRLEN], path[256], *note;
	int fd, nv;

	snprintf(path, sizeof(path), "%s/k.key", tmpdir);
	CHECK(note_keyfile_create(path, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(st.st_size, 32);
	CHECK(note_keyfile_create(path, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "File exists");
	s = note_signer_load(path, "keyed", err, sizeof(err));
	CHECK(s != NULL);
	if (s != NULL) {
		note_verifier_from_signer(s, &v);
		note = note_sign(s, "x\n", 2, err, sizeof(err));
		CHECK(verify(note, &v, 1, &nv, err) == 0);
		free(note);
		note_signer_free(s);
	}
	/* loading twice gives the same key */
	s = note_signer_load(path, "keyed", err, sizeof(err));
	CHECK(s != NULL && memcmp(s->pk, v.pk, 32) == 0);
	note_signer_free(s);
	/* group-readable refused */
	CHECK(chmod(path, 0640) == 0);
	CHECK(note_signer_load(path, "keyed", err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "group or others");
	CHECK(chmod(path, 0604) == 0);
	CHECK(note_signer_load(path, "keyed", err, sizeof(err)) == NULL);
	CHECK(chmod(path, 0600) == 0);
	/* bad name */
	CHECK(note_signer_load(path, "bad name", err, sizeof(err)) == NULL);
	/* wrong size */
	snprintf(path, sizeof(path), "%s/short.key", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "short", 5) == 5);
	close(fd);
	CHECK(note_signer_load(path, "keyed", err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "expected 32");
	/* missing */
	snprintf(path, sizeof(path), "%s/none.key", tmpdir);
	CHECK(note_signer_load(path, "keyed", err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "No such file");
}

TEST(checkpoints)
{
	struct checkpoint c, p;
	char err[VMS_ERRLEN], *t;
	static const char *bad[] = {
		"", "o\n", "o\n1\n", "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAA=\n",
		"o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAA=\n",
		"o\n1\nAAAA\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
		"o\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	};
	size_t i;

	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "example.com/vmsd/guestlist");
	c.size = 1234567;
	memset(c.root, 0xab, 32);
	t = checkpoint_format(&c);
	CHECK_EQ_STR(t, "example.com/vmsd/guestlist\n1234567\n"
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n");
	CHECK(checkpoint_parse(t, strlen(t), &p, err, sizeof(err)) == 0);
	CHECK_EQ_STR(p.origin, c.origin);
	CHECK(p.size == c.size && memcmp(p.root, c.root, 32) == 0);
	free(t);
	CHECK(checkpoint_parse("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	    "\n", 49, &p, err, sizeof(err)) == 0 && p.size == 0);
	t = "o\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AA=\nextension line\n";
	CHECK(checkpoint_parse(t, strlen(t), &p, err, sizeof(err)) == 0 &&
	    p.size == UINT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (checkpoint_parse(bad[i], strlen(bad[i]), &p, err,
		    sizeof(err)) == 0)
			FAILF("accepted bad checkpoint %zu", i);
}

/* One parser for a checkpoint's size line, used by the ledger's history
 * and the directory audit source alike (it was two, one lenient). */
TEST(checkpoint_note_size)
{
	static const struct { const char *note; int ok; uint64_t size; } c[] = {
		{ "o\n123\nROOT\n\n\u2014 sig\n", 1, 123 },
		{ "o\n0\nROOT\n", 1, 0 },
		{ "o\n18446744073709551615\nR\n", 1, UINT64_MAX },
		{ "o\n18446744073709551616\nR\n", 0, 0 },	/* overflow */
		{ "o\n0123\nR\n", 0, 0 },			/* leading zero */
		{ "o\n+1\nR\n", 0, 0 },
		{ "o\n12a\nR\n", 0, 0 },
		{ "o\n\nR\n", 0, 0 },
		{ "o\n12", 0, 0 },				/* no newline */
		{ "o", 0, 0 },
	};
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 7;
		CHECK_MSG((checkpoint_note_size(c[i].note, strlen(c[i].note),
		    &v) == 0) == c[i].ok, "case %zu", i);
		if (c[i].ok)
			CHECK_MSG(v == c[i].size, "case %zu: %" PRIu64, i, v);
	}
}

/*
 * Nonces made ahead (note_nonce.c): the arithmetic with RFC 8032's own
 * nonce gives libsodium's signature, byte for byte, for many keys and
 * messages; pooled nonces give signatures that verify, differ for the
 * same text (each nonce used once) and run out into RFC 8032 signing.
 */
TEST(nonce_pool)
{
	struct note_signer *s;
	struct note_verifier v;
	char err[VMS_ERRLEN], *n1, *n2, *n3;
	uint8_t m[300], a[64], b[64];
	const char *text = "test.example/log\n7\nAAAA\n";
	size_t i;
	int nv, same = 1, verified = 1;

	for (i = 0; i < 64; i++) {
		size_t len = (i * 37) % sizeof(m);

		s = rand_signer("k.example/log");
		randombytes_buf(m, sizeof(m));
		CHECK(crypto_sign_detached(a, NULL, m, len, s->sk) == 0);
		CHECK(note_nonce_sign_rfc8032(s, m, len, b) == 0);
		if (memcmp(a, b, 64) != 0)
			same = 0;
		note_signer_free(s);
	}
	CHECK_MSG(same, "RFC 8032 nonce: not libsodium's signature");

	s = rand_signer("k.example/log");
	note_verifier_from_signer(s, &v);
	CHECK(note_nonce_refill(s) == 0);		/* no pool yet */
	CHECK(note_nonce_sign(s, m, 10, a) == 1);
	CHECK(note_signer_pool(s, 2, err, sizeof(err)) == 0);
	CHECK(note_signer_pool(s, 2, err, sizeof(err)) == -1);
	CHECK(note_nonce_refill(s) == 1);
	CHECK(note_nonce_refill(s) == 1);
	CHECK(note_nonce_refill(s) == 0);		/* full */
	CHECK_EQ_INT(note_nonce_pooled(s), 2);
	n1 = note_sign(s, text, strlen(text), err, sizeof(err));
	n2 = note_sign(s, text, strlen(text), err, sizeof(err));
	CHECK_EQ_INT(note_nonce_pooled(s), 0);
	n3 = note_sign(s, text, strlen(text), err, sizeof(err));  /* RFC 8032 */
	CHECK(n1 != NULL && n2 != NULL && n3 != NULL);
	if (n1 != NULL && n2 != NULL && n3 != NULL) {
		CHECK(verify(n1, &v, 1, &nv, err) == 0);
		CHECK(verify(n2, &v, 1, &nv, err) == 0);
		CHECK(verify(n3, &v, 1, &nv, err) == 0);
		CHECK_MSG(strcmp(n1, n2) != 0, "a nonce was used twice");
		CHECK(strcmp(n1, n3) != 0 && strcmp(n2, n3) != 0);
		CHECK(note_nonce_sign_rfc8032(s, (const uint8_t *)text,
		    strlen(text), a) == 0);
		CHECK(crypto_sign_detached(b, NULL, (const uint8_t *)text,
		    strlen(text), s->sk) == 0 && memcmp(a, b, 64) == 0);
	}
	free(n1);
	free(n2);
	free(n3);
	/* many pooled signatures, each checked by libsodium's verifier */
	for (i = 0; i < 200; i++) {
		size_t len = (i * 53) % sizeof(m);

		randombytes_buf(m, sizeof(m));
		CHECK(note_nonce_refill(s) == 1);
		CHECK(note_nonce_sign(s, m, len, a) == 0);
		if (crypto_sign_verify_detached(a, m, len, s->pk) != 0)
			verified = 0;
		/* S is reduced (< L: its top 3 bits are clear) */
		if (a[63] & 0xe0)
			verified = 0;
	}
	CHECK_MSG(verified, "a pooled signature did not verify");
	{
		uint64_t used, missed;

		note_nonce_counts(s, &used, &missed);
		CHECK_EQ_INT(used, 202);
		CHECK_EQ_INT(missed, 1);
	}
	note_signer_free(s);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 2;
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	RUN(go_vector);
	RUN(vkey_rejects);
	RUN(names);
	RUN(sign_verify_reject);
	RUN(many_signatures);
	RUN(malformed);
	RUN(keyfiles);
	RUN(checkpoints);
	RUN(checkpoint_note_size);
	RUN(nonce_pool);
	rm_rf(tmpdir);
	return test_summary();
}
