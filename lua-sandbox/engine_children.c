/*
 * engine_children.c — System.contracts as the engine answers it (engine.h,
 * "CHILD CONTRACTS"): deploy and stop requests checked against the
 * contract's limits and its registry of children, the child's entry 0
 * built once the call has returned (the same bytes whenever it is built
 * again: by a replay, or by the worker creating the child), and the
 * registry itself: every child the contract made, at which entry, with
 * the leaf hash of its entry 0, stopped or not. The registry is derived
 * from the ledger alone (each entry's "contracts"), kept in the snapshot
 * and rebuilt by apply, skip and replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "engine_int.h"
#include "merkle.h"
#include "sandbox.h"
#include "sha256.h"
#include "util.h"

struct eng_child {
	char		*name;
	uint64_t	 index;		/* the parent's entry that made it */
	uint8_t		 entry[32];	/* leaf hash of its entry 0 */
	int		 stopped;
};

struct eng_children {
	struct eng_child	*v;	/* sorted by name */
	size_t			 n, cap;
};

struct eng_children *
eng_children_new(void)
{
	return xcalloc(1, sizeof(struct eng_children));
}

void
eng_children_free(struct eng_children *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	free(r);
}

/* The slot of name, or where it would go (*found 0). */
static size_t
slot(const struct eng_children *r, const char *name, int *found)
{
	size_t lo = 0, hi = r->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(r->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct eng_child *
find(const struct eng_children *r, const char *name)
{
	int found;
	size_t i = slot(r, name, &found);

	return found ? &r->v[i] : NULL;
}

static struct eng_child *
insert(struct eng_children *r, const char *name)
{
	int found;
	size_t i = slot(r, name, &found);

	if (found)
		return &r->v[i];
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(*r->v));
	memset(&r->v[i], 0, sizeof(r->v[i]));
	r->v[i].name = xstrdup(name);
	r->n++;
	return &r->v[i];
}

void
eng_children_apply(struct eng_children *r, const json_t *ops, uint64_t index)
{
	const char *op, *name, *hex;
	struct eng_child *ch;
	json_t *o;
	size_t i;

	json_array_foreach((json_t *)(uintptr_t)ops, i, o) {
		op = json_string_value(json_object_get(o, "op"));
		name = json_string_value(json_object_get(o, "name"));
		if (op == NULL || name == NULL)
			continue;
		if (strcmp(op, "deploy") == 0) {
			ch = insert(r, name);
			ch->index = index;
			ch->stopped = 0;
			hex = json_string_value(json_object_get(o, "entry"));
			if (hex == NULL || hex_decode(hex, ch->entry, 32) != 0)
				memset(ch->entry, 0, 32);
		} else if (strcmp(op, "stop") == 0 &&
		    (ch = find(r, name)) != NULL)
			ch->stopped = 1;
	}
}

/* ---- snapshot section ---- */

size_t
eng_children_size(const struct eng_children *r)
{
	size_t i, n = 8;

	for (i = 0; i < r->n; i++)
		n += 1 + strlen(r->v[i].name) + 8 + 32 + 1;
	return n;
}

static uint8_t *
put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* n:8, then n x (namelen:1 name index:8 entry:32 stopped:1), by name */
uint8_t *
eng_children_dump(const struct eng_children *r, uint8_t *p)
{
	size_t i, l;

	p = put_be(p, r->n, 8);
	for (i = 0; i < r->n; i++) {
		l = strlen(r->v[i].name);
		*p++ = (uint8_t)l;
		memcpy(p, r->v[i].name, l);
		p += l;
		p = put_be(p, r->v[i].index, 8);
		memcpy(p, r->v[i].entry, 32);
		p += 32;
		*p++ = (uint8_t)(r->v[i].stopped != 0);
	}
	return p;
}

int
eng_children_load(struct eng_children *r, const uint8_t **pp,
    const uint8_t *end)
{
	const uint8_t *p = *pp;
	struct eng_child *ch;
	char name[65];
	uint64_t n, i;
	size_t l;

	if (end - p < 8)
		return -1;
	n = get_be(p, 8);
	p += 8;
	for (i = 0; i < n; i++) {
		if (end - p < 1 || (l = *p) == 0 || l > 64 ||
		    (size_t)(end - p) < 1 + l + 8 + 32 + 1)
			return -1;
		memcpy(name, p + 1, l);
		name[l] = '\0';
		if (!valid_contract_name(name) || p[1 + l + 40] > 1 ||
		    (r->n > 0 && strcmp(r->v[r->n - 1].name, name) >= 0))
			return -1;
		ch = insert(r, name);
		ch->index = get_be(p + 1 + l, 8);
		memcpy(ch->entry, p + 1 + l + 8, 32);
		ch->stopped = p[1 + l + 40];
		p += 1 + l + 8 + 32 + 1;
	}
	*pp = p;
	return 0;
}

json_t *
engine_children(const struct engine *e)
{
	json_t *a = json_array();
	char hex[65];
	size_t i;

	for (i = 0; i < e->children->n; i++) {
		hex_encode(e->children->v[i].entry, 32, hex);
		json_array_append_new(a, json_pack("{s:s,s:I,s:s,s:b}",
		    "name", e->children->v[i].name, "index",
		    (json_int_t)e->children->v[i].index, "entry", hex,
		    "stopped", e->children->v[i].stopped));
	}
	return a;
}

const json_t *
engine_parent(const struct engine *e)
{
	return e->parent;
}

/* ---- requests (the sandbox's host interface) ---- */

/* PARENT.name from a child's short (or already full) name, or NULL. */
static char *
full_name(const struct engine *e, const char *name, int allow_full)
{
	size_t pl = strlen(e->contract);
	char *full;

	if (allow_full && strncmp(name, e->contract, pl) == 0 &&
	    name[pl] == '.')
		name += pl + 1;
	if (!valid_contract_name(name) || strchr(name, '.') != NULL)
		return NULL;
	xasprintf(&full, "%s.%s", e->contract, name);
	if (!valid_contract_name(full)) {
		free(full);
		return NULL;
	}
	return full;
}

/* An op of this call on name, of kind op (NULL: any). */
static const json_t *
this_call(const struct eng_call *c, const char *name, const char *op)
{
	const json_t *o;
	size_t i;

	json_array_foreach(c->ops, i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")),
		    name) == 0 && (op == NULL || strcmp(json_string_value(
		    json_object_get(o, "op")), op) == 0))
			return o;
	return NULL;
}

