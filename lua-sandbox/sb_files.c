/*
 * sb_files.c — System.files: the contract's file tree as seen from Lua.
 * Every change goes through state.c (inside the call's transaction) and
 * is recorded as an op in ctx->writes; reads see the call's own writes.
 * C work is charged to the instruction budget so no call is unbounded.
 */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "canon.h"
#include "sandbox.h"
#include "util.h"

#define COST_CHANGE	300	/* hashing + keystream per changed element */
#define COST_ENTRY	20	/* per readdir entry */
#define COST_HISTORY	1000	/* per ledger entry scanned */
#define COST_REMOVE	(COST_CHANGE / 3)	/* per node rmdir removes */

static const char *
checkpath(lua_State *L, int idx, size_t *len, const char *fn)
{
	char err[VMS_ERRLEN];
	const char *p = luaL_checklstring(L, idx, len);

	if (state_path_check(p, *len, err, sizeof(err)) == -1)
		luaL_error(L, "%s: %s", fn, err);
	return p;
}

static int
fail(lua_State *L, const char *fn, const char *err)
{
	if (strncmp(err, "limit exceeded", 14) == 0)
		return sb_limit(L, "%s", err);
	return luaL_error(L, "%s: %s", fn, err);
}

/*
 * Every op ends up in this call's entry, which can never exceed
 * entry_size: charge a lower bound of the op's encoded size before the
 * change is made (minimal JSON for the op, the path unescaped, base64
 * data, a comma) and fail at the op that cannot fit, rather than
 * recording (and undo-logging) unbounded host memory first.
 */
static void
charge_op(lua_State *L, size_t fixed, size_t pathlen, size_t dlen)
{
	struct sb_ctx *ctx = sb_getctx(L);

	ctx->wbytes += fixed + 1 + pathlen + (dlen + 2) / 3 * 4;
	if (ctx->wbytes > ctx->limits->entry_size)
		sb_limit(L, "limit exceeded: entry_size (%llu)",
		    (unsigned long long)ctx->limits->entry_size);
}

/*
 * Append the op to the entry's writes, as the canonical text of
 * {"data":B64?,"op":OP,"path":P,"recursive":BOOL?} (sorted keys). The
 * path was checked (UTF-8, no control characters): it always encodes,
 * else -1.
 */
static int
record(lua_State *L, const char *op, const char *path, size_t len,
    const char *data, size_t dlen, int recursive)
{
	struct jbuf *w = sb_getctx(L)->writes;

	if (w->len > 0)
		jbuf_lit(w, ",");
	jbuf_lit(w, "{");
	if (data != NULL) {
		jbuf_lit(w, "\"data\":\"");
		jbuf_b64(w, data, dlen);
		jbuf_lit(w, "\",");
	}
	jbuf_lit(w, "\"op\":");
	jbuf_str(w, op, strlen(op));
	jbuf_lit(w, ",\"path\":");
	if (jbuf_str(w, path, len) == -1)
		return -1;
	if (recursive >= 0) {
		if (recursive)
			jbuf_lit(w, ",\"recursive\":true");
		else
			jbuf_lit(w, ",\"recursive\":false");
	}
	jbuf_lit(w, "}");
	return 0;
}

static int
unrecorded(lua_State *L, const char *fn)
{
	return luaL_error(L, "%s: the change cannot be recorded", fn);
}

static int
optbool(lua_State *L, int idx, const char *field)
{
	int r;

	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_getfield(L, idx, field);
	r = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return r;
}

static int
f_mkdir(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN];
	size_t len;
	const char *p;

	sb_check_open(L, "mkdir");
	p = checkpath(L, 1, &len, "mkdir");
	sb_charge(L, COST_CHANGE);
	charge_op(L, sizeof("{\"op\":\"mkdir\",\"path\":\"\"}") - 1, len, 0);
	if (state_mkdir(ctx->state, p, len, ctx->limits->state_size, err,
	    sizeof(err)) == -1)
		return fail(L, "mkdir", err);
	if (record(L, "mkdir", p, len, NULL, 0, -1) == -1)
		return unrecorded(L, "mkdir");
	return 0;
}

