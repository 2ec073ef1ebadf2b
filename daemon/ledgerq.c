/*
 * ledgerq.c — the read methods that need only a contract's ledger: log,
 * checkpoint, prove, methods and info. Workers answer them from their open
 * ledger; vmsd answers them for stopped or failed contracts from a
 * read-only open. Only committed entries (under the checkpoint) are shown.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "ledgerq.h"
#include "proto.h"
#include "util.h"

static json_t *
proof_json(const merkle_hash *proof, size_t n)
{
	json_t *a = json_array();
	size_t i;
	char *b;

	for (i = 0; i < n; i++) {
		b = b64_encode(proof[i], MERKLE_HASH_LEN);
		json_array_append_new(a, json_string(b));
		free(b);
	}
	return a;
}

/*
 * With max_bytes, a log reply's entries stop once their base64 passes it
 * (one entry at least, whatever its size): 1,000 entries of 40 KB would
 * be a 53 MB reply, past most memory_budgets (vmsd.conf(5)), which would
 * close the connection of an auditor reading an honest ledger. Such a
 * reader asks again from where the reply stopped. Without it, count
 * entries as before (a reader that takes a short reply for the end of the
 * ledger would see a fork), up to LOG_REPLY_MAX: past it the request is
 * refused, not answered short. (10,000 entries of 64 KB, which anyone
 * allowed to read may ask for, would be an 870 MB reply, built whole in
 * the worker, for vmsd's memory_budget to drop.)
 */
#define LOG_REPLY_MAX	(64u << 20)	/* vmsd.conf's default budget */

struct logpage {
	json_t		*entries;
	uint64_t	 from, maxb, bytes;
	int		 over;		/* stopped at LOG_REPLY_MAX */
};

static int
log_entry(void *arg, uint64_t index, const uint8_t *entry, size_t len,
    const merkle_hash leaf)
{
	struct logpage *pg = arg;
	char *b;

	if (index > pg->from && pg->maxb > 0 && pg->bytes >= pg->maxb)
		return 1;	/* full */
	if (index > pg->from && pg->bytes + B64_LEN(len) > LOG_REPLY_MAX) {
		pg->over = 1;
		return 1;
	}
	b = b64_encode(entry, len);
	pg->bytes += strlen(b);
	json_array_append_new(pg->entries, json_pack("{s:I,s:s}", "index",
	    (json_int_t)index, "leaf", b));
	free(b);
	return 0;
}

/* (the entries read by ledger_read_each: three reads a page, where
 * ledger_read makes three an entry) */
static int
q_log(struct ledger *l, const json_t *params, json_t **out, char *err,
    size_t errlen)
{
	uint64_t from, count, size = ledger_committed_size(l), end;
	struct logpage pg;

	if (param_uint(params, "from", 0, 0, &from, err, errlen) != 0 ||
	    param_uint(params, "count", 0, 100, &count, err, errlen) != 0 ||
	    param_uint(params, "max_bytes", 0, 0, &pg.maxb, err, errlen) != 0)
		return RPC_INVALID_PARAMS;
	pg.entries = json_array();
	pg.from = from;
	pg.bytes = 0;
	pg.over = 0;
	end = from < size ? (count < size - from ? from + count : size) : from;
	if (from < end && ledger_read_each(l, from, end, log_entry, &pg, err,
	    errlen) != 0) {
		json_decref(pg.entries);
		return RPC_INTERNAL_ERROR;
	}
	if (pg.over && pg.maxb == 0) {
		json_decref(pg.entries);
		seterr(err, errlen, "the %" PRIu64 " entries asked for from %"
		    PRIu64 " pass %u MiB of text, more than one reply holds: "
		    "ask for fewer (count), or give max_bytes and read on from "
		    "where a reply stops", end - from, from,
		    LOG_REPLY_MAX >> 20);
		return RPC_INVALID_PARAMS;
	}
	*out = json_pack("{s:I,s:o}", "size", (json_int_t)size, "entries",
	    pg.entries);
	return 0;
}

static int
q_checkpoint(struct ledger *l, const json_t *params, json_t **out,
    char *err, size_t errlen)
{
	uint64_t size;
	char *note;

	if (param_uint(params, "size", 0, 0, &size, err, errlen) != 0)
		return RPC_INVALID_PARAMS;
	if (json_object_get(params, "size") == NULL ||
	    json_is_null(json_object_get(params, "size")) ||
	    size == ledger_committed_size(l)) {
		*out = json_pack("{s:s,s:I}", "note", ledger_checkpoint(l),
		    "size", (json_int_t)ledger_committed_size(l));
		return 0;
	}
	if (size > ledger_committed_size(l) ||
	    ledger_checkpoint_at(l, size, &note, err, errlen) != 0) {
		seterr(err, errlen, "no checkpoint was signed at size %llu",
		    (unsigned long long)size);
		return RPC_NOT_FOUND;
	}
	*out = json_pack("{s:s,s:I}", "note", note, "size", (json_int_t)size);
	free(note);
	return 0;
}

