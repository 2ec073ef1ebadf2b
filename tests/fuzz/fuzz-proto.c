/*
 * fuzz-proto.c — the JSON-RPC request decoder (libvms/proto.c): one request
 * line as a client sends it, through proto_parse_request and the parameter
 * helpers, then the reply encoders with what was decoded (the id echoed
 * back, the error message, the params as a result). Invariants: a reply is
 * always produced, is one line, and parses back as a JSON object with the
 * request's id.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "proto.h"
#include "util.h"

static void
check_reply(char *line, size_t len, const json_t *id)
{
	json_error_t jerr;
	json_t *m, *rid;

	if (line == NULL)
		fuzz_fail("no reply encoded");
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		fuzz_fail("reply is not one line: %s", line);
	if ((m = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(m))
		fuzz_fail("reply does not parse (%s): %s", jerr.text, line);
	rid = json_object_get(m, "id");
	if (id != NULL ? !json_equal(rid, id) : !json_is_null(rid))
		fuzz_fail("reply id differs: %s", line);
	json_decref(m);
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = {
		"contract", "method", "name", "path", "code", "from", "count",
		"index", "old", "size", "raw", "recursive", "replace", "purge",
		"user", "args", "limits"
	};
	char err[VMS_ERRLEN], *line;
	const char *method = NULL, *s;
	json_t *req, *params = NULL, *id;
	uint64_t u;
	size_t i, len;
	int rc, b;

	fuzz_init();
	err[0] = '\0';
	rc = proto_parse_request((const char *)data, size, &req, &method,
	    &params, &id, err, sizeof(err));
	if (rc != 0) {
		if (rc != RPC_PARSE_ERROR && rc != RPC_INVALID_REQUEST &&
		    rc != RPC_INVALID_PARAMS)
			fuzz_fail("unexpected error code %d", rc);
		if (err[0] == '\0')
			fuzz_fail("error %d without a message", rc);
		if (rc == RPC_PARSE_ERROR && req != NULL)
			fuzz_fail("parse error with a request");
		/* the daemon answers with the id if it has one */
		line = proto_error(id, rc, err, NULL, &len);
		check_reply(line, len, id);
		json_decref(req);
		return 0;
	}
	if (req == NULL || method == NULL || !json_is_object(params))
		fuzz_fail("success without request, method or params");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		(void)param_string(params, keys[i], (int)(i & 1), &s, err,
		    sizeof(err));
		(void)param_uint(params, keys[i], (int)(i & 1), 7, &u, err,
		    sizeof(err));
		(void)param_bool(params, keys[i], 0, &b, err, sizeof(err));
	}
	line = proto_result(id, json_deep_copy(params), &len);
	check_reply(line, len, id);
	line = proto_error(id, RPC_CONTRACT_ERROR, method, json_deep_copy(req),
	    &len);
	check_reply(line, len, id);
	json_decref(req);
	return 0;
}
