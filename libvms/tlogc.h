/*
 * tlogc.h — a client of a C2SP tlog-tiles log at a URL prefix (vmsd's
 * http://HOST:PORT/c/NAME, or any static mirror of `vmsctl export`), over
 * httpc.c: the checkpoint, hash tiles, entry bundles. Used by the
 * auditor's tiles source (audit/audit-tiles.c) and vmsctl verify-receipt.
 * It moves bytes and checks their shape (lengths, bundle syntax), never
 * their meaning: its callers verify them against a signed root.
 *
 * A GET is sent once more, on a new connection, when a server closed the
 * kept-alive one as the request went out. A partial tile that is gone is
 * read from its full tile (the spec lets a log delete partial tiles once
 * the full one exists), keeping the first W hashes or entries.
 */
#ifndef VMS_TLOGC_H
#define VMS_TLOGC_H

#include <stddef.h>
#include <stdint.h>

#include "tile.h"

struct httpc;

struct tlogc {
	struct httpc	*h;
	char		*url;		/* the prefix, no trailing '/' */
	int		 transport_failed;
	uint64_t	 requests, bytes;
};

int	tlogc_open(struct tlogc *, const char *url, int timeout_ms,
	    char *err, size_t errlen);
void	tlogc_close(struct tlogc *);

/* The three answers of a fetch. */
enum tlogc_status {
	TLOGC_ERROR = -1,	/* no response (transport): err */
	TLOGC_OK = 0,
	TLOGC_ABSENT = 1	/* not served (HTTP status) or malformed: err */
};

/* The checkpoint note (malloc'd, NUL-terminated, no NUL inside). */
enum tlogc_status tlogc_checkpoint(struct tlogc *, char **note, char *err,
	    size_t errlen);
/* A small text resource such as "vkey" (first line, malloc'd). */
enum tlogc_status tlogc_text(struct tlogc *, const char *name, char **line,
	    char *err, size_t errlen);
/* Hash tile id: id->width hashes into out. */
enum tlogc_status tlogc_tile(struct tlogc *, const struct tile_id *,
	    uint8_t *out, char *err, size_t errlen);
/* tile_fetch_fn over tlogc_tile (ctx: the tlogc). */
int	tlogc_fetch_tile(void *ctx, const struct tile_id *, uint8_t *out,
	    char *err, size_t errlen);
/* Entry bundle id: *body (malloc'd) holds it, e[0..id->width) point into
 * it (e: TILE_WIDTH slots). */
enum tlogc_status tlogc_bundle(struct tlogc *, const struct tile_id *,
	    uint8_t **body, struct tile_entry *e, char *err, size_t errlen);

#endif
