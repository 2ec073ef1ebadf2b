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

/* Methods (params in the comment; see vmsd-protocol(7)). */
#define M_DEPLOY	"deploy"	/* name, code, limits{}, replace */
#define M_CALL		"call"		/* contract, method, args[], user? */
#define M_LIST		"list"		/* - */
#define M_INFO		"info"		/* contract */
#define M_METHODS	"methods"	/* contract */
#define M_LOG		"log"		/* contract, from, count, raw? */
#define M_CHECKPOINT	"checkpoint"	/* contract, size? */
#define M_PROVE		"prove"		/* contract, index|old, size */
#define M_READ		"read"		/* contract, path */
#define M_LS		"ls"		/* contract, path, recursive? */
#define M_STATE		"state"		/* contract: full dump for audit */
#define M_STOP		"stop"		/* contract */
#define M_START		"start"		/* contract */
#define M_REMOVE	"remove"	/* contract, purge? */
#define M_PING		"ping"		/* - */

/* Encode a message as one line with the trailing "\n" (malloc'd). Steals
 * the references to params/result/data. id may be NULL for a null id. */
char	*proto_request(json_int_t id, const char *method, json_t *params,
	    size_t *len);
char	*proto_result(const json_t *id, json_t *result, size_t *len);
char	*proto_error(const json_t *id, int code, const char *message,
	    json_t *data, size_t *len);

/*
 * Parse and validate one request line. On success *req is the decoded
 * object (caller decrefs) and *method, *params (object, may be empty), *id
 * (borrowed, may be NULL for notifications) point into it. On failure
 * returns the JSON-RPC error code to answer and fills err.
 */
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
