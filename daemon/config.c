/*
 * config.c — vmsd.conf: "key = value" lines, "#" comments, defaults, and
 * command-line flags that win over the file (see vmsd.conf(5)). One table
 * of keys (keys[]: field, kind, range, default) serves the defaults, the
 * parser, its errors and config_print (vmsd -T); the oracles' keys and
 * limit.NAME (engine_limits.c's table) are read beside it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callsig.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "oracle.h"
#include "proto.h"
#include "util.h"
#include "vmsd_paths.h"

/*
 * HOST/vmsd, HOST the fully qualified host name: the host name if it has
 * a dot, else the canonical name the resolver gives for it (as hostname
 * -f does). *unqualified is set when neither has a dot: the origin is
 * then unlikely to be unique and vmsd says so at start (server.c).
 */
static char *
default_origin_prefix(int *unqualified)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *p;

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (strchr(host, '.') == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(host, NULL, &hints, &res) == 0 &&
		    res != NULL && res->ai_canonname != NULL &&
		    strchr(res->ai_canonname, '.') != NULL &&
		    strlen(res->ai_canonname) < sizeof(host) &&
		    strcspn(res->ai_canonname, " \t+/") ==
		    strlen(res->ai_canonname))
			snprintf(host, sizeof(host), "%s", res->ai_canonname);
		if (res != NULL)
			freeaddrinfo(res);
	}
	*unqualified = strchr(host, '.') == NULL;
	xasprintf(&p, "%s/vmsd", host);
	return p;
}

/*
 * The keys of vmsd.conf(5) but the oracles' and limit.NAME: where each
 * goes, how its value is read, its range and its default. config_defaults,
 * config_set and config_print (vmsd -T) all read this table; man-pages.sh
 * checks that every key vmsd -T prints is documented. Each row's field
 * must have its kind's type (FIELD() refuses to compile otherwise).
 */
enum key_kind {
	K_UINT,		/* unsigned: a whole number in [min, max] */
	K_U64,		/* uint64_t: the same */
	K_SIZE,		/* size_t: bytes in [min, max], K/M/G suffixes */
	K_SIZE64,	/* uint64_t: the same */
	K_BOOL,		/* int: yes/no, true/false, on/off, 1/0 */
	K_MODE,		/* mode_t: octal, at most 0777 */
	K_LEVEL,	/* int: a syslog level's name (log.h) */
	K_STR,		/* char *: any text passing valid() (if set) */
	K_SET,		/* char *: set() reads it; its default is
			   config_defaults' */
};

struct config_key {
	const char	*name;
	enum key_kind	 kind;
	size_t		 off;		/* in struct vmsd_config */
	uint64_t	 min, max, def;	/* numbers (def: also K_BOOL) */
	const char	*sdef;		/* K_STR's default */
	int		(*valid)(const char *);		/* K_STR */
	int		(*set)(struct vmsd_config *, const char *);	/* K_SET */
	const char	*want;		/* what a good value is, when the
					   kind and range do not say it */
};

static int	 nonempty(const char *);
static int	 valid_listen(const char *);
static int	 valid_origins(const char *);
static int	 valid_addresses(const char *);
static int	 set_origin_prefix(struct vmsd_config *, const char *);

/* the offset of field f, which must be of type T */
#define FIELD(f, T)	(offsetof(struct vmsd_config, f) + 0 * sizeof(char[ \
			    _Generic(((struct vmsd_config *)0)->f, T: 1, \
			    default: -1)]))
