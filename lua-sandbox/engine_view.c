/*
 * engine_view.c — read-only views of a contract's state for the
 * daemon's read methods and the auditor: engine_read, engine_ls,
 * engine_state_dump, engine_state_digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "sha256.h"
#include "util.h"

int
engine_read(const struct engine *e, const char *path, uint8_t **data,
    size_t *len, char *err, size_t errlen)
{
	const struct vms_node *n;

	if (state_path_check(path, strlen(path), err, errlen) == -1)
		return -1;
	if ((n = state_lookup(e->state, path, strlen(path))) == NULL) {
		seterr(err, errlen, "no such file: %s", path);
		return -1;
	}
	if (n->kind != 'f') {
		seterr(err, errlen, "is a directory: %s", path);
		return -1;
	}
	*data = xmalloc(n->len ? n->len : 1);
	if (n->len)
		memcpy(*data, n->data, n->len);
	*len = n->len;
	return 0;
}

static void
ls_dir(json_t *out, const struct vms_node *dir, size_t skip, int recursive)
{
	const struct vms_node **kids = state_sorted_kids(dir);
	size_t i;

	for (i = 0; i < dir->nkids; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name",
		    json_string(kids[i]->path + skip));
		json_object_set_new(o, "type", json_string(
		    kids[i]->kind == 'd' ? "dir" : "file"));
		json_object_set_new(o, "size",
		    json_integer((json_int_t)kids[i]->len));
		json_array_append_new(out, o);
		if (recursive && kids[i]->kind == 'd')
			ls_dir(out, kids[i], skip, 1);
	}
	free(kids);
}

json_t *
engine_ls(const struct engine *e, const char *path, int recursive,
    char *err, size_t errlen)
{
	const struct vms_node *n;
	size_t len = strlen(path);
	json_t *out;

	if (state_path_check(path, len, err, errlen) == -1)
		return NULL;
	if ((n = state_lookup(e->state, path, len)) == NULL) {
		seterr(err, errlen, "no such directory: %s", path);
		return NULL;
	}
	if (n->kind != 'd') {
		seterr(err, errlen, "not a directory: %s", path);
		return NULL;
	}
	out = json_array();
	ls_dir(out, n, len == 1 ? 1 : len + 1, recursive);
	return out;
}

static size_t
count_dir(const struct vms_node *dir, int recursive)
{
	size_t i, n = dir->nkids;

	for (i = 0; recursive && i < dir->nkids; i++)
		if (dir->kids[i]->kind == 'd')
			n += count_dir(dir->kids[i], 1);
	return n;
}

size_t
engine_ls_count(const struct engine *e, const char *path, int recursive)
{
	const struct vms_node *n = state_lookup(e->state, path, strlen(path));

	if (n == NULL || n->kind != 'd')
		return 0;
	if (recursive && n == state_rootdir(e->state))
		return state_count(e->state);
	return count_dir(n, recursive);
}

size_t
engine_state_count(const struct engine *e)
{
	return state_count(e->state);
}

json_t *
engine_state_dump(const struct engine *e)
{
	return engine_state_page(e, NULL, 0, 0);
}

/* A file's text in a dump, about: its path and the rest of
 * {"path":"","type":"file","size":N,"sha256":"<64>"}, */
#define DUMP_FILE_BYTES	110

json_t *
engine_state_page(const struct engine *e, const char *after, size_t limit,
    size_t max_bytes)
{
	const struct vms_node **v;
	json_t *o = json_object(), *files = json_array();
	char hex[65];
	size_t n, i, bytes = 0;
	int more;

	eng_root_hex(e, hex);
	json_object_set_new(o, "root", json_string(hex));
	v = state_page(e->state, after, limit, &n, &more);
	for (i = 0; i < n; i++) {
		json_t *f;

		if (max_bytes > 0 && i > 0 && bytes >= max_bytes) {
			more = 1;
			n = i;
			break;
		}
		bytes += v[i]->pathlen + DUMP_FILE_BYTES;
		f = json_object();

		json_object_set_new(f, "path", json_string(v[i]->path));
		json_object_set_new(f, "type", json_string(v[i]->kind == 'd' ?
		    "dir" : "file"));
		json_object_set_new(f, "size",
		    json_integer((json_int_t)v[i]->len));
		hex_encode(v[i]->sha, 32, hex);
		json_object_set_new(f, "sha256", json_string(hex));
		json_array_append_new(files, f);
	}
	json_object_set_new(o, "files", files);
	if (more && n > 0)
		json_object_set_new(o, "next", json_string(v[n - 1]->path));
	free(v);
	return o;
}

struct engine_file *
engine_state_files(const struct engine *e, size_t *n)
{
	const struct vms_node **v = state_all_sorted(e->state, n);
	struct engine_file *f = xcalloc(*n + 1, sizeof(*f));
	size_t i;

	for (i = 0; i < *n; i++) {
		f[i].path = v[i]->path;
		f[i].dir = v[i]->kind == 'd';
		f[i].size = v[i]->len;
		f[i].sha256 = v[i]->sha;
	}
	free(v);
	return f;
}

int
engine_state_same(const struct engine *a, const struct engine *b)
{
	return state_same(a->state, b->state);
}

void
engine_state_digest(const struct engine *e, merkle_hash out)
{
	const struct vms_node **v;
	struct vms_sha256 h;
	uint8_t len[8], kind;
	size_t n, i;
	int k;

	v = state_all_sorted(e->state, &n);
	vms_sha256_init(&h);
	vms_sha256_update(&h, "vms/state-digest/v1", 19);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 8; k++)
			len[k] = (uint8_t)((uint64_t)v[i]->pathlen >>
			    (56 - 8 * k));
		kind = (uint8_t)v[i]->kind;
		vms_sha256_update(&h, &kind, 1);
		vms_sha256_update(&h, len, 8);
		vms_sha256_update(&h, v[i]->path, v[i]->pathlen);
		vms_sha256_update(&h, v[i]->sha, 32);
	}
	vms_sha256_final(&h, out);
	free(v);
}