int
eng_host_deploy(struct sb_ctx *ctx, const json_t *spec, const char **name,
    char *msg, size_t msglen)
{
	static const char fn[] = "System.contracts.deploy";
	struct eng_call *c = ctx->host_arg;
	struct engine *e = c->e;
	struct vms_limits lim;
	const json_t *code, *args;
	const char *k, *sn;
	char err[VMS_ERRLEN], *full = NULL, sha[65], *argtext;
	uint8_t h[32];
	size_t i, n, arglen;
	json_t *v, *op;

	if (c->method == NULL) {
		seterr(msg, msglen, "%s: not available in init", fn);
		return 1;
	}
	if (e->origin == NULL) {
		seterr(msg, msglen, "%s: this contract has no origin", fn);
		return 1;
	}
	if (!json_is_object(spec)) {
		seterr(msg, msglen, "%s: expects a table", fn);
		return 1;
	}
	json_object_foreach((json_t *)(uintptr_t)spec, k, v)
		if (strcmp(k, "name") && strcmp(k, "code") &&
		    strcmp(k, "limits") && strcmp(k, "args")) {
			seterr(msg, msglen, "%s: unknown field \"%.40s\"", fn,
			    k);
			return 1;
		}
	sn = json_string_value(json_object_get(spec, "name"));
	if (sn == NULL || (full = full_name(e, sn, 0)) == NULL) {
		seterr(msg, msglen, "%s: name must be a contract name without "
		    "dots, at most %zu bytes here", fn, strlen(e->contract) <
		    63 ? 63 - strlen(e->contract) : 0);
		return 1;
	}
	if (find(e->children, full) != NULL || this_call(c, full, NULL)) {
		seterr(msg, msglen, "%s: %s exists", fn, full);
		free(full);
		return 1;
	}
	for (i = 0, n = e->children->n; i < json_array_size(c->ops); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(
		    c->ops, i), "op")), "deploy") == 0)
			n++;
	if (n >= e->limits.children) {
		seterr(msg, msglen, "%s: this contract may make %llu "
		    "children (its limit children)", fn,
		    (unsigned long long)e->limits.children);
		free(full);
		return 1;
	}
	code = json_object_get(spec, "code");
	if (!json_is_string(code) || json_string_length(code) >
	    SB_MAX_CODE) {
		seterr(msg, msglen, "%s: code must be a string of at most %d "
		    "bytes", fn, SB_MAX_CODE);
		free(full);
		return 1;
	}
	if (limits_child(&e->limits, json_object_get(spec, "limits"), &lim,
	    err, sizeof(err)) != 0) {
		seterr(msg, msglen, "%s: %s", fn, err);
		free(full);
		return 1;
	}
	args = json_object_get(spec, "args");
	if (args != NULL && !json_is_array(args) && !(json_is_object(args) &&
	    json_object_size(args) == 0)) {
		seterr(msg, msglen, "%s: args must be a list", fn);
		free(full);
		return 1;
	}
	if (args != NULL && json_is_array(args) &&
	    (argtext = json_canonical(args, &arglen)) != NULL) {
		free(argtext);
		if (arglen > lim.args_size) {
			seterr(msg, msglen, "%s: args are %zu bytes, more than "
			    "the child's args_size (%llu)", fn, arglen,
			    (unsigned long long)lim.args_size);
			free(full);
			return 1;
		}
	}
	vms_sha256(json_string_value(code), json_string_length(code), h);
	hex_encode(h, 32, sha);
	op = json_pack("{s:s,s:s,s:O,s:s,s:o,s:o}", "op", "deploy", "name",
	    full, "code", code, "code_sha256", sha, "limits",
	    limits_to_json(&lim), "args", args != NULL && json_is_array(args) ?
	    json_deep_copy(args) : json_array());
	free(full);
	if (op == NULL) {
		seterr(msg, msglen, "%s: cannot record the request", fn);
		return 1;
	}
	json_array_append_new(c->ops, op);
	*name = json_string_value(json_object_get(op, "name"));
	return 0;
}

