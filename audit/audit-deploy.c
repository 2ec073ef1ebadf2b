/*
 * audit-deploy.c — check 3: entry 0 is a well-formed deploy entry of the
 * contract audited (version, code and its SHA-256, limits, name), and a
 * child's entry 0 is the one its parent's ledger recorded (the parent it
 * names, the index of the parent's entry, its leaf hash).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "ledger.h"
#include "merkle.h"
#include "util.h"

/* Check 3: entry 0 is a well-formed deploy entry. */
int
audit_check_deploy(const uint8_t *buf, size_t len, const char *name,
    uint64_t *max_entry, char *why, size_t whylen)
{
	json_t *e, *v, *lim;
	const char *code, *sha, *type, *contract;
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	struct vms_limits limits;
	char err[VMS_ERRLEN];
	int rc = -1;

	if ((e = json_loadb((const char *)buf, len, 0, NULL)) == NULL ||
	    !json_is_object(e)) {
		seterr(why, whylen, "entry 0 is not a JSON object");
		goto out;
	}
	type = json_string_value(json_object_get(e, "type"));
	if (type == NULL || strcmp(type, "deploy") != 0) {
		seterr(why, whylen, "entry 0 is not a deploy entry (type %s)",
		    type ? type : "missing");
		goto out;
	}
	v = json_object_get(e, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		seterr(why, whylen, "entry 0: unsupported entry version");
		goto out;
	}
	code = json_string_value(json_object_get(e, "code"));
	sha = json_string_value(json_object_get(e, "code_sha256"));
	if (code == NULL || sha == NULL) {
		seterr(why, whylen, "entry 0: code or code_sha256 missing");
		goto out;
	}
	crypto_hash_sha256(h, (const uint8_t *)code,
	    json_string_length(json_object_get(e, "code")));
	hex_encode(h, sizeof(h), hex);
	if (strcmp(hex, sha) != 0) {
		seterr(why, whylen, "entry 0: code_sha256 %s does not match "
		    "the code (sha256 %s)", sha, hex);
		goto out;
	}
	lim = json_object_get(e, "limits");
	if (!json_is_object(lim)) {
		seterr(why, whylen, "entry 0: limits not recorded");
		goto out;
	}
	limits_default(&limits);
	if (limits_from_json(&limits, lim, err, sizeof(err)) != 0) {
		seterr(why, whylen, "entry 0: bad limits: %s", err);
		goto out;
	}
	*max_entry = limits.entry_size < LEDGER_MAX_ENTRY ?
	    limits.entry_size : LEDGER_MAX_ENTRY;
	contract = json_string_value(json_object_get(e, "contract"));
	if (contract == NULL || (name != NULL && strcmp(contract, name) != 0)) {
		seterr(why, whylen, "entry 0 deploys contract \"%s\", not "
		    "\"%s\"", contract ? contract : "?", name ? name : "?");
		goto out;
	}
	rc = 0;
 out:
	json_decref(e);
	return rc;
}

/* Check 3 for a child: its entry 0 is the one its parent recorded. */
int
audit_check_parent(const uint8_t *buf, size_t len,
    const struct audit_parent *p, char *why, size_t whylen)
{
	json_t *e = json_loadb((const char *)buf, len, 0, NULL), *link;
	char want[65], got[65];
	merkle_hash h;
	int rc = -1;

	link = json_object_get(e, "parent");
	if (!json_is_object(link) || !json_is_string(json_object_get(link,
	    "contract")) || !json_is_string(json_object_get(link, "origin")) ||
	    !json_is_integer(json_object_get(link, "index"))) {
		seterr(why, whylen, "entry 0 names no parent, but %s made "
		    "this contract at its entry %" PRIu64, p->contract,
		    p->index);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(link, "contract")),
	    p->contract) != 0 || strcmp(json_string_value(json_object_get(
	    link, "origin")), p->origin) != 0 ||
	    (uint64_t)json_integer_value(json_object_get(link, "index")) !=
	    p->index) {
		seterr(why, whylen, "entry 0 names its parent %.64s (%.128s) "
		    "entry %" JSON_INTEGER_FORMAT ", not %s (%s) entry %" PRIu64
		    " which made it", json_string_value(json_object_get(link,
		    "contract")), json_string_value(json_object_get(link,
		    "origin")), json_integer_value(json_object_get(link,
		    "index")), p->contract, p->origin, p->index);
		goto out;
	}
	merkle_leaf_hash(buf, len, h);
	if (memcmp(h, p->entry, MERKLE_HASH_LEN) != 0) {
		hex_encode(p->entry, MERKLE_HASH_LEN, want);
		hex_encode(h, MERKLE_HASH_LEN, got);
		seterr(why, whylen, "entry 0 is not the one %s recorded at its "
		    "entry %" PRIu64 " (leaf hash %.16s…, recorded %.16s…)",
		    p->contract, p->index, got, want);
		goto out;
	}
	rc = 0;
out:
	json_decref(e);
	return rc;
}
