/*
 * server.h — the daemon's life (server.c): everything main() starts once
 * the command line is parsed, until the orderly exit.
 */
#ifndef VMSD_SERVER_H
#define VMSD_SERVER_H

#include "config.h"

/* Run the daemon; returns its exit status (fatal errors exit). */
int	 server_run(const struct vmsd_flags *);

#endif
