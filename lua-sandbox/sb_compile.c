/*
 * sb_compile.c — contract source to our own bytecode, once per deploy or
 * engine open: text only (no binary chunks, UTF-8, no NUL), no to-be-closed
 * variables (sb_has_close), compiled in the "C" locale and dumped with
 * lua_dump so every call loads the same chunk.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "sandbox.h"
#include "util.h"

/* Skip what the Lua lexer skips between two tokens: blanks and comments. */
static size_t
skip_blank(const char *s, size_t len, size_t j)
{
	size_t lvl, k;

	for (;;) {
		while (j < len && strchr(" \t\n\r\f\v", s[j]) != NULL &&
		    s[j] != '\0')
			j++;
		if (j + 1 >= len || s[j] != '-' || s[j + 1] != '-')
			return j;
		j += 2;
		/* long comment: --[==[ ... ]==] */
		if (j < len && s[j] == '[') {
			for (k = j + 1, lvl = 0; k < len && s[k] == '='; k++)
				lvl++;
			if (k < len && s[k] == '[') {
				for (k++; k < len; k++) {
					size_t m = k + 1, n = 0;

					if (s[k] != ']')
						continue;
					while (m < len && s[m] == '=')
						m++, n++;
					if (n == lvl && m < len && s[m] == ']')
						break;
				}
				if (k >= len)
					return len;
				j = k + lvl + 2;
				continue;
			}
		}
		while (j < len && s[j] != '\n' && s[j] != '\r')
			j++;
	}
}

/*
 * Does the source contain a to-be-closed attribute ('<' "close" '>' with
 * anything the lexer skips between the tokens: blanks, \f, \v, comments)?
 * Their __close handlers can run while Lua has hooks disabled (closing a
 * dead coroutine), outside the instruction budget, so the attribute is
 * refused wherever it appears (even in strings: harmless).
 */
int
sb_has_close(const char *s, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i++) {
		if (s[i] != '<')
			continue;
		j = skip_blank(s, len, i + 1);
		if (len - j < 5 || memcmp(s + j, "close", 5) != 0)
			continue;
		j = skip_blank(s, len, j + 5);
		if (j < len && s[j] == '>')
			return 1;
	}
	return 0;
}

struct dumpbuf {
	char	*buf;
	size_t	 len, cap;
};

static int
dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	struct dumpbuf *d = ud;

	if (d->len + sz > d->cap) {
		d->cap = (d->len + sz) * 2 + 256;
		d->buf = xrealloc(d->buf, d->cap);
	}
	memcpy(d->buf + d->len, p, sz);
	d->len += sz;
	return 0;
}

int
sb_compile(const char *name, const char *code, size_t len, char **bc,
    size_t *bclen, char *err, size_t errlen)
{
	struct dumpbuf d = { NULL, 0, 0 };
	lua_State *L;
	locale_t oldloc;
	char chunkname[80];
	int r;

	if (len > SB_MAX_CODE) {
		seterr(err, errlen, "code is %zu bytes, more than %d", len,
		    SB_MAX_CODE);
		return -1;
	}
	if (len > 0 && code[0] == '\033') {
		seterr(err, errlen, "binary chunks are not allowed");
		return -1;
	}
	if (memchr(code, '\0', len) != NULL || !sb_valid_utf8(code, len)) {
		seterr(err, errlen, "code is not UTF-8 text");
		return -1;
	}
	if (sb_has_close(code, len)) {
		seterr(err, errlen, "to-be-closed variables (<close>) are not "
		    "allowed");
		return -1;
	}
	if ((L = luaL_newstate()) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	snprintf(chunkname, sizeof(chunkname), "=%s", name);
	oldloc = sb_enter_c_locale();
	r = luaL_loadbufferx(L, code, len, chunkname, "t");
	sb_leave_locale(oldloc);
	if (r != LUA_OK) {
		seterr(err, errlen, "syntax error: %s", lua_tostring(L, -1));
		lua_close(L);
		return -1;
	}
	if (lua_dump(L, dump_writer, &d, 0) != 0 || d.len == 0) {
		free(d.buf);
		lua_close(L);
		seterr(err, errlen, "cannot dump the compiled chunk");
		return -1;
	}
	lua_close(L);
	*bc = d.buf;
	*bclen = d.len;
	return 0;
}
