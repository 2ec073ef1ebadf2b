/*
 * audit-state.c — check 5: the state the replay reached against the
 * host's, file by file (path, type, size, SHA-256) and by state root: the
 * dump the host serves at the end, and the host's state.snap (a ledger
 * directory's) once the replay reaches its index.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_int.h"
#include "engine.h"
#include "util.h"

/*
 * Compare two state dumps {"root","files":[{path,type,size,sha256}]}.
 * Returns 0 if equal, else -1 naming the first differing path.
 */
int
audit_compare_dumps(const json_t *host, const json_t *mine, char *why,
    size_t whylen)
{
	const json_t *hf = json_object_get(host, "files");
	const json_t *mf = json_object_get(mine, "files");
	const char *hr = json_string_value(json_object_get(host, "root"));
	const char *mr = json_string_value(json_object_get(mine, "root"));
	size_t i = 0, j = 0, nh, nm;

	if (!json_is_array(hf) || !json_is_array(mf) || hr == NULL) {
		seterr(why, whylen, "the host's state dump is malformed");
		return -1;
	}
	nh = json_array_size(hf);
	nm = json_array_size(mf);
	while (i < nh || j < nm) {
		const json_t *a = json_array_get(hf, i), *b = json_array_get(mf, j);
		const char *pa = a ? json_string_value(json_object_get(a, "path")) : NULL;
		const char *pb = b ? json_string_value(json_object_get(b, "path")) : NULL;
		int c;

		if (a != NULL && pa == NULL) {
			seterr(why, whylen, "the host's state dump is malformed");
			return -1;
		}
		if (pa == NULL)
			c = 1;
		else if (pb == NULL)
			c = -1;
		else
			c = strcmp(pa, pb);
		if (c < 0) {
			seterr(why, whylen, "state differs at %s: present on "
			    "the host, absent in the replay", pa);
			return -1;
		}
		if (c > 0) {
			seterr(why, whylen, "state differs at %s: absent on "
			    "the host, present in the replay", pb);
			return -1;
		}
		if (!json_equal(json_object_get(a, "type"),
		    json_object_get(b, "type")) ||
		    !json_equal(json_object_get(a, "size"),
		    json_object_get(b, "size")) ||
		    !json_equal(json_object_get(a, "sha256"),
		    json_object_get(b, "sha256"))) {
			const char *ha = json_string_value(json_object_get(a,
			    "sha256"));
			const char *hb = json_string_value(json_object_get(b,
			    "sha256"));

			seterr(why, whylen, "state differs at %s: host has "
			    "sha256 %.16s… (%" JSON_INTEGER_FORMAT " bytes), "
			    "replay has %.16s… (%" JSON_INTEGER_FORMAT
			    " bytes)", pa, ha ? ha : "-",
			    json_integer_value(json_object_get(a, "size")),
			    hb ? hb : "-",
			    json_integer_value(json_object_get(b, "size")));
			return -1;
		}
		i++;
		j++;
	}
	if (mr != NULL && strcmp(hr, mr) != 0) {
		seterr(why, whylen, "state root differs: host %s, replay %s",
		    hr, mr);
		return -1;
	}
	return 0;
}

/* The replayed state of eng against the host's snapshot: 0 if they are
 * the same, else -1 (why says where they differ). */
int
audit_compare_snapshot(const struct audit *a, const struct engine *eng,
    char *why, size_t whylen)
{
	json_t *h, *m;
	merkle_hash hr, mr;
	int rc = 0;

	/* The same files and the same root: equal (the common case, at a
	 * lookup per file); else the dumps name the first difference. */
	engine_state_root(a->snap, hr);
	engine_state_root(eng, mr);
	if (memcmp(hr, mr, sizeof(hr)) == 0 && engine_state_same(a->snap, eng))
		return 0;
	h = engine_state_dump(a->snap);
	m = engine_state_dump(eng);
	if (h == NULL || m == NULL) {
		seterr(why, whylen, "cannot dump the state");
		rc = -1;
	} else if (audit_compare_dumps(h, m, why, whylen) != 0)
		rc = -1;
	json_decref(h);
	json_decref(m);
	return rc;
}

/* Check 5 against a snapshot engine loaded from the source's state.snap. */
void
audit_check_snapshot(struct audit *a)
{
	char why[1024];

	if (a->snap == NULL || a->snap_done || a->bad_index != AUDIT_NO_INDEX)
		return;
	if (engine_next_index(a->eng) != a->snap_index)
		return;
	if (audit_compare_snapshot(a, a->eng, why, sizeof(why)) != 0) {
		a->bad_index = a->snap_index ? a->snap_index - 1 : 0;
		a->bad_check = 5;
		if (strcmp(why, "cannot dump the state") == 0)
			snprintf(a->bad_reason, sizeof(a->bad_reason), "%s",
			    why);
		else
			snprintf(a->bad_reason, sizeof(a->bad_reason),
			    "state.snap (host state after entry %" PRIu64 ") "
			    "does not match the replay: %s", a->bad_index, why);
	}
	a->snap_done = 1;
}
