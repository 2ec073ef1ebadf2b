/*
 * state.h — a contract's state: its file tree, held in C, with an
 * incremental state root and per-call transactions (undo log).
 *
 * PATHS. Absolute ("/" then segments joined by "/"), at most
 * STATE_PATH_MAX (1024) bytes, valid UTF-8. Empty segments ("//", a
 * trailing "/"), "." and ".." segments, NUL and control characters
 * (0x00-0x1f, 0x7f) are errors. "/" (the root directory) always exists.
 *
 * STATE ROOT (LtHash16, "vms/state/v1"). The state is the set of its files
 * and directories other than "/". Each one is an element
 *   e = SHA-256("vms/state/v1" || 0x00 || kind || path || 0x00 ||
 *               SHA-256(content))
 * with kind 'd' (directory, empty content) or 'f' (file). The accumulator
 * is a vector of 1024 uint16 lanes, zero for the empty state. Adding an
 * element adds, lane-wise mod 2^16, the 2048-byte ChaCha20 keystream
 * crypto_stream_chacha20(key = e, nonce = 8 zero bytes) read as 1024
 * little-endian uint16; removing subtracts it (libvms/lthash.c, with
 * AVX-512 where the CPU has it). The root is
 *   SHA-256("vms/state-root/v1" || the 2048 accumulator bytes, lanes LE).
 * It depends only on the set (not on the order of operations), and a
 * change costs O(changed elements), never O(state).
 *
 * TRANSACTIONS. state_begin() starts recording an undo log; every change
 * until state_commit() (keep) or state_rollback() (undo, restoring the
 * exact previous set and root) is logged. Outside a transaction changes
 * are applied directly.
 */
#ifndef VMS_STATE_H
#define VMS_STATE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_PATH_MAX		1024
#define STATE_NODE_OVERHEAD	64	/* bytes charged per file/dir */
#define STATE_LANES		1024

struct vms_state;

/*
 * A file or directory: one allocation holding the node, its path and (a
 * file as created) its content, which a write that replaces it moves to
 * an allocation of its own. At a state of many small files that is about
 * a quarter less memory a file than a node, a path and a content
 * allocated apart (the guest list's RSVPs: 213 bytes a call against 281),
 * and a lookup's path compare reads the node's own allocation
 * (bench/README.md, round 27).
 */
struct vms_node {
	struct vms_node	*parent;
	struct vms_node	*hnext;		/* hash chain */
	uint64_t	 hash;
	uint8_t		*data;		/* file content (in the node, or owned) */
	size_t		 len;
	struct vms_node	**kids;		/* unordered; sorted on demand */
	uint32_t	 nkids, kidcap;
	uint32_t	 slot;		/* index in parent->kids */
	uint16_t	 pathlen;	/* <= STATE_PATH_MAX */
	uint16_t	 nameoff;	/* the last segment: path + nameoff */
	uint8_t		 kind;		/* 'd' or 'f' */
	uint8_t		 sha[32];	/* SHA-256(content) */
	char		 path[];	/* NUL-terminated */
};

_Static_assert(STATE_PATH_MAX <= UINT16_MAX, "a path's length fits pathlen");

static inline const char *
state_name(const struct vms_node *n)
{
	return n->path + n->nameoff;
}

struct vms_state *state_new(void);
void	 state_free(struct vms_state *);

int	 state_path_check(const char *path, size_t len, char *err,
	    size_t errlen);
const struct vms_node *state_lookup(const struct vms_state *,
	    const char *path, size_t len);
const struct vms_node *state_rootdir(const struct vms_state *);
/* 1 if both hold the same files and directories (paths, kinds, contents),
 * else 0: the set the state root commits to, compared node by node. */
int	 state_same(const struct vms_state *, const struct vms_state *);

/*
 * Changes. max_file / max_usage of 0 mean unlimited. Errors name the path:
 * "no such file or directory: /a", "already exists: /a", ...; limit errors
 * start with "limit exceeded: ".
 */
int	 state_mkdir(struct vms_state *, const char *path, size_t len,
	    uint64_t max_usage, char *err, size_t errlen);
int	 state_write(struct vms_state *, const char *path, size_t len,
	    const void *data, size_t dlen, uint64_t max_file, uint64_t max_usage,
	    char *err, size_t errlen);
int	 state_unlink(struct vms_state *, const char *path, size_t len,
	    char *err, size_t errlen);
int	 state_rmdir(struct vms_state *, const char *path, size_t len,
	    int recursive, char *err, size_t errlen);

void	 state_begin(struct vms_state *);
void	 state_commit(struct vms_state *);
void	 state_rollback(struct vms_state *);

void	 state_root(const struct vms_state *, uint8_t out[32]);
void	 state_defer_root(struct vms_state *);	/* see state.c */
uint64_t state_nfiles(const struct vms_state *);
uint64_t state_ndirs(const struct vms_state *);
/* Every node but the root: what state_all_sorted() lists. */
size_t	 state_count(const struct vms_state *);
uint64_t state_bytes(const struct vms_state *);	/* file contents */
uint64_t state_usage(const struct vms_state *);	/* what state_size caps */

/* Children of a directory sorted by name (bytewise); malloc'd array. */
const struct vms_node **state_sorted_kids(const struct vms_node *);
/* Every node but "/" sorted by full path bytewise; malloc'd, *n set. */
const struct vms_node **state_all_sorted(const struct vms_state *, size_t *n);
/* A page of them: those whose paths sort after `after` (NULL: all), the
 * first `limit` (0: all) in path order, without sorting the rest; *more
 * (if not NULL) says whether others follow. */
const struct vms_node **state_page(const struct vms_state *,
	    const char *after, size_t limit, size_t *n, int *more);
/* The same nodes with every directory before what it holds, in the tree's
 * own order (not sorted: O(n), for a snapshot, which need only load in
 * order). */
const struct vms_node **state_all_parents_first(const struct vms_state *,
	    size_t *n);

#endif
