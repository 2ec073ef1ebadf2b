/*
 * receipt.h — what vmsctl's receipt commands share (receipt.c): a call's
 * receipt (the "receipt" object of its reply) as a C2SP tlog-proof whose
 * extra data is the entry's exact leaf bytes, its offline verification,
 * the entry described for humans, and the tiles of a log at a URL for
 * checking a receipt against it (cmd-call.c, cmd-prove.c,
 * cmd-verify-receipt.c).
 */
#ifndef VMSCTL_RECEIPT_H
#define VMSCTL_RECEIPT_H

#include <stdio.h>

#include <jansson.h>

#include "httpc.h"
#include "note.h"
#include "tile.h"
#include "tlogproof.h"

/* The tlog-proof of a receipt object {"index","checkpoint","proof",
 * "entry"} (entry: base64 leaf bytes, becomes the extra line). 0 or -1. */
int	 receipt_from_json(const json_t *rc, struct tlog_proof *p, char *err,
	    size_t errlen);
/* The math of a proof, no signature: the entry hashes to a leaf that the
 * proof leads to the root of the note's checkpoint (parsed, not
 * verified). 0 or -1 with err. */
int	 receipt_check_math(const struct tlog_proof *p, const uint8_t *entry,
	    size_t len, char *err, size_t errlen);
/* Write p to path atomically (0644). */
int	 receipt_save(const char *path, const struct tlog_proof *p, char *err,
	    size_t errlen);

/* The entry for humans: "call RSVP(...) by unix:bob ...", several lines,
 * each prefixed with indent; or as JSON. */
void	 receipt_describe(FILE *, const char *indent, const uint8_t *entry,
	    size_t len);
json_t	*receipt_entry_json(const uint8_t *entry, size_t len);

/* A tlog-tiles log at a URL prefix: its checkpoint, hash tiles (for a
 * tile_reader) and entry bundles. A partial tile that is gone is read
 * from the full one. */
struct tlog_remote {
	struct httpc	*h;
	char		*url;
	int		 transport_failed;
};
int	 remote_open(struct tlog_remote *, const char *url, int timeout_ms,
	    char *err, size_t errlen);
void	 remote_close(struct tlog_remote *);
/* The checkpoint note (malloc'd). */
int	 remote_checkpoint(struct tlog_remote *, char **note, char *err,
	    size_t errlen);
/* tile_fetch_fn (ctx: the remote). */
int	 remote_fetch_tile(void *ctx, const struct tile_id *, uint8_t *out,
	    char *err, size_t errlen);
/* Entry `index` of a tree of `size` from its bundle (malloc'd). */
int	 remote_entry(struct tlog_remote *, uint64_t size, uint64_t index,
	    uint8_t **buf, size_t *len, char *err, size_t errlen);

#endif
