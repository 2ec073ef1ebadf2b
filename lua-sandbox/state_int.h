/*
 * state_int.h — what state.c and state_list.c share: the state's own
 * structure (the path hash table, the root's lanes and their cache, the
 * undo log). Nothing else includes it.
 *
 *   state.c        the tree, its changes, transactions and root
 *   state_list.c   the tree listed in order; two trees compared
 */
#ifndef VMS_STATE_INT_H
#define VMS_STATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "lthash.h"
#include "state.h"

enum undo_kind { U_CREATED, U_REPLACED, U_REMOVED };

struct undo {
	enum undo_kind	 kind;
	struct vms_node	*node;
	uint8_t		*olddata;
	size_t		 oldlen;
	uint8_t		 oldsha[32];
};

struct rootcache {
	uint64_t	 gen;
	int		 valid;
	uint8_t		 root[32];
};

_Static_assert(STATE_LANES == LTHASH_LANES, "the root's lanes are lthash's");

struct vms_state {
	struct vms_node	**buckets;
	size_t		 nbuckets;
	size_t		 nnodes;	/* including "/" */
	uint8_t		 hkey[crypto_shorthash_KEYBYTES];
	struct vms_node	*root;
	uint16_t	 lanes[STATE_LANES];
	uint64_t	 gen;		/* bumped by every change of lanes */
	struct rootcache *rc;		/* the root of generation rc->gen */
	uint64_t	 nfiles, ndirs, bytes, usage;
	int		 intxn;
	int		 stale;		/* lanes not kept: state_root rebuilds */
	struct undo	*undo;
	size_t		 nundo, undocap;
	/* every node but the root sorted by path (state_list.c), kept
	 * until a node is added, removed or changed (account) */
	const struct vms_node **view;
	size_t		 nview;
};

#endif
