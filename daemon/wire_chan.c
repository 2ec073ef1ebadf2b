/*
 * wire_chan.c — the attach channel's datagrams (wire.h): a connection
 * handed over to a worker (attach), and one a worker gives back (back).
 * The line's keys in their fixed places, as wire.c's messages, with its
 * helpers (wire_int.h); the client's bytes follow the line as they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "proto.h"
#include "util.h"
#include "wire.h"
#include "wire_int.h"

int
wire_put_attach(struct jbuf *b, const json_t *id, const char *caller,
    uint64_t uid, int debug_auth, int handoff,
    const uint64_t limits[WIRE_ATTACH_LIMITS], char *err, size_t errlen)
{
	size_t mark = b->len, i;

	if (id != NULL && !proto_id_valid(id)) {
		seterr(err, errlen, "attach: the id must be an integer, a "
		    "string or null");
		return -1;
	}
	wire_add_str(b, "{\"attach\":");
	if (wire_add_json(b, id ? id : json_null(), mark, "id", err,
	    errlen) != 0)
		return -1;
	wire_add_str(b, ",\"caller\":");
	if (wire_add_jstr(b, caller, mark, "caller", err, errlen) != 0)
		return -1;
	wire_add_str(b, ",\"uid\":");
	jbuf_uint(b, uid);
	wire_add_str(b, debug_auth ? ",\"debug_auth\":true" :
	    ",\"debug_auth\":false");
	wire_add_str(b, handoff ? ",\"handoff\":true" : ",\"handoff\":false");
	wire_add_str(b, ",\"limits\":[");
	for (i = 0; i < WIRE_ATTACH_LIMITS; i++) {
		if (i > 0)
			wire_add_str(b, ",");
		jbuf_uint(b, limits[i]);
	}
	wire_add_str(b, "]}\n");
	return 0;
}

void
wire_put_back(struct jbuf *b, const char *why)
{
	size_t mark = b->len;
	char e[8];

	wire_add_str(b, "{\"back\":");
	if (wire_add_jstr(b, why, mark, "why", e, sizeof(e)) != 0)
		wire_add_str(b, "{\"back\":\"(not valid UTF-8)\"");
	wire_add_str(b, "}\n");
}

int
wire_decode_attach(const char *dgram, size_t len, struct wire_attach *a,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "attach", "caller", "uid",
	    "debug_auth", "handoff", "limits" };
	const char *nl = memchr(dgram, '\n', len);
	json_t *m, *caller, *lim, *x, *dbg, *ho;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (nl == NULL)
		return wire_bad(err, errlen, "attach: no line");
	if ((m = wire_load(dgram, (size_t)(nl - dgram), "attach", err,
	    errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 6, "attach", err, errlen) != 0)
		goto fail;
	a->id = json_object_get(m, "attach");
	caller = json_object_get(m, "caller");
	a->caller = json_string_value(caller);
	dbg = json_object_get(m, "debug_auth");
	ho = json_object_get(m, "handoff");
	lim = json_object_get(m, "limits");
	if ((!json_is_integer(a->id) && !json_is_string(a->id) &&
	    !json_is_null(a->id)) || (a->caller == NULL &&
	    !json_is_null(caller)) || wire_get_uint(m, "uid", &a->uid) != 0 ||
	    !json_is_boolean(dbg) || !json_is_boolean(ho) ||
	    (json_is_true(ho) && !json_is_null(a->id)) || !json_is_array(lim) ||
	    json_array_size(lim) != WIRE_ATTACH_LIMITS) {
		wire_bad(err, errlen, "attach: a key has the wrong type");
		goto fail;
	}
	json_array_foreach(lim, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0) {
			wire_bad(err, errlen, "attach: a limit is not a "
			    "number");
			goto fail;
		}
		a->limits[i] = (uint64_t)json_integer_value(x);
	}
	a->debug_auth = json_is_true(dbg);
	a->handoff = json_is_true(ho);
	a->input = nl + 1;
	a->inputlen = len - (size_t)(nl + 1 - dgram);
	a->msg = m;
	return 0;
fail:
	json_decref(m);
	memset(a, 0, sizeof(*a));
	return -1;
}

void
wire_attach_clear(struct wire_attach *a)
{
	json_decref(a->msg);
	memset(a, 0, sizeof(*a));
}

int
wire_decode_back(const char *dgram, size_t len, struct wire_back *k,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "back" };
	const char *nl = memchr(dgram, '\n', len);
	json_t *m;

	memset(k, 0, sizeof(*k));
	if (nl == NULL)
		return wire_bad(err, errlen, "back: no line");
	if ((m = wire_load(dgram, (size_t)(nl - dgram), "back", err,
	    errlen)) == NULL)
		return -1;
	if (wire_keys_are(m, keys, 1, "back", err, errlen) != 0)
		goto fail;
	if ((k->why = json_string_value(json_object_get(m, "back"))) ==
	    NULL) {
		wire_bad(err, errlen, "back: a key has the wrong type");
		goto fail;
	}
	k->input = nl + 1;
	k->inputlen = len - (size_t)(nl + 1 - dgram);
	k->msg = m;
	return 0;
fail:
	json_decref(m);
	memset(k, 0, sizeof(*k));
	return -1;
}

void
wire_back_clear(struct wire_back *k)
{
	json_decref(k->msg);
	memset(k, 0, sizeof(*k));
}
