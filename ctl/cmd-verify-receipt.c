/*
 * cmd-verify-receipt.c — vmsctl verify-receipt FILE [--key VKEY]
 * [--entry FILE] [--against URL]: check a receipt (a C2SP tlog-proof,
 * as `vmsctl call --receipt` and `vmsctl prove` write) offline, and print
 * what was called, by whom, with what result.
 *
 * Offline: the checkpoint's signature under the key (--key, else the one
 * remembered for the checkpoint's origin by `vmsctl audit`), the entry
 * (--entry FILE, else the receipt's extra line) hashed to its leaf, the
 * inclusion proof from that leaf to the signed root.
 *
 * --against URL (a tlog-tiles log: vmsd's /c/NAME or a mirror): the log's
 * checkpoint must verify under the same key and still hold the receipted
 * entry at its index. Everything is computed from the log's tiles and
 * accepted only when it leads to the log's signed root, so a broken
 * mirror cannot fake a fork. Verdicts:
 *   HELD     the entry is in the served tree, which is consistent with the
 *            receipt's checkpoint (when not older than it)
 *   FORK     proven: the host signed two trees that cannot both be true
 *            (another entry at that index, or a tree that does not extend
 *            the receipt's); both signed checkpoints are printed: the
 *            evidence
 *   MISSING  the served checkpoint ends before the entry (an older copy or
 *            a rollback): not a proof by itself; both checkpoints printed
 * Exit: 0 valid (and HELD), 1 invalid, FORK or MISSING, 2 usage, 3 the
 * log could not be read.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit-cli.h"
#include "merkle.h"
#include "httpc.h"
#include "receipt.h"
#include "tlogc.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_verify_receipt(struct ctl *, int, char **);

const struct cmd_entry cmd_verify_receipt_entry = {
	"verify-receipt", "FILE [--key VKEY] [--entry FILE] [--against URL] "
	"[--json]",
	"check a call's receipt offline (or against a log's tiles: a fork is "
	"proven)",
	cmd_verify_receipt
};

struct verdict {
	struct ctl		*c;
	json_t			*j;		/* --json output */
	const char		*receipt_note;
	char			*served_note;
};

/* The note's origin line (unverified), to look up a remembered key. */
static int
origin_of(const char *note, char *out, size_t len)
{
	size_t n = strcspn(note, "\n");

	if (note[n] != '\n' || n == 0 || n >= len)
		return -1;
	memcpy(out, note, n);
	out[n] = '\0';
	return 0;
}

/* Verify a checkpoint note under key: 0 and *cp, or -1 with err. */
static int
verify_note(const char *note, const struct note_verifier *key,
    struct checkpoint *cp, char *err, size_t errlen)
{
	char why[VMS_ERRLEN];
	size_t tl;

	if (note_verify(note, strlen(note), key, 1, &tl, NULL, why,
	    sizeof(why)) != 0) {
		seterr(err, errlen, "the checkpoint's signature does not verify "
		    "under %s: %s", key->name, why);
		return -1;
	}
	if (checkpoint_parse(note, tl, cp, why, sizeof(why)) != 0) {
		seterr(err, errlen, "bad checkpoint: %s", why);
		return -1;
	}
	if (strcmp(cp->origin, key->name) != 0) {
		seterr(err, errlen, "the checkpoint's origin \"%s\" is not the "
		    "key's name \"%s\"", cp->origin, key->name);
		return -1;
	}
	return 0;
}

/*
 * The root of the first m entries, from the receipt's proof of entry i in
 * a tree of n: the elements the verification hashes on the left are the
 * peaks of the tree of i entries (one per set bit of i, lowest first), so
 * they give the root of every m that is i with some of its lowest set
 * bits cleared. 0, or -1 if m is not such a size.
 */
static int
prefix_root(const struct tlog_proof *p, uint64_t i, uint64_t n, uint64_t m,
    merkle_hash out)
{
	merkle_hash peaks[64];
	uint64_t fn = i, sn = n - 1, mm = i;
	size_t k;
	int np = 0, j, q;

	for (k = 0; k < p->nproof && sn != 0; k++) {
		if ((fn & 1) || fn == sn) {
			if (np == 64)
				return -1;
			memcpy(peaks[np++], p->proof[k], MERKLE_HASH_LEN);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		}
		fn >>= 1;
		sn >>= 1;
	}
	for (j = 0; j < np && mm != 0; j++, mm &= mm - 1) {
		if (mm != m)
			continue;
		memcpy(out, peaks[j], MERKLE_HASH_LEN);
		for (q = j + 1; q < np; q++)
			merkle_node_hash(peaks[q], out, out);
		return 0;
	}
	return -1;
}

