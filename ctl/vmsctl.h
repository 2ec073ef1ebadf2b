/*
 * vmsctl.h — what vmsctl's command files share: the command table entry,
 * the global options, exit codes, the RPC helper and output helpers.
 */
#ifndef VMSCTL_H
#define VMSCTL_H

#include <stdint.h>

#include <jansson.h>

#include "client.h"
#include "proto.h"

#define EXIT_OK			0
#define EXIT_FAILED		1	/* the operation failed or was refused */
#define EXIT_USAGE		2
#define EXIT_UNREACHABLE	3	/* cannot reach the daemon */

struct ctl {
	const char		*socket;
	const char		*user;		/* --user (debug_auth) */
	const char		*identity;	/* --identity FILE, or NULL */
	int			 sign;		/* --sign 1, --no-sign -1, 0 */
	/* call.c: the origin signed calls name, for contract origin_of
	 * (asked once), and the last nonce this run signed */
	char			*origin_of;
	char			 origin[256];
	uint64_t		 last_nonce;
	int			 json;		/* --json */
	int			 timeout_ms;
	struct vms_client	*client;	/* connected lazily */
};

struct cmd_entry {
	const char	*name;
	const char	*args;		/* usage after the name */
	const char	*help;		/* one line */
	int		(*exec)(struct ctl *, int argc, char **argv);
};

extern const struct cmd_entry cmd_deploy_entry, cmd_call_entry,
    cmd_list_entry, cmd_info_entry, cmd_methods_entry, cmd_log_entry,
    cmd_checkpoint_entry, cmd_read_entry, cmd_ls_entry, cmd_stop_entry,
    cmd_start_entry, cmd_remove_entry, cmd_audit_entry, cmd_ping_entry,
    cmd_export_entry, cmd_prove_entry, cmd_verify_receipt_entry,
    cmd_repl_entry, cmd_keygen_entry, cmd_whoami_entry;

/* vmsctl.c */
int	 ctl_usage(const struct cmd_entry *);	/* prints usage, EXIT_USAGE */
int	 ctl_wants_help(int argc, char **argv);
void	 ctl_help(const struct cmd_entry *);	/* full help on stdout */

/* call.c */
/* A command-line word as a JSON argument: JSON if it parses, else a
 * string; NULL if it is not UTF-8. */
json_t	*ctl_arg(const char *word);
/* Call a contract's method (steals args) as ctl_rpc does; the identity
 * comes from the options: --user, or signed (--sign, or a URL and an
 * identity; never with --no-sign). CTL_CALL_ENTRY: the reply's receipt
 * also carries the entry's bytes. */
#define CTL_CALL_ENTRY	0x01
int	 ctl_call(struct ctl *, const char *contract, const char *method,
	    json_t *args, int flags, json_t **result,
	    struct client_error *rerr);

/* output.c */
void	 ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Connect if needed; EXIT_OK or EXIT_UNREACHABLE (message printed). */
int	 ctl_connect(struct ctl *);
/* Call a method: EXIT_OK with *result set, else the exit code (message
 * printed on stderr, and as {"error":...} on stdout under --json).
 * Steals params. rerr (may be NULL) receives the error for callers that
 * want the code or data. */
int	 ctl_rpc(struct ctl *, enum proto_method_id, json_t *params,
	    json_t **result, struct client_error *rerr);
/* The same in two steps: ctl_rpc_try prints nothing and returns the
 * client's status (e filled on CLIENT_RPC_ERROR, err on CLIENT_FAILED);
 * ctl_rpc_fail prints the failure and returns its exit code. */
enum client_status ctl_rpc_try(struct ctl *, enum proto_method_id,
	    json_t *params, json_t **result, struct client_error *e,
	    char *err, size_t errlen);
int	 ctl_rpc_fail(struct ctl *, enum client_status,
	    struct client_error *e, const char *err,
	    struct client_error *rerr);
void	 ctl_print_json(const json_t *);	/* compact, sorted keys, one line */
/* Does arg look like an option? "-" alone, "--" (the end of options) and
 * negative numbers do not. */
int	 ctl_is_option(const char *arg);
/* Parse an unsigned decimal option value; -1 on junk. */
int	 ctl_parse_u64(const char *, uint64_t *);
json_t	*ctl_contract_params(const char *name);	/* {"contract":name} */
/* stop/start/remove/ping: one RPC, one line of output. */
int	 ctl_simple(struct ctl *, enum proto_method_id, json_t *params);
const char *ctl_str(const json_t *, const char *key);	/* "-" if absent */
json_int_t ctl_int(const json_t *, const char *key);

/* identity.c: the Ed25519 identity of signed calls. The path is
 * --identity, else $XDG_CONFIG_HOME/vmsctl/identity, else
 * ~/.config/vmsctl/identity. load: 0, 1 if there is none, -1 (err). */
int	 ctl_identity_path(const struct ctl *, char *buf, size_t len,
	    char *err, size_t errlen);
int	 ctl_identity_create(const char *path, int force, uint8_t pk[32],
	    char *err, size_t errlen);
int	 ctl_identity_load(const char *path, uint8_t sk[64], char *err,
	    size_t errlen);
uint64_t ctl_nonce_now(void);	/* µs since the epoch: a fresh nonce */
/* Is the address an http:// or https:// URL (a remote vmsd)? */
int	 ctl_is_remote(const struct ctl *);

#endif