#define UINT(k, f, lo, hi, d)	{ k, K_UINT, FIELD(f, unsigned), lo, hi, d, NULL, NULL, NULL, NULL }
#define U64(k, f, lo, hi, d)	{ k, K_U64, FIELD(f, uint64_t), lo, hi, d, NULL, NULL, NULL, NULL }
#define SIZE(k, f, lo, hi, d)	{ k, K_SIZE, FIELD(f, size_t), lo, hi, d, NULL, NULL, NULL, NULL }
#define SIZE64(k, f, lo, hi, d)	{ k, K_SIZE64, FIELD(f, uint64_t), lo, hi, d, NULL, NULL, NULL, NULL }
#define BOOL(k, f, d)		{ k, K_BOOL, FIELD(f, int), 0, 1, d, NULL, NULL, NULL, NULL }
#define MODE(k, f, d)		{ k, K_MODE, FIELD(f, mode_t), 0, 0777, d, NULL, NULL, NULL, NULL }
#define LEVEL(k, f, d)		{ k, K_LEVEL, FIELD(f, int), 0, 0, d, NULL, NULL, NULL, "err, warning, notice, info or debug" }
#define STR(k, f, d, ok, w)	{ k, K_STR, FIELD(f, char *), 0, 0, 0, d, ok, NULL, w }
#define SET(k, f, fn, w)	{ k, K_SET, FIELD(f, char *), 0, 0, 0, NULL, NULL, fn, w }

static const struct config_key keys[] = {
	STR("state_dir", state_dir, VMSD_STATEDIR, nonempty, "a directory"),
	STR("socket", socket, VMSD_SOCKET, nonempty, "a path"),
	MODE("socket_mode", socket_mode, 0660),
	STR("admin_group", admin_group, "", NULL, NULL),
	STR("listen", listen, "", valid_listen,
	    "ADDR:PORT, or empty for none"),
	SIZE("max_message", max_message, 1024, 1ULL << 30,
	    PROTO_MAX_LINE_DEFAULT),
	UINT("queue_limit", queue_limit, 1, 1000000, 1000),
	UINT("idle_timeout", idle_timeout, 0, 86400 * 365, 300),
	UINT("call_timeout", call_timeout, 0, 86400, 10),
	UINT("shutdown_grace", shutdown_grace, 0, 3600, 5),
	UINT("max_restarts", max_restarts, 1, 1000, 5),
	UINT("restart_window", restart_window, 1, 86400, 60),
	U64("snapshot_interval", snapshot_interval, 1, UINT64_MAX / 2, 10000),
	UINT("batch_max", batch_max, 1, 65536, 256),
	UINT("commits_in_flight", commits_in_flight, 1, 2, 2),
	UINT("commit_beside_after", commit_beside_after, 0, 1000000, 200),
	UINT("commit_inline_max", commit_inline_max, 1, 65536, 8),
	UINT("busy_poll", busy_poll, 0, 10000, 100),
	BOOL("handoff", handoff, 1),
	BOOL("debug_auth", debug_auth, 0),
	SET("origin_prefix", origin_prefix, set_origin_prefix,
	    "no spaces or '+'"),
	LEVEL("log_level", log_level, LOG_INFO),
	/* clients and their limits (vmsd.conf(5), "Clients and limits") */
	UINT("max_batch", max_batch, 1, 100000, 100),
	UINT("max_connections", max_connections, 1, 1000000, 1024),
	UINT("max_connections_per_address", max_connections_per_address, 1,
	    1000000, 64),
	UINT("max_connections_per_uid", max_connections_per_uid, 1, 1000000,
	    128),
	SIZE("max_header_size", max_header_size, 1024, 1 << 20, 16 << 10),
	UINT("max_requests_per_connection", max_requests_per_connection, 0,
	    1u << 31, 1000),
	UINT("client_idle_timeout", client_idle_timeout, 0, 86400, 60),
	UINT("client_request_timeout", client_request_timeout, 0, 3600, 10),
	SIZE("max_output", max_output, 64 << 10, 1ULL << 32, 16 << 20),
	SIZE("memory_budget", memory_budget, 1 << 20, 1ULL << 40, 64 << 20),
	UINT("call_rate_per_address", call_rate_per_address, 0, 1000000, 20),
	UINT("call_burst_per_address", call_burst_per_address, 1, 1000000,
	    40),
	UINT("call_rate_per_identity", call_rate_per_identity, 0, 1000000,
	    10),
	UINT("call_burst_per_identity", call_burst_per_identity, 1, 1000000,
	    20),
	BOOL("anonymous_calls", anonymous_calls, 0),
	STR("cors_origins", cors_origins, "", valid_origins,
	    "*, or origins such as https://example.org separated by spaces"),
	STR("trusted_proxies", trusted_proxies, "", valid_addresses,
	    "IP addresses separated by spaces"),
	/* oracles (and "oracle NAME", "oracle_key NAME": config_set) */
	UINT("oracle_timeout_ms", oracle_timeout, 10, 600000, 5000),
	SIZE64("oracle_max_output", oracle_max_output, 16, 1 << 20, 64 << 10),
};

