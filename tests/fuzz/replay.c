/*
 * replay.c — a plain main() for a fuzz target, so the corpus runs with any
 * compiler (gcc ASan+UBSan in `make check`, no libFuzzer needed):
 *
 *   build/san/fuzz/fuzz-NAME PATH...
 *
 * Each PATH is a file or a directory (its regular files, sorted, not
 * recursive). Every file is passed once to LLVMFuzzerTestOneInput. Before
 * each one "input: PATH" goes to stderr, so a sanitizer report or an abort
 * can be traced to its file. At the end it prints one line on stdout:
 * "PASS fuzz-NAME: N inputs ..." or "FAIL fuzz-NAME: ..." when an input
 * took longer than FUZZ_SLOW_MS (default 10000) milliseconds: a hang.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

static const char *target;
static unsigned long ninputs, nslow;
static uint64_t slow_ms, worst_ms;
static char worst[4096];

static void
run_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	uint64_t t0, ms;
	char err[VMS_ERRLEN];

	if (read_file(path, (size_t)1 << 30, &buf, &len, err,
	    sizeof(err)) != 0) {
		printf("FAIL %s: %s\n", target, err);
		exit(1);
	}
	fprintf(stderr, "input: %s\n", path);
	t0 = mono_usec();
	/* a copy of exactly len bytes, as libFuzzer passes them, so that
	 * ASan sees a read one past the end */
	{
		uint8_t *exact = xmalloc(len ? len : 1);

		memcpy(exact, buf, len);
		(void)LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	ms = (mono_usec() - t0) / 1000;
	free(buf);
	ninputs++;
	if (ms >= worst_ms) {
		worst_ms = ms;
		snprintf(worst, sizeof(worst), "%s", path);
	}
	if (ms > slow_ms) {
		printf("     %s: %s took %llu ms (limit %llu)\n", target, path,
		    (unsigned long long)ms, (unsigned long long)slow_ms);
		nslow++;
	}
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL, *p;
	size_t n = 0, i;
	DIR *d;

	if (stat(path, &st) != 0) {
		printf("FAIL %s: %s: no such file or directory\n", target,
		    path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		printf("FAIL %s: cannot read %s\n", target, path);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&p, "%s/%s", path, de->d_name);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = p;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	for (i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	const char *s = getenv("FUZZ_SLOW_MS");
	uint64_t t0 = mono_usec();
	int i;

	target = basename(argv[0]);
	slow_ms = s != NULL ? strtoull(s, NULL, 10) : 10000;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIR...\n", target);
		return 2;
	}
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	if (nslow > 0) {
		printf("FAIL %s: %lu of %lu inputs slower than %llu ms\n",
		    target, nslow, ninputs, (unsigned long long)slow_ms);
		return 1;
	}
	printf("PASS %s: %lu inputs in %.2f s (slowest %llu ms: %s)\n", target,
	    ninputs, (double)(mono_usec() - t0) / 1e6,
	    (unsigned long long)worst_ms, worst);
	return 0;
}
