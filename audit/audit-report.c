/*
 * audit-report.c — the audit's report: a failure (check, entry, what the
 * entry was, why), a success, and the report as one line of text or as
 * JSON (vmsctl audit, --json).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include "audit.h"
#include "audit_int.h"
#include "merkle.h"
#include "util.h"

void
audit_fail(struct audit_report *r, int check, uint64_t index,
    const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	r->fail_check = check;
	r->fail_index = index;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* "deploy", "call RSVP by unix:bob" — for naming a failing entry. */
void
audit_describe_entry(const uint8_t *buf, size_t len, char *out, size_t outlen)
{
	json_t *e, *caller;
	const char *type, *method;

	if ((e = json_loadb((const char *)buf, len, 0, NULL)) == NULL) {
		snprintf(out, outlen, "unparseable entry");
		return;
	}
	type = json_string_value(json_object_get(e, "type"));
	method = json_string_value(json_object_get(e, "method"));
	caller = json_object_get(e, "caller");
	if (type != NULL && strcmp(type, "call") == 0)
		snprintf(out, outlen, "call %s by %s", method ? method : "?",
		    json_is_string(caller) ? json_string_value(caller) :
		    "anonymous");
	else
		snprintf(out, outlen, "%s", type ? type : "entry of no type");
	json_decref(e);
}

void
audit_report_success(struct audit *a, struct audit_report *r)
{
	r->ok = 1;
	r->fail_check = 0;
	r->fail_index = AUDIT_NO_INDEX;
	r->size = a->size;
	memcpy(r->root, a->root, MERKLE_HASH_LEN);
	snprintf(r->vkey, sizeof(r->vkey), "%s", a->vkey);
	snprintf(r->origin, sizeof(r->origin), "%s", a->origin);
}

char *
audit_report_line(const struct audit_report *r)
{
	char *s, idx[64] = "", what[300] = "", extra[300] = "", on[32] = "";

	if (r->ok) {
		if (r->state_checked)
			snprintf(extra, sizeof(extra), ", state matches");
		if (r->note[0] != '\0')
			snprintf(extra, sizeof(extra), " (%s)", r->note);
		if (r->replay_threads > 1)
			snprintf(on, sizeof(on), " on %d threads",
			    r->replay_threads);
		xasprintf(&s, "%s: OK — %" PRIu64 " entries, checkpoint %"
		    PRIu64 " verified, replayed in %.2f s%s%s%s%s%s",
		    r->contract, r->size, r->size, r->replay_secs, on, extra,
		    r->first_use ? "; first use: key of origin " : "",
		    r->first_use ? r->origin : "",
		    r->first_use ? " now trusted" : "");
		return s;
	}
	if (r->fail_index != AUDIT_NO_INDEX)
		snprintf(idx, sizeof(idx), " at entry %" PRIu64, r->fail_index);
	if (r->fail_what[0] != '\0')
		snprintf(what, sizeof(what), " (%s)", r->fail_what);
	xasprintf(&s, "%s: FAIL%s%s: %s", r->contract, idx, what, r->reason);
	return s;
}

json_t *
audit_report_json(const struct audit_report *r)
{
	char root[MERKLE_HASH_LEN * 2 + 1];
	json_t *o = json_object();

	json_object_set_new(o, "contract", json_string(r->contract));
	json_object_set_new(o, "ok", json_boolean(r->ok));
	json_object_set_new(o, "origin", json_string(r->origin));
	json_object_set_new(o, "first_use", json_boolean(r->first_use));
	json_object_set_new(o, "vkey", json_string(r->vkey));
	json_object_set_new(o, "entries", json_integer((json_int_t)r->size));
	if (r->ok) {
		hex_encode(r->root, MERKLE_HASH_LEN, root);
		json_object_set_new(o, "checkpoint",
		    json_integer((json_int_t)r->size));
		json_object_set_new(o, "root", json_string(root));
	}
	json_object_set_new(o, "replay_seconds", json_real(r->replay_secs));
	json_object_set_new(o, "replay_threads",
	    json_integer(r->replay_threads));
	json_object_set_new(o, "state_checked",
	    json_boolean(r->state_checked));
	if (!r->ok) {
		json_object_set_new(o, "check", json_integer(r->fail_check));
		json_object_set_new(o, "entry", r->fail_index == AUDIT_NO_INDEX ?
		    json_null() : json_integer((json_int_t)r->fail_index));
		json_object_set_new(o, "what", r->fail_what[0] ?
		    json_string(r->fail_what) : json_null());
		json_object_set_new(o, "error", json_string(r->reason));
	}
	if (r->note[0] != '\0')
		json_object_set_new(o, "note", json_string(r->note));
	return o;
}
