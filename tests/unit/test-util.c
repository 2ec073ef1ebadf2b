/*
 * test-util.c — hex, base64, atomic file replace, contract names, UTF-8,
 * the monotonic clock.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "canon.h"
#include "test.h"
#include "util.h"

TEST(hex_roundtrip)
{
	uint8_t in[4] = { 0x00, 0xab, 0x10, 0xff }, out[4];
	char h[9];

	hex_encode(in, 4, h);
	CHECK_EQ_STR(h, "00ab10ff");
	CHECK(hex_decode(h, out, 4) == 0);
	CHECK(memcmp(in, out, 4) == 0);
	CHECK(hex_decode("00ab10f", out, 4) == -1);
	CHECK(hex_decode("00ab10fg", out, 4) == -1);
}

TEST(base64_roundtrip)
{
	uint8_t *out;
	size_t n;
	char *s = b64_encode((const uint8_t *)"hello", 5);

	CHECK_EQ_STR(s, "aGVsbG8=");
	CHECK(b64_decode(s, strlen(s), &out, &n) == 0);
	CHECK(n == 5 && memcmp(out, "hello", 5) == 0);
	free(out);
	free(s);
	CHECK(b64_decode("aGVsbG8", 7, &out, &n) == -1);
	CHECK(b64_decode("a!==", 4, &out, &n) == -1);
	/* libsodium 1.0.18 reads any byte >= 0x80 as '/' (found by
	 * fuzz-note: a vkey with one such byte parsed as the real key) */
	CHECK(b64_decode("aGVs\xacG8=", 8, &out, &n) == -1);
	CHECK(b64_decode("aGVs/G8=", 8, &out, &n) == 0);
	free(out);
	CHECK(b64_decode("aGVsbG\xc3\xa9", 8, &out, &n) == -1);
}

/* b64_put (by table) writes libsodium's text for every length and byte,
 * through b64_encode and jbuf_b64 too, and decodes back. */
TEST(base64_same_as_libsodium)
{
	uint8_t in[300], *back;
	char want[B64_LEN(300) + 1], got[B64_LEN(300) + 1], *e;
	struct jbuf b = { NULL, 0, 0 };
	size_t n, m, bad = 0;

	for (n = 0; n < 256; n++)
		in[n] = (uint8_t)n;
	for (n = 0; n <= sizeof(in); n++) {
		if (n == 256)
			randombytes_buf(in, sizeof(in));
		sodium_bin2base64(want, sizeof(want), in, n,
		    sodium_base64_VARIANT_ORIGINAL);
		memset(got, 'x', sizeof(got));
		m = b64_put(got, in, n);
		got[m] = '\0';
		e = b64_encode(in, n);
		b.len = 0;
		jbuf_raw(&b, "\"", 1);
		jbuf_b64(&b, in, n);
		if (m != B64_LEN(n) || strcmp(got, want) != 0 ||
		    strcmp(e, want) != 0 || b.len != m + 1 ||
		    strcmp(b.s + 1, want) != 0)
			bad++;
		else if (n > 0 && (b64_decode(got, m, &back, &m) != 0 ||
		    m != n || memcmp(back, in, n) != 0))
			bad++;
		else if (n > 0)
			free(back);
		free(e);
	}
	CHECK_MSG(bad == 0, "%zu lengths differ from libsodium", bad);
	jbuf_free(&b);
}

