/*
 * util.c — allocation, encoding, file and time helpers (see util.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		fatal("calloc %zu x %zu", n, sz);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatal("realloc %zu", n);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	return n;
}

void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, uint8_t *out, size_t outlen)
{
	size_t i;

	if (strlen(in) != 2 * outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		int hi = hexval((unsigned char)in[2 * i]);
		int lo = hexval((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Standard base64 with padding, by table: not constant-time (its loads
 * depend on the bytes), for public bytes only (entries, hashes, keys'
 * public halves, signatures); secrets go through libsodium's
 * sodium_bin2base64 (b64url_encode). The same text as libsodium's
 * (tests/unit/test-util.c compares them), several times faster: every
 * receipt carries its entry in base64.
 */
static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_put(char *out, const void *in, size_t len)
{
	const uint8_t *p = in;
	char *o = out;
	uint32_t v;
	size_t i;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[(v >> 12) & 63];
		o[2] = b64_alphabet[(v >> 6) & 63];
		o[3] = b64_alphabet[v & 63];
		o += 4;
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		o[0] = b64_alphabet[v >> 18];
		o[1] = b64_alphabet[(v >> 12) & 63];
		o[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	return (size_t)(o - out);
}

char *
b64_encode(const uint8_t *in, size_t len)
{
	char *out = xmalloc(B64_LEN(len) + 1);

	out[b64_put(out, in, len)] = '\0';
	return out;
}

/* Each byte's value in the alphabet plus one; 0: not in it. */
static const uint8_t b64_value[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 63,  0,  0,  0, 64,
	53, 54, 55, 56, 57, 58, 59, 60, 61, 62,  0,  0,  0,  0,  0,  0,
	 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,  0,  0,  0,  0,  0,
	 0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
	42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

/*
 * What libsodium's sodium_base642bin (VARIANT_ORIGINAL, no characters
 * ignored, the whole text) accepts, by table: the alphabet, then as many
 * '=' as the last group needs and nothing after them, the unused bits of
 * the last character zero. libsodium's is constant-time (for secrets),
 * 4-5 times slower: a tenth of an audit's time through vmsd went to
 * decoding entries. tests/unit/test-util.c compares the two on every
 * short text and on random ones. (libsodium 1.0.18 also read every byte
 * >= 0x80 as '/', so that two texts decoded alike: found by fuzz-note.)
 */
int
b64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0, i, o = 0;
	uint32_t v;
	uint8_t *buf;

	while (n < inlen && b64_value[s[n]] != 0)
		n++;
	for (i = n; i < inlen; i++)	/* then only the padding */
		if (s[i] != '=')
			return -1;
	if (n % 4 == 1 || inlen - n != (4 - n % 4) % 4)
		return -1;
	/* the last character's unused bits: 4 of 2 characters, 2 of 3 */
	if ((n % 4 == 2 && ((b64_value[s[n - 1]] - 1) & 15) != 0) ||
	    (n % 4 == 3 && ((b64_value[s[n - 1]] - 1) & 3) != 0))
		return -1;
	buf = xmalloc(n / 4 * 3 + 3);
	for (i = 0; i + 4 <= n; i += 4) {
		v = (uint32_t)(b64_value[s[i]] - 1) << 18 |
		    (uint32_t)(b64_value[s[i + 1]] - 1) << 12 |
		    (uint32_t)(b64_value[s[i + 2]] - 1) << 6 |
		    (uint32_t)(b64_value[s[i + 3]] - 1);
		buf[o++] = (uint8_t)(v >> 16);
		buf[o++] = (uint8_t)(v >> 8);
		buf[o++] = (uint8_t)v;
	}
	if (i < n) {		/* 2 or 3 characters left */
		v = (uint32_t)(b64_value[s[i]] - 1) << 18 |
		    (uint32_t)(b64_value[s[i + 1]] - 1) << 12;
		if (i + 2 < n)
			v |= (uint32_t)(b64_value[s[i + 2]] - 1) << 6;
		buf[o++] = (uint8_t)(v >> 16);
		if (i + 2 < n)
			buf[o++] = (uint8_t)(v >> 8);
	}
	*out = buf;
	*outlen = o;
	return 0;
}

int
b64_decode_fixed(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	uint8_t *buf;
	size_t n;

	if (b64_decode(in, inlen, &buf, &n) != 0)
		return -1;
	if (n != outlen) {
		free(buf);
		return -1;
	}
	memcpy(out, buf, n);
	free(buf);
	return 0;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

uint8_t *
put_lp32(uint8_t *p, const void *s, size_t n)
{
	*p++ = (uint8_t)(n >> 24);
	*p++ = (uint8_t)(n >> 16);
	*p++ = (uint8_t)(n >> 8);
	*p++ = (uint8_t)n;
	if (n > 0)
		memcpy(p, s, n);
	return p + n;
}

int
pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int
pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;
	size_t put = 0;

	while (put < len) {
		ssize_t n = pwrite(fd, p + put, len - put, off + (off_t)put);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		put += (size_t)n;
	}
	return 0;
}

int
read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	uint8_t *p;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		seterr(err, errlen, "%s: file too large (%lld bytes, max %zu)",
		    path, (long long)st.st_size, max);
		close(fd);
		return -1;
	}
	p = xmalloc((size_t)st.st_size + 1);
	n = read_full(fd, p, (size_t)st.st_size);
	if (n < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		free(p);
		close(fd);
		return -1;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = (size_t)n;
	return 0;
}

