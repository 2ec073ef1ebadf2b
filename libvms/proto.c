/*
 * proto.c — JSON-RPC 2.0 line encoding/decoding and parameter checks.
 */
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fastjson.h"
#include "proto.h"
#include "util.h"

#define S	PT_STRING
#define N	PT_UINT
#define B	PT_BOOL
#define REQ	1
#define OPT	0
#define CONTRACT	{ "contract", S, REQ }

const struct proto_method proto_methods[PM_COUNT] = {
	[PM_PING] = { PM_PING, "ping", PM_REMOTE, { { NULL, 0, 0 } } },
	[PM_DEPLOY] = { PM_DEPLOY, "deploy", PM_ADMIN, { { "name", S, REQ },
	    { "code", S, REQ }, { "limits", PT_OBJECT, OPT },
	    { "replace", B, OPT }, { NULL, 0, 0 } } },
	[PM_CALL] = { PM_CALL, "call", PM_REMOTE | PM_CONTRACT, { CONTRACT,
	    { "method", S, REQ }, { "args", PT_ARRAY, OPT },
	    { "user", S, OPT }, { "signed", PT_OBJECT, OPT },
	    { "entry", B, OPT }, { NULL, 0, 0 } } },
	[PM_LIST] = { PM_LIST, "list", PM_REMOTE, { { NULL, 0, 0 } } },
	[PM_INFO] = { PM_INFO, "info", PM_REMOTE | PM_CONTRACT | PM_LEDGER, { CONTRACT,
	    { NULL, 0, 0 } } },
	[PM_METHODS] = { PM_METHODS, "methods", PM_REMOTE | PM_CONTRACT | PM_LEDGER,
	    { CONTRACT, { NULL, 0, 0 } } },
	[PM_LOG] = { PM_LOG, "log", PM_REMOTE | PM_CONTRACT | PM_LEDGER, { CONTRACT,
	    { "from", N, OPT }, { "count", N, OPT }, { "max_bytes", N, OPT },
	    { NULL, 0, 0 } } },
	[PM_CHECKPOINT] = { PM_CHECKPOINT, "checkpoint", PM_REMOTE | PM_CONTRACT | PM_LEDGER,
	    { CONTRACT, { "size", N, OPT }, { NULL, 0, 0 } } },
	[PM_PROVE] = { PM_PROVE, "prove", PM_REMOTE | PM_CONTRACT | PM_LEDGER, { CONTRACT,
	    { "size", N, REQ }, { "index", N, OPT }, { "old", N, OPT },
	    { NULL, 0, 0 } } },
	[PM_READ] = { PM_READ, "read", PM_REMOTE | PM_CONTRACT, { CONTRACT,
	    { "path", S, REQ }, { NULL, 0, 0 } } },
	[PM_LS] = { PM_LS, "ls", PM_REMOTE | PM_CONTRACT, { CONTRACT,
	    { "path", S, OPT }, { "recursive", B, OPT }, { NULL, 0, 0 } } },
	[PM_STATE] = { PM_STATE, "state", PM_REMOTE | PM_CONTRACT, { CONTRACT,
	    { "after", S, OPT }, { "limit", N, OPT }, { "max_bytes", N, OPT },
	    { NULL, 0, 0 } } },
	[PM_STOP] = { PM_STOP, "stop", PM_ADMIN | PM_CONTRACT, { CONTRACT,
	    { NULL, 0, 0 } } },
	[PM_START] = { PM_START, "start", PM_ADMIN | PM_CONTRACT, { CONTRACT,
	    { NULL, 0, 0 } } },
	[PM_REMOVE] = { PM_REMOVE, "remove", PM_ADMIN | PM_CONTRACT, { CONTRACT,
	    { "purge", B, OPT }, { NULL, 0, 0 } } },
	[PM_ATTACH] = { PM_ATTACH, "attach", PM_CONTRACT, { CONTRACT,
	    { NULL, 0, 0 } } },
};

#undef S
#undef N
#undef B
#undef REQ
#undef OPT
#undef CONTRACT

const struct proto_method *
proto_method_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < PM_COUNT; i++)
		if (strcmp(proto_methods[i].name, name) == 0)
			return &proto_methods[i];
	return NULL;
}

const char *
proto_method_name(enum proto_method_id id)
{
	return (unsigned)id < PM_COUNT ? proto_methods[id].name : "?";
}

int
proto_check_params(const struct proto_method *m, const json_t *params,
    char *err, size_t errlen)
{
	const struct proto_param *p;
	json_t *v;

	for (p = m->params; p->name != NULL; p++) {
		v = json_object_get(params, p->name);
		if (v == NULL || json_is_null(v)) {
			if (!p->required)
				continue;
			seterr(err, errlen, "missing parameter \"%s\"",
			    p->name);
			return -1;
		}
		switch (p->type) {
		case PT_STRING:
			if (json_is_string(v))
				continue;
			seterr(err, errlen, "parameter \"%s\" must be a "
			    "string", p->name);
			return -1;
		case PT_UINT:
			if (json_is_integer(v) && json_integer_value(v) >= 0)
				continue;
			seterr(err, errlen, "parameter \"%s\" must be a "
			    "non-negative integer", p->name);
			return -1;
		case PT_BOOL:
			if (json_is_boolean(v))
				continue;
			seterr(err, errlen, "parameter \"%s\" must be true or "
			    "false", p->name);
			return -1;
		case PT_OBJECT:
			if (json_is_object(v))
				continue;
			seterr(err, errlen, "parameter \"%s\" must be an "
			    "object", p->name);
			return -1;
		case PT_ARRAY:
			if (json_is_array(v))
				continue;
			seterr(err, errlen, "parameter \"%s\" must be an "
			    "array", p->name);
			return -1;
		}
	}
	return 0;
}

