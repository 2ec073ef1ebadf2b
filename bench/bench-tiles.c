/*
 * bench-tiles.c — the two halves of bench/tiles.sh (which starts vmsd and
 * nginx around them):
 *
 *   bench-tiles --build DIR KEYFILE N
 *       a guest-list ledger of N entries (deploy + N-1 RSVPs, the same
 *       contract and calls as bench-audit, commits of 1000) in DIR,
 *       signed with a new key written to KEYFILE, and its state.snap:
 *       what a vmsd state directory holds for a contract
 *   bench-tiles --get URL SIZE KIND [--seconds S]
 *       GET tiles of the tree of SIZE entries from the log at URL, one
 *       keep-alive connection (libvms/httpc.c), closed loop, for S
 *       seconds (default 3): KIND is "tiles" (random full level-0 hash
 *       tiles), "bundles" (random full entry bundles) or "checkpoint".
 *       Prints requests/s, MB/s and the client's CPU per request; every
 *       response must be 200 with the right length.
 *
 * Without arguments (bench/run runs every bench-*) it only points at
 * bench/tiles.sh.
 */
#include <sys/resource.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "benchlib.h"
#include "engine.h"
#include "httpc.h"
#include "ledger.h"
#include "note.h"
#include "tile.h"
#include "util.h"

static int
build(const char *dir, const char *keyfile, uint64_t n)
{
	double secs = bench_build_guestlist(dir, keyfile, n);

	printf("built %" PRIu64 " entries in %.2f s\n", n, secs);
	return 0;
}

static double
cpu_usec(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static int
get(const char *url, uint64_t size, const char *kind, double secs)
{
	struct httpc_opts o = { 10000, NULL };
	struct httpc_resp r;
	struct httpc *h;
	struct tile_id t;
	char err[VMS_ERRLEN], path[TILE_PATH_MAX + 1];
	uint64_t n = 0, bytes = 0, ntiles = size / TILE_WIDTH, t0, el;
	double c0, c1;
	int mode = strcmp(kind, "tiles") == 0 ? 0 :
	    strcmp(kind, "bundles") == 0 ? 1 : 2;

	if (mode < 2 && ntiles == 0)
		bench_die(kind, "the tree has no full tile");
	if (httpc_open(url, &o, &h, err, sizeof(err)) != 0)
		bench_die(url, err);
	path[0] = '/';
	c0 = cpu_usec();
	t0 = mono_usec();
	do {
		if (mode == 2)
			snprintf(path + 1, sizeof(path) - 1, "checkpoint");
		else {
			t.level = mode == 0 ? 0 : TILE_ENTRIES;
			t.index = randombytes_uniform((uint32_t)ntiles);
			t.width = TILE_WIDTH;
			tile_path(&t, path + 1, sizeof(path) - 1);
		}
		if (httpc_request(h, "GET", path, NULL, NULL, 0, &r, err,
		    sizeof(err)) != 0)
			bench_die(path, err);
		if (r.status != 200 || (mode == 0 && r.len != TILE_BYTES)) {
			snprintf(err, sizeof(err), "HTTP %d, %zu bytes", r.status,
			    r.len);
			bench_die(path, err);
		}
		bytes += r.len;
		httpc_resp_free(&r);
		n++;
	} while ((el = mono_usec() - t0) < (uint64_t)(secs * 1e6));
	c1 = cpu_usec();
	httpc_close(h);
	printf("%-10s %8.0f requests/s  %7.1f MB/s  (%" PRIu64 " in %.2f s, "
	    "%.0f bytes each; client CPU %.0f us/request)\n", kind,
	    (double)n / ((double)el / 1e6), (double)bytes / 1e6 /
	    ((double)el / 1e6), n, (double)el / 1e6, (double)bytes /
	    (double)n, (c1 - c0) / (double)n);
	return 0;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		bench_die("sodium_init", "failed");
	if (argc == 1) {
		printf("bench-tiles: needs a running vmsd; see bench/tiles.sh "
		    "below\n");
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--build") == 0)
		return build(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if ((argc == 5 || argc == 7) && strcmp(argv[1], "--get") == 0)
		return get(argv[2], strtoull(argv[3], NULL, 10), argv[4],
		    argc == 7 ? strtod(argv[6], NULL) : 3.0);
	fprintf(stderr, "usage: bench-tiles --build DIR KEYFILE N | --get URL "
	    "SIZE tiles|bundles|checkpoint [--seconds S]\n");
	return 2;
}
