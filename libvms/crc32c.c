/*
 * crc32c.c — CRC-32C (Castagnoli, iSCSI's and ext4's: reflected
 * polynomial 0x82f63b78, initial and final value all ones), for checksums
 * that catch torn and overwritten records, not forgers (crc32c.h). With
 * SSE4.2's crc32 instruction where the CPU has it (cpu.h, VMS_CPU_CRC32:
 * 8 bytes an instruction), else a byte at a time through a table built
 * once; tests/unit/test-crc32c.c checks both against the standard's check
 * value and each other.
 */
#include <string.h>

#include "cpu.h"
#include "crc32c.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
#define HAVE_CRC32_CODE 1
#endif

#define POLY	0x82f63b78u

static uint32_t table[256];
static int table_made;		/* (benign to build twice: the same table) */

static void
make_table(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
	__atomic_store_n(&table_made, 1, __ATOMIC_RELEASE);
}

static uint32_t
crc_table(uint32_t c, const uint8_t *p, size_t n)
{
	if (!__atomic_load_n(&table_made, __ATOMIC_ACQUIRE))
		make_table();
	while (n-- > 0)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#ifdef HAVE_CRC32_CODE
__attribute__((target("sse4.2")))
static uint32_t
crc_sse42(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		c64 = _mm_crc32_u64(c64, w);
	}
	c = (uint32_t)c64;
	for (; n > 0; n--)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

uint32_t
vms_crc32c_update(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

#ifdef HAVE_CRC32_CODE
	if (vms_cpu_has(VMS_CPU_CRC32))
		return ~crc_sse42(c, p, n);
#endif
	return ~crc_table(c, p, n);
}

uint32_t
vms_crc32c(const void *buf, size_t n)
{
	return vms_crc32c_update(0, buf, n);
}
