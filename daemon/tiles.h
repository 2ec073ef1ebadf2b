/*
 * tiles.h — each contract's ledger as a C2SP tlog-tiles log on the HTTP
 * port (tiles.c): GET /c/NAME/checkpoint, /c/NAME/tile/L/N[.p/W],
 * /c/NAME/tile/entries/N[.p/W] and /c/NAME/vkey, read from a read-only
 * ledger handle cached per contract. See vms-ledger(5) and vmsd(8).
 */
#ifndef VMSD_TILES_H
#define VMSD_TILES_H

/* Register the /c/ route (before or after the port is bound). */
void	tiles_init(void);
/* Close every cached ledger handle. */
void	tiles_free(void);

#endif
