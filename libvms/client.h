/*
 * client.h — a small blocking JSON-RPC 2.0 client for vmsd's control and
 * remote sockets (see vmsd-protocol(7)): one JSON object per line, request
 * ids, replies matched in order, a timeout per reply, clear errors. Used by
 * vmsctl, the integration tests and the benchmarks.
 *
 * Address: a Unix socket path (JSON lines), or an http:// or https://
 * URL of vmsd's HTTP port (POST URL/rpc). For https, the CA file
 * $VMS_CAFILE (else the system's store, or $SSL_CERT_FILE) verifies the
 * server's certificate.
 */
#ifndef VMS_CLIENT_H
#define VMS_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define CLIENT_MAX_REPLY	(512u << 20)	/* bytes per reply line */

enum client_status {
	CLIENT_OK = 0,		/* *result set */
	CLIENT_RPC_ERROR = 1,	/* the daemon answered with an error object */
	CLIENT_FAILED = -1	/* transport failure: connection lost, timeout */
};

struct client_error {
	int	 code;		/* JSON-RPC error code (RPC_* in proto.h) */
	char	 message[1024];
	json_t	*data;		/* the error's data, or NULL; caller decrefs */
};

struct vms_client;

/* Connect; timeout_ms bounds the connect and every later reply (0: none). */
int	client_connect(const char *addr, int timeout_ms,
	    struct vms_client **out, char *err, size_t errlen);
void	client_close(struct vms_client *);
void	client_set_timeout(struct vms_client *, int timeout_ms);

/*
 * One request, one reply. Steals params (may be NULL for {}). On CLIENT_OK
 * *result is the reply's result (caller decrefs). On CLIENT_RPC_ERROR rerr
 * is filled (rerr->data owned by the caller) and err holds the message.
 */
enum client_status client_call(struct vms_client *, const char *method,
	    json_t *params, json_t **result, struct client_error *rerr,
	    char *err, size_t errlen);

/*
 * client_call in two halves, for asking before the answer is needed
 * (pipelining: vmsd answers a connection's requests in order). Send
 * steals params and names the request in *id (CLIENT_OK or
 * CLIENT_FAILED; over HTTP the exchange happens here). Reply waits for
 * that request's reply, holding the replies to other requests sent and
 * not yet claimed, and returns as client_call. Forget gives a request up:
 * its reply is dropped, now or when it comes.
 */
enum client_status client_send(struct vms_client *, const char *method,
	    json_t *params, json_int_t *id, char *err, size_t errlen);
enum client_status client_reply(struct vms_client *, json_int_t id,
	    json_t **result, struct client_error *rerr, char *err,
	    size_t errlen);
void	client_forget(struct vms_client *, json_int_t id);

#endif
