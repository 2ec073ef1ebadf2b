/*
 * fuzz.h — what the fuzz targets share (fuzzlib.c). Each
 * tests/fuzz/fuzz-NAME.c is one target: it defines LLVMFuzzerTestOneInput
 * and is linked either with libFuzzer (clang, `make fuzz`, build/fuzz/) or
 * with replay.c, a plain main() that feeds it files (gcc ASan+UBSan,
 * `make check`, build/san/fuzz/). Seeds live in tests/fuzz/corpus/NAME/.
 *
 * A target may abort() when an invariant of the code under test breaks
 * (fuzz_fail): that is a finding, like a sanitizer report. The code under
 * test itself must never crash, assert, hang or allocate without bound on
 * any input.
 */
#ifndef VMS_FUZZ_H
#define VMS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "merkle.h"
#include "note.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant and abort (a finding). */
void	fuzz_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Once per process: quiet logging (errors only). */
void	fuzz_init(void);

/*
 * Sectioned inputs: "@@NAME\n" at the start of the input or after a
 * "\n" begins a section; its body runs to the next "\n@@" (exclusive)
 * or the end. Bytes before the first section are section "" (the
 * preamble). Bodies may hold any bytes. Returns the number of sections
 * (at most max); names are NUL-terminated copies (truncated to 31 bytes).
 */
struct fuzz_section {
	char		 name[32];
	const uint8_t	*data;
	size_t		 len;
};
size_t	fuzz_sections(const uint8_t *data, size_t size,
	    struct fuzz_section *out, size_t max);
/* A section body as a NUL-terminated malloc'd string. */
char   *fuzz_strdup(const struct fuzz_section *);
/* A decimal uint64 at the start of a section body (0 if none). */
uint64_t fuzz_u64(const struct fuzz_section *);

/*
 * The fixed key the seeds are signed with: name FUZZ_ORIGIN, seed bytes
 * 0..31. The hostile host of the ledger and audit targets holds it, as a
 * real host holds its contract's key: it can sign anything.
 */
#define FUZZ_CONTRACT	"fuzz"
#define FUZZ_ORIGIN	"fuzz.example/vmsd/" FUZZ_CONTRACT
const struct note_signer   *fuzz_signer(void);
const struct note_verifier *fuzz_verifier(void);
const char *fuzz_vkey(void);	/* without "\n" */
/* Sign checkpoint text (or any note text) with the fixed key; NULL if
 * the text is not valid note text. malloc'd. */
char   *fuzz_sign(const char *text, size_t len);
/* Sign the checkpoint (FUZZ_ORIGIN, size, root). malloc'd. */
char   *fuzz_sign_checkpoint(uint64_t size, const merkle_hash root);

/*
 * The fixed contract (FUZZ_CODE) the engine targets call and replay, and
 * its deploy entry (made once, at a fixed time, by "unix:fuzz").
 */
extern const char FUZZ_CODE[];
#define FUZZ_TIME	1700000000000ULL
void	fuzz_deploy_entry(const uint8_t **entry, size_t *len);
/* A fresh engine positioned after the deploy entry, as the daemon has it
 * after a restart: engine_open + engine_apply(entry 0). */
struct engine *fuzz_engine(void);

/* A fresh, empty scratch directory for this process (rm -rf'd and made
 * again on each call; under /dev/shm when it exists). */
const char *fuzz_scratch(void);
/* Write a file in dir (creating or truncating it). */
void	fuzz_write(const char *dir, const char *name, const void *data,
	    size_t len);

#endif
