/*
 * note.c — C2SP signed-note (Ed25519 via libsodium), C2SP vkeys, secret key
 * files and C2SP tlog-checkpoint bodies. See note.h and vms-ledger(5).
 *
 * Key file format: exactly 32 raw bytes, the Ed25519 seed, mode 0600.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "note.h"
#include "util.h"

#define ALG_ED25519	0x01
#define SIG_LEN		crypto_sign_BYTES
static const char emdash[] = "\xe2\x80\x94 ";	/* U+2014 then a space */

/*
 * Valid UTF-8 without control characters (C0, DEL, C1), except '\n' when
 * allow_nl. Returns 0 if valid.
 */
static int
check_text(const char *s, size_t n, int allow_nl)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t cp;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i, &cp)) == 0)
			return -1;
		if (cp == '\n' && allow_nl) {
			i += k;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return -1;
		i += k;
	}
	return 0;
}

static int
valid_name_n(const char *name, size_t n)
{
	size_t i;

	if (n == 0 || n > NOTE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] == ' ' || name[i] == '+')
			return 0;
	return check_text(name, n, 0) == 0;
}

int
note_valid_name(const char *name)
{
	return name != NULL && valid_name_n(name, strlen(name));
}

static void
compute_keyid(const char *name, size_t n, const uint8_t pk[32],
    uint8_t keyid[4])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], sep[2] = { '\n', ALG_ED25519 };

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, n);
	crypto_hash_sha256_update(&st, sep, 2);
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	memcpy(keyid, h, 4);
}