int
eng_host_stop(struct sb_ctx *ctx, const char *name, char *msg,
    size_t msglen)
{
	static const char fn[] = "System.contracts.stop";
	struct eng_call *c = ctx->host_arg;
	const struct eng_child *ch;
	char *full;

	if (c->method == NULL) {
		seterr(msg, msglen, "%s: not available in init", fn);
		return 1;
	}
	if ((full = full_name(c->e, name, 1)) == NULL ||
	    (ch = find(c->e->children, full)) == NULL) {
		seterr(msg, msglen, "%s: %.80s is not a child of %s", fn, name,
		    c->e->contract);
		free(full);
		return 1;
	}
	if (ch->stopped || this_call(c, full, "stop") != NULL) {
		seterr(msg, msglen, "%s: %s is stopped already", fn, full);
		free(full);
		return 1;
	}
	json_array_append_new(c->ops, json_pack("{s:s,s:s}", "op", "stop",
	    "name", full));
	free(full);
	return 0;
}

json_t *
eng_host_list(struct sb_ctx *ctx)
{
	struct eng_call *c = ctx->host_arg;
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < c->e->children->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:b}", "name",
		    c->e->children->v[i].name, "index",
		    (json_int_t)c->e->children->v[i].index, "stopped",
		    c->e->children->v[i].stopped));
	return a;
}

/* ---- the child's entry 0 ---- */

int
engine_child_entry(const char *parent, const char *parent_origin,
    uint64_t index, uint64_t time_ms, const json_t *op, char **entry,
    size_t *len, char *err, size_t errlen)
{
	struct vms_limits lim;
	struct vms_caller caller;
	struct engine *child = NULL;
	const char *name, *code, *sha, *kind;
	char id[80], why[VMS_ERRLEN], hex[65];
	const json_t *args;
	uint8_t h[32];
	json_t *link;
	int r;

	*entry = NULL;
	kind = json_string_value(json_object_get(op, "op"));
	name = json_string_value(json_object_get(op, "name"));
	code = json_string_value(json_object_get(op, "code"));
	sha = json_string_value(json_object_get(op, "code_sha256"));
	args = json_object_get(op, "args");
	if (kind == NULL || strcmp(kind, "deploy") != 0 || name == NULL ||
	    code == NULL || sha == NULL || !json_is_array(args) ||
	    parent_origin == NULL) {
		seterr(err, errlen, "not a deploy request");
		return -1;
	}
	vms_sha256(code, json_string_length(json_object_get(op, "code")), h);
	hex_encode(h, 32, hex);
	if (strcmp(hex, sha) != 0) {
		seterr(err, errlen, "code_sha256 does not match the code");
		return -1;
	}
	if (limits_from_json(&lim, json_object_get(op, "limits"), why,
	    sizeof(why)) != 0) {
		seterr(err, errlen, "limits: %s", why);
		return -1;
	}
	snprintf(id, sizeof(id), "contract:%s", parent);
	caller.id = id;
	caller.auth = "contract";
	link = json_pack("{s:s,s:I,s:s}", "contract", parent, "index",
	    (json_int_t)index, "origin", parent_origin);
	if (link == NULL) {
		seterr(err, errlen, "bad parent link");
		return -1;
	}
	r = eng_deploy(name, code, json_string_length(json_object_get(op,
	    "code")), &lim, &caller, time_ms, link, args, &child, entry, len,
	    err, errlen);
	json_decref(link);
	engine_free(child);
	return r == 0 ? 0 : -1;
}

int
eng_children_build(struct eng_call *c, char **error)
{
	char err[VMS_ERRLEN], hex[65], *entry;
	merkle_hash h;
	size_t i, len;
	json_t *op;

	json_array_foreach(c->ops, i, op) {
		if (strcmp(json_string_value(json_object_get(op, "op")),
		    "deploy") != 0)
			continue;
		if (engine_child_entry(c->e->contract, c->e->origin,
		    c->e->next, c->time_ms, op, &entry, &len, err,
		    sizeof(err)) != 0) {
			xasprintf(error, "System.contracts.deploy: %s: %s",
			    json_string_value(json_object_get(op, "name")),
			    err);
			return 1;
		}
		merkle_leaf_hash(entry, len, h);
		free(entry);
		hex_encode(h, 32, hex);
		json_object_set_new(op, "entry", json_string(hex));
	}
	return 0;
}
