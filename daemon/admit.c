/*
 * admit.c — admission of client connections (admit.h): counts in all, per
 * address and per uid, and the descriptor reserve.
 *
 * The reserve: vmsd needs a descriptor per running worker (its end of the
 * socketpair), two while one is being spawned, and a few for reading the
 * ledgers of stopped contracts and for its own files. Connections are
 * admitted only while that much stays free below RLIMIT_NOFILE, so a
 * crashed worker can always be restarted and existing clients served,
 * however many clients try to connect.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admit.h"
#include "contract.h"
#include "keytab.h"
#include "log.h"
#include "util.h"
#include "vmsd.h"

#define FDS_PER_CONTRACT	2	/* a worker's socketpair end, + spawn */
#define FDS_SLACK		48	/* deploys, ledger reads, logs, ... */

static struct keytab *per_addr, *per_uid;
static size_t nopen;
static size_t fd_limit, fd_base;

static size_t
count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 16;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the directory's own */
}

void
admit_init(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (rl.rlim_cur > (1u << 20))
				rl.rlim_cur = 1u << 20;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
		fd_limit = rl.rlim_cur == RLIM_INFINITY ? (1u << 20) :
		    (size_t)rl.rlim_cur;
	} else
		fd_limit = 1024;
	fd_base = count_open_fds();
	if (per_addr == NULL)
		per_addr = keytab_new(sizeof(unsigned));
	if (per_uid == NULL)
		per_uid = keytab_new(sizeof(unsigned));
	log_debug("descriptors: limit %zu, %zu open at start; room for %zu "
	    "connections with %zu contracts", fd_limit, fd_base, admit_cap(),
	    contract_count());
}

void
admit_free(void)
{
	keytab_free(per_addr);
	keytab_free(per_uid);
	per_addr = per_uid = NULL;
	nopen = 0;
}

size_t
admit_cap(void)
{
	size_t reserve = fd_base + FDS_SLACK +
	    FDS_PER_CONTRACT * (contract_count() + 1);
	size_t cap = vmsd_conf->max_connections;

	if (fd_limit == 0)	/* not initialised (unit tests) */
		return cap;
	if (fd_limit <= reserve)
		return 0;
	return fd_limit - reserve < cap ? fd_limit - reserve : cap;
}

size_t
admit_open(void)
{
	return nopen;
}

/* Say why at most once a second: a flood must not flood the log. */
static void
refused(const char *why)
{
	static time_t last;
	static unsigned n;
	time_t now = time(NULL);

	n++;
	if (now != last) {
		log_warnx("refusing connections: %s (%u refused)", why, n);
		last = now;
		n = 0;
	}
}

static int
admit_total(char *why, size_t whylen)
{
	size_t cap = admit_cap();

	if (nopen < cap)
		return 0;
	if (cap < vmsd_conf->max_connections)
		seterr(why, whylen, "too many connections: %zu open, the "
		    "rest of the descriptor limit (%zu) is kept for the "
		    "workers", nopen, fd_limit);
	else
		seterr(why, whylen, "too many connections: %zu open "
		    "(max_connections)", nopen);
	refused(why);
	return -1;
}

static int
admit_key(struct keytab *t, const char *key, unsigned max, const char *what,
    char *why, size_t whylen)
{
	unsigned *n;

	if (admit_total(why, whylen) != 0)
		return -1;
	if (t != NULL) {
		n = keytab_get(t, key, 1);
		if (*n >= max) {
			seterr(why, whylen, "too many connections from %s "
			    "(%s = %u)", key, what, max);
			refused(why);
			if (*n == 0)
				keytab_del(t, key);
			return -1;
		}
		(*n)++;
	}
	nopen++;
	return 0;
}

static void
release_key(struct keytab *t, const char *key)
{
	unsigned *n;

	if (nopen > 0)
		nopen--;
	if (t != NULL && (n = keytab_get(t, key, 0)) != NULL && --*n == 0)
		keytab_del(t, key);
}

int
admit_http(const char *addrkey, int trusted, char *why, size_t whylen)
{
	return admit_key(trusted ? NULL : per_addr, addrkey,
	    vmsd_conf->max_connections_per_address,
	    "max_connections_per_address", why, whylen);
}

void
admit_http_release(const char *addrkey)
{
	release_key(per_addr, addrkey);
}

static void
uid_key(uid_t uid, char *buf, size_t len)
{
	snprintf(buf, len, "uid %lu", (unsigned long)uid);
}

int
admit_control(uid_t uid, char *why, size_t whylen)
{
	char key[32];

	uid_key(uid, key, sizeof(key));
	return admit_key(per_uid, key, vmsd_conf->max_connections_per_uid,
	    "max_connections_per_uid", why, whylen);
}

void
admit_control_release(uid_t uid)
{
	char key[32];

	uid_key(uid, key, sizeof(key));
	release_key(per_uid, key);
}

void
admit_addr_key(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6;
	struct in6_addr a;

	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf,
			    (socklen_t)len);
			return;
		}
		a = s6->sin6_addr;
		memset(&a.s6_addr[8], 0, 8);
		if (inet_ntop(AF_INET6, &a, buf, (socklen_t)len) != NULL &&
		    strlen(buf) + 4 < len)
			strcat(buf, "/64");
		return;
	}
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
		return;
	}
	snprintf(buf, len, "local");
}

int
admit_trusted_proxy(const char *addr)
{
	const char *list = vmsd_conf->trusted_proxies, *p;
	size_t n = strlen(addr), m;

	for (p = list; *p != '\0'; p += m) {
		p += strspn(p, " ,\t");
		m = strcspn(p, " ,\t");
		if (m == n && strncmp(p, addr, n) == 0)
			return 1;
	}
	return 0;
}
