/*
 * lthash.h — the mixing step of the state root's LtHash16 accumulator
 * (lua-sandbox/state.h defines the root): add to, or subtract from, 1024
 * uint16 lanes (mod 2^16) the 2048-byte ChaCha20 keystream of a 32-byte
 * element key (nonce 8 zero bytes, block counter from 0), read as 1024
 * little-endian uint16. The same lanes as libsodium's crypto_stream_chacha20
 * followed by the lane-wise sum (tests/unit/test-lthash.c compares them);
 * computed sixteen blocks at a time with AVX-512 where the CPU has it
 * (about three times faster: two of these per replaced file, on every call
 * and every replayed entry), with libsodium's keystream elsewhere or when
 * cpu.h's VMS_CPU_AVX512 is turned off.
 */
#ifndef VMS_LTHASH_H
#define VMS_LTHASH_H

#include <stdint.h>

#define LTHASH_LANES	1024
#define LTHASH_KEYLEN	32

void	 lthash_mix(uint16_t lanes[LTHASH_LANES],
	    const uint8_t key[LTHASH_KEYLEN], int add);

#endif