static int
f_writefile(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN];
	size_t len, dlen;
	const char *p, *d;

	sb_check_open(L, "writeFile");
	p = checkpath(L, 1, &len, "writeFile");
	if (lua_type(L, 2) != LUA_TSTRING)
		return luaL_error(L, "writeFile: data must be a string (got "
		    "%s)", luaL_typename(L, 2));
	d = lua_tolstring(L, 2, &dlen);
	sb_charge(L, COST_CHANGE + dlen / SB_ALLOC_UNIT);
	charge_op(L, sizeof("{\"data\":\"\",\"op\":\"write\",\"path\":\"\"}") - 1,
	    len, dlen);
	if (state_write(ctx->state, p, len, d, dlen, ctx->limits->file_size,
	    ctx->limits->state_size, err, sizeof(err)) == -1)
		return fail(L, "writeFile", err);
	if (record(L, "write", p, len, d, dlen, -1) == -1)
		return unrecorded(L, "writeFile");
	return 0;
}

static const struct vms_node *
getnode(lua_State *L, const char *fn, const char *p, size_t len, int kind)
{
	const struct vms_node *n = state_lookup(sb_getctx(L)->state, p, len);

	if (n == NULL)
		luaL_error(L, "%s: no such %s: %s", fn,
		    kind == 'd' ? "directory" : "file", p);
	if (kind == 'f' && n->kind == 'd')
		luaL_error(L, "%s: is a directory: %s", fn, p);
	if (kind == 'd' && n->kind != 'd')
		luaL_error(L, "%s: not a directory: %s", fn, p);
	return n;
}

static int
f_readfile(lua_State *L)
{
	const struct vms_node *n;
	size_t len;
	const char *p;

	sb_check_open(L, "readFile");
	p = checkpath(L, 1, &len, "readFile");
	n = getnode(L, "readFile", p, len, 'f');
	sb_charge(L, 10 + n->len / SB_ALLOC_UNIT);
	lua_pushlstring(L, n->data ? (const char *)n->data : "", n->len);
	return 1;
}

struct listing {
	const struct vms_node	**v;
	size_t			  n, cap;
};

static void
list_add(struct listing *l, const struct vms_node *n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = n;
}

static void
list_dir(struct listing *l, const struct vms_node *dir, int recursive)
{
	const struct vms_node **kids = state_sorted_kids(dir);
	size_t i;

	for (i = 0; i < dir->nkids; i++) {
		list_add(l, kids[i]);
		if (recursive && kids[i]->kind == 'd')
			list_dir(l, kids[i], 1);
	}
	free(kids);
}

static void
push_stat(lua_State *L, const struct vms_node *n)
{
	lua_createtable(L, 0, 3);
	lua_pushstring(L, n->kind == 'd' ? "dir" : "file");
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, (lua_Integer)n->len);
	lua_setfield(L, -2, "size");
}

