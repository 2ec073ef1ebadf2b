/*
 * rpcreq.h — one client request, from the moment a front end (control.c
 * for the Unix socket, http.c for POST /rpc) has read it until its reply is
 * encoded: its id, its caller, what the methods decided about it, and the
 * reply. The request knows nothing of connections: the front end gives it
 * a completion callback and is told when the reply is ready. If the client
 * leaves first, the front end orphans the request, which is freed once
 * answered (a call already sent to a worker still runs and commits).
 */
#ifndef VMSD_RPCREQ_H
#define VMSD_RPCREQ_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Who sent a request: what the front end knows of its client. */
struct conn_info {
	int		 tcp;		/* remote client */
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	char		*ident;		/* "unix:alice", NULL when remote */
};

struct budget_acct;
struct proto_method;
struct rpcreq;
/* The reply is ready (req->reply): the front end sends it, in order. */
typedef void	(*rpcreq_done_fn)(struct rpcreq *, void *owner);
/*
 * attach: the front end gives up the request's connection, which it then
 * forgets: a descriptor of its own (*fd, the caller closes it) and the
 * bytes it read after the request (*input, malloc'd, may be NULL). 0, or
 * -1 with err (nothing given up: the request is then answered with it).
 * own: not an attach but vmsd's own hand-over of a call (vmsd.conf(5)
 * "handoff"): *input then begins with the request's own line, and -1
 * only says that this connection is not to be handed over now (the call
 * is then relayed as any other).
 */
typedef int	(*rpcreq_handoff_fn)(struct rpcreq *, void *owner, int own,
		    int *fd, char **input, size_t *inputlen, char *err,
		    size_t errlen);
/* attach accepted: the front end reads nothing more from the connection
 * until the request is answered (then it reads on) or handed over. */
typedef void	(*rpcreq_hold_fn)(struct rpcreq *, void *owner);

struct rpcreq {
	void		*owner;		/* the front end's; NULL = orphaned */
	rpcreq_done_fn	 done_fn;
	const struct conn_info *peer;	/* NULL once orphaned */
	json_t		*id;		/* the request's id (owned), or NULL */
	int		 notification;	/* no "id": no reply is sent */
	int		 done;
	int		 close_after;	/* the front end closes after it */
	/* attach (methods.c): set by front ends that can give their
	 * connection up (the control socket; NULL elsewhere) */
	rpcreq_hold_fn	 hold;
	rpcreq_handoff_fn handoff;
	int		 held;		/* hold was called */
	char		*reply;		/* the encoded reply line */
	size_t		 replylen;
	int		 code;		/* its error code, 0 for a result */
	/* Set by the front end: its connection's memory budget account,
	 * and for a remote client its address (the key of limits; valid
	 * while the request is dispatched). NULL once orphaned. */
	struct budget_acct *acct;
	const char	*addr;
	size_t		 charge;	/* bytes held in acct for it */
	unsigned	 retry_after;	/* refused by a rate limit: seconds */

	/* A batch: its elements, and how many have yet to complete. An
	 * element's owner is its batch (parent). */
	struct rpcreq	*parent;
	struct rpcreq	**kids;
	size_t		 nkids, kids_left;

	/* Set by methods.c for the supervisor. */
	const struct proto_method *pm;	/* the method, from the table */
	json_t		*params;	/* owned */
	/* params as the client wrote them (rpcmsg.c), when compact: sent
	 * to the worker as they are instead of encoded again. Whoever
	 * changes params drops them (rpcreq_params_changed). Owned. */
	char		*ptext;
	size_t		 ptextlen;
	char		*caller;	/* "unix:alice", debug name, NULL */
	const char	*auth;		/* "peercred", "debug", "anonymous",
					   "ed25519" (a signed call) */
	uint64_t	 wid;		/* id on the worker wire */

	TAILQ_ENTRY(rpcreq) centry;	/* the front end's (reply order) */
	TAILQ_ENTRY(rpcreq) qentry;	/* contract queue / in flight */
};
TAILQ_HEAD(rpcreq_list, rpcreq);

struct rpcreq	*rpcreq_new(void *owner, const struct conn_info *,
		    rpcreq_done_fn);
void		 rpcreq_free(struct rpcreq *);
/* The client is gone: free now if answered, else when answered (a
 * batch: once its last element is). */
void		 rpcreq_orphan(struct rpcreq *);
/* Charge n bytes to the connection's budget account (req->acct) for as
 * long as the request waits for its reply; released when it completes. */
void		 rpcreq_charge(struct rpcreq *, size_t n);
void		 rpcreq_uncharge(struct rpcreq *);
/* params no longer say what the client wrote: forget its text. */
void		 rpcreq_params_changed(struct rpcreq *);
/* Who asked, for logs: the peer's identity, else "admin". */
const char	*rpcreq_who(const struct rpcreq *);

/* Answer a request (steals result/data). Frees req if orphaned. */
void		 rpcreq_result(struct rpcreq *, json_t *result);
void		 rpcreq_error(struct rpcreq *, int code, json_t *data,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answer with an error object {"code":C,"message":M,"data":D?} (a
 * worker's, already checked by the wire decoder). */
void		 rpcreq_error_obj(struct rpcreq *, const json_t *error);
/* Answer with a result given as JSON text, copied verbatim: only for
 * text jansson encoded (a worker's reply). */
void		 rpcreq_result_text(struct rpcreq *, const char *result,
		    size_t len);
/* Complete with a reply already encoded (malloc'd, stolen; NULL with
 * len 0 for none: a notification or an all-notification batch). */
void		 rpcreq_reply_raw(struct rpcreq *, char *reply, size_t len);
/* Answer every request of a list with an error; *n (if not NULL) counts
 * them down. */
void		 rpcreq_fail_list(struct rpcreq_list *, unsigned *n, int code,
		    const char *msg);

#endif
