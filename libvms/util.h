/*
 * util.h — small helpers every module shares: checked allocation, hex and
 * base64 (libsodium), whole-file I/O, atomic replace (temp, fsync, rename,
 * fsync dir), full reads/writes that retry on EINTR, and time.
 *
 * Error convention across libvms: functions return 0 on success and -1 on
 * failure, writing a one-line reason into a caller-supplied `char *err,
 * size_t errlen` buffer (never NULL) where the failure needs explaining.
 */
#ifndef VMS_UTIL_H
#define VMS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VMS_ERRLEN 512

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Hex: lower case. hex_decode returns -1 on bad input or length mismatch. */
void	 hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
int	 hex_decode(const char *in, uint8_t *out, size_t outlen);

/* Standard base64 with padding (RFC 4648 §4), as C2SP notes use. */
/* Standard base64 of public bytes (not constant-time: secrets go through
 * libsodium): b64_put writes B64_LEN(len) bytes, no NUL, and returns that
 * length; b64_encode returns a malloc'd string. */
#define B64_LEN(len)	(((len) + 2) / 3 * 4)
size_t	 b64_put(char *out, const void *in, size_t len);
char	*b64_encode(const uint8_t *in, size_t len);            /* malloc'd */
int	 b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);
/* Decode into a fixed buffer; -1 unless exactly outlen bytes result. */
int	 b64_decode_fixed(const char *in, size_t inlen, uint8_t *out,
	    size_t outlen);

/* I/O. All retry on EINTR and return -1 with errno set on failure. */
/* n as 4 bytes big-endian, then the n bytes of s, at p: the length-
 * prefixed parts of a signed message (callsig.c, oracle.c). Returns the
 * end. n must fit in 32 bits. */
uint8_t	*put_lp32(uint8_t *p, const void *s, size_t n);
int	 write_all(int fd, const void *buf, size_t len);
ssize_t	 read_full(int fd, void *buf, size_t len);   /* short only at EOF */
int	 pread_full(int fd, void *buf, size_t len, off_t off); /* -1 if short */
/* All of it, or -1 with the errno that stopped it (a full disk: ENOSPC,
 * where one pwrite would only have come back short). */
int	 pwrite_full(int fd, const void *buf, size_t len, off_t off);
int	 read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
	    char *err, size_t errlen);
/* Atomically replace path with data: a temporary file written and synced,
 * a rename, the directory synced. A file larger than WRITE_PACE_CHUNK is
 * written a chunk at a time, each synced (fdatasync) before the next, so
 * that other files' syncs meanwhile never wait behind all of it (util.c).
 * -1 with err, and errno saying why. */
#define WRITE_PACE_CHUNK	(256u << 10)
int	 write_file_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, char *err, size_t errlen);
int	 fsync_dir(const char *dir);
int	 fsync_parent(const char *path);
int	 mkdir_p(const char *path, mode_t mode);
int	 rm_rf(const char *path);

uint64_t now_ms(void);          /* wall clock, ms since the epoch */
/*
 * Fault injection for the crash tests, compiled only into the sanitizer
 * build (-DVMS_FAULTS): when the environment's VMSD_FAULT names this
 * point, the process kills itself with SIGKILL there. A no-op otherwise.
 */
#ifdef VMS_FAULTS
void	 fault_point(const char *name);
#else
#define fault_point(name)	((void)0)
#endif
/* ms since the epoch as "2025-01-31T12:00:00.000Z" ("?" if out of range) */
void	 utc_ms(uint64_t ms, char *buf, size_t len);
uint64_t mono_usec(void);       /* CLOCK_MONOTONIC, µs */
uint64_t mono_msec(void);       /* CLOCK_MONOTONIC, ms */

/* UTF-8: length of the sequence at s (at most n bytes), or 0 if invalid
 * (overlong forms, surrogates, > U+10FFFF refused); *cp gets the code
 * point. utf8_valid: the whole buffer is valid UTF-8 (NUL allowed). */
size_t	 utf8_seq(const uint8_t *s, size_t n, uint32_t *cp);
int	 utf8_valid(const void *, size_t);

/* Contract names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, no "..". */
int	 valid_contract_name(const char *);

#endif