static char *
line_of(json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_FLAGS_CANON);
	size_t n;
	char *out;

	json_decref(msg);
	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = xmalloc(n + 2);
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(s);
	if (len)
		*len = n + 1;
	return out;
}

char *
proto_request(json_int_t id, const char *method, json_t *params, size_t *len)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "method", json_string(method));
	json_object_set_new(m, "params", params ? params : json_object());
	return line_of(m, len);
}

char *
proto_result(const json_t *id, json_t *result, size_t *len)
{
	json_t *m = json_object();

	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", id ? json_deep_copy(id) : json_null());
	json_object_set_new(m, "result", result ? result : json_null());
	return line_of(m, len);
}

char *
proto_error(const json_t *id, int code, const char *message, json_t *data,
    size_t *len)
{
	json_t *m = json_object(), *e = json_object();
	json_t *msg = json_string(message);

	/* Messages from contracts may carry invalid UTF-8: never drop them. */
	if (msg == NULL)
		msg = json_string("(error message is not valid UTF-8)");
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "message", msg);
	if (data)
		json_object_set_new(e, "data", data);
	json_object_set_new(m, "jsonrpc", json_string("2.0"));
	json_object_set_new(m, "id", id ? json_deep_copy(id) : json_null());
	json_object_set_new(m, "error", e);
	return line_of(m, len);
}

void
proto_reply_text(struct jbuf *b, const char *id, size_t idlen, int is_error,
    const char *v, size_t vlen)
{
	jbuf_lit(b, "{\"jsonrpc\":\"2.0\",\"id\":");
	jbuf_raw(b, id, idlen);
	if (is_error)
		jbuf_lit(b, ",\"error\":");
	else
		jbuf_lit(b, ",\"result\":");
	jbuf_raw(b, v, vlen);
	jbuf_lit(b, "}\n");
}

int
proto_parse_message(const char *text, size_t len, json_t **msg, char *err,
    size_t errlen)
{
	json_error_t jerr;

	/* Any JSON value is a message: a bare 1 is an invalid request
	 * (-32600), not a parse error. */
	*msg = fastjson_loadb(text, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &jerr);
	if (*msg == NULL) {
		seterr(err, errlen, "parse error: %s at column %d", jerr.text,
		    jerr.column);
		return RPC_PARSE_ERROR;
	}
	return 0;
}

int
proto_id_valid(const json_t *v)
{
	return json_is_integer(v) || json_is_string(v) || json_is_null(v);
}

int
proto_check_request(json_t *m, const char **method, json_t **params,
    json_t **id, char *err, size_t errlen)
{
	json_t *v;

	*id = NULL;
	if (!json_is_object(m)) {
		seterr(err, errlen, "invalid request: not a JSON object");
		return RPC_INVALID_REQUEST;
	}
	v = json_object_get(m, "id");
	if (v && !proto_id_valid(v)) {
		seterr(err, errlen, "invalid request: id must be an "
		    "integer, a string or null");
		return RPC_INVALID_REQUEST;
	}
	*id = v;
	v = json_object_get(m, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		seterr(err, errlen, "invalid request: \"jsonrpc\" must be "
		    "\"2.0\"");
		return RPC_INVALID_REQUEST;
	}
	v = json_object_get(m, "method");
	if (!json_is_string(v)) {
		seterr(err, errlen, "invalid request: \"method\" must be a "
		    "string");
		return RPC_INVALID_REQUEST;
	}
	*method = json_string_value(v);
	v = json_object_get(m, "params");
	if (v == NULL) {
		v = json_object();
		json_object_set_new(m, "params", v);
	} else if (!json_is_object(v)) {
		seterr(err, errlen, "invalid params: \"params\" must be an "
		    "object with named parameters");
		return RPC_INVALID_PARAMS;
	}
	*params = v;
	return 0;
}

int
proto_parse_request(const char *line, size_t len, json_t **req,
    const char **method, json_t **params, json_t **id, char *err,
    size_t errlen)
{
	int code;

	*id = NULL;
	if ((code = proto_parse_message(line, len, req, err, errlen)) != 0)
		return code;
	return proto_check_request(*req, method, params, id, err, errlen);
}

int
param_string(const json_t *params, const char *key, int required,
    const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(params, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		seterr(err, errlen, "missing parameter \"%s\"", key);
		return -1;
	}
	if (!json_is_string(v)) {
		seterr(err, errlen, "parameter \"%s\" must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
param_uint(const json_t *params, const char *key, int required,
    uint64_t dflt, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(params, key);

	*out = dflt;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		seterr(err, errlen, "missing parameter \"%s\"", key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		seterr(err, errlen, "parameter \"%s\" must be a non-negative "
		    "integer", key);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int
param_bool(const json_t *params, const char *key, int dflt, int *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(params, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		seterr(err, errlen, "parameter \"%s\" must be true or false",
		    key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}
