/*
 * ledger-forge.c — test-only tool that writes and tampers with ledgers, so
 * the audit tests can play a dishonest host. Built by the test scripts
 * (tests/tools/forge.sh) against build/san/libvms.a; never installed.
 *
 *   keygen KEYFILE
 *   build DIR KEYFILE ORIGIN CODE.lua CALLS.jsonl [--commit-every N]
 *         [--commit-at S,S,...]   (one commit per entry, or every N
 *         entries and at each size S and at the end; then DIR/state.snap;
 *         CALLS lines: {"method","args","caller"?}; a line {"repeat":N,
 *         ...} stands for N such calls)
 *   rewrite SRC DST KEYFILE [--set-result I JSON] [--set-time I MS]
 *         [--set=FIELD I JSON]   (set any top-level field of entry I)
 *         [--drop I]   (leave entry I out; the later ones move down)
 *         re-create SRC's entries in DST (re-signed, one commit per entry)
 *   raw DIR (--flip I BIT | --swap I J | --delete I | --truncate N)
 *         edit DIR/entries in place (no re-signing)
 *   badsnap DIR METHOD ARGS-JSON [CALLER]
 *         write DIR/state.snap as if the last entry had been METHOD(ARGS)
 *   resign DIR KEYFILE   re-sign DIR/checkpoint's text with KEYFILE
 *   serve DIR KEYFILE SOCKET [--lie-state] [--bad-proof] [--state-ahead]
 *         [--endless-state] [--paged-state] [--moving-state]
 *         [--list-empty] [--log=1..4]
 *         a minimal stand-in for vmsd serving one contract over the
 *         protocol (ping list methods info checkpoint log prove state
 *         call), optionally lying about its state or its proofs, its
 *         state's index (one ahead), its state's pages (never
 *         ending; of 3 files; of 3 files, each after the first at
 *         the next index), its contract list (empty) or its
 *         log pages (1 short then overlapping, 2 too many, 3 skipping,
 *         4 a wrong index); in forge-serve.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "engine.h"
#include "forge.h"
#include "ledger.h"
#include "ledger_int.h"	/* LEDGER_REC_NOTE, ledger_get_be32/put_be32 */
#include "note.h"
#include "canon.h"
#include "util.h"

char ferr[VMS_ERRLEN];

/* An entry, and the commit record (vms-ledger(5)) after it, if any. */
struct rec {
	uint8_t	*buf;
	size_t	 len;
	uint8_t	*note;		/* the whole commit record, or NULL */
	size_t	 nlen;
};

void
die(const char *what)
{
	fprintf(stderr, "ledger-forge: %s: %s\n", what, ferr);
	exit(1);
}

void
diex(const char *msg)
{
	fprintf(stderr, "ledger-forge: %s\n", msg);
	exit(1);
}

static size_t
load_entries(const char *dir, struct rec **out)
{
	char *p;
	uint8_t *b;
	size_t len, off = 0, n = 0;
	struct rec *r = NULL;
	uint32_t l;

	xasprintf(&p, "%s/entries", dir);
	if (read_file(p, (size_t)1 << 34, &b, &len, ferr, sizeof(ferr)) != 0)
		die(p);
	free(p);
	while (off + 4 <= len) {
		l = ledger_get_be32(b + off);
		if ((l & ~LEDGER_REC_NOTE) > len - off - 4)
			break;
		if (l & LEDGER_REC_NOTE) {	/* r[n - 1]'s commit record */
			l &= ~LEDGER_REC_NOTE;
			if (n > 0 && r[n - 1].note == NULL) {
				r[n - 1].note = xmalloc(4 + l);
				memcpy(r[n - 1].note, b + off, 4 + l);
				r[n - 1].nlen = 4 + l;
			}
			off += 4 + l;
			continue;
		}
		r = xrealloc(r, (n + 1) * sizeof(*r));
		r[n].note = NULL;
		r[n].nlen = 0;
		r[n].buf = xmalloc(l + 1);
		memcpy(r[n].buf, b + off + 4, l);
		r[n].buf[l] = '\0';
		r[n].len = l;
		n++;
		off += 4 + l;
	}
	free(b);
	*out = r;
	return n;
}

