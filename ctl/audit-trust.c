/*
 * audit-trust.c — the auditor's trust-on-first-use store, keyed by the
 * checkpoint ORIGIN (the signed key name, e.g. host/vmsd/guestlist), never
 * by how the ledger was reached: one line per origin,
 * "ORIGIN VKEY SIZE ROOT-BASE64 [SEEN]", where SEEN is the control socket
 * the origin was last audited through ("-" or absent: only ever audited
 * from a directory). Fields are %-escaped (spaces, '%', control bytes).
 * Lines starting with '#' are comments. Lines of the older format
 * ("SOCKET#NAME VKEY ..." or "dir:PATH VKEY ...") are read as records of
 * the origin named by their VKEY (the largest size wins when several
 * exist); the next store for that origin rewrites them in the new format.
 * Written atomically, only after a fully successful audit (cmd-audit.c).
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

static void
unescape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned int v;

	for (; *s != '\0' && o + 1 < outlen; s++) {
		if (*s == '%' && sscanf(s + 1, "%2X", &v) == 1) {
			out[o++] = (char)v;
			s += 2;
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
}

/* Parse one line into r (origin taken from the vkey's name). */
static int
parse_line(char *line, struct trust_rec *r)
{
	char *id, *vkey, *size, *root, *seen, *end, *save = NULL;
	struct note_verifier v;
	char err[VMS_ERRLEN];
	unsigned long long n;

	memset(r, 0, sizeof(*r));
	if ((id = strtok_r(line, " ", &save)) == NULL ||
	    (vkey = strtok_r(NULL, " ", &save)) == NULL ||
	    (size = strtok_r(NULL, " ", &save)) == NULL ||
	    (root = strtok_r(NULL, " \n", &save)) == NULL)
		return -1;
	seen = strtok_r(NULL, " \n", &save);
	errno = 0;
	n = strtoull(size, &end, 10);
	if (errno != 0 || *end != '\0' || strlen(vkey) >= sizeof(r->t.vkey))
		return -1;
	if (b64_decode_fixed(root, strlen(root), r->t.root,
	    MERKLE_HASH_LEN) != 0)
		return -1;
	if (note_vkey_parse(vkey, &v, err, sizeof(err)) != 0)
		return -1;
	snprintf(r->t.vkey, sizeof(r->t.vkey), "%s", vkey);
	snprintf(r->origin, sizeof(r->origin), "%s", v.name);
	r->t.size = n;
	if (seen != NULL && strcmp(seen, "-") != 0)
		unescape(seen, r->seen, sizeof(r->seen));
	else if (strchr(id, '#') != NULL && strncmp(id, "dir:", 4) != 0) {
		/* old format "SOCKET#NAME": remember the socket */
		char tmp[PATH_MAX];

		unescape(id, tmp, sizeof(tmp));
		*strrchr(tmp, '#') = '\0';
		snprintf(r->seen, sizeof(r->seen), "%s", tmp);
	}
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
trust_load(const char *path, struct trust_rec **recs, size_t *n, char *err,
    size_t errlen)
{
	char *text, *line, *save = NULL;
	struct trust_rec r;
	size_t lineno = 0, i;

	*recs = NULL;
	*n = 0;
	if (load(path, &text, err, errlen) != 0)
		return -1;
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (parse_line(line, &r) != 0) {
			seterr(err, errlen, "%s: line %zu is malformed", path,
			    lineno);
			free(text);
			free(*recs);
			*recs = NULL;
			*n = 0;
			return -1;
		}
		for (i = 0; i < *n; i++)
			if (strcmp((*recs)[i].origin, r.origin) == 0)
				break;
		if (i == *n) {
			*recs = xrealloc(*recs, (*n + 1) * sizeof(r));
			(*recs)[(*n)++] = r;
		} else if (r.t.size > (*recs)[i].t.size) {
			if (r.seen[0] == '\0')
				memcpy(r.seen, (*recs)[i].seen, sizeof(r.seen));
			(*recs)[i] = r;
		} else if ((*recs)[i].seen[0] == '\0')
			memcpy((*recs)[i].seen, r.seen, sizeof(r.seen));
	}
	free(text);
	return 0;
}

int
trust_lookup(const char *path, const char *origin, struct trust_rec *out,
    int *found, char *err, size_t errlen)
{
	struct trust_rec *recs;
	size_t n, i;

	*found = 0;
	if (trust_load(path, &recs, &n, err, errlen) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(recs[i].origin, origin) == 0) {
			*out = recs[i];
			*found = 1;
			break;
		}
	free(recs);
	return 0;
}

int
trust_store(const char *path, const char *origin,
    const struct audit_trusted *t, const char *seen, char *err,
    size_t errlen)
{
	char *text, *line, *save = NULL, *root, *eo, *es;
	char *dir, *slash, *out = NULL, *tmp, copy[8192];
	struct trust_rec old;
	size_t outlen = 0, sz;
	int rc, found;

	if (trust_lookup(path, origin, &old, &found, err, errlen) != 0)
		return -1;
	if ((seen == NULL || *seen == '\0') && found)
		seen = old.seen;
	if (load(path, &text, err, errlen) != 0)
		return -1;
	/* Keep every line of another origin as it was. */
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		sz = strlen(line);
		if (line[0] != '#' && sz < sizeof(copy)) {
			struct trust_rec r;

			memcpy(copy, line, sz + 1);
			if (parse_line(copy, &r) == 0 &&
			    strcmp(r.origin, origin) == 0)
				continue;
		}
		out = xrealloc(out, outlen + sz + 2);
		memcpy(out + outlen, line, sz);
		outlen += sz;
		out[outlen++] = '\n';
	}
	root = b64_encode(t->root, MERKLE_HASH_LEN);
	eo = escape(origin);
	es = escape(seen != NULL && *seen != '\0' ? seen : "-");
	xasprintf(&tmp, "%s %s %" PRIu64 " %s %s\n", eo, t->vkey, t->size,
	    root, es);
	sz = strlen(tmp);
	out = xrealloc(out, outlen + sz + 1);
	memcpy(out + outlen, tmp, sz);
	outlen += sz;
	free(tmp);
	free(root);
	free(eo);
	free(es);
	free(text);
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
