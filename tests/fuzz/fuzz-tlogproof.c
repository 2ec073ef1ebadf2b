/*
 * fuzz-tlogproof.c — the C2SP tlog-proof parser (libvms/tlogproof.c), the
 * format vmsd's call receipts are saved in (`vmsctl call --receipt`,
 * `vmsctl verify-receipt`). The whole input is a proof file:
 *   tlog_proof_parse   the syntax
 *   tlog_proof_format  back to text
 *   note_verify, checkpoint_parse, merkle_verify_inclusion
 *                      what verify-receipt does next, against the fixed key
 *                      (the seeds are signed by it)
 * Invariants: a parsed proof formats to text that parses to the same proof
 * (extra, index, hashes, note); a proof with more hashes than
 * MERKLE_MAX_PROOF never parses; an inclusion proof that verifies has its
 * index inside the checkpoint's size.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "merkle.h"
#include "note.h"
#include "tlogproof.h"
#include "util.h"

static void
same(const struct tlog_proof *a, const struct tlog_proof *b)
{
	if (a->has_extra != b->has_extra || a->extralen != b->extralen ||
	    (a->extralen > 0 && memcmp(a->extra, b->extra, a->extralen) != 0))
		fuzz_fail("round trip: the extra data differs");
	if (a->index != b->index || a->nproof != b->nproof ||
	    memcmp(a->proof, b->proof, a->nproof * MERKLE_HASH_LEN) != 0)
		fuzz_fail("round trip: the index or the hashes differ");
	if (a->notelen != b->notelen || memcmp(a->note, b->note,
	    a->notelen) != 0 || strlen(a->note) != a->notelen)
		fuzz_fail("round trip: the note differs");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlog_proof p, again;
	struct checkpoint cp;
	merkle_hash leaf;
	char err[VMS_ERRLEN], *text;
	size_t tlen, len;
	int nver;

	fuzz_init();
	memset(&p, 0, sizeof(p));
	if (tlog_proof_parse(data, size, &p, err, sizeof(err)) != 0) {
		if (p.note != NULL || p.extra != NULL || p.nproof != 0)
			fuzz_fail("a refused proof left data behind");
		if (err[0] == '\0')
			fuzz_fail("a refused proof without a reason");
		return 0;
	}
	if (p.nproof > MERKLE_MAX_PROOF || size > TLOG_PROOF_MAX)
		fuzz_fail("parsed %zu hashes from %zu bytes", p.nproof, size);
	text = tlog_proof_format(&p, &len);
	if (strlen(text) != len)
		fuzz_fail("formatted length %zu, text %zu", len, strlen(text));
	memset(&again, 0, sizeof(again));
	if (tlog_proof_parse((const uint8_t *)text, len, &again, err,
	    sizeof(err)) != 0)
		fuzz_fail("a formatted proof does not parse: %s", err);
	same(&p, &again);
	tlog_proof_free(&again);
	free(text);

	/* what verify-receipt does with it */
	if (note_verify(p.note, p.notelen, fuzz_verifier(), 1, &tlen, &nver,
	    err, sizeof(err)) == 0 && checkpoint_parse(p.note, tlen, &cp,
	    err, sizeof(err)) == 0 && p.has_extra) {
		merkle_leaf_hash(p.extra, p.extralen, leaf);
		if (merkle_verify_inclusion(leaf, p.index, cp.size, p.proof,
		    p.nproof, cp.root) == 0 && p.index >= cp.size)
			fuzz_fail("inclusion of index %llu verified in a tree "
			    "of %llu", (unsigned long long)p.index,
			    (unsigned long long)cp.size);
	}
	tlog_proof_free(&p);
	return 0;
}
