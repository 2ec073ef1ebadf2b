/*
 * budget.h — the global memory budget of the front ends (budget.c): every
 * byte a client connection buffers, in either direction, is charged to its
 * account: input not yet framed, requests decoded and waiting for their
 * reply, replies waiting to be sent. When the total passes memory_budget,
 * the connections holding the most are closed until it fits again, so a
 * client that hoards memory loses its connection and small, well-behaved
 * clients keep theirs.
 */
#ifndef VMSD_BUDGET_H
#define VMSD_BUDGET_H

#include <sys/queue.h>

#include <stddef.h>

struct evbuffer;
struct evbuffer_cb_entry;

struct budget_acct {
	size_t			 held;
	/* Close the connection (over budget and the largest); it must
	 * budget_close the account. */
	void			(*evict)(struct budget_acct *);
	const char		*who;		/* for the log */
	int			 open;
	TAILQ_ENTRY(budget_acct) entry;
};

/* In vmsd (not its workers): counts the memory jansson holds. */
void	 budget_init(void);
void	 budget_free(void);
void	 budget_open(struct budget_acct *, void (*evict)(struct budget_acct *),
	    const char *who);
/* Release everything the account holds. */
void	 budget_close(struct budget_acct *);
void	 budget_add(struct budget_acct *, size_t);
void	 budget_sub(struct budget_acct *, size_t);
/* Charge the length of an evbuffer to the account as it changes (from
 * now on); unwatch before freeing the account. */
struct evbuffer_cb_entry *budget_watch(struct budget_acct *,
	    struct evbuffer *);
void	 budget_unwatch(struct evbuffer *, struct evbuffer_cb_entry *);
size_t	 budget_used(void);
/* Bytes jansson holds now (0 without budget_init): a decoded message's
 * size is the difference across its decoding. */
size_t	 budget_json_live(void);

#endif
