/*
 * ledger_create.c — a new ledger directory: the empty data files, the vkey,
 * and the signed checkpoint of size 0 (history first, then the checkpoint
 * that marks the ledger complete). Also signs checkpoints for commits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

static const char *const data_files[] = {
	"entries", "index", "hashes", "checkpoints"
};

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", dir, name);
	return p;
}

char *
ledger_sign_checkpoint(const struct note_signer *s, uint64_t size,
    const merkle_hash root, char *err, size_t errlen)
{
	struct checkpoint cp;
	char *text, *note;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", s->name);
	cp.size = size;
	memcpy(cp.root, root, MERKLE_HASH_LEN);
	text = checkpoint_format(&cp);
	note = note_sign(s, text, strlen(text), err, errlen);
	free(text);
	return note;
}

int
ledger_create(const char *dir, const char *origin,
    const struct note_signer *signer, struct ledger **out, char *err,
    size_t errlen)
{
	struct note_verifier v;
	merkle_hash root;
	char *p, *vk, *line, *note;
	uint8_t hdr[4];
	size_t i;
	int fd, rc = -1;

	*out = NULL;
	if (!note_valid_name(origin) || strcmp(origin, signer->name) != 0) {
		seterr(err, errlen, "ledger origin \"%s\" must be a valid key "
		    "name equal to the signer's (\"%s\")", origin,
		    signer->name);
		return -1;
	}
	if (mkdir_p(dir, 0755) != 0) {
		seterr(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	p = path_in(dir, "checkpoint");
	if (access(p, F_OK) == 0) {
		seterr(err, errlen, "%s already holds a ledger", dir);
		free(p);
		return -1;
	}
	free(p);
	for (i = 0; i < sizeof(data_files) / sizeof(data_files[0]); i++) {
		p = path_in(dir, data_files[i]);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			seterr(err, errlen, "create %s: %s%s", p,
			    strerror(errno), errno == EEXIST ?
			    " (a half-created or damaged ledger?)" : "");
			free(p);
			return -1;
		}
		close(fd);
		free(p);
	}
	note_verifier_from_signer(signer, &v);
	vk = note_vkey_format(&v);
	xasprintf(&line, "%s\n", vk);
	free(vk);
	p = path_in(dir, "vkey");
	rc = write_file_atomic(p, line, strlen(line), 0644, err, errlen);
	free(p);
	free(line);
	if (rc != 0)
		return -1;
	/* The first history record, then the checkpoint that completes it. */
	merkle_empty_root(root);
	if ((note = ledger_sign_checkpoint(signer, 0, root, err, errlen)) == NULL)
		return -1;
	p = path_in(dir, "checkpoints");
	fd = open(p, O_WRONLY | O_CLOEXEC);
	ledger_put_be32(hdr, (uint32_t)strlen(note));
	if (fd < 0 || write_all(fd, hdr, 4) != 0 ||
	    write_all(fd, note, strlen(note)) != 0 || fsync(fd) != 0) {
		seterr(err, errlen, "%s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(p);
		free(note);
		return -1;
	}
	close(fd);
	free(p);
	p = path_in(dir, "checkpoint");
	rc = write_file_atomic(p, note, strlen(note), 0644, err, errlen);
	free(p);
	free(note);
	if (rc != 0)
		return -1;
	return ledger_open(dir, signer, out, NULL, err, errlen);
}
