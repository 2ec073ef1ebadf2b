/*
 * crc32c.h — CRC-32C (Castagnoli) of a buffer: a checksum for records a
 * crash may tear or a later write overwrite in part (the signed head's
 * ring, ledger_head.c), where SHA-256 cost six to nine times as much
 * (bench/README.md, round 28) and caught nothing more: neither is keyed,
 * so neither stops a forger (signatures and the Merkle tree do that).
 * The same value as ext4's and iSCSI's (crc32c("123456789") =
 * 0xe3069283).
 */
#ifndef VMS_CRC32C_H
#define VMS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#define VMS_CRC32C_LEN	4

/* The CRC of buf[0 .. n) */
uint32_t	 vms_crc32c(const void *buf, size_t n);
/* ... of what crc was the CRC of, followed by buf[0 .. n) */
uint32_t	 vms_crc32c_update(uint32_t crc, const void *buf, size_t n);

#endif