#undef FIELD
#undef UINT
#undef U64
#undef SIZE
#undef SIZE64
#undef BOOL
#undef MODE
#undef LEVEL
#undef STR
#undef SET

/* Store n in the field of k (a number, a flag or a mode). */
static void
key_store(struct vmsd_config *c, const struct config_key *k, uint64_t n)
{
	char *f = (char *)c + k->off;

	switch (k->kind) {
	case K_UINT:
		*(unsigned *)(void *)f = (unsigned)n;
		break;
	case K_U64:
	case K_SIZE64:
		*(uint64_t *)(void *)f = n;
		break;
	case K_SIZE:
		*(size_t *)(void *)f = (size_t)n;
		break;
	case K_BOOL:
	case K_LEVEL:
		*(int *)(void *)f = (int)n;
		break;
	case K_MODE:
		*(mode_t *)(void *)f = (mode_t)n;
		break;
	case K_STR:
	case K_SET:
		break;
	}
}

/* The value in the field of k (a number, a flag, a mode or a level):
 * key_store's inverse. */
static uint64_t
key_fetch(const struct vmsd_config *c, const struct config_key *k)
{
	const char *f = (const char *)c + k->off;

	switch (k->kind) {
	case K_UINT:
		return *(const unsigned *)(const void *)f;
	case K_U64:
	case K_SIZE64:
		return *(const uint64_t *)(const void *)f;
	case K_SIZE:
		return *(const size_t *)(const void *)f;
	case K_BOOL:
	case K_LEVEL:
		return (uint64_t)*(const int *)(const void *)f;
	case K_MODE:
		return *(const mode_t *)(const void *)f;
	case K_STR:
	case K_SET:
		break;
	}
	return 0;
}

void
config_defaults(struct vmsd_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].kind == K_STR)
			*(char **)(void *)((char *)c + keys[i].off) =
			    xstrdup(keys[i].sdef);
		else
			key_store(c, &keys[i], keys[i].def);
	c->origin_prefix = default_origin_prefix(&c->origin_unqualified);
	limits_default(&c->limits);
}

void
config_free(struct vmsd_config *c)
{
	free(c->state_dir);
	free(c->socket);
	free(c->admin_group);
	free(c->listen);
	free(c->origin_prefix);
	free(c->cors_origins);
	free(c->trusted_proxies);
	for (size_t i = 0; i < c->noracles; i++) {
		free(c->oracles[i].name);
		free(c->oracles[i].path);
	}
	free(c->oracles);
	memset(c, 0, sizeof(*c));
}

/* The oracle named name, made if need be. */
static struct vmsd_oracle *
oracle_slot(struct vmsd_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->noracles; i++)
		if (strcmp(c->oracles[i].name, name) == 0)
			return &c->oracles[i];
	c->oracles = xrealloc(c->oracles, (c->noracles + 1) *
	    sizeof(*c->oracles));
	memset(&c->oracles[c->noracles], 0, sizeof(*c->oracles));
	c->oracles[c->noracles].name = xstrdup(name);
	return &c->oracles[c->noracles++];
}