static int
q_prove(struct ledger *l, const json_t *params, json_t **out, char *err,
    size_t errlen)
{
	merkle_hash proof[MERKLE_MAX_PROOF];
	uint64_t size, index, old, have = ledger_committed_size(l);
	size_t n = 0;

	if (param_uint(params, "size", 1, 0, &size, err, errlen) != 0)
		return RPC_INVALID_PARAMS;
	if (size > have) {
		seterr(err, errlen, "size %llu is beyond the ledger (%llu "
		    "committed entries)", (unsigned long long)size,
		    (unsigned long long)have);
		return RPC_NOT_FOUND;
	}
	if (json_object_get(params, "index") != NULL) {
		if (param_uint(params, "index", 1, 0, &index, err,
		    errlen) != 0)
			return RPC_INVALID_PARAMS;
		if (index >= size) {
			seterr(err, errlen, "index %llu is not below size %llu",
			    (unsigned long long)index,
			    (unsigned long long)size);
			return RPC_INVALID_PARAMS;
		}
		if (ledger_inclusion_proof(l, index, size, proof, &n, err,
		    errlen) != 0)
			return RPC_INTERNAL_ERROR;
		*out = json_pack("{s:I,s:I,s:o}", "index", (json_int_t)index,
		    "size", (json_int_t)size, "proof", proof_json(proof, n));
		return 0;
	}
	if (param_uint(params, "old", 1, 0, &old, err, errlen) != 0)
		return RPC_INVALID_PARAMS;
	if (old > size) {
		seterr(err, errlen, "old size %llu is above size %llu",
		    (unsigned long long)old, (unsigned long long)size);
		return RPC_INVALID_PARAMS;
	}
	if (ledger_consistency_proof(l, old, size, proof, &n, err,
	    errlen) != 0)
		return RPC_INTERNAL_ERROR;
	*out = json_pack("{s:I,s:I,s:o}", "old", (json_int_t)old, "size",
	    (json_int_t)size, "proof", proof_json(proof, n));
	return 0;
}

/* Entry 0 names the contract's methods and limits. */
static int
deploy_entry(struct ledger *l, json_t **entry, char *err, size_t errlen)
{
	json_error_t jerr;
	uint8_t *buf;
	size_t len;

	if (ledger_committed_size(l) == 0) {
		seterr(err, errlen, "ledger has no deploy entry");
		return -1;
	}
	if (ledger_read(l, 0, &buf, &len, err, errlen) != 0)
		return -1;
	*entry = json_loadb((const char *)buf, len, 0, &jerr);
	free(buf);
	if (*entry == NULL) {
		seterr(err, errlen, "entry 0: %s", jerr.text);
		return -1;
	}
	return 0;
}

static int
q_methods(struct ledger *l, const char *name, int info, json_t **out,
    char *err, size_t errlen)
{
	json_t *e, *r, *m;

	if (deploy_entry(l, &e, err, errlen) != 0)
		return RPC_INTERNAL_ERROR;
	m = json_object_get(e, "methods");
	r = json_pack("{s:s,s:s,s:I,s:O}", "name", name, "vkey",
	    ledger_vkey(l), "size", (json_int_t)ledger_committed_size(l),
	    "methods", m ? m : json_array());
	if (info) {
		json_object_set_new(r, "origin", json_string(ledger_origin(l)));
		json_object_set_new(r, "checkpoint",
		    json_string(ledger_checkpoint(l)));
		m = json_object_get(e, "limits");
		json_object_set_new(r, "limits", m ? json_incref(m) :
		    json_object());
	}
	json_decref(e);
	*out = r;
	return 0;
}

int
ledgerq(struct ledger *l, const char *name, enum proto_method_id id,
    const json_t *params, json_t **result, char *err, size_t errlen)
{
	*result = NULL;
	switch (id) {
	case PM_LOG:
		return q_log(l, params, result, err, errlen);
	case PM_CHECKPOINT:
		return q_checkpoint(l, params, result, err, errlen);
	case PM_PROVE:
		return q_prove(l, params, result, err, errlen);
	case PM_METHODS:
		return q_methods(l, name, 0, result, err, errlen);
	case PM_INFO:
		return q_methods(l, name, 1, result, err, errlen);
	default:
		seterr(err, errlen, "method not found: %s",
		    proto_method_name(id));
		return RPC_METHOD_NOT_FOUND;
	}
}
