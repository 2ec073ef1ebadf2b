/*
 * tlogproof.h — C2SP tlog-proof (c2sp.org/tlog-proof@v1, files
 * `.tlog-proof`): an offline proof that an entry is in a log, as vmsd's
 * call receipts are saved.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64>        optional; vmsd: the entry's exact leaf bytes
 *   index <decimal>       no leading zeros (but "0")
 *   <base64 hash>         the inclusion proof, leaf's sibling first,
 *   ...                   zero or more lines
 *                         an empty line
 *   <checkpoint note>     verbatim, to the end of the file
 *
 * The parser is a pure function over bytes (no I/O, no allocation it does
 * not return), so it can be fuzzed as is. It checks the syntax only: the
 * note's signature, the proof and the extra data are the caller's to
 * verify (the extra data is not authenticated until its leaf hash is
 * proven included).
 */
#ifndef VMS_TLOGPROOF_H
#define VMS_TLOGPROOF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

#define TLOG_PROOF_HEADER	"c2sp.org/tlog-proof@v1"
#define TLOG_PROOF_MAX		(1u << 20)	/* bytes of a proof file */

struct tlog_proof {
	int		 has_extra;
	uint8_t		*extra;		/* malloc'd (has_extra), may be len 0 */
	size_t		 extralen;
	uint64_t	 index;
	merkle_hash	 proof[MERKLE_MAX_PROOF];
	size_t		 nproof;
	char		*note;		/* malloc'd, NUL-terminated */
	size_t		 notelen;
};

/* 0, or -1 with err naming the line that is wrong. *p is then empty. */
int	 tlog_proof_parse(const uint8_t *buf, size_t len, struct tlog_proof *p,
	    char *err, size_t errlen);
/* The text (malloc'd, NUL-terminated; *len without the NUL). */
char	*tlog_proof_format(const struct tlog_proof *p, size_t *len);
void	 tlog_proof_free(struct tlog_proof *p);

#endif