static void
save_entries(const char *dir, struct rec *r, size_t n)
{
	char *p;
	uint8_t *b = NULL;
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		b = xrealloc(b, len + 4 + r[i].len);
		ledger_put_be32(b + len, (uint32_t)r[i].len);
		memcpy(b + len + 4, r[i].buf, r[i].len);
		len += 4 + r[i].len;
		if (r[i].note != NULL) {
			b = xrealloc(b, len + r[i].nlen);
			memcpy(b + len, r[i].note, r[i].nlen);
			len += r[i].nlen;
		}
	}
	xasprintf(&p, "%s/entries", dir);
	if (write_file_atomic(p, b ? b : (uint8_t *)"", len, 0644, ferr,
	    sizeof(ferr)) != 0)
		die(p);
	free(p);
	free(b);
}

static void
free_entries(struct rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].buf);
		free(r[i].note);
	}
	free(r);
}

char *
origin_of(const char *dir)
{
	struct ledger *l;
	char *o;

	if (ledger_open(dir, NULL, &l, NULL, ferr, sizeof(ferr)) != 0)
		die(dir);
	o = xstrdup(ledger_origin(l));
	ledger_close(l);
	return o;
}

/* Commit after entry count `n` (1-based): every `every` entries and at
 * each size in `at`; with neither, after every entry. */
static int
commit_due(uint64_t n, uint64_t every, const char *at)
{
	const char *p = at;
	char *end;

	if (every != 0 && n % every == 0)
		return 1;
	if (every == 0 && at == NULL)
		return 1;
	while (p != NULL && *p != '\0') {
		if (strtoull(p, &end, 10) == n)
			return 1;
		p = *end == ',' ? end + 1 : NULL;
	}
	return 0;
}

static void
append_maybe_commit(struct ledger *l, const void *buf, size_t len,
    uint64_t every, const char *at)
{
	uint64_t idx;

	if (ledger_append(l, buf, len, &idx, ferr, sizeof(ferr)) != 0)
		die("append");
	if (commit_due(idx + 1, every, at) &&
	    ledger_commit(l, ferr, sizeof(ferr)) != 0)
		die("commit");
}

