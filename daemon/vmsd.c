/*
 * vmsd.c — the daemon's entry point (placeholder until the daemon lands).
 */
#include <stdio.h>

#include "log.h"

int
main(int argc, char **argv)
{
	log_init("vmsd", LOG_MODE_PLAIN, 0);
	fprintf(stderr, "vmsd: not yet implemented\n");
	return 1;
}
