/*
 * test-lthash.c — libvms/lthash.c mixes libsodium's ChaCha20 keystream into
 * the lanes: the AVX-512 code (when this CPU has it) and the portable code
 * against a reference written here, on random lanes and keys, adding and
 * subtracting; a known keystream; subtracting undoes adding.
 */
#include <sodium.h>

#include "test.h"
#include "cpu.h"
#include "lthash.h"

static void
reference(uint16_t lanes[LTHASH_LANES], const uint8_t key[32], int add)
{
	static const uint8_t zero[8];
	uint8_t ks[2 * LTHASH_LANES];
	size_t i;

	crypto_stream_chacha20(ks, sizeof(ks), zero, key);
	for (i = 0; i < LTHASH_LANES; i++) {
		uint16_t v = (uint16_t)(ks[2 * i] | (ks[2 * i + 1] << 8));

		lanes[i] = (uint16_t)(add ? lanes[i] + v : lanes[i] - v);
	}
}

static void
compare_all(const char *mode)
{
	uint16_t a[LTHASH_LANES], b[LTHASH_LANES];
	uint8_t key[32];
	size_t i, bad = 0;

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	for (i = 0; i < 2000; i++) {
		randombytes_buf(key, sizeof(key));
		if (i == 0)
			memset(key, 0xff, sizeof(key));
		reference(a, key, (int)(i % 3 != 0));
		lthash_mix(b, key, (int)(i % 3 != 0));
		if (memcmp(a, b, sizeof(a)) != 0) {
			bad++;
			memcpy(b, a, sizeof(a));
		}
	}
	CHECK_MSG(bad == 0, "%s: %zu of 2000 mixes differ from libsodium's "
	    "keystream", mode, bad);
}

TEST(known_keystream)
{
	/* ChaCha20, key and nonce all zero: 76 b8 e0 ad a0 f1 3d 90 ... */
	uint16_t lanes[LTHASH_LANES];
	uint8_t key[32];

	memset(lanes, 0, sizeof(lanes));
	memset(key, 0, sizeof(key));
	lthash_mix(lanes, key, 1);
	CHECK_EQ_INT(lanes[0], 0xb876);
	CHECK_EQ_INT(lanes[1], 0xade0);
	CHECK_EQ_INT(lanes[2], 0xf1a0);
	CHECK_EQ_INT(lanes[3], 0x903d);
	lthash_mix(lanes, key, 0);
	for (size_t i = 0; i < LTHASH_LANES; i++)
		if (lanes[i] != 0) {
			CHECK_MSG(0, "lane %zu is %u after add then subtract",
			    i, lanes[i]);
			break;
		}
}

TEST(accelerated_matches)
{
	printf("     AVX-512 %s\n", vms_cpu_has(VMS_CPU_AVX512) ?
	    "in use" : "not available: portable code only");
	compare_all("default");
}

TEST(portable_matches)
{
	int had = vms_cpu_has(VMS_CPU_AVX512);

	vms_cpu_off(VMS_CPU_AVX512, 1);
	CHECK(!vms_cpu_has(VMS_CPU_AVX512));
	compare_all("portable");
	vms_cpu_off(VMS_CPU_AVX512, 0);
	CHECK_EQ_INT(vms_cpu_has(VMS_CPU_AVX512), had);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(known_keystream);
	RUN(accelerated_matches);
	RUN(portable_matches);
	return test_summary();
}
