/*
 * audit-trust.c — the auditor's trust-on-first-use store: one line per
 * contract, "IDENTITY VKEY SIZE ROOT-BASE64", where IDENTITY is
 * "SOCKET#NAME" or "dir:PATH" (spaces, '%' and control bytes %-escaped).
 * Lines starting with '#' are comments. Written atomically, only after a
 * fully successful audit (cmd-audit.c decides when).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit-cli.h"
#include "util.h"

#define TRUST_MAX_FILE	(64u << 20)

int
trust_path(char *buf, size_t len, char *err, size_t errlen)
{
	const char *e;

	if ((e = getenv("VMSCTL_KNOWN")) != NULL && *e != '\0')
		snprintf(buf, len, "%s", e);
	else if ((e = getenv("XDG_STATE_HOME")) != NULL && *e == '/')
		snprintf(buf, len, "%s/vmsctl/known_contracts", e);
	else if ((e = getenv("HOME")) != NULL && *e != '\0')
		snprintf(buf, len, "%s/.local/state/vmsctl/known_contracts", e);
	else {
		seterr(err, errlen, "cannot locate the known_contracts file: "
		    "set $HOME, $XDG_STATE_HOME or $VMSCTL_KNOWN");
		return -1;
	}
	return 0;
}

static char *
escape(const char *s)
{
	char *out = xmalloc(3 * strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch == '%' || ch == 0x7f)
			o += sprintf(o, "%%%02X", ch);
		else
			*o++ = (char)ch;
	}
	*o = '\0';
	return out;
}

static int
parse_line(char *line, char **id, struct audit_trusted *t)
{
	char *vkey, *size, *root, *end, *save = NULL;
	unsigned long long n;

	if ((*id = strtok_r(line, " ", &save)) == NULL ||
	    (vkey = strtok_r(NULL, " ", &save)) == NULL ||
	    (size = strtok_r(NULL, " ", &save)) == NULL ||
	    (root = strtok_r(NULL, " \n", &save)) == NULL)
		return -1;
	errno = 0;
	n = strtoull(size, &end, 10);
	if (errno != 0 || *end != '\0' || strlen(vkey) >= sizeof(t->vkey))
		return -1;
	if (b64_decode_fixed(root, strlen(root), t->root, MERKLE_HASH_LEN) != 0)
		return -1;
	snprintf(t->vkey, sizeof(t->vkey), "%s", vkey);
	t->size = n;
	return 0;
}

static int
load(const char *path, char **text, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;

	*text = NULL;
	if (read_file(path, TRUST_MAX_FILE, &buf, &len, err, errlen) != 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	*text = (char *)buf;
	return 0;
}

int
trust_lookup(const char *path, const char *identity, struct audit_trusted *t,
    int *found, char *err, size_t errlen)
{
	char *text, *line, *save = NULL, *id, *want = escape(identity);
	size_t lineno = 0;

	*found = 0;
	if (load(path, &text, err, errlen) != 0) {
		free(want);
		return -1;
	}
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (parse_line(line, &id, t) != 0) {
			seterr(err, errlen, "%s: line %zu is malformed", path,
			    lineno);
			free(text);
			free(want);
			return -1;
		}
		if (strcmp(id, want) == 0) {
			*found = 1;
			break;
		}
	}
	free(text);
	free(want);
	return 0;
}

int
trust_store(const char *path, const char *identity,
    const struct audit_trusted *t, char *err, size_t errlen)
{
	char *text, *line, *save = NULL, *want = escape(identity), *root;
	char *dir, *slash, *out = NULL, *tmp;
	size_t outlen = 0, sz;
	int rc;

	if (load(path, &text, err, errlen) != 0) {
		free(want);
		return -1;
	}
	/* Keep every other line as it was. */
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		sz = strlen(want);
		if (strncmp(line, want, sz) == 0 && line[sz] == ' ')
			continue;
		sz = strlen(line);
		out = xrealloc(out, outlen + sz + 2);
		memcpy(out + outlen, line, sz);
		outlen += sz;
		out[outlen++] = '\n';
	}
	root = b64_encode(t->root, MERKLE_HASH_LEN);
	xasprintf(&tmp, "%s %s %" PRIu64 " %s\n", want, t->vkey, t->size, root);
	sz = strlen(tmp);
	out = xrealloc(out, outlen + sz + 1);
	memcpy(out + outlen, tmp, sz);
	outlen += sz;
	free(tmp);
	free(root);
	free(text);
	free(want);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) != 0) {
			seterr(err, errlen, "%s: %s", dir, strerror(errno));
			free(dir);
			free(out);
			return -1;
		}
	}
	free(dir);
	rc = write_file_atomic(path, out, outlen, 0600, err, errlen);
	free(out);
	return rc;
}
