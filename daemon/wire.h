/*
 * wire.h — the worker wire: every message between the supervisor (vmsd)
 * and a contract's worker process, over their socketpair. Encoded and
 * decoded here and nowhere else.
 *
 * Version WIRE_VERSION. The supervisor starts a worker with --wire N and a
 * worker that speaks another version refuses to start; the worker's first
 * message (ready) carries its version again and the supervisor checks it.
 *
 * Each message is one line of JSON whose keys come in exactly this order
 * (the decoders refuse anything else: a reordered, unknown, mistyped or
 * truncated message is an error, never a silently slower path):
 *
 * supervisor -> worker
 *   request  {"id":N,"method":M,"caller":S|null,"auth":A,"params":{...}}
 * worker -> supervisor
 *   ready    {"ready":V,"size":N,"vkey":S,"origin":S,"methods":[S,...]}
 *   result   {"id":N,"size":N,"result":R}
 *   error    {"id":N,"size":N,"error":{"code":C,"message":S[,"data":D]}}
 *   refused  {"refused":S}   instead of ready: the worker will not run the
 *            contract, and trying again as it is would not help (S says
 *            what happened and how to recover); it exits next
 *   child    {"child":OP,"name":S,"size":N,"vkey":S,"origin":S}
 *   attached {"attached":N,"size":N}  N client connections are attached
 *            (below); sent when that number changes, and at most every
 *            WIRE_ATTACHED_MS while their calls grow the ledger: the
 *            supervisor keeps an attached worker from its idle stop and
 *            knows its ledger's size
 *
 * supervisor -> worker, on the attach channel (a SOCK_SEQPACKET pair, the
 * worker's fd 4; one datagram per connection handed over, the connection
 * itself passed with SCM_RIGHTS):
 *   attach   {"attach":ID,"caller":S|null,"uid":N,"debug_auth":B,
 *            "handoff":B,"limits":[L,...]}\n followed by the bytes the
 *            client sent after its attach request (raw, to the
 *            datagram's end)
 *   ID is the attach request's JSON-RPC id (a number, string or null),
 *   which the worker's first reply on the connection carries; caller the
 *   peer's identity; L, in this order: max_message, max_output,
 *   client_idle_timeout, client_request_timeout, max_connections,
 *   max_connections_per_uid, memory_budget (vmsd.conf(5)). The worker
 *   then reads calls from the connection and answers them itself
 *   (vmsd-protocol(7), "attach").
 *   handoff true: no attach request; ID is null and no reply carries it.
 *   vmsd handed the connection over on its own (vmsd.conf(5) "handoff")
 *   and the bytes begin with the call that made it do so. The worker
 *   gives such a connection back, instead of refusing what it cannot
 *   run there:
 *
 * worker -> supervisor, on the attach channel (the connection with
 * SCM_RIGHTS, every reply to what it sent before written):
 *   back     {"back":S}\n followed by the bytes the client sent that the
 *            worker did not run (raw, to the datagram's end; they begin
 *            at a line's start). S says why (for the log): a line that
 *            is not a call of this contract, too many connections, the
 *            worker stopping. vmsd serves the connection from then on as
 *            any other, and never hands it over again.
 *
 * A child message says that a committed entry of this contract made a
 * child contract (OP "deploy": it now exists, with that ledger size, key
 * and origin) or stopped one (OP "stop": its status file says so; size 0,
 * vkey and origin empty). It comes before the replies of the batch whose
 * entry asked for it, and again for children created by a restarted
 * worker; the supervisor takes it as it comes, whatever else is pending.
 *
 * N, V are unsigned decimal integers (no sign, no leading zero, at most
 * 19 digits); C is an integer. "size" in a reply is the ledger size that
 * the reply's batch commits. R is any JSON value, written by jansson in
 * the worker and handed to the client verbatim: a result is decoded
 * without parsing R. A deploy worker (vmsd --worker --deploy) reads one
 * request (id 1, method "deploy") and writes its one reply; a contract
 * worker writes ready, then one reply per request, in request order.
 */
#ifndef VMSD_WIRE_H
#define VMSD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "canon.h"

#define WIRE_VERSION	4
#define WIRE_ATTACHED_MS 100
#define WIRE_ATTACH_LIMITS 7
/* What a client may send after attach, before its reply (the datagram's
 * input). */
#define WIRE_ATTACH_MAX_INPUT 65536
/* What a worker gives back with a connection at most (a handed-over
 * connection's line that grows past it goes back unfinished). */
#define WIRE_BACK_MAX_INPUT 65536

/*
 * Encoders: append one line (with its "\n") to the buffer (canon.c's
 * struct jbuf, into which JSON values are encoded in place). They borrow
 * their arguments. -1 (nothing appended, err set) only when jansson cannot
 * encode a value (e.g. a string that is not UTF-8 in params or result);
 * an error never fails: a message that is not UTF-8 is replaced, data that
 * cannot be encoded is left out.
 */
int	 wire_put_request(struct jbuf *, uint64_t id, const char *method,
	    const char *caller, const char *auth, const json_t *params,
	    char *err, size_t errlen);
