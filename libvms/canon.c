/*
 * canon.c — the canonical JSON encoding (canon.h).
 */
#include <stdlib.h>
#include <string.h>

#include "canon.h"

char *
json_canonical(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_FLAGS_CANON | JSON_ENCODE_ANY);

	if (s == NULL)
		return NULL;
	if (len)
		*len = strlen(s);
	return s;
}
