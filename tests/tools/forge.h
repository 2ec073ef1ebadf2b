/*
 * forge.h — what the two files of the test-only ledger-forge tool share:
 * ledger-forge.c (main, and the commands that write and tamper with
 * ledgers) and forge-serve.c (`serve`, a vmsd stand-in that can lie).
 */
#ifndef VMS_FORGE_H
#define VMS_FORGE_H

#include "util.h"	/* VMS_ERRLEN */

extern char ferr[VMS_ERRLEN];	/* what the last library call said */

/* Print "ledger-forge: WHAT: ferr" (die) or "ledger-forge: MSG" (diex)
 * and exit 1. */
void	 die(const char *) __attribute__((noreturn));
void	 diex(const char *) __attribute__((noreturn));
char	*origin_of(const char *);	/* the ledger in DIR's origin */
int	 cmd_serve(int, char **);	/* serve DIR KEYFILE SOCKET [...] */

#endif