/* "oracle NAME = PATH" and "oracle_key NAME = KEY". */
static int
oracle_set(struct vmsd_config *c, const char *key, const char *v, int iskey,
    char *err, size_t errlen)
{
	const char *name = key + (iskey ? 11 : 7);
	struct vmsd_oracle *o;

	while (*name == ' ' || *name == '\t')
		name++;
	if (!oracle_valid_name(name)) {
		seterr(err, errlen, "bad oracle name '%s' (1 to %d letters, "
		    "digits, '-' and '_')", name, ORACLE_NAME_MAX);
		return -1;
	}
	o = oracle_slot(c, name);
	if (iskey) {
		if (o->keyed) {
			seterr(err, errlen, "oracle_key %s given twice", name);
			return -1;
		}
		if (b64url_decode_fixed(v, strlen(v), o->key, 32) != 0) {
			seterr(err, errlen, "bad value for oracle_key %s (an "
			    "Ed25519 public key: 32 bytes in unpadded "
			    "base64url, 43 characters)", name);
			return -1;
		}
		o->keyed = 1;
		return 0;
	}
	if (o->path != NULL) {
		seterr(err, errlen, "oracle %s given twice", name);
		return -1;
	}
	if (v[0] != '/') {
		seterr(err, errlen, "oracle %s: the executable must be an "
		    "absolute path", name);
		return -1;
	}
	o->path = xstrdup(v);
	return 0;
}

/* "4M", "65536", "1K": a size in bytes. */
static int
parse_size(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ULL * 1024 * 1024, end++;
	if (*end != '\0' || n > max / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static int
parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* ADDR:PORT or [ADDR6]:PORT, or empty. */
static int
valid_listen(const char *v)
{
	const char *colon;
	uint64_t port;

	if (*v == '\0')
		return 1;
	if ((colon = strrchr(v, ':')) == NULL || colon == v)
		return 0;
	return parse_uint(colon + 1, 1, 65535, &port) == 0;
}

/* A list of origins for cors_origins: "*", or http(s)://host[:port]
 * separated by spaces or commas. */
static int
valid_origins(const char *v)
{
	char *copy = xstrdup(v), *tok, *save = NULL;
	int ok = 1, n = 0;

	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	    tok = strtok_r(NULL, " ,\t", &save), n++) {
		if (strcmp(tok, "*") == 0)
			continue;
		if ((strncmp(tok, "http://", 7) != 0 &&
		    strncmp(tok, "https://", 8) != 0) ||
		    tok[strlen(tok) - 1] == '/' ||
		    strchr(tok + 8, '/') != NULL)
			ok = 0;
	}
	free(copy);
	return ok;
}

/* A list of IP addresses for trusted_proxies. */
static int
valid_addresses(const char *v)
{
	struct addrinfo hints, *res;
	char *copy = xstrdup(v), *tok, *save = NULL;
	int ok = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL && ok;
	    tok = strtok_r(NULL, " ,\t", &save)) {
		if (getaddrinfo(tok, NULL, &hints, &res) != 0)
			ok = 0;
		else
			freeaddrinfo(res);
	}
	free(copy);
	return ok;
}

/* An octal mode of at most 0777 ("0660"). */
static int
parse_mode(const char *v, uint64_t *out)
{
	char *end;
	unsigned long mode;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	mode = strtoul(v, &end, 8);
	if (*end != '\0' || errno != 0 || mode > 0777)
		return -1;
	*out = mode;
	return 0;
}

static int
nonempty(const char *v)
{
	return *v != '\0';
}

static int
set_origin_prefix(struct vmsd_config *c, const char *v)
{
	if (strpbrk(v, " \t+") != NULL)
		return -1;
	if (*v == '\0') {
		free(c->origin_prefix);
		c->origin_prefix = default_origin_prefix(
		    &c->origin_unqualified);
	} else {
		set_str(&c->origin_prefix, v);
		c->origin_unqualified = 0;
	}
	return 0;
}