static int
f_readdir(lua_State *L)
{
	struct listing l = { NULL, 0, 0 };
	const struct vms_node *dir;
	struct sb_box *box;
	size_t len, i, skip;
	int recursive, stat;
	const char *p;

	sb_check_open(L, "readdir");
	p = checkpath(L, 1, &len, "readdir");
	recursive = optbool(L, 2, "recursive");
	stat = optbool(L, 2, "stat");
	dir = getnode(L, "readdir", p, len, 'd');
	box = sb_box_json(L);
	list_dir(&l, dir, recursive);
	box->str = (char *)l.v;
	sb_charge(L, 10 + (uint64_t)l.n * COST_ENTRY);
	skip = len == 1 ? 1 : len + 1;
	lua_createtable(L, l.n > 1000000 ? 0 : (int)l.n, 0);
	for (i = 0; i < l.n; i++) {
		const struct vms_node *n = l.v[i];

		if (stat) {
			push_stat(L, n);
			lua_pushstring(L, n->path + skip);
			lua_setfield(L, -2, "name");
		} else
			lua_pushstring(L, n->path + skip);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
f_stat(lua_State *L)
{
	const struct vms_node *n;
	size_t len;
	const char *p;

	sb_check_open(L, "stat");
	p = checkpath(L, 1, &len, "stat");
	sb_charge(L, 10);
	if ((n = state_lookup(sb_getctx(L)->state, p, len)) == NULL) {
		lua_pushnil(L);
		return 1;
	}
	push_stat(L, n);
	return 1;
}

static int
f_unlink(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	char err[VMS_ERRLEN];
	size_t len;
	const char *p;

	sb_check_open(L, "unlink");
	p = checkpath(L, 1, &len, "unlink");
	sb_charge(L, COST_CHANGE);
	charge_op(L, sizeof("{\"op\":\"unlink\",\"path\":\"\"}") - 1, len, 0);
	if (state_unlink(ctx->state, p, len, err, sizeof(err)) == -1)
		return fail(L, "unlink", err);
	if (record(L, "unlink", p, len, NULL, 0, -1) == -1)
		return unrecorded(L, "unlink");
	return 0;
}

/* Nodes under dir (not dir itself), counting no further than max. */
static uint64_t
count_subtree(const struct vms_node *dir, uint64_t max)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < dir->nkids && n < max; i++) {
		n++;
		if (dir->kids[i]->kind == 'd')
			n += count_subtree(dir->kids[i], max - n);
	}
	return n;
}

static int
f_rmdir(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	const struct vms_node *n;
	char err[VMS_ERRLEN];
	uint64_t left;
	size_t len;
	const char *p;
	int recursive;

	sb_check_open(L, "rmdir");
	p = checkpath(L, 1, &len, "rmdir");
	recursive = optbool(L, 2, "recursive");
	sb_charge(L, COST_CHANGE);
	charge_op(L, sizeof("{\"op\":\"rmdir\",\"path\":\"\",\"recursive\":true}") -
	    1, len, 0);
	/*
	 * Charged before the removal (and its undo log): the subtree is
	 * counted, and the count stops as soon as it is over the budget.
	 */
	if (recursive && (n = state_lookup(ctx->state, p, len)) != NULL &&
	    n->kind == 'd') {
		left = ctx->cost < ctx->limits->instructions ?
		    (ctx->limits->instructions - ctx->cost) / COST_REMOVE + 1 : 1;
		sb_charge(L, COST_REMOVE * count_subtree(n, left));
	}
	if (state_rmdir(ctx->state, p, len, recursive, err,
	    sizeof(err)) == -1)
		return fail(L, "rmdir", err);
	if (record(L, "rmdir", p, len, NULL, 0, recursive) == -1)
		return unrecorded(L, "rmdir");
	return 0;
}

