/*
 * sbtest.h — helpers shared by the sandbox/engine unit tests: load an
 * example, deploy code, make a call from a JSON args string.
 */
#ifndef VMS_SBTEST_H
#define VMS_SBTEST_H

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

static inline char *
sbt_example(const char *name)
{
	char path[512];
	const char *top = getenv("TOP");
	uint8_t *buf;
	size_t len;
	char err[VMS_ERRLEN];

	snprintf(path, sizeof(path), "%s/examples/%s", top ? top : ".", name);
	if (read_file(path, 1 << 20, &buf, &len, err, sizeof(err)) == -1) {
		printf("FAIL load %s: %s\n", name, err);
		return NULL;
	}
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	return (char *)buf;
}

static inline struct engine *
sbt_deploy_lim(const char *code, const struct vms_limits *lim,
    const char *caller, char **entry, size_t *elen)
{
	struct vms_caller c = { caller, caller ? "debug" : "anonymous" };
	struct engine *e = NULL;
	char err[VMS_ERRLEN], *ent = NULL;
	size_t len;

	if (engine_deploy("test", code, strlen(code), lim, &c, 1000, &e, &ent,
	    &len, err, sizeof(err)) != ENGINE_OK) {
		printf("     deploy failed: %s\n", err);
		return NULL;
	}
	if (entry != NULL) {
		*entry = ent;
		*elen = len;
	} else
		free(ent);
	return e;
}

static inline struct engine *
sbt_deploy(const char *code)
{
	return sbt_deploy_lim(code, NULL, "unix:root", NULL, NULL);
}

/*
 * Call; returns the JSON result (compact) or "ERR: message" (malloc'd),
 * or "REFUSED: ..." / "INTERNAL: ...". Entry kept in *entry if non-NULL.
 */
static inline char *
sbt_call_as(struct engine *e, const char *caller, const char *method,
    const char *args, char **entry, size_t *elen)
{
	struct vms_caller c = { caller, caller ? "debug" : "anonymous" };
	struct engine_result res;
	json_error_t jerr;
	json_t *a = json_loads(args ? args : "[]", 0, &jerr);
	char err[VMS_ERRLEN], *ent = NULL, *out;
	size_t len;
	enum engine_status st;

	if (a == NULL)
		return xstrdup("BADARGS");
	st = engine_call(e, method, a, &c, 2000 + engine_next_index(e), &ent,
	    &len, &res, err, sizeof(err));
	json_decref(a);
	if (st == ENGINE_REFUSED) {
		xasprintf(&out, "REFUSED: %s", err);
		return out;
	}
	if (st != ENGINE_OK) {
		xasprintf(&out, "INTERNAL: %s", err);
		return out;
	}
	if (res.ok)
		out = json_dumps(res.value, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
	else
		xasprintf(&out, "ERR: %s", res.error);
	engine_result_clear(&res);
	if (entry != NULL) {
		*entry = ent;
		*elen = len;
	} else
		free(ent);
	return out;
}

static inline char *
sbt_call(struct engine *e, const char *method, const char *args)
{
	return sbt_call_as(e, "unix:alice", method, args, NULL, NULL);
}

#define CHECK_CALL(e, m, a, want) do {					\
	char *_r = sbt_call((e), (m), (a));				\
	CHECK_EQ_STR(_r, (want));					\
	free(_r);							\
} while (0)

#endif
