/*
 * rpcmsg.h — one JSON-RPC 2.0 message a front end read (rpcmsg.c): a
 * request or a batch, decoded and dispatched; the batch's replies are
 * gathered into one array.
 */
#ifndef VMSD_RPCMSG_H
#define VMSD_RPCMSG_H

#include <stddef.h>

struct rpcreq;

/*
 * Decode the message text and dispatch what it asks for. req is the front
 * end's record of the message, already in its reply order; it completes
 * once: with the reply to a request, the array of replies to a batch, or
 * with no reply (req->notification set, req->reply NULL) for a
 * notification or a batch of notifications. refuse: answer every request
 * "shutting down" (RPC_UNAVAILABLE).
 */
void	 rpcmsg_handle(struct rpcreq *req, const char *text, size_t len,
	    int refuse);
/*
 * Where the value of the key "params" lies in the text of a message that
 * jansson decoded as an object (JSON_REJECT_DUPLICATES; for any other
 * text the answer means nothing), when that value is an object written
 * without whitespace and its key without escapes; else NULL. The text
 * then decodes to the same value as the message's params.
 */
const char *rpcmsg_params_span(const char *text, size_t len, size_t *plen);

#endif
