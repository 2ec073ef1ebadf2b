/*
 * receipt.c — receipts as C2SP tlog-proofs, their offline math, the entry
 * for humans, and a tlog-tiles log at a URL (receipt.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle.h"
#include "receipt.h"
#include "util.h"

int
receipt_from_json(const json_t *rc, struct tlog_proof *p, char *err,
    size_t errlen)
{
	const json_t *idx = json_object_get(rc, "index");
	const json_t *pr = json_object_get(rc, "proof"), *h;
	const char *note = json_string_value(json_object_get(rc, "checkpoint"));
	const char *entry = json_string_value(json_object_get(rc, "entry"));
	const char *s;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
	    note == NULL || !json_is_array(pr) ||
	    json_array_size(pr) > MERKLE_MAX_PROOF) {
		seterr(err, errlen, "the reply's receipt is malformed");
		return -1;
	}
	p->index = (uint64_t)json_integer_value(idx);
	json_array_foreach(pr, i, h) {
		if ((s = json_string_value(h)) == NULL || b64_decode_fixed(s,
		    strlen(s), p->proof[i], MERKLE_HASH_LEN) != 0) {
			seterr(err, errlen, "the receipt's proof hash %zu is "
			    "malformed", i);
			return -1;
		}
	}
	p->nproof = json_array_size(pr);
	if (entry != NULL) {
		if (b64_decode(entry, strlen(entry), &p->extra,
		    &p->extralen) != 0) {
			seterr(err, errlen, "the receipt's entry is not base64");
			return -1;
		}
		p->has_extra = 1;
	}
	p->note = xstrdup(note);
	p->notelen = strlen(note);
	return 0;
}

int
receipt_check_math(const struct tlog_proof *p, const uint8_t *entry,
    size_t len, char *err, size_t errlen)
{
	struct checkpoint cp;
	const char *sep = strstr(p->note, "\n\n");
	merkle_hash leaf;
	char why[VMS_ERRLEN];

	if (sep == NULL || checkpoint_parse(p->note, (size_t)(sep - p->note) +
	    1, &cp, why, sizeof(why)) != 0) {
		seterr(err, errlen, "the receipt's checkpoint is malformed");
		return -1;
	}
	merkle_leaf_hash(entry, len, leaf);
	if (merkle_verify_inclusion(leaf, p->index, cp.size, p->proof,
	    p->nproof, cp.root) != 0) {
		seterr(err, errlen, "the inclusion proof does not lead from "
		    "entry %" PRIu64 " to the root of the checkpoint of size %"
		    PRIu64, p->index, cp.size);
		return -1;
	}
	return 0;
}

int
receipt_save(const char *path, const struct tlog_proof *p, char *err,
    size_t errlen)
{
	size_t len;
	char *text = tlog_proof_format(p, &len);
	int rc = write_file_atomic(path, text, len, 0644, err, errlen);

	free(text);
	return rc;
}

static char *
compact(const json_t *v)
{
	char *s;

	if (v == NULL)
		return xstrdup("-");
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	return s ? s : xstrdup("?");
}

static void
iso_time(const json_t *ms, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, len, "-");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ",
	    (int)(json_integer_value(ms) % 1000));
}

void
receipt_describe(FILE *f, const char *in, const uint8_t *entry, size_t len)
{
	json_t *e = json_loadb((const char *)entry, len, 0, NULL);
	const char *type, *method, *caller, *auth, *state;
	char when[64], *args, *res;

	if (!json_is_object(e)) {
		fprintf(f, "%san entry that is not a JSON object (%zu bytes)\n",
		    in, len);
		json_decref(e);
		return;
	}
	type = json_string_value(json_object_get(e, "type"));
	method = json_string_value(json_object_get(e, "method"));
	caller = json_string_value(json_object_get(e, "caller"));
	auth = json_string_value(json_object_get(e, "auth"));
	state = json_string_value(json_object_get(e, "state"));
	iso_time(json_object_get(e, "time"), when, sizeof(when));
	if (type != NULL && strcmp(type, "call") == 0) {
		args = compact(json_object_get(e, "args"));
		fprintf(f, "%scall:   %s %s\n", in, method ? method : "?",
		    args);
		free(args);
	} else
		fprintf(f, "%s%s:  contract %s, code sha256 %s\n", in,
		    type ? type : "entry",
		    json_string_value(json_object_get(e, "contract")) ?
		    json_string_value(json_object_get(e, "contract")) : "?",
		    json_string_value(json_object_get(e, "code_sha256")) ?
		    json_string_value(json_object_get(e, "code_sha256")) :
		    "?");
	fprintf(f, "%sby:     %s (%s) at %s\n", in, caller ? caller :
	    "anonymous", auth ? auth : "?", when);
	if (json_is_true(json_object_get(e, "ok"))) {
		res = compact(json_object_get(e, "result"));
		fprintf(f, "%sresult: %s\n", in, res);
		free(res);
	} else if (json_object_get(e, "error") != NULL) {
		res = compact(json_object_get(e, "error"));
		fprintf(f, "%serror:  %s\n", in, res);
		free(res);
	}
	fprintf(f, "%swrites: %zu, state root after: %s\n", in,
	    json_array_size(json_object_get(e, "writes")), state ? state : "?");
	json_decref(e);
}

json_t *
receipt_entry_json(const uint8_t *entry, size_t len)
{
	json_t *e = json_loadb((const char *)entry, len, 0, NULL);

	return e != NULL ? e : json_null();
}
