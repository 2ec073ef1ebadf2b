/*
 * identity.c — the caller's Ed25519 identity for signed calls (vmsctl(1),
 * IDENTITY): where it lives, its file, making one, loading it, and signing
 * a call with it. The signed format itself is libvms/callsig.c's.
 *
 * The file (mode 0600) holds comments and one line
 *   ed25519-seed B64URL(32-byte seed)
 * from which libsodium derives the key pair.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "callsig.h"
#include "util.h"
#include "vmsctl.h"

#define SEED_TAG	"ed25519-seed "
#define IDENTITY_MAX	4096

int
ctl_identity_path(const struct ctl *c, char *buf, size_t len, char *err,
    size_t errlen)
{
	const char *e;
	int n;

	if (c->identity != NULL)
		n = snprintf(buf, len, "%s", c->identity);
	else if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e == '/')
		n = snprintf(buf, len, "%s/vmsctl/identity", e);
	else if ((e = getenv("HOME")) != NULL && *e != '\0')
		n = snprintf(buf, len, "%s/.config/vmsctl/identity", e);
	else {
		seterr(err, errlen, "cannot locate the identity file: set "
		    "$HOME or $XDG_CONFIG_HOME, or use --identity FILE");
		return -1;
	}
	if (n < 0 || (size_t)n >= len) {
		seterr(err, errlen, "identity path too long");
		return -1;
	}
	return 0;
}

int
ctl_identity_create(const char *path, int force, uint8_t pk[32], char *err,
    size_t errlen)
{
	uint8_t seed[32], sk[64];
	char b64[B64URL_LEN(32) + 1], id[CALLSIG_ID_LEN + 1], dir[PATH_MAX];
	char text[512], *slash;
	int fd, n, r = -1;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) != 0) {
			seterr(err, errlen, "%s: %s", dir, strerror(errno));
			return -1;
		}
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	b64url_encode(seed, 32, b64);
	callsig_caller_id(pk, id);
	n = snprintf(text, sizeof(text), "# vmsctl identity: an Ed25519 secret "
	    "key. Keep it private (vmsctl(1)).\n# caller id: %s\n%s%s\n", id,
	    SEED_TAG, b64);
	if (force)
		r = write_file_atomic(path, text, (size_t)n, 0600, err, errlen);
	else if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		seterr(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (vmsctl keygen --force replaces it, "
		    "and the identity is lost)" : "");
	else if (write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
	} else if (close(fd) != 0)
		seterr(err, errlen, "%s: %s", path, strerror(errno));
	else {
		(void)fsync_parent(path);	/* best effort: it exists */
		r = 0;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int
ctl_identity_load(const char *path, uint8_t sk[64], char *err, size_t errlen)
{
	uint8_t *buf, seed[32], pk[32];
	char *line, *next, *end;
	struct stat st;
	size_t len;
	int found = 0, r = -1;

	if (stat(path, &st) != 0) {
		seterr(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (make one with vmsctl keygen)" : "");
		return errno == ENOENT ? 1 : -1;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen, "%s: mode %03o lets others read the secret "
		    "key: chmod 600 it (or make a new one)", path,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	if (read_file(path, IDENTITY_MAX, &buf, &len, err, errlen) != 0)
		return -1;
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	for (line = (char *)buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		if (strncmp(line, SEED_TAG, sizeof(SEED_TAG) - 1) != 0 ||
		    found++) {
			found = -1;
			break;
		}
		line += sizeof(SEED_TAG) - 1;
		for (end = line + strlen(line); end > line &&
		    (end[-1] == ' ' || end[-1] == '\r'); end--)
			;
		if (b64url_decode_fixed(line, (size_t)(end - line), seed,
		    32) != 0) {
			found = -1;
			break;
		}
	}
	if (found == 1) {
		crypto_sign_seed_keypair(pk, sk, seed);
		r = 0;
	} else
		seterr(err, errlen, "%s: not a vmsctl identity (want one line "
		    "\"%sBASE64URL\")", path, SEED_TAG);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

uint64_t
ctl_nonce_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