int
fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
fsync_parent(const char *path)
{
	char *copy = xstrdup(path);
	int rc = fsync_dir(dirname(copy));

	free(copy);
	return rc;
}

/*
 * Write a file of more than WRITE_PACE_CHUNK bytes a chunk at a time, each
 * made durable before the next is written, so that a flush of the disk's
 * cache asked for meanwhile (another file's fdatasync: a ledger's commit)
 * never waits behind more than one chunk of it. Written whole and then
 * synced, a contract's 5 MB snapshot held its worker's commits for up to
 * 10-18 ms (bench/README.md, round 10).
 */
static int
write_paced(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > WRITE_PACE_CHUNK) {
		if (write_all(fd, p, WRITE_PACE_CHUNK) != 0 ||
		    fdatasync(fd) != 0)
			return -1;
		p += WRITE_PACE_CHUNK;
		len -= WRITE_PACE_CHUNK;
	}
	return write_all(fd, p, len);
}

int
write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char *tmp;
	int fd, e;

	xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		e = errno;
		seterr(err, errlen, "%s: %s", tmp, strerror(e));
		goto fail;
	}
	if (write_paced(fd, data, len) != 0 || fsync(fd) != 0) {
		e = errno;
		seterr(err, errlen, "%s: %s", tmp, strerror(e));
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		e = errno;
		seterr(err, errlen, "close %s: %s", tmp, strerror(e));
		unlink(tmp);
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		seterr(err, errlen, "rename %s: %s", path, strerror(e));
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	if (fsync_parent(path) != 0) {
		e = errno;
		seterr(err, errlen, "fsync dir of %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
fail:
	free(tmp);
	errno = e;	/* why, for the caller (ENOSPC: the disk is full) */
	return -1;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *sub;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		if (rm_rf(sub) != 0)
			rc = -1;
		free(sub);
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#ifdef VMS_FAULTS
void
fault_point(const char *name)
{
	const char *want = getenv("VMSD_FAULT");

	if (want != NULL && strcmp(want, name) == 0)
		kill(getpid(), SIGKILL);
}
#endif

void
utc_ms(uint64_t ms, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	/* up to 9999-12-31T23:59:59.999Z */
	if (ms / 1000 > 253402300799ULL ||
	    (t = (time_t)(ms / 1000), gmtime_r(&t, &tm) == NULL)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
mono_msec(void)
{
	return mono_usec() / 1000;
}

/*
 * Length of the UTF-8 sequence at s (at most n bytes), or 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are refused.
 * *cp receives the code point.
 */
size_t
utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int
utf8_valid(const void *buf, size_t n)
{
	const uint8_t *s = buf;
	size_t i = 0, k;
	uint32_t cp;
	uint64_t w;

	while (i < n) {
		if (s[i] < 0x80) {	/* ASCII, eight bytes at a time */
			while (i + 8 <= n) {
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			while (i < n && s[i] < 0x80)
				i++;
			continue;
		}
		if ((k = utf8_seq(s + i, n - i, &cp)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

int
valid_contract_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '-' || c == '.'))
			continue;
		return 0;
	}
	return strstr(s, "..") == NULL;
}
