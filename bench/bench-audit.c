/*
 * bench-audit.c — the offline audit's speed: build a 100k-entry guest-list
 * ledger with the engine and ledger libraries (in $VMS_BENCH_DIR, a real
 * disk), then audit it with exactly the code path of `vmsctl audit --dir`
 * (audit_dir_source + audit_run): signature, hashing every entry, deploy
 * check, replay of every entry, state.snap comparison. Reports entries/s
 * and the peak RSS. Goal: 250,000 entries/s per core.
 *
 *   build/bench/bench-audit [ENTRIES]     (default 100000)
 */
#include <sys/resource.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
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

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench-audit: %s: %s\n", what, err);
	exit(1);
}

static double
peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_maxrss / 1024.0;
}

int
main(int argc, char **argv)
{
	struct vms_caller deployer = { "unix:root", "peercred" };
	struct vms_caller guest = { NULL, "peercred" };
	struct engine_result res;
	struct vms_limits lim;
	struct note_signer *s;
	struct ledger *l;
	struct engine *e;
	struct audit_source *src;
	struct audit_opts o;
	struct audit_report r;
	char err[VMS_ERRLEN], *base, *dir, *key, *snap, *entry, name[32];
	char caller[32], *line;
	const char *bd = getenv("VMS_BENCH_DIR");
	uint64_t n = 100000, i, idx, t = 1700000000000ULL, t0, t1;
	size_t elen;
	json_t *args;
	double build_s, audit_s, hash_s;
	int rc;

	if (argc > 1)
		n = strtoull(argv[1], NULL, 10);
	if (sodium_init() < 0)
		die("sodium_init", "failed");
	xasprintf(&base, "%s/bench-audit.XXXXXX", bd ? bd : "build/bench-data");
	if (mkdir_p(bd ? bd : "build/bench-data", 0755) != 0 ||
	    mkdtemp(base) == NULL)
		die(base, "cannot create the benchmark directory");
	xasprintf(&dir, "%s/guestlist", base);
	xasprintf(&key, "%s/key", base);
	xasprintf(&snap, "%s/state.snap", dir);
	if (note_keyfile_create(key, err, sizeof(err)) != 0)
		die("keyfile", err);
	if ((s = note_signer_load(key, "bench.example/vmsd/guestlist", err,
	    sizeof(err))) == NULL)
		die("signer", err);

	/* Build: deploy + n-1 RSVPs, committed in batches of 1000. */
	t0 = mono_usec();
	limits_default(&lim);
	if (engine_deploy("guestlist", guestlist, strlen(guestlist), &lim,
	    &deployer, t, &e, &entry, &elen, err, sizeof(err)) != ENGINE_OK)
		die("deploy", err);
	if (ledger_create(dir, "bench.example/vmsd/guestlist", s, &l, err,
	    sizeof(err)) != 0)
		die("ledger_create", err);
	if (ledger_append(l, entry, elen, &idx, err, sizeof(err)) != 0)
		die("append", err);
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
			die("call", err);
		json_decref(args);
		engine_result_clear(&res);
		if (ledger_append(l, entry, elen, &idx, err, sizeof(err)) != 0)
			die("append", err);
		free(entry);
		if (i % 1000 == 0 && ledger_commit(l, err, sizeof(err)) != 0)
			die("commit", err);
	}
	if (ledger_commit(l, err, sizeof(err)) != 0)
		die("commit", err);
	if (engine_snapshot_save(e, snap, err, sizeof(err)) != 0)
		die("snapshot", err);
	engine_free(e);
	ledger_close(l);
	note_signer_free(s);
	build_s = (double)(mono_usec() - t0) / 1e6;

	/* Checks 1-2 alone (read, hash, root), to separate them from replay. */
	{
		struct merkle_frontier fr;
		const uint8_t *b;
		size_t bl;
		merkle_hash h;

		t1 = mono_usec();
		if (audit_dir_source(dir, &src, err, sizeof(err)) != 0)
			die("audit source", err);
		merkle_frontier_init(&fr);
		for (i = 0; src->entry(src->ctx, i, &b, &bl, err,
		    sizeof(err)) == 0; i++) {
			merkle_leaf_hash(b, bl, h);
			merkle_frontier_push(&fr, h);
		}
		merkle_frontier_root(&fr, h);
		audit_source_free(src);
		hash_s = (double)(mono_usec() - t1) / 1e6;
	}

	/* Audit, exactly as `vmsctl audit --dir` does (no trust store). */
	t1 = mono_usec();
	if (audit_dir_source(dir, &src, err, sizeof(err)) != 0)
		die("audit source", err);
	memset(&o, 0, sizeof(o));
	rc = audit_run(src, &o, &r, NULL, err, sizeof(err));
	audit_source_free(src);
	audit_s = (double)(mono_usec() - t1) / 1e6;
	line = audit_report_line(&r);
	printf("%s\n", line);
	free(line);
	if (rc != 0) {
		fprintf(stderr, "bench-audit: the audit failed (%s)\n",
		    rc < 0 ? err : "verification");
		rm_rf(base);
		return 1;
	}
	printf("ledger: %" PRIu64 " guest-list entries built in %.2f s "
	    "(%.0f entries/s, engine + ledger, commits of 1000)\n", n,
	    build_s, (double)n / build_s);
	printf("audit --dir: %" PRIu64 " entries in %.2f s = %.0f entries/s "
	    "(one core; replay %.2f s; goal 250000)\n", n, audit_s,
	    (double)n / audit_s, r.replay_secs);
	printf("of which reading + hashing the entries: %.3f s = %.0f "
	    "entries/s; the rest is engine_replay\n", hash_s,
	    (double)n / hash_s);
	printf("peak RSS: %.1f MiB\n", peak_rss_mib());
	rm_rf(base);
	free(base);
	free(dir);
	free(key);
	free(snap);
	return 0;
}