static lua_Integer
optint(lua_State *L, int idx, const char *field, lua_Integer dflt)
{
	lua_Integer v;

	if (lua_getfield(L, idx, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return dflt;
	}
	if (!lua_isinteger(L, -1))
		luaL_error(L, "history: %s must be an integer", field);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

static void
push_change(lua_State *L, uint64_t index, const json_t *entry,
    const json_t *op, lua_Integer *out)
{
	const json_t *v;
	size_t b64len;

	lua_createtable(L, 0, 6);
	lua_pushinteger(L, (lua_Integer)index);
	lua_setfield(L, -2, "index");
	if ((v = json_object_get(op, "op")) != NULL && json_is_string(v)) {
		lua_pushstring(L, json_string_value(v));
		lua_setfield(L, -2, "op");
	}
	if ((v = json_object_get(op, "path")) != NULL && json_is_string(v)) {
		lua_pushstring(L, json_string_value(v));
		lua_setfield(L, -2, "path");
	}
	if ((v = json_object_get(op, "data")) != NULL && json_is_string(v)) {
		const char *s = json_string_value(v);

		b64len = json_string_length(v);
		lua_pushinteger(L, (lua_Integer)(b64len / 4 * 3 -
		    (b64len >= 1 && s[b64len - 1] == '=') -
		    (b64len >= 2 && s[b64len - 2] == '=')));
		lua_setfield(L, -2, "size");
	}
	if ((v = json_object_get(op, "recursive")) != NULL) {
		lua_pushboolean(L, json_is_true(v));
		lua_setfield(L, -2, "recursive");
	}
	if ((v = json_object_get(entry, "caller")) != NULL &&
	    json_is_string(v)) {
		lua_pushstring(L, json_string_value(v));
		lua_setfield(L, -2, "caller");
	}
	if ((v = json_object_get(entry, "time")) != NULL &&
	    json_is_integer(v)) {
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		lua_setfield(L, -2, "time");
	}
	lua_rawseti(L, -2, ++*out);
}

static int
f_history(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);
	uint64_t max = ctx->limits->history, i, k;
	lua_Integer start, end, n = 0;
	struct sb_box *box;
	json_error_t jerr;
	int reverse;

	sb_check_open(L, "history");
	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	else {
		lua_settop(L, 0);
		lua_newtable(L);
	}
	end = optint(L, 1, "end", (lua_Integer)ctx->index);
	if (end < 0 || (uint64_t)end > ctx->index)
		end = (lua_Integer)ctx->index;
	start = optint(L, 1, "start", (uint64_t)end > max ?
	    end - (lua_Integer)max : 0);
	if (start < 0)
		start = 0;
	reverse = optbool(L, 1, "reverse");
	if (end > start && (uint64_t)(end - start) > max)
		return luaL_error(L, "history: %lld entries requested, at "
		    "most %llu per call (use start and end)",
		    (long long)(end - start), (unsigned long long)max);
	if (ctx->entry_fn == NULL && end > start)
		return luaL_error(L, "history: the ledger is not available");
	box = sb_box_json(L);
	lua_newtable(L);
	for (k = 0; start < end && k < (uint64_t)(end - start); k++) {
		uint8_t *buf = NULL;
		size_t blen = 0, j, nops;
		const json_t *w;

		i = reverse ? (uint64_t)end - 1 - k : (uint64_t)start + k;
		sb_charge(L, COST_HISTORY);
		if (ctx->entry_fn(ctx->entry_arg, i, &buf, &blen) == -1)
			return luaL_error(L, "history: cannot read entry %llu",
			    (unsigned long long)i);
		box->json = json_loadb((const char *)buf, blen, 0, &jerr);
		free(buf);
		/* parsing is linear in the entry, which can be 64 KiB */
		sb_charge(L, blen / SB_ALLOC_UNIT);
		if (box->json == NULL)
			return luaL_error(L, "history: entry %llu is not JSON",
			    (unsigned long long)i);
		w = json_object_get(box->json, "writes");
		nops = json_array_size(w);
		for (j = 0; j < nops; j++)
			push_change(L, i, box->json,
			    json_array_get(w, reverse ? nops - 1 - j : j), &n);
		json_decref(box->json);
		box->json = NULL;
	}
	return 1;
}

static int
f_getinfo(lua_State *L)
{
	struct sb_ctx *ctx = sb_getctx(L);

	sb_check_open(L, "getInfo");
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)ctx->index);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, (lua_Integer)state_nfiles(ctx->state));
	lua_setfield(L, -2, "files");
	lua_pushinteger(L, (lua_Integer)state_bytes(ctx->state));
	lua_setfield(L, -2, "bytes");
	return 1;
}

void
sb_open_files(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "mkdir", f_mkdir },
		{ "writeFile", f_writefile },
		{ "readFile", f_readfile },
		{ "readdir", f_readdir },
		{ "stat", f_stat },
		{ "unlink", f_unlink },
		{ "rmdir", f_rmdir },
		{ "history", f_history },
		{ "getInfo", f_getinfo },
		{ NULL, NULL }
	};

	luaL_newlib(L, fns);
	sb_readonly(L);
}
