/*
 * cpu.c — which extensions this CPU has (cpu.h): asked once each, then
 * kept (benign to ask twice from two threads: the same answer).
 */
#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define HAVE_X86_PROBE 1
#endif

static int have[VMS_CPU_NEXT] = { -1, -1, -1 };	/* unknown, 0 or 1 */
_Static_assert(VMS_CPU_NEXT == 3, "one -1 an extension");

static int
probe(enum vms_cpu_ext x)
{
#ifdef HAVE_X86_PROBE
	unsigned int eax, ebx, ecx, edx;

	switch (x) {
	case VMS_CPU_SHA:
		/* CPUID directly: clang 14 has no __builtin_cpu_supports("sha")
		 * (the fuzzing build uses clang) */
		return __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
		    (ecx & bit_SSSE3) && (ecx & bit_SSE4_1) &&
		    __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) &&
		    (ebx & bit_SHA);
	case VMS_CPU_CRC32:
		return __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
		    (ecx & bit_SSE4_2);
	case VMS_CPU_AVX512:
		/* the builtins also check that the OS saves the registers */
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw");
	default:
		return 0;
	}
#else
	(void)x;
	return 0;
#endif
}

int
vms_cpu_has(enum vms_cpu_ext x)
{
	int a;

	if ((unsigned)x >= VMS_CPU_NEXT)
		return 0;
	if ((a = __atomic_load_n(&have[x], __ATOMIC_RELAXED)) < 0) {
		a = probe(x);
		__atomic_store_n(&have[x], a, __ATOMIC_RELAXED);
	}
	return a;
}

void
vms_cpu_off(enum vms_cpu_ext x, int off)
{
	if ((unsigned)x < VMS_CPU_NEXT)
		__atomic_store_n(&have[x], off ? 0 : -1, __ATOMIC_RELAXED);
}
