/*
 * vmsctl.c — the CLI's entry point (placeholder until the CLI lands).
 */
#include <stdio.h>

#include "log.h"

int
main(int argc, char **argv)
{
	log_init("vmsctl", LOG_MODE_PLAIN, 0);
	fprintf(stderr, "vmsctl: not yet implemented\n");
	return 2;
}
