/*
 * tlogproof.c — C2SP tlog-proof text: parse and format (tlogproof.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlogproof.h"
#include "util.h"

/* The line at *pos (without its '\n'); -1 if no '\n' ends it. */
static int
next_line(const uint8_t *buf, size_t len, size_t *pos, const char **line,
    size_t *llen)
{
	const uint8_t *nl;

	if (*pos >= len ||
	    (nl = memchr(buf + *pos, '\n', len - *pos)) == NULL)
		return -1;
	*line = (const char *)buf + *pos;
	*llen = (size_t)(nl - (buf + *pos));
	*pos += *llen + 1;
	return 0;
}

static int
starts(const char *line, size_t llen, const char *word)
{
	size_t n = strlen(word);

	return llen >= n && memcmp(line, word, n) == 0;
}

int
tlog_proof_parse(const uint8_t *buf, size_t len, struct tlog_proof *p,
    char *err, size_t errlen)
{
	const char *line;
	size_t pos = 0, llen, i;
	int lineno = 1;

	memset(p, 0, sizeof(*p));
	if (len > TLOG_PROOF_MAX) {
		seterr(err, errlen, "larger than %u bytes", TLOG_PROOF_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		seterr(err, errlen, "contains a NUL byte");
		return -1;
	}
	if (next_line(buf, len, &pos, &line, &llen) != 0 ||
	    llen != strlen(TLOG_PROOF_HEADER) ||
	    memcmp(line, TLOG_PROOF_HEADER, llen) != 0) {
		seterr(err, errlen, "line 1 is not \"%s\"", TLOG_PROOF_HEADER);
		return -1;
	}
	if (next_line(buf, len, &pos, &line, &llen) != 0)
		goto truncated;
	lineno++;
	if (starts(line, llen, "extra ")) {
		if (b64_decode(line + 6, llen - 6, &p->extra,
		    &p->extralen) != 0) {
			seterr(err, errlen, "line %d: extra data is not "
			    "base64", lineno);
			goto fail;
		}
		p->has_extra = 1;
		if (next_line(buf, len, &pos, &line, &llen) != 0)
			goto truncated;
		lineno++;
	}
	if (!starts(line, llen, "index ") || llen == 6 || llen > 6 + 20 ||
	    (line[6] == '0' && llen != 7)) {
		seterr(err, errlen, "line %d: expected \"index N\" (N in decimal "
		    "without leading zeros)", lineno);
		goto fail;
	}
	for (i = 6; i < llen; i++) {
		if (line[i] < '0' || line[i] > '9' ||
		    p->index > (UINT64_MAX - (uint64_t)(line[i] - '0')) / 10) {
			seterr(err, errlen, "line %d: bad index", lineno);
			goto fail;
		}
		p->index = p->index * 10 + (uint64_t)(line[i] - '0');
	}
	for (;;) {
		if (next_line(buf, len, &pos, &line, &llen) != 0)
			goto truncated;
		lineno++;
		if (llen == 0)
			break;
		if (p->nproof == MERKLE_MAX_PROOF) {
			seterr(err, errlen, "more than %d proof hashes",
			    MERKLE_MAX_PROOF);
			goto fail;
		}
		if (b64_decode_fixed(line, llen, p->proof[p->nproof],
		    MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "line %d: not a base64 SHA-256 hash",
			    lineno);
			goto fail;
		}
		p->nproof++;
	}
	if (pos >= len) {
		seterr(err, errlen, "no checkpoint after the empty line");
		goto fail;
	}
	p->notelen = len - pos;
	p->note = xmalloc(p->notelen + 1);
	memcpy(p->note, buf + pos, p->notelen);
	p->note[p->notelen] = '\0';
	return 0;
truncated:
	seterr(err, errlen, "ends at line %d, before the empty line and the "
	    "checkpoint", lineno);
fail:
	tlog_proof_free(p);
	return -1;
}

char *
tlog_proof_format(const struct tlog_proof *p, size_t *len)
{
	char *out, *b, num[32];
	size_t cap, n = 0, i, bl;

	cap = strlen(TLOG_PROOF_HEADER) + 1 + 32 + p->nproof * 46 + 2 +
	    p->notelen + (p->has_extra ? p->extralen / 3 * 4 + 16 : 0) + 8;
	out = xmalloc(cap);
#define ADD(s, l) do { memcpy(out + n, (s), (l)); n += (l); } while (0)
	ADD(TLOG_PROOF_HEADER "\n", strlen(TLOG_PROOF_HEADER) + 1);
	if (p->has_extra) {
		b = b64_encode(p->extra, p->extralen);
		bl = strlen(b);
		ADD("extra ", 6);
		ADD(b, bl);
		ADD("\n", 1);
		free(b);
	}
	snprintf(num, sizeof(num), "index %" PRIu64 "\n", p->index);
	ADD(num, strlen(num));
	for (i = 0; i < p->nproof; i++) {
		b = b64_encode(p->proof[i], MERKLE_HASH_LEN);
		ADD(b, strlen(b));
		ADD("\n", 1);
		free(b);
	}
	ADD("\n", 1);
	ADD(p->note, p->notelen);
#undef ADD
	out[n] = '\0';
	if (len != NULL)
		*len = n;
	return out;
}

void
tlog_proof_free(struct tlog_proof *p)
{
	free(p->extra);
	free(p->note);
	memset(p, 0, sizeof(*p));
}
