/*
 * cpu.h — the instruction set extensions the hot paths use where the CPU
 * has them, asked once: the SHA extensions (sha256.c), AVX-512 F and BW
 * (lthash.c; lua-sandbox/sb_warm_restore.c's string hashes, F alone) and
 * SSE4.2's crc32 (crc32c.c). Each can be turned off, for tests and A/B
 * benchmarks: the code that uses it then takes its portable path.
 */
#ifndef VMS_CPU_H
#define VMS_CPU_H

enum vms_cpu_ext {
	VMS_CPU_SHA,		/* sha256rnds2/msg1/msg2, with SSSE3 and SSE4.1 */
	VMS_CPU_AVX512,		/* AVX-512 F and BW, saved by the OS */
	VMS_CPU_CRC32,		/* SSE4.2's crc32 */
	VMS_CPU_NEXT
};

/* 1 if this CPU (and its OS) can run it and it is not turned off. */
int	 vms_cpu_has(enum vms_cpu_ext);
/* Turn it off (1), or back to what the CPU has (0). */
void	 vms_cpu_off(enum vms_cpu_ext, int off);

#endif