static const struct config_key *
key_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* "bad value 'V' for KEY (what a good one is)" */
static void
bad_value(const struct config_key *k, const char *v, char *err,
    size_t errlen)
{
	unsigned long long lo = k->min, hi = k->max;

	if (k->want != NULL)
		seterr(err, errlen, "bad value '%s' for %s (%s)", v, k->name,
		    k->want);
	else if (k->kind == K_SIZE || k->kind == K_SIZE64)
		seterr(err, errlen, "bad value '%s' for %s (a size from %llu "
		    "to %llu bytes, K/M/G suffixes)", v, k->name, lo, hi);
	else if (k->kind == K_BOOL)
		seterr(err, errlen, "bad value '%s' for %s (yes or no)", v,
		    k->name);
	else if (k->kind == K_MODE)
		seterr(err, errlen, "bad value '%s' for %s (an octal mode, "
		    "e.g. 0660)", v, k->name);
	else
		seterr(err, errlen, "bad value '%s' for %s (a whole number "
		    "from %llu to %llu)", v, k->name, lo, hi);
}

/* Apply one setting. Returns 0, or -1 with the reason in err. */
static int
config_set(struct vmsd_config *c, const char *key, const char *v,
    char *err, size_t errlen)
{
	const struct config_key *k;
	char lerr[VMS_ERRLEN], *kv;
	uint64_t n = 0;
	int ok = 0, b;

	if (strncmp(key, "oracle ", 7) == 0 || strncmp(key, "oracle\t", 7) == 0)
		return oracle_set(c, key, v, 0, err, errlen);
	if (strncmp(key, "oracle_key ", 11) == 0 ||
	    strncmp(key, "oracle_key\t", 11) == 0)
		return oracle_set(c, key, v, 1, err, errlen);
	if (strncmp(key, "limit.", 6) == 0) {
		xasprintf(&kv, "%s=%s", key + 6, v);
		if (limits_set(&c->limits, kv, lerr, sizeof(lerr)) != 0) {
			seterr(err, errlen, "bad setting '%s': %s", key, lerr);
			free(kv);
			return -1;
		}
		free(kv);
		return 0;
	}
	if ((k = key_named(key)) == NULL) {
		seterr(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	switch (k->kind) {
	case K_UINT:
	case K_U64:
		ok = parse_uint(v, k->min, k->max, &n) == 0;
		break;
	case K_SIZE:
	case K_SIZE64:
		ok = parse_size(v, k->max, &n) == 0 && n >= k->min;
		break;
	case K_BOOL:
		if ((ok = parse_bool(v, &b) == 0))
			n = (uint64_t)b;
		break;
	case K_MODE:
		ok = parse_mode(v, &n) == 0;
		break;
	case K_LEVEL:
		if ((ok = log_level_parse(v, &b) == 0))
			n = (uint64_t)b;
		break;
	case K_STR:
		if ((ok = k->valid == NULL || k->valid(v)))
			set_str((char **)(void *)((char *)c + k->off), v);
		break;
	case K_SET:
		ok = k->set(c, v) == 0;
		break;
	}
	if (!ok) {
		bad_value(k, v, err, errlen);
		return -1;
	}
	key_store(c, k, n);
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* The settings in f over c; path names it in messages. */
static int
config_parse_stream(struct vmsd_config *c, FILE *f, const char *path,
    char *err, size_t errlen)
{
	char *line = NULL, *p, *eq, *key, *val, *hash;
	size_t cap = 0, vlen;
	ssize_t n;
	unsigned lineno = 0;
	char why[VMS_ERRLEN];
	int rc = 0;

	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			seterr(err, errlen, "%s:%u: expected 'key = value'",
			    path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		/* A comment after the value starts at " #". */
		for (hash = val; (hash = strchr(hash, '#')) != NULL; hash++) {
			if (hash > val && (hash[-1] == ' ' ||
			    hash[-1] == '\t')) {
				*hash = '\0';
				val = trim(val);
				break;
			}
		}
		vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		if (*key == '\0') {
			seterr(err, errlen, "%s:%u: missing key before '='",
			    path, lineno);
			rc = -1;
			break;
		}
		if (config_set(c, key, val, why, sizeof(why)) != 0) {
			seterr(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		seterr(err, errlen, "%s: read error", path);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < c->noracles; i++)
		if (c->oracles[i].path == NULL) {
			seterr(err, errlen, "%s: oracle_key %s, but no oracle "
			    "%s = PATH", path, c->oracles[i].name,
			    c->oracles[i].name);
			rc = -1;
		} else if (access(c->oracles[i].path, X_OK) != 0)
			log_warnx("%s: oracle %s: %s is not executable (%s): "
			    "calls that ask it will fail", path,
			    c->oracles[i].name, c->oracles[i].path,
			    strerror(errno));
	free(line);
	return rc;
}

static int
config_parse_file(struct vmsd_config *c, const char *path, int must_exist,
    char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = config_parse_stream(c, f, path, err, errlen);
	fclose(f);
	return rc;
}

int
config_parse_text(struct vmsd_config *c, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if (len == 0)
		return 0;
	if ((f = fmemopen((void *)(uintptr_t)text, len, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	rc = config_parse_stream(c, f, name, err, errlen);
	fclose(f);
	return rc;
}

/*
 * Every setting of c as vmsd.conf lines, in the table's order, then the
 * deploy limits and the oracles: a file that, loaded, gives c again.
 * Strings are quoted (the parser takes one pair of quotes off).
 */
int
config_print(const struct vmsd_config *c, FILE *f)
{
	char key[B64URL_LEN(32) + 1];
	const char *name;
	uint64_t lv;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct config_key *k = &keys[i];
		uint64_t n = key_fetch(c, k);

		switch (k->kind) {
		case K_UINT:
		case K_U64:
		case K_SIZE:
		case K_SIZE64:
			rc |= fprintf(f, "%s = %llu\n", k->name,
			    (unsigned long long)n) < 0;
			break;
		case K_BOOL:
			rc |= fprintf(f, "%s = %s\n", k->name,
			    n ? "yes" : "no") < 0;
			break;
		case K_MODE:
			rc |= fprintf(f, "%s = %04o\n", k->name,
			    (unsigned)n) < 0;
			break;
		case K_LEVEL:
			rc |= fprintf(f, "%s = %s\n", k->name,
			    log_level_name((int)n)) < 0;
			break;
		case K_STR:
		case K_SET:
			rc |= fprintf(f, "%s = \"%s\"\n", k->name,
			    *(char *const *)(const void *)((const char *)c +
			    k->off)) < 0;
			break;
		}
	}
	for (i = 0; (name = limits_get(&c->limits, i, &lv)) != NULL; i++)
		rc |= fprintf(f, "limit.%s = %llu\n", name,
		    (unsigned long long)lv) < 0;
	for (i = 0; i < c->noracles; i++) {
		rc |= fprintf(f, "oracle %s = \"%s\"\n", c->oracles[i].name,
		    c->oracles[i].path) < 0;
		if (c->oracles[i].keyed) {
			b64url_encode(c->oracles[i].key, 32, key);
			rc |= fprintf(f, "oracle_key %s = %s\n",
			    c->oracles[i].name, key) < 0;
		}
	}
	return rc ? -1 : 0;
}

int
config_load(struct vmsd_config *c, const struct vmsd_flags *fl, char *err,
    size_t errlen)
{
	char why[VMS_ERRLEN];

	config_defaults(c);
	if (fl->config != NULL && config_parse_file(c, fl->config,
	    fl->config_explicit, err, errlen) != 0) {
		config_free(c);
		return -1;
	}
	if (fl->state_dir)
		set_str(&c->state_dir, fl->state_dir);
	if (fl->socket)
		set_str(&c->socket, fl->socket);
	if (fl->listen) {
		if (config_set(c, "listen", fl->listen, why,
		    sizeof(why)) != 0) {
			seterr(err, errlen, "--listen: %s", why);
			config_free(c);
			return -1;
		}
	}
	if (fl->verbose)
		c->log_level = LOG_DEBUG;
	return 0;
}
