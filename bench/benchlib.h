/*
 * benchlib.h — what the benchmark programs share (benchlib.c): the
 * guest-list ledger bench-audit and bench-tiles build, reading a contract
 * of examples/, CPU time and peak memory, latency percentiles, and dying
 * with a message.
 */
#ifndef VMS_BENCHLIB_H
#define VMS_BENCHLIB_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

/* "PROGRAM: what: err" on stderr, exit 1. */
void	 bench_die(const char *what, const char *err)
	    __attribute__((noreturn));
/* CPU seconds of this process (user + system) and its peak RSS. */
double	 bench_cpu_secs(void);
double	 bench_peak_rss_mib(void);
/* A struct timeval (getrusage's times) in microseconds. */
double	 bench_usec(const struct timeval *);
/* Latencies in µs: sort them, then the p-th (0..1) percentile in ms (0 of
 * none). */
void	 bench_sort_u32(uint32_t *, size_t n);
double	 bench_pct_ms(const uint32_t *sorted, size_t n, double p);
/* examples/NAME, read from the repository root (dies if missing). */
char	*bench_load_example(const char *name);
/* A guest-list ledger of n entries in dir: the deploy and n - 1 RSVPs
 * (guests guest0.., callers unix:user0..96), commits of 1000, signed by a
 * new key written to keyfile, and its state.snap (what a vmsd state
 * directory holds for the contract). The seconds it took. */
double	 bench_build_guestlist(const char *dir, const char *keyfile,
	    uint64_t n);

#endif
