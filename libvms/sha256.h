/*
 * sha256.h — SHA-256 (FIPS 180-4) for the hot paths: ledger leaves and
 * tree nodes, the contract state root and its elements, entry seeds. The
 * same digests as libsodium's crypto_hash_sha256 (tests/unit/test-sha256.c
 * compares them), computed with the x86 SHA extensions where the CPU has
 * them (about ten times faster on the 2 KiB state-root accumulator), and
 * portable C elsewhere or when cpu.h's VMS_CPU_SHA is turned off. Cold paths (notes, keys) keep using libsodium.
 */
#ifndef VMS_SHA256_H
#define VMS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VMS_SHA256_LEN	32

struct vms_sha256 {
	uint32_t	h[8];
	uint64_t	bytes;		/* message length so far */
	uint8_t		buf[64];
	size_t		nbuf;		/* bytes waiting in buf */
};

void	 vms_sha256_init(struct vms_sha256 *);
void	 vms_sha256_update(struct vms_sha256 *, const void *, size_t);
void	 vms_sha256_final(struct vms_sha256 *, uint8_t out[VMS_SHA256_LEN]);
void	 vms_sha256(const void *, size_t, uint8_t out[VMS_SHA256_LEN]);

#endif
