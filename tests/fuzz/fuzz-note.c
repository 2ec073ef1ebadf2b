/*
 * fuzz-note.c — the signed-note, vkey and checkpoint parsers
 * (libvms/note.c). The whole input goes through each of them:
 *   note_verify       as a signed note, against the fixed key plus a key
 *                     read from the input's first line when it is a vkey
 *   checkpoint_parse  as checkpoint text, and the text of a verified note
 *   note_vkey_parse   as a verifier key (up to the first NUL)
 * Invariants: a parsed checkpoint formats back to text that parses to the
 * same checkpoint; a parsed vkey formats back to its input; text that
 * note_sign accepts verifies, with exactly that text.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "note.h"
#include "util.h"

static void
checkpoint_roundtrip(const struct checkpoint *cp)
{
	struct checkpoint again;
	char err[VMS_ERRLEN], *text = checkpoint_format(cp);

	if (checkpoint_parse(text, strlen(text), &again, err,
	    sizeof(err)) != 0)
		fuzz_fail("formatted checkpoint does not parse: %s: %s", err,
		    text);
	if (strcmp(again.origin, cp->origin) != 0 || again.size != cp->size ||
	    memcmp(again.root, cp->root, MERKLE_HASH_LEN) != 0)
		fuzz_fail("checkpoint round trip differs: %s", text);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct note_verifier keys[2], v;
	struct checkpoint cp;
	char err[VMS_ERRLEN], *str, *nl, *fmt, *signed_note;
	size_t nkeys = 1, tlen;
	int nver;

	fuzz_init();
	keys[0] = *fuzz_verifier();
	str = xmalloc(size + 1);
	memcpy(str, data, size);
	str[size] = '\0';

	/* vkey: the input up to its first NUL */
	if (note_vkey_parse(str, &v, err, sizeof(err)) == 0) {
		fmt = note_vkey_format(&v);
		if (strcmp(fmt, str) != 0)
			fuzz_fail("vkey round trip differs: %s", fmt);
		free(fmt);
		if (!note_valid_name(v.name))
			fuzz_fail("vkey with an invalid name parsed");
	}
	/* a key on the first line (vkey "\n" note) joins the known keys */
	if ((nl = memchr(str, '\n', size)) != NULL) {
		*nl = '\0';
		if (note_vkey_parse(str, &keys[1], err, sizeof(err)) == 0)
			nkeys = 2;
		*nl = '\n';
	}

	/* note */
	if (note_verify((const char *)data, size, keys, nkeys, &tlen, &nver,
	    err, sizeof(err)) == 0) {
		if (tlen == 0 || tlen >= size || data[tlen - 1] != '\n' ||
		    nver < 1 || nver > (int)nkeys)
			fuzz_fail("bad text length %zu or count %d", tlen, nver);
		if (checkpoint_parse((const char *)data, tlen, &cp, err,
		    sizeof(err)) == 0)
			checkpoint_roundtrip(&cp);
	}
	if (nkeys == 2 && note_verify(nl + 1, size - (size_t)(nl + 1 - str),
	    keys, nkeys, &tlen, &nver, err, sizeof(err)) == 0 &&
	    checkpoint_parse(nl + 1, tlen, &cp, err, sizeof(err)) == 0)
		checkpoint_roundtrip(&cp);

	/* checkpoint text */
	if (checkpoint_parse((const char *)data, size, &cp, err,
	    sizeof(err)) == 0)
		checkpoint_roundtrip(&cp);

	/* sign what note_sign accepts; it must verify as exactly that */
	if (size <= NOTE_MAX_LEN - 512 && (signed_note =
	    fuzz_sign(str, size)) != NULL) {
		if (note_verify(signed_note, strlen(signed_note),
		    fuzz_verifier(), 1, &tlen, &nver, err, sizeof(err)) != 0)
			fuzz_fail("a note we signed does not verify: %s", err);
		if (tlen != size || memcmp(signed_note, data, size) != 0)
			fuzz_fail("a signed note's text differs");
		free(signed_note);
	}
	free(str);
	return 0;
}
