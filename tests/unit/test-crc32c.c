/*
 * test-crc32c.c — libvms/crc32c.c gives CRC-32C's standard check values,
 * the same with SSE4.2's crc32 (when this CPU has it) as with the
 * portable table, at every length and alignment around the 8-byte steps,
 * and the same in pieces (vms_crc32c_update) as whole.
 */
#include <sodium.h>

#include "test.h"
#include "cpu.h"
#include "crc32c.h"

TEST(check_values)
{
	uint8_t zeros[32], ones[32], inc[32];
	size_t i;

	memset(zeros, 0, sizeof(zeros));
	memset(ones, 0xff, sizeof(ones));
	for (i = 0; i < sizeof(inc); i++)
		inc[i] = (uint8_t)i;
	/* the catalogue's check value, and RFC 3720 (iSCSI) B.4 */
	CHECK_EQ_INT(vms_crc32c("123456789", 9), 0xe3069283);
	CHECK_EQ_INT(vms_crc32c(zeros, 32), 0x8a9136aa);
	CHECK_EQ_INT(vms_crc32c(ones, 32), 0x62a8ab43);
	CHECK_EQ_INT(vms_crc32c(inc, 32), 0x46dd794e);
	CHECK_EQ_INT(vms_crc32c("", 0), 0);
}

/* Every length up to 300 at 8 alignments, whole and in two pieces, against
 * the same with the instruction turned off. */
static void
compare_paths(void)
{
	uint8_t data[320];
	uint32_t want[8][301];
	size_t len, off, cut, bad = 0;

	randombytes_buf(data, sizeof(data));
	vms_cpu_off(VMS_CPU_CRC32, 1);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 300; len++)
			want[off][len] = vms_crc32c(data + off, len);
	vms_cpu_off(VMS_CPU_CRC32, 0);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 300; len++) {
			cut = len ? (len * 7919) % len : 0;
			if (vms_crc32c(data + off, len) != want[off][len] ||
			    vms_crc32c_update(vms_crc32c(data + off, cut),
			    data + off + cut, len - cut) != want[off][len])
				bad++;
		}
	CHECK_MSG(bad == 0, "%zu CRCs differ between the paths", bad);
}

TEST(instruction_matches_table)
{
	printf("     SSE4.2 crc32 %s\n", vms_cpu_has(VMS_CPU_CRC32) ?
	    "in use" : "not available: the table only");
	compare_paths();
	vms_cpu_off(VMS_CPU_CRC32, 1);
	CHECK(!vms_cpu_has(VMS_CPU_CRC32));
	CHECK_EQ_INT(vms_crc32c("123456789", 9), 0xe3069283);
	vms_cpu_off(VMS_CPU_CRC32, 0);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(check_values);
	RUN(instruction_matches_table);
	return test_summary();
}
