/*
 * proto.h — the control/remote protocol shared by vmsd and vmsctl:
 * JSON-RPC 2.0, one JSON object per line ("\n"-terminated UTF-8), requests
 * may be pipelined and replies carry their ids. Method names, parameters
 * and error codes are defined here once and documented in vmsd-protocol(7).
 */
#ifndef VMS_PROTO_H
#define VMS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROTO_MAX_LINE_DEFAULT	(4u << 20)	/* bytes per message */
/* The max_bytes a client asks of log and state pages (vmsd-protocol(7)):
 * a page stays well within any memory_budget (1M at least). */
#define PROTO_PAGE_BYTES	(512 * 1024)

/* JSON-RPC 2.0 standard codes */
#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603
/* vmsd codes */
#define RPC_CONTRACT_ERROR	-32000	/* message = the contract's message */
#define RPC_BUSY		-32001	/* queue full: retry later */
#define RPC_NO_CONTRACT		-32002
#define RPC_PERMISSION		-32003
#define RPC_EXISTS		-32004
#define RPC_UNAVAILABLE		-32005	/* stopped, failed, shutting down */
#define RPC_NO_CONTRACT_METHOD	-32006	/* unknown/private contract method */
#define RPC_NOT_FOUND		-32007	/* path, entry or checkpoint */
#define RPC_TOO_LARGE		-32008	/* message over the size cap */
#define RPC_RATE_LIMITED	-32009	/* too many calls: retry after
					   data.retry_after seconds */
/* signed calls (refused before anything runs; nothing is recorded) */
#define RPC_BAD_SIGNATURE	-32010	/* malformed, or does not verify */
#define RPC_WRONG_ORIGIN	-32011	/* signed for another contract */
#define RPC_STALE_NONCE		-32012	/* nonce not above the caller's last */

/*
 * The method table: every method of the protocol, once, with its
 * permissions and parameter specs (vmsd-protocol(7) documents each row;
 * tests/unit/test-methods.c checks the page against this table). The
 * daemon's dispatcher validates params from it, the worker routes by it,
 * and vmsctl names methods through it: nobody spells a method name.
 */
enum proto_method_id {
	PM_PING, PM_DEPLOY, PM_CALL, PM_LIST, PM_INFO, PM_METHODS, PM_LOG,
	PM_CHECKPOINT, PM_PROVE, PM_READ, PM_LS, PM_STATE, PM_STOP, PM_START,
	PM_REMOVE, PM_ATTACH,
	PM_COUNT
};

/* Method flags */
#define PM_ADMIN	0x01	/* root, the daemon's user or the admin group,
				   on the control socket only */
#define PM_REMOTE	0x02	/* allowed to remote (TCP) clients */
#define PM_CONTRACT	0x04	/* names a contract ("contract"): goes to
				   its worker */
#define PM_LEDGER	0x08	/* answered from the ledger alone, also for a
				   contract without a worker */

enum proto_ptype { PT_STRING, PT_UINT, PT_BOOL, PT_OBJECT, PT_ARRAY };

struct proto_param {
	const char	*name;		/* NULL ends the list */
	enum proto_ptype type;
	int		 required;	/* absent or null is an error */
};

#define PROTO_MAX_PARAMS	6

struct proto_method {
	enum proto_method_id id;
	const char	*name;
	int		 flags;
	struct proto_param params[PROTO_MAX_PARAMS + 1];
};

extern const struct proto_method proto_methods[PM_COUNT];

/* The method called name, or NULL. */
const struct proto_method *proto_method_find(const char *name);
const char *proto_method_name(enum proto_method_id);
/* Every parameter the method knows that is present (and not null) has
 * its type, and every required one is present. Unknown parameters are
 * ignored. 0, or -1 with err ("missing parameter \"x\"", ...). */
int	 proto_check_params(const struct proto_method *, const json_t *params,
	    char *err, size_t errlen);

/* Encode a message as one line with the trailing "\n" (malloc'd). Steals
 * the references to params/result/data. id may be NULL for a null id. */
char	*proto_request(json_int_t id, const char *method, json_t *params,
	    size_t *len);
char	*proto_result(const json_t *id, json_t *result, size_t *len);
char	*proto_error(const json_t *id, int code, const char *message,
	    json_t *data, size_t *len);
/* Append a reply around a result, or an error object, given as JSON text
 * (a worker's, relayed without being parsed) and the id's JSON text:
 * {"jsonrpc":"2.0","id":ID,"result":V} (or "error":V) and a newline. */
struct jbuf;
void	 proto_reply_text(struct jbuf *, const char *id, size_t idlen,
	    int is_error, const char *v, size_t vlen);

/*
 * A message is one request (an object) or a batch (an array of requests),
 * as JSON-RPC 2.0 defines them. proto_parse_message decodes the text of
 * one message (any JSON value: a bare 1 is an invalid request, not a parse
 * error): 0 with *msg (caller decrefs), or RPC_PARSE_ERROR with err.
 * proto_check_request validates one request, the message itself or an
 * element of a batch: 0 with *method, *params (an object, added empty if
 * absent) and *id (NULL when absent: a notification) pointing into m, or
 * the JSON-RPC error code to answer with err (*id is set as soon as it is
 * known valid, so the error can carry it).
 */
/* Is v a request id JSON-RPC allows here: an integer, a string or null
 * (an id with a fraction is refused: the spec says it SHOULD NOT be)? */
int	 proto_id_valid(const json_t *v);
int	 proto_parse_message(const char *text, size_t len, json_t **msg,
	    char *err, size_t errlen);
int	 proto_check_request(json_t *m, const char **method, json_t **params,
	    json_t **id, char *err, size_t errlen);
/* Both for one request (a batch is an invalid request here): *req is the
 * decoded message (caller decrefs, also on error when not NULL). */
int	 proto_parse_request(const char *line, size_t len, json_t **req,
	    const char **method, json_t **params, json_t **id,
	    char *err, size_t errlen);

/* Parameter helpers: return -1 and fill err when missing or mistyped. */
int	 param_string(const json_t *params, const char *key, int required,
	    const char **out, char *err, size_t errlen);
int	 param_uint(const json_t *params, const char *key, int required,
	    uint64_t dflt, uint64_t *out, char *err, size_t errlen);
int	 param_bool(const json_t *params, const char *key, int dflt, int *out,
	    char *err, size_t errlen);

#endif