static int
cmd_build(int argc, char **argv)
{
	const char *dir = argv[0], *keyfile = argv[1], *origin = argv[2];
	struct note_signer *s;
	struct ledger *l;
	struct engine *e;
	struct vms_limits lim;
	struct vms_caller deployer = { "unix:root", "peercred" };
	struct engine_result res;
	json_t *c;
	json_error_t je;
	const char *name = strrchr(origin, '/');
	uint8_t *code;
	size_t codelen, i, elen;
	char *entry, *snap;
	uint64_t t = 1700000000000ULL, every = 0, rep;
	const char *at = NULL;
	int k;

	for (k = 5; k + 1 < argc; k += 2) {
		if (strcmp(argv[k], "--commit-every") == 0)
			every = strtoull(argv[k + 1], NULL, 10);
		else if (strcmp(argv[k], "--commit-at") == 0)
			at = argv[k + 1];
		else
			diex("build: unknown option");
	}
	if (k != argc)
		diex("build: an option needs a value");
	name = name ? name + 1 : origin;
	if ((s = note_signer_load(keyfile, origin, ferr, sizeof(ferr))) == NULL)
		die(keyfile);
	if (read_file(argv[3], 1 << 24, &code, &codelen, ferr,
	    sizeof(ferr)) != 0)
		die(argv[3]);
	limits_default(&lim);
	if (engine_deploy(name, (const char *)code, codelen, &lim, &deployer,
	    t, &e, &entry, &elen, ferr, sizeof(ferr)) != ENGINE_OK)
		die("deploy");
	if (ledger_create(dir, origin, s, &l, ferr, sizeof(ferr)) != 0)
		die(dir);
	append_maybe_commit(l, entry, elen, every, at);
	free(entry);
	free(code);
	{
		FILE *f = fopen(argv[4], "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		if (f == NULL)
			diex("cannot open the calls file");
		i = 0;
		while ((n = getline(&line, &cap, f)) > 0) {
			struct vms_caller who;
			const char *caller;

			if (line[0] == '\n' || line[0] == '#')
				continue;
			if ((c = json_loads(line, 0, &je)) == NULL) {
				fprintf(stderr, "ledger-forge: calls line %zu: "
				    "%s\n", i + 1, je.text);
				exit(1);
			}
			caller = json_string_value(json_object_get(c,
			    "caller"));
			who.id = caller ? caller : "unix:alice";
			who.auth = "peercred";
			rep = json_is_integer(json_object_get(c, "repeat")) ?
			    (uint64_t)json_integer_value(json_object_get(c,
			    "repeat")) : 1;
			for (; rep > 0; rep--) {
				t += 1000;
				memset(&res, 0, sizeof(res));
				if (engine_call(e, json_string_value(
				    json_object_get(c, "method")),
				    json_object_get(c, "args"), &who, t, &entry,
				    &elen, &res, ferr, sizeof(ferr)) !=
				    ENGINE_OK)
					die("call");
				append_maybe_commit(l, entry, elen, every, at);
				free(entry);
				engine_result_clear(&res);
			}
			json_decref(c);
			i++;
		}
		free(line);
		fclose(f);
	}
	if (ledger_commit(l, ferr, sizeof(ferr)) != 0)
		die("commit");
	xasprintf(&snap, "%s/state.snap", dir);
	if (engine_snapshot_save(e, snap, ferr, sizeof(ferr)) != 0)
		die(snap);
	free(snap);
	engine_free(e);
	ledger_close(l);
	note_signer_free(s);
	return 0;
}

static int
cmd_rewrite(int argc, char **argv)
{
	const char *src = argv[0], *dst = argv[1], *keyfile = argv[2];
	struct note_signer *s;
	struct ledger *l;
	struct rec *r;
	char *origin = origin_of(src), *enc;
	size_t n, i, len;
	int k;

	n = load_entries(src, &r);
	for (k = 3; k < argc; k += 3) {
		unsigned long idx;
		json_t *e, *v;

		if (strcmp(argv[k], "--drop") == 0 && k + 1 < argc) {
			idx = strtoul(argv[k + 1], NULL, 10);
			if (idx >= n)
				diex("rewrite: index out of range");
			free(r[idx].buf);
			free(r[idx].note);
			memmove(&r[idx], &r[idx + 1], (n - idx - 1) *
			    sizeof(*r));
			n--;
			k--;	/* one value, not two */
			continue;
		}
		if (k + 2 >= argc)
			diex("rewrite: option needs two values");
		idx = strtoul(argv[k + 1], NULL, 10);
		if (idx >= n)
			diex("rewrite: index out of range");
		if ((e = json_loadb((char *)r[idx].buf, r[idx].len, 0,
		    NULL)) == NULL)
			diex("rewrite: entry is not JSON");
		if ((v = json_loads(argv[k + 2], JSON_DECODE_ANY, NULL)) == NULL)
			diex("rewrite: value is not JSON");
		if (strcmp(argv[k], "--set-result") == 0)
			json_object_set_new(e, "result", v);
		else if (strcmp(argv[k], "--set-time") == 0)
			json_object_set_new(e, "time", v);
		else if (strncmp(argv[k], "--set=", 6) == 0)
			json_object_set_new(e, argv[k] + 6, v);
		else
			diex("rewrite: unknown option");
		enc = json_canonical(e, &len);
		json_decref(e);
		free(r[idx].buf);
		r[idx].buf = (uint8_t *)enc;
		r[idx].len = len;
	}
	if ((s = note_signer_load(keyfile, origin, ferr, sizeof(ferr))) == NULL)
		die(keyfile);
	if (ledger_create(dst, origin, s, &l, ferr, sizeof(ferr)) != 0)
		die(dst);
	for (i = 0; i < n; i++)
		append_maybe_commit(l, r[i].buf, r[i].len, 0, NULL);
	ledger_close(l);
	note_signer_free(s);
	free_entries(r, n);
	free(origin);
	return 0;
}

static int
cmd_raw(int argc, char **argv)
{
	struct rec *r, t;
	size_t n, i, a, b;

	n = load_entries(argv[0], &r);
	if (argc < 3)
		diex("raw: missing arguments");
	a = strtoul(argv[2], NULL, 10);
	if (strcmp(argv[1], "--truncate") == 0) {
		for (i = a; i < n; i++) {
			free(r[i].buf);
			free(r[i].note);
		}
		if (a < n)
			n = a;
	} else if (a >= n)
		diex("raw: index out of range");
	else if (strcmp(argv[1], "--flip") == 0 && argc == 4) {
		b = strtoul(argv[3], NULL, 10);
		if (b / 8 >= r[a].len)
			diex("raw: bit out of range");
		r[a].buf[b / 8] ^= (uint8_t)(1u << (b % 8));
	} else if (strcmp(argv[1], "--swap") == 0 && argc == 4) {
		b = strtoul(argv[3], NULL, 10);
		if (b >= n)
			diex("raw: index out of range");
		t = r[a];	/* the entries move, commit records stay */
		r[a].buf = r[b].buf;
		r[a].len = r[b].len;
		r[b].buf = t.buf;
		r[b].len = t.len;
	} else if (strcmp(argv[1], "--delete") == 0) {
		free(r[a].buf);
		if (a > 0 && r[a - 1].note == NULL) {
			r[a - 1].note = r[a].note;
			r[a - 1].nlen = r[a].nlen;
		} else
			free(r[a].note);
		memmove(r + a, r + a + 1, (n - a - 1) * sizeof(*r));
		n--;
	} else
		diex("raw: unknown operation");
	save_entries(argv[0], r, n);
	free_entries(r, n);
	return 0;
}

static int
cmd_badsnap(int argc, char **argv)
{
	struct vms_caller who = { argc > 3 ? argv[3] : "unix:mallory",
	    "peercred" };
	struct engine_result res;
	struct engine *e;
	struct rec *r;
	json_t *args;
	char *entry, *snap;
	size_t n, i, elen;

	n = load_entries(argv[0], &r);
	if (n < 2)
		diex("badsnap: need at least two entries");
	if (engine_open(r[0].buf, r[0].len, &e, ferr, sizeof(ferr)) != 0)
		die("engine_open");
	for (i = 0; i + 1 < n; i++)
		if (engine_apply(e, r[i].buf, r[i].len, ferr,
		    sizeof(ferr)) != 0)
			die("apply");
	if ((args = json_loads(argv[2], 0, NULL)) == NULL)
		diex("badsnap: args are not JSON");
	memset(&res, 0, sizeof(res));
	if (engine_call(e, argv[1], args, &who, 1, &entry, &elen, &res, ferr,
	    sizeof(ferr)) != ENGINE_OK)
		die("call");
	free(entry);
	engine_result_clear(&res);
	json_decref(args);
	xasprintf(&snap, "%s/state.snap", argv[0]);
	if (engine_snapshot_save(e, snap, ferr, sizeof(ferr)) != 0)
		die(snap);
	free(snap);
	engine_free(e);
	free_entries(r, n);
	return 0;
}

static int
cmd_resign(char **argv)
{
	struct note_signer *s;
	struct checkpoint cp;
	uint8_t *buf;
	size_t len, tl;
	char *p, *note, *sep;

	xasprintf(&p, "%s/checkpoint", argv[0]);
	if (read_file(p, NOTE_MAX_LEN, &buf, &len, ferr, sizeof(ferr)) != 0)
		die(p);
	if ((sep = strstr((char *)buf, "\n\n")) == NULL)
		diex("resign: not a note");
	tl = (size_t)(sep - (char *)buf) + 1;
	if (checkpoint_parse((char *)buf, tl, &cp, ferr, sizeof(ferr)) != 0)
		die("checkpoint");
	if ((s = note_signer_load(argv[1], cp.origin, ferr,
	    sizeof(ferr))) == NULL)
		die(argv[1]);
	if ((note = note_sign(s, (char *)buf, tl, ferr, sizeof(ferr))) == NULL)
		die("sign");
	if (write_file_atomic(p, note, strlen(note), 0644, ferr,
	    sizeof(ferr)) != 0)
		die(p);
	free(note);
	free(buf);
	free(p);
	note_signer_free(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: cannot initialise libsodium\n", argv[0]);
		return 1;
	}
	if (argc >= 3 && strcmp(argv[1], "keygen") == 0) {
		if (note_keyfile_create(argv[2], ferr, sizeof(ferr)) != 0)
			die(argv[2]);
		return 0;
	}
	if (argc >= 7 && strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "rewrite") == 0)
		return cmd_rewrite(argc - 2, argv + 2);
	if (argc >= 4 && strcmp(argv[1], "raw") == 0)
		return cmd_raw(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "badsnap") == 0)
		return cmd_badsnap(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "resign") == 0)
		return cmd_resign(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	fprintf(stderr, "usage: ledger-forge keygen|build|rewrite|raw|badsnap|"
	    "resign|serve ... (see the comment at the top of ledger-forge.c)\n");
	return 2;
}

