/*
 * fuzz-json.c — the Lua value <-> JSON conversion (lua-sandbox/sb_json.c)
 * through the engine, as a client reaches it: a call of the fixed contract
 * (fuzzlib.c) with fuzzed JSON arguments, returning them, and
 * System.json.decode/encode of fuzzed text inside the sandbox.
 *
 * The input is decoded as the daemon decodes request params (jansson,
 * duplicates refused); where the fast path of that decoding
 * (libvms/fastjson.c) takes it, its value must be jansson's, key order
 * included. If it is JSON, id(V) is called, and all(...)
 * with V's elements when V is an array; if it is UTF-8 text without NUL,
 * dec(text) and rt(text) (decode, encode, decode) are called with it.
 * Invariants: every entry produced replays on a second engine (execution
 * and replay agree: the entry's canonical JSON carries the exact values),
 * and converting a result again gives the same result.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "fastjson.h"
#include "fuzz.h"
#include "util.h"

static const struct vms_caller caller = { "unix:fuzz", "peercred" };

/* Call method(args) on e, replay the entry on r. Returns the result (a new
 * reference) when the call returned normally, else NULL. */
static json_t *
call(struct engine *e, struct engine *r, const char *method, json_t *args)
{
	struct engine_result res;
	enum engine_status st;
	json_t *v;
	char err[VMS_ERRLEN], *entry;
	size_t len;

	st = engine_call(e, method, args, &caller, FUZZ_TIME + 1, &entry, &len,
	    &res, err, sizeof(err));
	if (st != ENGINE_OK)
		return NULL;
	if (engine_replay(r, (const uint8_t *)entry, len, err,
	    sizeof(err)) != 0)
		fuzz_fail("%s: the entry does not replay: %s\n%.*s", method,
		    err, (int)(len < 2000 ? len : 2000), entry);
	free(entry);
	if (!res.ok) {
		engine_result_clear(&res);
		return NULL;
	}
	if ((v = res.value) == NULL)
		fuzz_fail("%s: ok without a value", method);
	res.value = NULL;	/* ours now */
	engine_result_clear(&res);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine *e, *r;
	json_t *v, *args, *res, *again;
	json_error_t jerr;

	fuzz_init();
	e = fuzz_engine();
	r = fuzz_engine();
	v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &jerr);
	if ((args = fastjson_try((const char *)data, size,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)) != NULL) {
		char *a = json_dumps(args, JSON_ENCODE_ANY),
		    *b = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

		if (v == NULL || !json_equal(args, v) || a == NULL ||
		    b == NULL || strcmp(a, b) != 0)
			fuzz_fail("the fast path decodes %.*s as %.500s, "
			    "jansson as %.500s", (int)(size < 500 ? size : 500),
			    (const char *)data, a ? a : "?",
			    b ? b : "an error");
		free(a);
		free(b);
		json_decref(args);
	}
	if (v != NULL) {
		args = json_pack("[O]", v);
		if ((res = call(e, r, "id", args)) != NULL) {
			/* a result converts to itself */
			json_decref(args);
			args = json_pack("[O]", res);
			if ((again = call(e, r, "id", args)) != NULL &&
			    !json_equal(again, res)) {
				char *a = json_dumps(res, JSON_ENCODE_ANY),
				    *b = json_dumps(again, JSON_ENCODE_ANY);

				fuzz_fail("id is not idempotent: %.500s -> "
				    "%.500s", a, b);
			}
			json_decref(again);
			json_decref(res);
		}
		json_decref(args);
		if (json_is_array(v))
			json_decref(call(e, r, "all", v));
		json_decref(v);
	}
	if (utf8_valid(data, size) && memchr(data, '\0', size) == NULL) {
		args = json_pack("[s%]", (const char *)data, size);
		if (args == NULL)
			fuzz_fail("json_pack of valid UTF-8");
		json_decref(call(e, r, "dec", args));
		json_decref(call(e, r, "rt", args));
		json_decref(args);
	}
	engine_free(e);
	engine_free(r);
	return 0;
}
