/*
 * admit.h — which client connections are let in (admit.c), for both front
 * ends: max_connections in all, max_connections_per_address on the HTTP
 * port (trusted proxies exempt), max_connections_per_uid on the control
 * socket, and never so many that the descriptors a worker needs to be
 * (re)started run out: a reserve per contract is kept below the fd limit.
 */
#ifndef VMSD_ADMIT_H
#define VMSD_ADMIT_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>

/* At start, listeners open: raise the fd limit's soft value to its hard
 * one and note what is open already. */
void	 admit_init(void);
void	 admit_free(void);

/* Admit a connection just accepted: 0 (counted until admit_release with
 * the same key), or -1 with why (the client is told, then closed). */
int	 admit_http(const char *addrkey, int trusted, char *why, size_t whylen);
int	 admit_control(uid_t uid, char *why, size_t whylen);
void	 admit_http_release(const char *addrkey);
void	 admit_control_release(uid_t uid);
/* How many connections may be open at most now (the fd reserve taken
 * into account), and how many are. */
size_t	 admit_cap(void);
size_t	 admit_open(void);

/* The key of an address for limits: the IPv4 address, or the /64 of an
 * IPv6 one (a host has a whole /64 to pick addresses from). */
void	 admit_addr_key(const struct sockaddr *, char *buf, size_t len);
/* Is this numeric address one of trusted_proxies? */
int	 admit_trusted_proxy(const char *addr);

#endif
