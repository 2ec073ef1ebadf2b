/*
 * benchlib.c — helpers of the benchmark programs (benchlib.h).
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "benchlib.h"
#include "engine.h"
#include "ledger.h"
#include "note.h"
#include "util.h"

static const char guestlist[] =
    "local M = {}\n"
    "function M.init() System.files.mkdir('/rsvps') end\n"
    "function M.RSVP(name, coming, reason)\n"
    "  if type(name) ~= 'string' then error('name must be a string') end\n"
    "  System.files.writeFile('/rsvps/' .. name .. '.json',\n"
    "    System.json.encode({ name = name, coming = coming, reason = reason }))\n"
    "end\n"
    "return M\n";

void
bench_die(const char *what, const char *err)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
	    err);
	exit(1);
}

double
bench_cpu_secs(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

double
bench_usec(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

void
bench_sort_u32(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
}

double
bench_pct_ms(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	return v[(size_t)((double)(n - 1) * p + 0.5)] / 1000.0;
}

double
bench_peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_maxrss / 1024.0;
}

char *
bench_load_example(const char *name)
{
	char path[256], err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "examples/%s", name);
	if (read_file(path, 1 << 20, &buf, &len, err, sizeof(err)) == -1)
		bench_die(err, "run from the repository root");
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	return (char *)buf;
}

double
bench_build_guestlist(const char *dir, const char *keyfile, uint64_t n)
{
	struct vms_caller deployer = { "unix:root", "peercred" };
	struct vms_caller guest = { NULL, "peercred" };
	struct engine_result res;
	struct vms_limits lim;
	struct note_signer *s;
	struct ledger *l;
	struct engine *e;
	char err[VMS_ERRLEN], *entry, *snap, name[32], caller[32];
	uint64_t i, idx, t = 1700000000000ULL, t0 = mono_usec();
	size_t elen;
	json_t *args;

	if (note_keyfile_create(keyfile, err, sizeof(err)) != 0)
		bench_die("keyfile", err);
	if ((s = note_signer_load(keyfile, "bench.example/vmsd/guestlist", err,
	    sizeof(err))) == NULL)
		bench_die("signer", err);
	limits_default(&lim);
	if (engine_deploy("guestlist", guestlist, strlen(guestlist), &lim,
	    &deployer, t, &e, &entry, &elen, err, sizeof(err)) != ENGINE_OK)
		bench_die("deploy", err);
	if (ledger_create(dir, "bench.example/vmsd/guestlist", s, &l, err,
	    sizeof(err)) != 0 || ledger_append(l, entry, elen, &idx, err,
	    sizeof(err)) != 0)
		bench_die(dir, err);
	free(entry);
	for (i = 1; i < n; i++) {
		snprintf(name, sizeof(name), "guest%" PRIu64, i % 5000);
		snprintf(caller, sizeof(caller), "unix:user%" PRIu64, i % 97);
		guest.id = caller;
		args = json_pack("[s,b,s]", name, (int)(i % 3 != 0),
		    i % 3 ? "see you" : "Washing my hair, sorry!");
		memset(&res, 0, sizeof(res));
		if (engine_call(e, "RSVP", args, &guest, t + i, &entry, &elen,
		    &res, err, sizeof(err)) != ENGINE_OK)
			bench_die("call", err);
		json_decref(args);
		engine_result_clear(&res);
		if (ledger_append(l, entry, elen, &idx, err, sizeof(err)) != 0)
			bench_die("append", err);
		free(entry);
		if (i % 1000 == 0 && ledger_commit(l, err, sizeof(err)) != 0)
			bench_die("commit", err);
	}
	if (ledger_commit(l, err, sizeof(err)) != 0)
		bench_die("commit", err);
	xasprintf(&snap, "%s/state.snap", dir);
	if (engine_snapshot_save(e, snap, err, sizeof(err)) != 0)
		bench_die("snapshot", err);
	free(snap);
	engine_free(e);
	ledger_close(l);
	note_signer_free(s);
	return (double)(mono_usec() - t0) / 1e6;
}
