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

#endif
