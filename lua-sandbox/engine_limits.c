/*
 * engine_limits.c — the contract limits: defaults, bounds, parsing
 * ("memory=32M") and their JSON form in the deploy entry.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "util.h"

/* ---- limits ---- */

static const struct {
	const char	*name;
	size_t		 off;
	uint64_t	 dflt, min, max;
} limit_tab[] = {
#define L(n, d, lo, hi) { #n, offsetof(struct vms_limits, n), d, lo, hi }
	L(instructions, 10000000, 1000, 1ULL << 40),
	L(memory, 64ULL << 20, 1ULL << 20, 1ULL << 36),
	L(file_size, 32 << 10, 1, 1ULL << 30),
	L(state_size, 256ULL << 20, 1024, 1ULL << 40),
	L(args_size, 16 << 10, 16, 1ULL << 20),
	L(result_size, 16 << 10, 16, 1ULL << 20),
	L(depth, 200, 10, 10000),
	L(entry_size, 65535, 1024, 65535),
	L(history, 1000, 1, 1000000),
	L(children, 0, 0, 1000000),
#undef L
};
#define NLIMITS (sizeof(limit_tab) / sizeof(limit_tab[0]))

static uint64_t *
limit_ptr(struct vms_limits *l, size_t i)
{
	return (uint64_t *)(void *)((char *)l + limit_tab[i].off);
}

void
limits_default(struct vms_limits *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < NLIMITS; i++)
		*limit_ptr(l, i) = limit_tab[i].dflt;
}

const char *
limits_get(const struct vms_limits *l, size_t i, uint64_t *v)
{
	if (i >= NLIMITS)
		return NULL;
	*v = *limit_ptr((struct vms_limits *)(uintptr_t)l, i);
	return limit_tab[i].name;
}

static int
limit_check(size_t i, uint64_t v, char *err, size_t errlen)
{
	if (v < limit_tab[i].min || v > limit_tab[i].max) {
		seterr(err, errlen, "limit %s must be between %llu and %llu",
		    limit_tab[i].name, (unsigned long long)limit_tab[i].min,
		    (unsigned long long)limit_tab[i].max);
		return -1;
	}
	return 0;
}

int
limits_set(struct vms_limits *l, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char *end;
	unsigned long long v;
	size_t i;

	if (eq == NULL) {
		seterr(err, errlen, "limit: expected key=value, got \"%s\"",
		    kv);
		return -1;
	}
	for (i = 0; i < NLIMITS; i++)
		if (strlen(limit_tab[i].name) == (size_t)(eq - kv) &&
		    strncmp(limit_tab[i].name, kv, (size_t)(eq - kv)) == 0)
			break;
	if (i == NLIMITS) {
		seterr(err, errlen, "unknown limit \"%.*s\"", (int)(eq - kv),
		    kv);
		return -1;
	}
	errno = 0;
	if (eq[1] < '0' || eq[1] > '9') {
		seterr(err, errlen, "limit %s: not a number", limit_tab[i].name);
		return -1;
	}
	v = strtoull(eq + 1, &end, 10);
	if (errno != 0) {
		seterr(err, errlen, "limit %s: out of range",
		    limit_tab[i].name);
		return -1;
	}
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0') {
		seterr(err, errlen, "limit %s: bad value \"%s\"",
		    limit_tab[i].name, eq + 1);
		return -1;
	}
	if (limit_check(i, v, err, errlen) == -1)
		return -1;
	*limit_ptr(l, i) = v;
	return 0;
}

json_t *
limits_to_json(const struct vms_limits *l)
{
	json_t *o = json_object();
	size_t i;

	uint64_t v;

	for (i = 0; i < NLIMITS; i++) {
		v = *limit_ptr((struct vms_limits *)(uintptr_t)l, i);
		/* a contract that may make no children records no such limit
		 * (as every deploy entry did before there were children) */
		if (v == 0 && limit_tab[i].off == offsetof(struct vms_limits,
		    children))
			continue;
		json_object_set_new(o, limit_tab[i].name,
		    json_integer((json_int_t)v));
	}
	return o;
}

int
limits_child(const struct vms_limits *parent, const json_t *given,
    struct vms_limits *out, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	uint64_t x;
	size_t i;

	*out = *parent;
	out->children = 0;
	if (given == NULL)
		return 0;
	if (!json_is_object(given)) {
		seterr(err, errlen, "limits must be a table of limits");
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)given, k, v) {
		for (i = 0; i < NLIMITS; i++)
			if (strcmp(limit_tab[i].name, k) == 0)
				break;
		if (i == NLIMITS) {
			seterr(err, errlen, "unknown limit \"%.40s\"", k);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			seterr(err, errlen, "limit %s must be a non-negative "
			    "integer", k);
			return -1;
		}
		x = (uint64_t)json_integer_value(v);
		if (limit_check(i, x, err, errlen) == -1)
			return -1;
		if (x > *limit_ptr((struct vms_limits *)(uintptr_t)parent,
		    i)) {
			seterr(err, errlen, "limit %s (%llu) exceeds the "
			    "parent's (%llu)", k, (unsigned long long)x,
			    (unsigned long long)*limit_ptr((struct vms_limits *)
			    (uintptr_t)parent, i));
			return -1;
		}
		*limit_ptr(out, i) = x;
	}
	return 0;
}

int
limits_from_json(struct vms_limits *l, const json_t *o, char *err,
    size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;

	limits_default(l);
	if (!json_is_object(o)) {
		seterr(err, errlen, "limits must be an object");
		return -1;
	}
	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; i < NLIMITS; i++)
			if (strcmp(limit_tab[i].name, k) == 0)
				break;
		if (i == NLIMITS) {
			seterr(err, errlen, "unknown limit \"%s\"", k);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			seterr(err, errlen, "limit %s must be an integer", k);
			return -1;
		}
		if (limit_check(i, (uint64_t)json_integer_value(v), err,
		    errlen) == -1)
			return -1;
		*limit_ptr(l, i) = (uint64_t)json_integer_value(v);
	}
	return 0;
}
