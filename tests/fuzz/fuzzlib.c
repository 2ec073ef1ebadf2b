/*
 * fuzzlib.c — helpers shared by the fuzz targets (see fuzz.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ INVARIANT BROKEN: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void
fuzz_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		fuzz_fail("sodium_init");
	log_init("fuzz", LOG_MODE_PLAIN, 0);
	if (getenv("FUZZ_VERBOSE") == NULL)
		log_setlevel(LOG_ERR);
}

size_t
fuzz_sections(const uint8_t *data, size_t size, struct fuzz_section *out,
    size_t max)
{
	size_t n = 0, pos = 0, start, k;
	const uint8_t *nl;

	/* the preamble: up to the first section header */
	if (size >= 2 && data[0] == '@' && data[1] == '@')
		start = 0;
	else {
		const uint8_t *h = memmem(data, size, "\n@@", 3);

		start = h ? (size_t)(h - data) + 1 : size;
		if (max > 0) {
			out[0].name[0] = '\0';
			out[0].data = data;
			out[0].len = h ? (size_t)(h - data) : size;
			n = 1;
		}
	}
	pos = start;
	while (pos + 2 <= size && n < max) {
		const uint8_t *body, *next;

		/* data[pos..] starts with "@@" */
		nl = memchr(data + pos + 2, '\n', size - pos - 2);
		k = (nl ? (size_t)(nl - data) : size) - pos - 2;
		if (k > sizeof(out[n].name) - 1)
			k = sizeof(out[n].name) - 1;
		memcpy(out[n].name, data + pos + 2, k);
		out[n].name[k] = '\0';
		body = nl ? nl + 1 : data + size;
		next = memmem(body, (size_t)(data + size - body), "\n@@", 3);
		out[n].data = body;
		out[n].len = (size_t)((next ? next : data + size) - body);
		n++;
		if (next == NULL)
			break;
		pos = (size_t)(next - data) + 1;
	}
	return n;
}

char *
fuzz_strdup(const struct fuzz_section *s)
{
	char *p = xmalloc(s->len + 1);

	memcpy(p, s->data, s->len);
	p[s->len] = '\0';
	return p;
}

uint64_t
fuzz_u64(const struct fuzz_section *s)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < s->len && i < 20 && s->data[i] >= '0' &&
	    s->data[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s->data[i] - '0');
	return v;
}

/* ---- the fixed key ---- */

static struct note_signer *signer;
static struct note_verifier verifier;
static char *vkey;

static void
key_init(void)
{
	uint8_t seed[32];
	size_t i;

	if (signer != NULL)
		return;
	fuzz_init();
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)i;
	if ((signer = note_signer_new(FUZZ_ORIGIN, seed)) == NULL)
		fuzz_fail("note_signer_new");
	note_verifier_from_signer(signer, &verifier);
	vkey = note_vkey_format(&verifier);
}

const struct note_signer *
fuzz_signer(void)
{
	key_init();
	return signer;
}

const struct note_verifier *
fuzz_verifier(void)
{
	key_init();
	return &verifier;
}

const char *
fuzz_vkey(void)
{
	key_init();
	return vkey;
}

char *
fuzz_sign(const char *text, size_t len)
{
	char err[VMS_ERRLEN];

	key_init();
	return note_sign(signer, text, len, err, sizeof(err));
}

char *
fuzz_sign_checkpoint(uint64_t size, const merkle_hash root)
{
	struct checkpoint cp;
	char *text, *note;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", FUZZ_ORIGIN);
	cp.size = size;
	memcpy(cp.root, root, MERKLE_HASH_LEN);
	text = checkpoint_format(&cp);
	note = fuzz_sign(text, strlen(text));
	free(text);
	if (note == NULL)
		fuzz_fail("cannot sign a checkpoint");
	return note;
}

/* ---- the fixed contract ---- */

const char FUZZ_CODE[] =
    "-- the fuzz targets' contract: JSON in and out, files, history\n"
    "local M = {}\n"
    "function M.init() System.files.mkdir('/d') end\n"
    "function M.id(x) return x end\n"
    "function M.all(...) return {...} end\n"
    "function M.dec(s) return System.json.decode(s) end\n"
    "function M.enc(x) return System.json.encode(x) end\n"
    "function M.rt(s)\n"
    "  return System.json.decode(System.json.encode(System.json.decode(s)))\n"
    "end\n"
    "function M.put(p, s) System.files.writeFile(p, s) return #s end\n"
    "function M.get(p) return System.files.readFile(p) end\n"
    "function M.rm(p) System.files.unlink(p) end\n"
    "function M.mkdir(p) System.files.mkdir(p) end\n"
    "function M.rmdir(p, r) System.files.rmdir(p, r) end\n"
    "function M.ls(p) return System.files.readdir(p) end\n"
    "function M.hist(t) return System.files.history(t) end\n"
    "function M.fail(m) error(m) end\n"
    "return M\n";

static char *entry0;
static size_t entry0len;

void
fuzz_deploy_entry(const uint8_t **entry, size_t *len)
{
	struct vms_caller c = { "unix:fuzz", "peercred" };
	struct engine *e;
	char err[VMS_ERRLEN];

	if (entry0 == NULL) {
		fuzz_init();
		if (engine_deploy(FUZZ_CONTRACT, FUZZ_CODE, strlen(FUZZ_CODE),
		    NULL, &c, FUZZ_TIME, &e, &entry0, &entry0len, err,
		    sizeof(err)) != ENGINE_OK)
			fuzz_fail("deploy: %s", err);
		engine_free(e);
	}
	*entry = (const uint8_t *)entry0;
	*len = entry0len;
}

struct engine *
fuzz_engine(void)
{
	const uint8_t *e0;
	struct engine *e;
	char err[VMS_ERRLEN];
	size_t len;

	fuzz_deploy_entry(&e0, &len);
	if (engine_open(e0, len, &e, err, sizeof(err)) != 0 ||
	    engine_apply(e, e0, len, err, sizeof(err)) != 0)
		fuzz_fail("engine from the deploy entry: %s", err);
	return e;
}

/* ---- files ---- */

static char scratch[128];

static void
scratch_rm(void)
{
	(void)rm_rf(scratch);
}

const char *
fuzz_scratch(void)
{
	char *dir = scratch;

	if (dir[0] == '\0') {
		struct stat st;
		const char *base = stat("/dev/shm", &st) == 0 &&
		    S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ?
		    "/dev/shm" : "/tmp";

		snprintf(dir, sizeof(scratch), "%s/vmsd-fuzz.%ld", base,
		    (long)getpid());
		atexit(scratch_rm);
	}
	if (rm_rf(dir) != 0 || mkdir(dir, 0700) != 0)
		fuzz_fail("scratch directory %s: %s", dir, strerror(errno));
	return dir;
}

void
fuzz_write(const char *dir, const char *name, const void *data, size_t len)
{
	char *p;
	int fd;

	xasprintf(&p, "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, len) != 0 || close(fd) != 0)
		fuzz_fail("write %s: %s", p, strerror(errno));
	free(p);
}
