/*
 * test-sha256.c — libvms/sha256.c gives libsodium's digests, with the SHA
 * extensions (when this CPU has them) and with the portable code, for every
 * length around the block boundaries, split updates and FIPS 180-4 vectors.
 */
#include <sodium.h>

#include "test.h"
#include "cpu.h"
#include "sha256.h"
#include "util.h"

static void
compare_all(const char *mode)
{
	uint8_t data[1100], a[32], b[32];
	struct vms_sha256 s;
	size_t len, cut, bad = 0;

	randombytes_buf(data, sizeof(data));
	for (len = 0; len <= sizeof(data); len++) {
		crypto_hash_sha256(a, data, len);
		vms_sha256(data, len, b);
		if (memcmp(a, b, 32) != 0)
			bad++;
		cut = len ? (len * 7919) % len : 0;
		vms_sha256_init(&s);
		vms_sha256_update(&s, data, cut);
		vms_sha256_update(&s, data + cut, len - cut);
		vms_sha256_final(&s, b);
		if (memcmp(a, b, 32) != 0)
			bad++;
	}
	CHECK_MSG(bad == 0, "%s: %zu digests differ from libsodium's", mode,
	    bad);
}

TEST(vectors)
{
	uint8_t h[32];
	char hex[65];

	vms_sha256("abc", 3, h);
	hex_encode(h, 32, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	vms_sha256("", 0, h);
	hex_encode(h, 32, hex);
	CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	vms_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, h);
	hex_encode(h, 32, hex);
	CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
}

TEST(accelerated_matches)
{
	printf("     SHA extensions %s\n", vms_cpu_has(VMS_CPU_SHA) ?
	    "in use" : "not available: portable code only");
	compare_all("default");
}

TEST(portable_matches)
{
	vms_cpu_off(VMS_CPU_SHA, 1);
	CHECK(!vms_cpu_has(VMS_CPU_SHA));
	compare_all("portable");
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(vectors);
	RUN(accelerated_matches);
	RUN(portable_matches);
	return test_summary();
}