struct note_signer *
note_signer_new(const char *name, const uint8_t seed[32])
{
	struct note_signer *s;

	if (!note_valid_name(name))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	if ((s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (crypto_sign_seed_keypair(s->pk, s->sk, seed) != 0) {
		sodium_free(s->sk);
		free(s);
		return NULL;
	}
	(void)sodium_mprotect_readonly(s->sk);
	compute_keyid(s->name, strlen(s->name), s->pk, s->keyid);
	return s;
}

void
note_signer_free(struct note_signer *s)
{
	if (s == NULL)
		return;
	note_pool_free(s->pool);
	sodium_free(s->sk);	/* zeroes the secret */
	free(s);
}

int
note_keyfile_create(const char *path, char *err, size_t errlen)
{
	uint8_t *seed;
	int fd;

	if ((seed = sodium_malloc(32)) == NULL) {
		seterr(err, errlen, "sodium_malloc: %s", strerror(errno));
		return -1;
	}
	randombytes_buf(seed, 32);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		seterr(err, errlen, "create key file %s: %s", path,
		    strerror(errno));
		sodium_free(seed);
		return -1;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, seed, 32) != 0 ||
	    fsync(fd) != 0) {
		seterr(err, errlen, "write key file %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		sodium_free(seed);
		return -1;
	}
	sodium_free(seed);
	if (close(fd) != 0) {
		seterr(err, errlen, "close key file %s: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	if (fsync_parent(path) != 0) {
		seterr(err, errlen, "fsync directory of %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct note_signer *
note_signer_load(const char *path, const char *name, char *err,
    size_t errlen)
{
	struct note_signer *s;
	struct stat st;
	uint8_t *seed;
	ssize_t n;
	int fd;

	if (!note_valid_name(name)) {
		seterr(err, errlen, "invalid key name \"%s\"", name);
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "key file %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "key file %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen, "key file %s is accessible by group or "
		    "others (mode %04o); it must be 0600", path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (st.st_size != 32) {
		seterr(err, errlen, "key file %s: %lld bytes, expected 32",
		    path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	if ((seed = sodium_malloc(33)) == NULL) {
		seterr(err, errlen, "sodium_malloc: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	n = read_full(fd, seed, 33);
	close(fd);
	if (n != 32) {
		seterr(err, errlen, "key file %s: %s", path, n < 0 ?
		    strerror(errno) : "short or changed while reading");
		sodium_free(seed);
		return NULL;
	}
	s = note_signer_new(name, seed);
	sodium_free(seed);
	if (s == NULL)
		seterr(err, errlen, "key file %s: cannot derive key", path);
	return s;
}

void
note_verifier_from_signer(const struct note_signer *s,
    struct note_verifier *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->name, s->name, sizeof(v->name));
	memcpy(v->keyid, s->keyid, 4);
	memcpy(v->pk, s->pk, 32);
}

char *
note_vkey_format(const struct note_verifier *v)
{
	uint8_t key[33];
	char hex[9], *b64, *out;

	hex_encode(v->keyid, 4, hex);
	key[0] = ALG_ED25519;
	memcpy(key + 1, v->pk, 32);
	b64 = b64_encode(key, sizeof(key));
	xasprintf(&out, "%s+%s+%s", v->name, hex, b64);
	free(b64);
	return out;
}

int
note_vkey_parse(const char *vkey, struct note_verifier *v, char *err,
    size_t errlen)
{
	const char *p1, *p2;
	uint8_t key[33], id[4];
	char hex[9];
	size_t nlen, i;

	memset(v, 0, sizeof(*v));
	if ((p1 = strchr(vkey, '+')) == NULL ||
	    (p2 = strchr(p1 + 1, '+')) == NULL) {
		seterr(err, errlen, "malformed verifier key: want "
		    "name+keyid+key");
		return -1;
	}
	nlen = (size_t)(p1 - vkey);
	if (!valid_name_n(vkey, nlen)) {
		seterr(err, errlen, "malformed verifier key: bad name");
		return -1;
	}
	if (p2 - p1 - 1 != 8) {
		seterr(err, errlen, "malformed verifier key: key ID must be "
		    "8 hex digits");
		return -1;
	}
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	for (i = 0; i < 8; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f'))) {
			seterr(err, errlen, "malformed verifier key: key ID "
			    "must be lower-case hex");
			return -1;
		}
	if (hex_decode(hex, id, 4) != 0 ||
	    b64_decode_fixed(p2 + 1, strlen(p2 + 1), key, sizeof(key)) != 0) {
		seterr(err, errlen, "malformed verifier key: bad encoding");
		return -1;
	}
	if (key[0] != ALG_ED25519) {
		seterr(err, errlen, "verifier key: unsupported algorithm %u",
		    key[0]);
		return -1;
	}
	memcpy(v->name, vkey, nlen);
	v->name[nlen] = '\0';
	memcpy(v->pk, key + 1, 32);
	compute_keyid(v->name, nlen, v->pk, v->keyid);
	if (memcmp(v->keyid, id, 4) != 0) {
		seterr(err, errlen, "verifier key: key ID %s does not match "
		    "the key", hex);
		memset(v, 0, sizeof(*v));
		return -1;
	}
	return 0;
}

/* Note text: non-empty, ends in '\n', no blank line, clean UTF-8. */
static int
check_note_text(const char *text, size_t len, char *err, size_t errlen)
{
	if (len == 0 || text[len - 1] != '\n') {
		seterr(err, errlen, "note text must end with a newline");
		return -1;
	}
	if (text[0] == '\n' || memmem(text, len, "\n\n", 2) != NULL) {
		seterr(err, errlen, "note text must not contain a blank line");
		return -1;
	}
	if (check_text(text, len, 1) != 0) {
		seterr(err, errlen, "note text must be UTF-8 without control "
		    "characters");
		return -1;
	}
	return 0;
}

char *
note_sign(const struct note_signer *s, const char *text, size_t len,
    char *err, size_t errlen)
{
	uint8_t blob[4 + SIG_LEN];
	char *b64, *out;
	size_t nlen = strlen(s->name), olen;

	if (len > NOTE_MAX_LEN) {
		seterr(err, errlen, "note text too long (%zu bytes)", len);
		return NULL;
	}
	if (check_note_text(text, len, err, errlen) != 0)
		return NULL;
	memcpy(blob, s->keyid, 4);
	/* a nonce made ahead if one is ready (note_nonce.c), else RFC 8032 */
	if (note_nonce_sign(s, (const uint8_t *)text, len, blob + 4) != 0 &&
	    crypto_sign_detached(blob + 4, NULL, (const uint8_t *)text, len,
	    s->sk) != 0) {
		seterr(err, errlen, "signing failed");
		return NULL;
	}
	b64 = b64_encode(blob, sizeof(blob));
	olen = len + 1 + strlen(emdash) + nlen + 1 + strlen(b64) + 1;
	out = xmalloc(olen + 1);
	snprintf(out, olen + 1, "%.*s\n%s%s %s\n", (int)len, text, emdash,
	    s->name, b64);
	free(b64);
	return out;
}

struct seen_key {
	char		name[NOTE_NAME_MAX + 1];
	uint8_t		keyid[4];
};

int
note_verify(const char *note, size_t len, const struct note_verifier *keys,
    size_t nkeys, size_t *text_len, int *nverified, char *err,
    size_t errlen)
{
	struct seen_key *seen = NULL;
	const char *sigs, *line, *end, *nl, *sp;
	uint8_t *blob = NULL;
	size_t tlen, nsigs = 0, nseen = 0, blen, nlen, k;
	int verified = 0, rc = -1;

	if (nverified != NULL)
		*nverified = 0;
	if (len > NOTE_MAX_LEN) {
		seterr(err, errlen, "malformed note: too long (%zu bytes)",
		    len);
		return -1;
	}
	if (memchr(note, '\0', len) != NULL || check_text(note, len, 1) != 0) {
		seterr(err, errlen, "malformed note: not UTF-8 text without "
		    "control characters");
		return -1;
	}
	if (len == 0 || note[len - 1] != '\n') {
		seterr(err, errlen, "malformed note: must end with a newline");
		return -1;
	}
	/* The signatures follow the last blank line. */
	for (k = len - 1; k > 0; k--)
		if (note[k] == '\n' && note[k - 1] == '\n')
			break;
	if (k == 0) {
		seterr(err, errlen, "malformed note: no signature block");
		return -1;
	}
	tlen = k;		/* text is note[0..k), ends with its '\n' */
	if (check_note_text(note, tlen, err, errlen) != 0)
		return -1;
	sigs = note + k + 1;
	end = note + len;
	if (sigs == end) {
		seterr(err, errlen, "malformed note: no signature lines");
		return -1;
	}
	seen = xcalloc(NOTE_MAX_SIGS, sizeof(*seen));
	for (line = sigs; line < end; line = nl + 1) {
		const struct note_verifier *v = NULL;
		const char *name;
		size_t i;
		int dup = 0;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (++nsigs > NOTE_MAX_SIGS) {
			seterr(err, errlen, "malformed note: more than %d "
			    "signatures", NOTE_MAX_SIGS);
			goto out;
		}
		if ((size_t)(nl - line) < strlen(emdash) ||
		    memcmp(line, emdash, strlen(emdash)) != 0) {
			seterr(err, errlen, "malformed note: signature line %zu "
			    "does not start with an em dash", nsigs);
			goto out;
		}
		name = line + strlen(emdash);
		sp = memchr(name, ' ', (size_t)(nl - name));
		if (sp == NULL) {
			seterr(err, errlen, "malformed note: signature line %zu "
			    "has no signature", nsigs);
			goto out;
		}
		nlen = (size_t)(sp - name);
		if (!valid_name_n(name, nlen)) {
			seterr(err, errlen, "malformed note: signature line %zu "
			    "has a bad key name", nsigs);
			goto out;
		}
		free(blob);
		blob = NULL;
		if (b64_decode(sp + 1, (size_t)(nl - sp - 1), &blob, &blen) !=
		    0 || blen < 5) {
			seterr(err, errlen, "malformed note: signature line %zu "
			    "has a bad signature encoding", nsigs);
			goto out;
		}
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i].name) == nlen &&
			    memcmp(keys[i].name, name, nlen) == 0 &&
			    memcmp(keys[i].keyid, blob, 4) == 0) {
				v = &keys[i];
				break;
			}
		if (v == NULL)
			continue;	/* unknown key: ignored */
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i].name, v->name) == 0 &&
			    memcmp(seen[i].keyid, v->keyid, 4) == 0)
				dup = 1;
		if (blen != 4 + SIG_LEN ||
		    crypto_sign_verify_detached(blob + 4, (const uint8_t *)note,
		    tlen, v->pk) != 0) {
			seterr(err, errlen, "invalid signature by key %s",
			    v->name);
			goto out;
		}
		if (dup)
			continue;
		memcpy(seen[nseen].name, v->name, sizeof(seen[nseen].name));
		memcpy(seen[nseen].keyid, v->keyid, 4);
		nseen++;
		verified++;
	}
	if (verified == 0) {
		seterr(err, errlen, "note has no signature by a known key");
		goto out;
	}
	if (text_len != NULL)
		*text_len = tlen;
	if (nverified != NULL)
		*nverified = verified;
	rc = 0;
out:
	free(blob);
	free(seen);
	return rc;
}

char *
checkpoint_format(const struct checkpoint *c)
{
	char *b64, *out;

	b64 = b64_encode(c->root, MERKLE_HASH_LEN);
	xasprintf(&out, "%s\n%" PRIu64 "\n%s\n", c->origin, c->size, b64);
	free(b64);
	return out;
}

/* A checkpoint's size line: decimal, no sign, no leading zeros, no
 * overflow. */
static int
parse_tree_size(const char *p, size_t n, uint64_t *size)
{
	uint64_t v = 0;
	unsigned d;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*size = v;
	return 0;
}

int
checkpoint_note_size(const char *note, size_t len, uint64_t *size)
{
	const char *p = memchr(note, '\n', len), *end = note + len, *nl;

	if (p == NULL || ++p >= end ||
	    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return -1;
	return parse_tree_size(p, (size_t)(nl - p), size);
}

int
checkpoint_parse(const char *text, size_t len, struct checkpoint *c,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	uint64_t size = 0;
	size_t n;

	memset(c, 0, sizeof(*c));
	if (len == 0 || text[len - 1] != '\n' ||
	    check_text(text, len, 1) != 0) {
		seterr(err, errlen, "malformed checkpoint: not newline-ended "
		    "UTF-8 text");
		return -1;
	}
	/* origin */
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)(nl - p);
	if (n == 0 || n > NOTE_NAME_MAX) {
		seterr(err, errlen, "malformed checkpoint: bad origin line");
		return -1;
	}
	memcpy(c->origin, p, n);
	c->origin[n] = '\0';
	p = nl + 1;
	/* size: decimal, no sign, no leading zeros, no overflow */
	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
		seterr(err, errlen, "malformed checkpoint: missing size line");
		return -1;
	}
	if (parse_tree_size(p, (size_t)(nl - p), &size) != 0) {
		seterr(err, errlen, "malformed checkpoint: bad tree size");
		return -1;
	}
	c->size = size;
	p = nl + 1;
	/* root hash */
	if (p >= end || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    b64_decode_fixed(p, (size_t)(nl - p), c->root,
	    MERKLE_HASH_LEN) != 0) {
		seterr(err, errlen, "malformed checkpoint: root hash is not "
		    "base64 of 32 bytes");
		return -1;
	}
	p = nl + 1;
	/* Extension lines are allowed and ignored, but none may be empty. */
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == p) {
			seterr(err, errlen, "malformed checkpoint: empty line");
			return -1;
		}
		p = nl + 1;
	}
	return 0;
}
