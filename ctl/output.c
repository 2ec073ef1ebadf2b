/*
 * output.c — vmsctl's shared plumbing: error lines, the lazy connection,
 * the RPC helper that maps failures to exit codes, and JSON printing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "vmsctl.h"

void
ctl_errx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vmsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_connect(struct ctl *c)
{
	char err[VMS_ERRLEN];

	if (c->client != NULL)
		return EXIT_OK;
	if (client_connect(c->socket, c->timeout_ms, &c->client, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s (is vmsd running? use -s SOCKET or $VMSD_SOCKET)",
		    err);
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

int
ctl_is_remote(const struct ctl *c)
{
	return strncmp(c->socket, "http://", 7) == 0 ||
	    strncmp(c->socket, "https://", 8) == 0;
}

enum client_status
ctl_rpc_try(struct ctl *c, enum proto_method_id id, json_t *params,
    json_t **result, struct client_error *e, char *err, size_t errlen)
{
	*result = NULL;
	memset(e, 0, sizeof(*e));
	if (c->client == NULL && client_connect(c->socket, c->timeout_ms,
	    &c->client, err, errlen) != 0) {
		json_decref(params);
		return CLIENT_FAILED;
	}
	return client_call(c->client, proto_method_name(id), params, result,
	    e, err, errlen);
}

int
ctl_rpc(struct ctl *c, enum proto_method_id id, json_t *params,
    json_t **result, struct client_error *rerr)
{
	struct client_error e;
	char err[VMS_ERRLEN];
	enum client_status st;
	int rc;

	*result = NULL;
	if ((rc = ctl_connect(c)) != EXIT_OK) {
		json_decref(params);
		return rc;
	}
	st = ctl_rpc_try(c, id, params, result, &e, err, sizeof(err));
	if (st == CLIENT_OK) {
		if (rerr != NULL)
			memset(rerr, 0, sizeof(*rerr));
		return EXIT_OK;
	}
	return ctl_rpc_fail(c, st, &e, err, rerr);
}

int
ctl_rpc_fail(struct ctl *c, enum client_status st, struct client_error *e0,
    const char *err, struct client_error *rerr)
{
	struct client_error e = *e0;

	if (st == CLIENT_FAILED && c->client == NULL) {
		ctl_errx("%s (is vmsd running? use -s SOCKET or $VMSD_SOCKET)",
		    err);
		return EXIT_UNREACHABLE;
	}
	if (st == CLIENT_FAILED) {
		ctl_errx("%s", err);
		return EXIT_UNREACHABLE;
	}
	ctl_errx("%s", e.message);
	if (c->json) {
		json_t *o = json_pack("{s:{s:i,s:s}}", "error", "code", e.code,
		    "message", e.message);

		if (o != NULL && e.data != NULL)
			json_object_set(json_object_get(o, "error"), "data",
			    e.data);
		ctl_print_json(o);
		json_decref(o);
	}
	if (rerr != NULL)
		*rerr = e;
	else
		json_decref(e.data);
	return EXIT_FAILED;
}

void
ctl_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_SORT_KEYS | JSON_REAL_PRECISION(17));

	if (s == NULL) {
		ctl_errx("cannot encode JSON output");
		return;
	}
	printf("%s\n", s);
	free(s);
}

int
ctl_is_option(const char *arg)
{
	char *end;

	if (arg[0] != '-' || arg[1] == '\0' || strcmp(arg, "--") == 0)
		return 0;
	if (arg[1] == '-')
		return 1;
	(void)strtod(arg, &end);
	return *end != '\0';
}

int
ctl_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

json_t *
ctl_contract_params(const char *name)
{
	return json_pack("{s:s}", "contract", name);
}

const char *
ctl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

json_int_t
ctl_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Admin commands: print "NAME: status" (or the JSON result). */
int
ctl_simple(struct ctl *c, enum proto_method_id method, json_t *params)
{
	json_t *res;
	int rc;

	if ((rc = ctl_rpc(c, method, params, &res, NULL)) != EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(res);
	else if (json_object_get(res, "removed") != NULL)
		printf("%s: removed%s\n", ctl_str(res, "name"),
		    json_is_true(json_object_get(res, "purged")) ?
		    " and purged" : " (ledger kept)");
	else if (json_object_get(res, "version") != NULL)
		printf("vmsd %s\n", ctl_str(res, "version"));
	else
		printf("%s: %s\n", ctl_str(res, "name"), ctl_str(res, "status"));
	json_decref(res);
	return EXIT_OK;
}
