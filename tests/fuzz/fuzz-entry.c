/*
 * fuzz-entry.c — the ledger entry parser: the engine reading an entry it did
 * not write (lua-sandbox/engine.c, engine_replay.c, engine_limits.c), as
 * the auditor and a restarting worker do. The input is one entry.
 *   As entry 0: engine_open (the deploy entry: runtime, code and its hash,
 *   limits, methods). A host holds the key and can sign any code, so when
 *   the input is an object with a "code" string its "code_sha256" is also
 *   corrected and the result opened and applied.
 *   As entry 1 of the fixed contract (fuzzlib.c): engine_apply (the
 *   recorded writes, checked against the state root) on one engine,
 *   engine_replay (re-execution, compared byte for byte) on another.
 * Invariants: an entry that replays also applies, to the same state root
 * and the same next index; the state after it can be listed and dumped.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "canon.h"
#include "engine.h"
#include "fuzz.h"
#include "util.h"

static void
as_deploy(const uint8_t *data, size_t size)
{
	struct engine *e;
	json_error_t jerr;
	json_t *j, *code;
	char err[VMS_ERRLEN], hex[65], *fixed;
	uint8_t h[32];
	size_t len;

	if (engine_open(data, size, &e, err, sizeof(err)) == 0) {
		(void)engine_apply(e, data, size, err, sizeof(err));
		engine_free(e);
	}
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_string(code = json_object_get(j, "code"))) {
		json_decref(j);
		return;
	}
	crypto_hash_sha256(h, (const uint8_t *)json_string_value(code),
	    json_string_length(code));
	hex_encode(h, sizeof(h), hex);
	json_object_set_new(j, "code_sha256", json_string(hex));
	if ((fixed = json_canonical(j, &len)) != NULL) {
		if (engine_open((const uint8_t *)fixed, len, &e, err,
		    sizeof(err)) == 0) {
			json_t *m = engine_methods(e);

			json_decref(m);
			if (engine_apply(e, (const uint8_t *)fixed, len, err,
			    sizeof(err)) == 0) {
				json_decref(engine_state_dump(e));
				if (engine_next_index(e) != 1)
					fuzz_fail("deploy applied, index %llu",
					    (unsigned long long)
					    engine_next_index(e));
			}
			engine_free(e);
		}
		free(fixed);
	}
	json_decref(j);
}

static void
as_call(const uint8_t *data, size_t size)
{
	struct engine *a = fuzz_engine(), *r = fuzz_engine();
	merkle_hash ra, rr;
	char err[VMS_ERRLEN];
	int applied, replayed;
	json_t *ls;

	applied = engine_apply(a, data, size, err, sizeof(err)) == 0;
	replayed = engine_replay(r, data, size, err, sizeof(err)) == 0;
	if (replayed && !applied)
		fuzz_fail("an entry that replays does not apply");
	if (replayed) {
		engine_state_root(a, ra);
		engine_state_root(r, rr);
		if (memcmp(ra, rr, sizeof(ra)) != 0 ||
		    engine_next_index(a) != engine_next_index(r))
			fuzz_fail("apply and replay disagree");
	}
	if (applied) {
		if (engine_next_index(a) != 2)
			fuzz_fail("call applied, index %llu",
			    (unsigned long long)engine_next_index(a));
		if ((ls = engine_ls(a, "/", 1, err, sizeof(err))) == NULL)
			fuzz_fail("cannot list the state after apply: %s", err);
		json_decref(ls);
		json_decref(engine_state_dump(a));
	}
	engine_free(a);
	engine_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	as_deploy(data, size);
	as_call(data, size);
	return 0;
}