static void
print_evidence(struct verdict *v)
{
	if (v->c->json)
		return;
	printf("receipt's checkpoint (signed):\n%s", v->receipt_note);
	printf("served checkpoint (signed):\n%s", v->served_note);
}

/*
 * Check the receipt (index i, leaf, under checkpoint rcp) against the log
 * at url. EXIT_OK (held), EXIT_FAILED (fork, missing: printed), or
 * EXIT_UNREACHABLE.
 */
static int
against(struct verdict *v, const char *url, const struct note_verifier *key,
    uint64_t i, const merkle_hash leaf, const struct checkpoint *rcp,
    const struct tlog_proof *p)
{
	struct tlogc rem;
	struct tile_reader tr;
	struct checkpoint scp;
	merkle_hash proof[MERKLE_MAX_PROOF], other, prefix;
	char err[VMS_ERRLEN], *b1, *b2;
	uint8_t *ebuf = NULL;
	size_t n, elen = 0;
	int rc = EXIT_FAILED;
	const char *verdict, *why;
	char msg[2048];

	if (tlogc_open(&rem, url, v->c->timeout_ms, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_USAGE;
	}
	if (tlogc_checkpoint(&rem, &v->served_note, err, sizeof(err)) !=
	    TLOGC_OK) {
		ctl_errx("%s", err);
		tlogc_close(&rem);
		return rem.transport_failed ? EXIT_UNREACHABLE : EXIT_FAILED;
	}
	if (verify_note(v->served_note, key, &scp, err, sizeof(err)) != 0) {
		ctl_errx("%s/checkpoint: %s: not the receipt's log, or a "
		    "forged checkpoint", url, err);
		tlogc_close(&rem);
		return EXIT_FAILED;
	}
	json_object_set_new(v->j, "served_checkpoint",
	    json_string(v->served_note));
	tile_reader_init(&tr, scp.size, tlogc_fetch_tile, &rem);
	if (scp.size <= i) {
		/* The served tree ends before the entry. If its size is one
		 * the receipt's proof gives a root for (the left siblings
		 * are the peaks of every size i with low bits cleared), the
		 * two roots must agree. */
		int known = prefix_root(p, i, rcp->size, scp.size, prefix) == 0;

		if (known && memcmp(prefix, scp.root, MERKLE_HASH_LEN) != 0) {
			verdict = "FORK";
			snprintf(msg, sizeof(msg), "the log at %s signs size %"
			    PRIu64 " with a root that is not the root of the "
			    "first %" PRIu64 " entries the receipt proves: the "
			    "host signed two different histories", url,
			    scp.size, scp.size);
		} else {
			verdict = "MISSING";
			snprintf(msg, sizeof(msg), "the log at %s serves a "
			    "checkpoint of size %" PRIu64 ", which ends before "
			    "entry %" PRIu64 " (the receipt's checkpoint has %"
			    PRIu64 "): an older copy or a rollback%s", url,
			    scp.size, i, rcp->size, known ? "; its root "
			    "agrees with the receipt's" : "");
		}
		goto report;
	}
	/* The leaf at i in the served tree, with its proof from the tiles:
	 * accepted only if they lead to the served signed root. */
	if (merkle_inclusion_proof(tile_range_hash, &tr, i, scp.size, proof,
	    &n) != 0 || tile_range_hash(&tr, i, i + 1, other) != 0) {
		ctl_errx("%s: %s", url, tr.err);
		rc = rem.transport_failed ? EXIT_UNREACHABLE : EXIT_FAILED;
		goto out;
	}
	if (merkle_verify_inclusion(leaf, i, scp.size, proof, n,
	    scp.root) == 0) {
		if (scp.size < rcp->size) {
			verdict = "HELD";
			snprintf(msg, sizeof(msg), "entry %" PRIu64 " is in the "
			    "log's (older) checkpoint of size %" PRIu64, i,
			    scp.size);
			rc = EXIT_OK;
			goto report;
		}
		/* consistency from the receipt's tree to the served one,
		 * its old root computed from the tiles and accepted only if
		 * the proof leads to the served root */
		if (merkle_consistency_proof(tile_range_hash, &tr, rcp->size,
		    scp.size, proof, &n) != 0 || tile_range_hash(&tr, 0,
		    rcp->size, prefix) != 0) {
			ctl_errx("%s: %s", url, tr.err);
			rc = rem.transport_failed ? EXIT_UNREACHABLE :
			    EXIT_FAILED;
			goto out;
		}
		if (merkle_verify_consistency(rcp->size, scp.size, prefix,
		    scp.root, proof, n) != 0) {
			ctl_errx("%s: the log's tiles do not lead to its signed "
			    "root: a broken copy, nothing proven", url);
			goto out;
		}
		if (memcmp(prefix, rcp->root, MERKLE_HASH_LEN) != 0) {
			verdict = "FORK";
			snprintf(msg, sizeof(msg), "entry %" PRIu64 " is still "
			    "there, but the log's first %" PRIu64 " entries "
			    "are not the tree the receipt's checkpoint signs: "
			    "the host rewrote history", i, rcp->size);
			goto report;
		}
		verdict = "HELD";
		snprintf(msg, sizeof(msg), "entry %" PRIu64 " is in the log's "
		    "checkpoint of size %" PRIu64 ", consistent with the "
		    "receipt's", i, scp.size);
		rc = EXIT_OK;
		goto report;
	}
	if (merkle_verify_inclusion(other, i, scp.size, proof, n,
	    scp.root) != 0) {
		ctl_errx("%s: the log's tiles do not lead to its signed root: "
		    "a broken copy, nothing proven", url);
		goto out;
	}
	verdict = "FORK";
	b1 = b64_encode(leaf, MERKLE_HASH_LEN);
	b2 = b64_encode(other, MERKLE_HASH_LEN);
	snprintf(msg, sizeof(msg), "the log's checkpoint of size %" PRIu64
	    " holds another entry at index %" PRIu64 " (leaf %s, the receipt's "
	    "is %s): the receipted entry was dropped or replaced, and the "
	    "host signed both", scp.size, i, b2, b1);
	free(b1);
	free(b2);
	/* what the log holds at that index now, if its bundle matches */
	{
		struct tile_entry *e = xcalloc(TILE_WIDTH, sizeof(*e));
		struct tile_id id = { TILE_ENTRIES, i / TILE_WIDTH,
		    tile_width(scp.size, 0, i / TILE_WIDTH) };
		uint8_t *body;
		merkle_hash h;

		if (tlogc_bundle(&rem, &id, &body, e, err, sizeof(err)) ==
		    TLOGC_OK) {
			merkle_leaf_hash(e[i % TILE_WIDTH].data,
			    e[i % TILE_WIDTH].len, h);
			if (memcmp(h, other, MERKLE_HASH_LEN) == 0) {
				elen = e[i % TILE_WIDTH].len;
				ebuf = xmalloc(elen + 1);
				memcpy(ebuf, e[i % TILE_WIDTH].data, elen);
			}
			free(body);
		}
		free(e);
	}
report:
	why = msg;
	json_object_set_new(v->j, "against", json_string(verdict));
	json_object_set_new(v->j, "against_reason", json_string(why));
	if (!v->c->json) {
		printf("against %s: %s — %s\n", url, verdict, why);
		if (ebuf != NULL) {
			printf("the log's entry %" PRIu64 " now:\n", i);
			receipt_describe(stdout, "  ", ebuf, elen);
		}
		if (strcmp(verdict, "HELD") != 0)
			print_evidence(v);
	} else if (ebuf != NULL)
		json_object_set_new(v->j, "served_entry",
		    receipt_entry_json(ebuf, elen));
out:
	free(ebuf);
	tile_reader_free(&tr);
	tlogc_close(&rem);
	return rc;
}

static int
cmd_verify_receipt(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key",	required_argument,	NULL, 'k' },
		{ "entry",	required_argument,	NULL, 'e' },
		{ "against",	required_argument,	NULL, 'a' },
		{ "json",	no_argument,		NULL, 'j' },
		{ NULL,		0,			NULL, 0 }
	};
	const char *vkey = NULL, *entryfile = NULL, *url = NULL;
	struct note_verifier key;
	struct tlog_proof p;
	struct checkpoint cp;
	struct verdict v;
	char err[VMS_ERRLEN], origin[NOTE_NAME_MAX + 1], known[PATH_MAX];
	uint8_t *buf = NULL, *entry = NULL;
	size_t len, elen = 0;
	merkle_hash leaf;
	int ch, rc = EXIT_FAILED;
	struct trust_rec rec;
	int found = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			vkey = optarg;
			break;
		case 'e':
			entryfile = optarg;
			break;
		case 'a':
			url = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		default:
			return ctl_usage(&cmd_verify_receipt_entry);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return ctl_usage(&cmd_verify_receipt_entry);
	if (url != NULL && !httpc_is_url(url)) {
		ctl_errx("--against wants the log's URL (http://HOST:PORT/c/NAME "
		    "or a mirror's)");
		return EXIT_USAGE;
	}
	memset(&v, 0, sizeof(v));
	v.c = c;
	v.j = json_object();
	memset(&p, 0, sizeof(p));
	if (read_file(argv[0], TLOG_PROOF_MAX, &buf, &len, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s", err);
		goto out;
	}
	if (tlog_proof_parse(buf, len, &p, err, sizeof(err)) != 0) {
		ctl_errx("%s: not a tlog-proof: %s", argv[0], err);
		goto out;
	}
	v.receipt_note = p.note;
	/* the key: given, or remembered for the origin by vmsctl audit */
	if (vkey == NULL) {
		if (origin_of(p.note, origin, sizeof(origin)) != 0 ||
		    trust_path(known, sizeof(known), err, sizeof(err)) != 0 ||
		    trust_lookup(known, origin, &rec, &found, err,
		    sizeof(err)) != 0 || !found) {
			ctl_errx("no key for this receipt: give --key VKEY (the "
			    "contract's vkey, from vmsctl info NAME)");
			rc = EXIT_USAGE;
			goto out;
		}
		vkey = rec.t.vkey;
	}
	if (note_vkey_parse(vkey, &key, err, sizeof(err)) != 0) {
		ctl_errx("bad key: %s", err);
		rc = EXIT_USAGE;
		goto out;
	}
	/* the entry: given, or carried in the receipt */
	if (entryfile != NULL) {
		if (read_file(entryfile, 16u << 20, &entry, &elen, err,
		    sizeof(err)) != 0) {
			ctl_errx("%s", err);
			goto out;
		}
		if (p.has_extra && (p.extralen != elen ||
		    memcmp(p.extra, entry, elen) != 0)) {
			ctl_errx("%s: INVALID — the entry in %s is not the one "
			    "the receipt carries", argv[0], entryfile);
			goto out;
		}
	} else if (p.has_extra) {
		entry = xmalloc(p.extralen + 1);
		memcpy(entry, p.extra, p.extralen);
		elen = p.extralen;
	} else {
		ctl_errx("%s holds no entry (no extra line): give it with "
		    "--entry FILE", argv[0]);
		rc = EXIT_USAGE;
		goto out;
	}
	if (verify_note(p.note, &key, &cp, err, sizeof(err)) != 0) {
		ctl_errx("%s: INVALID — %s", argv[0], err);
		goto out;
	}
	merkle_leaf_hash(entry, elen, leaf);
	if (p.index >= cp.size || merkle_verify_inclusion(leaf, p.index,
	    cp.size, p.proof, p.nproof, cp.root) != 0) {
		ctl_errx("%s: INVALID — the inclusion proof does not lead from "
		    "the entry (index %" PRIu64 ") to the root the checkpoint "
		    "of size %" PRIu64 " signs", argv[0], p.index, cp.size);
		goto out;
	}
	json_object_set_new(v.j, "ok", json_true());
	json_object_set_new(v.j, "origin", json_string(cp.origin));
	json_object_set_new(v.j, "index", json_integer((json_int_t)p.index));
	json_object_set_new(v.j, "size", json_integer((json_int_t)cp.size));
	json_object_set_new(v.j, "entry", receipt_entry_json(entry, elen));
	if (!c->json) {
		printf("%s: VALID — entry %" PRIu64 " of %s, in the checkpoint "
		    "of size %" PRIu64 " signed by %s\n", argv[0], p.index,
		    cp.origin, cp.size, vkey);
		receipt_describe(stdout, "  ", entry, elen);
	}
	rc = EXIT_OK;
	if (url != NULL) {
		rc = against(&v, url, &key, p.index, leaf, &cp, &p);
		if (rc != EXIT_OK)
			json_object_set_new(v.j, "ok", json_false());
	}
	if (c->json)
		ctl_print_json(v.j);
out:
	json_decref(v.j);
	free(v.served_note);
	free(buf);
	free(entry);
	tlog_proof_free(&p);
	return rc;
}