/* The same with params as JSON text: one compact object that jansson
 * decoded (valid UTF-8, no duplicate key; rpcmsg.c keeps it as the client
 * wrote it), copied as it is. -1 if it is not {...} without a newline. */
int	 wire_put_request_text(struct jbuf *, uint64_t id,
	    const char *method, const char *caller, const char *auth,
	    const char *params, size_t len, char *err, size_t errlen);
int	 wire_put_ready(struct jbuf *, uint64_t size, const char *vkey,
	    const char *origin, const json_t *methods, char *err,
	    size_t errlen);
int	 wire_put_result(struct jbuf *, uint64_t id, uint64_t size,
	    const json_t *result, char *err, size_t errlen);
void	 wire_put_error(struct jbuf *, uint64_t id, uint64_t size,
	    int code, const char *message, const json_t *data);
/* The same with R (or the error's data) as JSON text the caller wrote:
 * one compact JSON value without a newline (the worker's receipts, built
 * without a jansson object per reply). */
void	 wire_put_result_text(struct jbuf *, uint64_t id, uint64_t size,
	    const char *json, size_t len);
void	 wire_put_error_text(struct jbuf *, uint64_t id, uint64_t size,
	    int code, const char *message, const char *data, size_t len);
int	 wire_put_child(struct jbuf *, const char *op, const char *name,
	    uint64_t size, const char *vkey, const char *origin, char *err,
	    size_t errlen);
/* Never fails: a reason that is not UTF-8 is replaced. */
void	 wire_put_refused(struct jbuf *, const char *reason);
void	 wire_put_attached(struct jbuf *, uint64_t count, uint64_t size);

/* A connection handed over (the attach channel's datagram). */
struct wire_attach {
	const json_t	*id;		/* borrowed from msg */
	const char	*caller;	/* NULL: anonymous */
	uint64_t	 uid;
	int		 debug_auth;
	int		 handoff;	/* vmsd's own: no attach request */
	uint64_t	 limits[WIRE_ATTACH_LIMITS];
	const char	*input;		/* after the line, in the datagram */
	size_t		 inputlen;
	json_t		*msg;
};
/* The datagram's line (the input bytes are appended by the caller). -1
 * (err) if the id or caller cannot be encoded. */
int	 wire_put_attach(struct jbuf *, const json_t *id, const char *caller,
	    uint64_t uid, int debug_auth, int handoff,
	    const uint64_t limits[WIRE_ATTACH_LIMITS], char *err,
	    size_t errlen);
int	 wire_decode_attach(const char *dgram, size_t len,
	    struct wire_attach *, char *err, size_t errlen);
void	 wire_attach_clear(struct wire_attach *);
/* A handed-over connection given back (the attach channel's datagram,
 * the other way). */
struct wire_back {
	const char	*why;		/* borrowed from msg */
	const char	*input;		/* after the line, in the datagram */
	size_t		 inputlen;
	json_t		*msg;
};
/* The datagram's line (the input bytes are appended by the caller). */
void	 wire_put_back(struct jbuf *, const char *why);
int	 wire_decode_back(const char *dgram, size_t len, struct wire_back *,
	    char *err, size_t errlen);
void	 wire_back_clear(struct wire_back *);
/*
 * A result or error line the worker wrote, split for relaying: its id and
 * the JSON text of its result, or of its error object ({"code",...}). 0,
 * or -1 if it is not one (ready, child, ...).
 */
int	 wire_split_reply(const char *line, size_t len, uint64_t *id,
	    int *is_error, const char **value, size_t *valuelen);

/* A request, decoded by the worker. msg owns everything the pointers
 * point into. */
struct wire_request {
	uint64_t	 id;
	const char	*method;
	const char	*caller;	/* NULL: anonymous */
	const char	*auth;
	json_t		*params;	/* an object, borrowed from msg */
	json_t		*msg;
};

enum wire_kind {
	WIRE_READY = 1,
	WIRE_RESULT,
	WIRE_ERROR,
	WIRE_CHILD,
	WIRE_REFUSED,
	WIRE_ATTACHED
};

/* A worker's message, decoded by the supervisor. */
struct wire_reply {
	enum wire_kind	 kind;
	uint64_t	 id;		/* RESULT, ERROR; ATTACHED: count */
	uint64_t	 size;
	/* RESULT: the JSON text of R, pointing into the decoded line */
	const char	*result;
	size_t		 resultlen;
	/* READY, REFUSED: the message; ERROR: the error object
	 * {"code",...}. Owned. */
	json_t		*msg;
	/* REFUSED: borrowed from msg */
	const char	*reason;
	/* READY, CHILD: borrowed from msg */
	const char	*vkey;
	const char	*origin;
	json_t		*methods;
	/* CHILD: borrowed from msg */
	const char	*child;		/* "deploy" or "stop" */
	const char	*name;
};

/* 0, or -1 with err saying what is wrong with the line. */
int	 wire_decode_request(const char *line, size_t len,
	    struct wire_request *, char *err, size_t errlen);
int	 wire_decode_reply(const char *line, size_t len, struct wire_reply *,
	    char *err, size_t errlen);
void	 wire_request_clear(struct wire_request *);
void	 wire_reply_clear(struct wire_reply *);

#endif
