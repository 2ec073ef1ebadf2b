/*
 * httpc.h — a small blocking HTTP/1.1 client over libevent's evhttp, for
 * vmsctl, the auditor and the tests' tools: one keep-alive connection per
 * handle to one origin (scheme, host, port), GET and POST, a timeout per
 * request, http:// and https:// (TLS through libevent's OpenSSL
 * bufferevents; the server's certificate is verified against the system's
 * store, or a given CA file, and its name against the URL's host).
 */
#ifndef VMS_HTTPC_H
#define VMS_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_BODY	(512u << 20)	/* bytes per response body */

struct httpc;

struct httpc_opts {
	int		 timeout_ms;	/* connect and each request; 0: 30 s */
	const char	*cafile;	/* PEM CA bundle for https, or NULL */
};

struct httpc_resp {
	int		 status;	/* HTTP status code */
	char		*body;		/* NUL-terminated (malloc'd) */
	size_t		 len;
	char		*content_type;	/* or NULL (malloc'd) */
	char		*cache_control;	/* or NULL (malloc'd) */
};

/* A URL's parts: "http[s]://HOST[:PORT][/PATH]". 0 or -1 (err). */
struct httpc_url {
	int		 tls;
	char		 host[256];
	int		 port;
	char		 path[1024];	/* "" when none; never ends in '/' */
};
int	httpc_parse_url(const char *url, struct httpc_url *, char *err,
	    size_t errlen);
int	httpc_is_url(const char *);	/* starts with http:// or https:// */

/* A handle for the origin of url (its path becomes the prefix of every
 * request's path). Connects lazily. */
int	httpc_open(const char *url, const struct httpc_opts *, struct httpc **,
	    char *err, size_t errlen);
void	httpc_close(struct httpc *);

/*
 * One request: method "GET" or "POST" (body/ctype for POST), path relative
 * to the handle's prefix ("/rpc"). 0 with *resp filled for any HTTP status
 * (the caller judges it), -1 with err when no response came (connection,
 * TLS, timeout, oversize body).
 */
int	httpc_request(struct httpc *, const char *method, const char *path,
	    const char *ctype, const void *body, size_t len,
	    struct httpc_resp *resp, char *err, size_t errlen);
void	httpc_resp_free(struct httpc_resp *);

#endif
