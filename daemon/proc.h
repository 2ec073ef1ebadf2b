/*
 * proc.h — worker processes, seen from vmsd: start one (fork and exec of
 * our own executable in worker mode), send it requests, read and decode
 * what it writes (wire.h), stop or kill it, reap it. What the messages
 * mean is the owner's business: the supervisor owns contract workers, the
 * admin operations own deploy workers. A process reports through its
 * owner's callbacks and knows nothing else of them.
 */
#ifndef VMSD_PROC_H
#define VMSD_PROC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct proc;
struct wire_reply;

/* What a worker is started for (its command line; the rest comes from
 * the configuration: snapshot_interval, batch_max, logging). */
struct proc_spec {
	const char	*name;		/* contract */
	const char	*dir;		/* ledger directory */
	const char	*key;		/* signing key file */
	const char	*head;		/* its signed head, beside it */
	int		 deploy;	/* one deploy request, then exit */
};

struct proc_ops {
	/* One decoded message; the callee may keep r->msg (set it to
	 * NULL), the rest is cleared after the call. */
	void	(*msg)(struct proc *, struct wire_reply *r, void *arg);
	/* The process has exited (status as from waitpid) and everything it
	 * wrote has been delivered. The proc is freed after this returns. */
	void	(*gone)(struct proc *, int status, void *arg);
	/* A client connection the worker gives back on its attach channel
	 * (wire.h "back"): fd is the callee's to keep or close; input the
	 * bytes the client sent that the worker did not run. NULL for
	 * processes without a channel. */
	void	(*back)(struct proc *, int fd, const char *input,
		    size_t inputlen, const char *why, void *arg);
};

/* Once at startup: open our own executable for exec'ing workers, and
 * have their heaps in huge pages (GLIBC_TUNABLES). */
void		 proc_init(void);
struct proc	*proc_spawn(const struct proc_spec *, const struct proc_ops *,
		    void *arg, char *err, size_t errlen);
pid_t		 proc_pid(const struct proc *);
/* Queue one request on the wire. -1 (err) if it cannot be encoded.
 * ptext, if not NULL, is params' compact text, sent as it is
 * (wire_put_request_text); NULL: params are encoded. */
int		 proc_request(struct proc *, uint64_t id, const char *method,
		    const char *caller, const char *auth, const json_t *params,
		    const char *ptext, size_t ptextlen, char *err,
		    size_t errlen);
/* Hand a client connection over to a contract worker on its attach
 * channel (wire.h): msg is the datagram, fd goes with it (the caller
 * still closes its own). -1 (err) if it cannot be sent now. */
int		 proc_attach(struct proc *, int fd, const char *msg,
		    size_t len, char *err, size_t errlen);
/* Has it exited or closed its end? Then it gets nothing more. */
int		 proc_finished(const struct proc *);
/* Close its input once what is queued is sent: the worker commits,
 * snapshots and exits. */
void		 proc_stop(struct proc *);
void		 proc_kill(struct proc *);
/* SIGCHLD: reap every exited process. */
void		 proc_sigchld(void);
size_t		 proc_count(void);
/* Call done() once no process is left (at once if none is). */
void		 proc_when_none(void (*done)(void));
/* At exit: kill and reap every process, without callbacks. */
void		 proc_free_all(void);

#endif