/* libsodium's decoder, the one b64_decode must agree with */
static int
sodium_decode(const char *in, size_t len, uint8_t *out, size_t cap,
    size_t *n)
{
	const char *end;
	size_t i;

	for (i = 0; i < len; i++)	/* (1.0.18 reads bytes >= 0x80 as '/') */
		if ((unsigned char)in[i] >= 0x80)
			return -1;
	return sodium_base642bin(out, cap, in, len, NULL, n, &end,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && end == in + len ? 0 : -1;
}

/* Does b64_decode agree with libsodium on t: the same verdict and, if
 * accepted, the same bytes? */
static int
decode_agrees(const char *t, size_t len)
{
	uint8_t want[16], *got = NULL;
	size_t nw = 0, ng = 0;
	int rs = sodium_decode(t, len, want, sizeof(want), &nw);
	int rb = b64_decode(t, len, &got, &ng);
	int same = rs == rb && (rb != 0 || (ng == nw &&
	    memcmp(got, want, nw) == 0));

	if (rb == 0)
		free(got);
	return same;
}

/*
 * b64_decode (by table) accepts exactly the texts libsodium's decoder
 * does, with the same bytes: every text of up to 4 characters from a
 * small set ('A' 'B' 'Q' 'g' '/' '=' '!' and a byte >= 0x80: bits that
 * must be zero, padding, bad characters), and 200,000 random texts of up
 * to 12 characters, most of them from the alphabet.
 */
TEST(base64_decode_same_as_libsodium)
{
	static const char set[] = "ABQg/=!\xe9", other[] = "=-\xff =";
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
	    "pqrstuvwxyz0123456789+/";
	char t[16];
	size_t len, i, k, x, total, nset = sizeof(set) - 1, bad = 0, tried = 0,
	    accepted = 0;
	uint32_t r;

	for (len = 0; len <= 4; len++) {
		for (total = 1, i = 0; i < len; i++)
			total *= nset;
		for (k = 0; k < total; k++) {
			for (x = k, i = 0; i < len; i++, x /= nset)
				t[i] = set[x % nset];
			tried++;
			bad += !decode_agrees(t, len);
		}
	}
	for (k = 0; k < 200000; k++) {
		len = randombytes_uniform(13);
		for (i = 0; i < len; i++) {
			r = randombytes_uniform(72);
			t[i] = r < 64 ? alpha[r] : other[r % (sizeof(other) - 1)];
		}
		tried++;
		bad += !decode_agrees(t, len);
		accepted += sodium_decode(t, len, (uint8_t [16]){ 0 }, 16,
		    &x) == 0;
	}
	CHECK_MSG(bad == 0, "%zu of %zu texts decode otherwise than libsodium",
	    bad, tried);
	CHECK_MSG(accepted > 1000, "only %zu random texts were valid", accepted);
}

TEST(atomic_write)
{
	char dir[] = "/tmp/vms-test-XXXXXX", path[256], err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK(write_file_atomic(path, "one", 3, 0600, err, sizeof(err)) == 0);
	CHECK(write_file_atomic(path, "two!", 4, 0600, err, sizeof(err)) == 0);
	CHECK(read_file(path, 100, &buf, &len, err, sizeof(err)) == 0);
	CHECK(len == 4 && memcmp(buf, "two!", 4) == 0);
	free(buf);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(read_file(path, 2, &buf, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "too large");
	CHECK(rm_rf(dir) == 0);
}

/*
 * fdatasync, interposed for the whole binary (util.o is linked in, so its
 * calls come here): the size of the file at each call, then the real one.
 */
static off_t synced_at[64];
static size_t nsynced;

int
fdatasync(int fd)
{
	struct stat st;

	if (nsynced < sizeof(synced_at) / sizeof(synced_at[0]) &&
	    fstat(fd, &st) == 0)
		synced_at[nsynced++] = st.st_size;
	return (int)syscall(SYS_fdatasync, fd);
}

/* A large file is written a chunk at a time, each synced before the next
 * is written (so that another file's sync never waits behind all of it):
 * fdatasync finds the file 1, 2, 3 chunks long; a small file is written
 * in one go. */
TEST(atomic_write_paced)
{
	char dir[] = "/tmp/vms-test-XXXXXX", path[256], err[VMS_ERRLEN];
	size_t len = 3 * WRITE_PACE_CHUNK + 1000, n, i;
	uint8_t *data = malloc(len), *buf;

	CHECK(data != NULL);
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/big", dir);
	nsynced = 0;
	CHECK(write_file_atomic(path, data, len, 0600, err, sizeof(err)) == 0);
	CHECK(nsynced == 3);
	for (i = 0; i < nsynced && i < 3; i++)
		CHECK(synced_at[i] == (off_t)((i + 1) * WRITE_PACE_CHUNK));
	CHECK(read_file(path, len, &buf, &n, err, sizeof(err)) == 0);
	CHECK(n == len && memcmp(buf, data, len) == 0);
	free(buf);
	/* exactly one chunk: no sync but the final fsync */
	nsynced = 0;
	CHECK(write_file_atomic(path, data, WRITE_PACE_CHUNK, 0600, err,
	    sizeof(err)) == 0);
	CHECK(nsynced == 0);
	CHECK(read_file(path, len, &buf, &n, err, sizeof(err)) == 0);
	CHECK(n == WRITE_PACE_CHUNK && memcmp(buf, data, n) == 0);
	free(buf);
	free(data);
	CHECK(rm_rf(dir) == 0);
}

TEST(contract_names)
{
	CHECK(valid_contract_name("guestlist"));
	CHECK(valid_contract_name("a-b_c.d9"));
	CHECK(!valid_contract_name(""));
	CHECK(!valid_contract_name("../x"));
	CHECK(!valid_contract_name(".hidden"));
	CHECK(!valid_contract_name("a b"));
	CHECK(!valid_contract_name("a/b"));
}

TEST(utf8)
{
	uint32_t cp;

	CHECK(utf8_valid("plain ascii", 11));
	CHECK(utf8_valid("\xe2\x80\x94 em dash", 12));
	CHECK(utf8_seq((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp) == 4 &&
	    cp == 0x1f600);
	CHECK(!utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	CHECK(!utf8_valid("\xe2\x80", 2));		/* truncated */
	CHECK(!utf8_valid("\xff", 1));
	/* past ASCII runs read eight bytes at a time */
	CHECK(utf8_valid("0123456789abcdef\xe2\x80\x94 0123456789", 30));
	CHECK(!utf8_valid("0123456789abcdef\xc0\xaf", 18));
	CHECK(!utf8_valid("0123456789abcdef0123456\xe2\x80", 25));
	CHECK(!utf8_valid("01234567\x80", 9));
	CHECK(!utf8_valid("0123456789abcde\xff", 16));
	CHECK(utf8_valid("01234567", 8) && utf8_valid("", 0));
}

/* The daemon's one millisecond clock: CLOCK_MONOTONIC, as mono_usec,
 * never going back, and a 20 ms sleep moves it by about that much. */
TEST(mono_msec)
{
	uint64_t a, b, u;

	a = mono_msec();
	u = mono_usec();
	CHECK(u / 1000 >= a && u / 1000 - a <= 1);
	CHECK(usleep(20000) == 0);
	b = mono_msec();
	CHECK(b >= a + 19 && b < a + 2000);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 2;
	RUN(hex_roundtrip);
	RUN(base64_roundtrip);
	RUN(base64_same_as_libsodium);
	RUN(base64_decode_same_as_libsodium);
	RUN(atomic_write);
	RUN(atomic_write_paced);
	RUN(contract_names);
	RUN(utf8);
	RUN(mono_msec);
	return test_summary();
}
