/*
 * vmsd.c — the daemon's entry point: options, then server_run() (server.c).
 * `vmsd --worker ...` is the hidden per-contract worker mode (worker.c).
 * Everything else of the daemon is in build/libdaemon.a, so unit tests
 * link it without this main().
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "jsonmem.h"
#include "log.h"
#include "server.h"
#include "vmsd.h"
#include "vmsd_paths.h"
#include "worker.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: vmsd [-f CONFIG] [-F|--foreground] "
	    "[--state-dir DIR] [--socket PATH]\n"
	    "            [--listen ADDR:PORT] [-t|--check-config] "
	    "[-T|--print-config]\n"
	    "            [-v] [-h|--help] [-V|--version]\n"
	    "vmsd runs in the foreground (it never daemonizes itself; use "
	    "systemd or a\nsupervisor). Default config: %s\n", VMSD_CONFIG);
}

/*
 * -t and -T: load the configuration vmsd would run with (the file, then
 * the flags); -T prints every key with its value on stdout. If vmsd would
 * refuse it: why (the file's line) on stderr, and 1.
 */
static int
check_config(const struct vmsd_flags *flags, int print)
{
	struct vmsd_config c;
	char err[VMS_ERRLEN];
	int rc;

	if (config_load(&c, flags, err, sizeof(err)) != 0) {
		fprintf(stderr, "vmsd: %s\n", err);
		return 1;
	}
	rc = !print || (config_print(&c, stdout) == 0 &&
	    fflush(stdout) == 0) ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "vmsd: cannot write the configuration\n");
	config_free(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground",	no_argument,		NULL, 'F' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "check-config", no_argument,		NULL, 't' },
		{ "print-config", no_argument,		NULL, 'T' },
		{ "state-dir",	required_argument,	NULL, 1 },
		{ "socket",	required_argument,	NULL, 2 },
		{ "listen",	required_argument,	NULL, 3 },
		{ NULL,		0,			NULL, 0 }
	};
	struct vmsd_flags flags;
	int ch, journal, check = 0, print = 0;

	/* jansson's allocator, before any JSON value exists (vmsd charges
	 * a request its decoded size; a worker decodes one per call). */
	jsonmem_install();
	if (argc > 1 && strcmp(argv[1], "--worker") == 0)
		return worker_main(argc, argv);

	journal = getenv("JOURNAL_STREAM") != NULL;
	vmsd_log_syslog = journal || !isatty(STDERR_FILENO);
	log_init("vmsd", vmsd_log_syslog ? LOG_MODE_SYSLOG_PREFIX :
	    LOG_MODE_PLAIN, 0);
	if (vmsd_log_syslog && !journal)
		log_setprefix("vmsd");

	memset(&flags, 0, sizeof(flags));
	flags.config = VMSD_CONFIG;
	while ((ch = getopt_long(argc, argv, "f:FhtTvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			flags.config = optarg;
			flags.config_explicit = 1;
			break;
		case 'F':
			break;	/* always in the foreground */
		case 'v':
			flags.verbose = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'T':
			print = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmsd %s\n", VMSD_VERSION);
			return 0;
		case 1:
			flags.state_dir = optarg;
			break;
		case 2:
			flags.socket = optarg;
			break;
		case 3:
			flags.listen = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	if (check || print)
		return check_config(&flags, print);
	return server_run(&flags);
}
