/*
 * intent.h — crash-atomic admin operations. Installing a contract's new
 * ledger (deploy, replace) or removing one moves a directory and two
 * files (the ledger, its key, its signed head) across contracts/, keys/
 * and removed/: more than one rename can do at once. Before the first
 * step the operation's intent is written durably to
 * <state>/intents/NAME.intent; every step is idempotent and checked
 * against the ledger's vkey, so that an operation interrupted at any
 * point (vmsd killed, power lost) is rolled forward by the next start,
 * and the contract is then either fully old or fully new: listed, its
 * ledger beside its own key. Without an intent, leftovers of a deploy
 * that had not finished are removed (rolled back).
 *
 * Files (relative to the state directory), for contract NAME:
 *   contracts/.deploy-NAME, keys/.deploy-NAME.key, keys/.deploy-NAME.head
 *            a new ledger, its key and signed head, built by a deploy
 *            worker (admin.c) and complete before the intent is written
 *   contracts/.purge-NAME   a ledger being purged
 *   intents/NAME.intent     {"op":"install","name":N,"vkey":V,
 *                            "removed":P|null} or
 *                           {"op":"remove","name":N,"vkey":V|null,
 *                            "removed":P|null}  (null: purge)
 */
#ifndef VMSD_INTENT_H
#define VMSD_INTENT_H

#include <stddef.h>

/*
 * Install the new ledger of NAME (vkey: its verifier key, one line) from
 * the .deploy- files, moving any other ledger of that name to removed/
 * (*removed: where, malloc'd, or NULL if there was none). 0 done; -1
 * (err) nothing was changed; 1 (err) interrupted after its intent was
 * written: the next start completes it.
 */
int	intent_install(const char *name, const char *vkey, char **removed,
	    char *err, size_t errlen);
/* Remove NAME's ledger (vkey, if known, guards it) to removed/ (*removed)
 * or purge it, and its key and signed head. As intent_install. */
int	intent_remove(const char *name, const char *vkey, int purge,
	    char **removed, char *err, size_t errlen);
/* At startup, before the contracts are loaded: roll forward every
 * interrupted operation, then remove the leftovers of unfinished
 * deploys and purges. -1 (err) if a directory cannot be read. */
int	intent_recover(char *err, size_t errlen);

#endif
