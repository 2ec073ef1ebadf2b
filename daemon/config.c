/*
 * config.c — vmsd.conf: "key = value" lines, "#" comments, defaults, and
 * command-line flags that win over the file (see vmsd.conf(5)).
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

void
config_defaults(struct vmsd_config *c)
{

	memset(c, 0, sizeof(*c));
	c->state_dir = xstrdup(VMSD_STATEDIR);
	c->socket = xstrdup(VMSD_SOCKET);
	c->socket_mode = 0660;
	c->admin_group = xstrdup("");
	c->listen = xstrdup("");
	c->max_message = PROTO_MAX_LINE_DEFAULT;
	c->queue_limit = 1000;
	c->idle_timeout = 300;
	c->call_timeout = 10;
	c->shutdown_grace = 5;
	c->max_restarts = 5;
	c->restart_window = 60;
	c->snapshot_interval = 10000;
	c->batch_max = 256;
	c->commits_in_flight = 2;
	c->commit_beside_after = 200;
	c->commit_inline_max = 8;
	c->handoff = 1;
	c->debug_auth = 0;
	c->origin_prefix = default_origin_prefix(&c->origin_unqualified);
	c->log_level = LOG_INFO;
	c->max_batch = 100;
	c->cors_origins = xstrdup("");
	c->trusted_proxies = xstrdup("");
	c->anonymous_calls = 0;
	c->max_connections = 1024;
	c->max_connections_per_address = 64;
	c->max_connections_per_uid = 128;
	c->max_header_size = 16 << 10;
	c->max_requests_per_connection = 1000;
	c->client_idle_timeout = 60;
	c->client_request_timeout = 10;
	c->max_output = 16 << 20;
	c->memory_budget = 64 << 20;
	c->call_rate_per_address = 20;
	c->call_burst_per_address = 40;
	c->call_rate_per_identity = 10;
	c->call_burst_per_identity = 20;
	limits_default(&c->limits);
	c->oracle_timeout = 5000;	/* ms */
	c->oracle_max_output = 64 << 10;
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

/*
 * The settings of clients and their limits (vmsd.conf(5), "Clients and
 * limits"): 0 set, -1 bad value (err), 1 not one of them.
 */
static int
set_client_key(struct vmsd_config *c, const char *key, const char *v,
    char *err, size_t errlen)
{
	static const struct {
		const char	*key;
		size_t		 off;
		uint64_t	 min, max;
		int		 size;		/* a size with K/M/G */
	} nums[] = {
#define U(k, lo, hi)	{ #k, offsetof(struct vmsd_config, k), lo, hi, 0 }
#define Z(k, lo, hi)	{ #k, offsetof(struct vmsd_config, k), lo, hi, 1 }
		U(max_batch, 1, 100000),
		U(max_connections, 1, 1000000),
		U(max_connections_per_address, 1, 1000000),
		U(max_connections_per_uid, 1, 1000000),
		Z(max_header_size, 1024, 1 << 20),
		U(max_requests_per_connection, 0, 1u << 31),
		U(client_idle_timeout, 0, 86400),
		U(client_request_timeout, 0, 3600),
		Z(max_output, 64 << 10, 1ULL << 32),
		Z(memory_budget, 1 << 20, 1ULL << 40),
		U(call_rate_per_address, 0, 1000000),
		U(call_burst_per_address, 1, 1000000),
		U(call_rate_per_identity, 0, 1000000),
		U(call_burst_per_identity, 1, 1000000),
#undef U
#undef Z
	};
	size_t i;
	uint64_t n;
	char *p = (char *)c;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(key, nums[i].key) != 0)
			continue;
		if ((nums[i].size ? parse_size(v, nums[i].max, &n) :
		    parse_uint(v, nums[i].min, nums[i].max, &n)) != 0 ||
		    n < nums[i].min || n > nums[i].max) {
			if (nums[i].size)
				seterr(err, errlen, "bad value '%s' for %s "
				    "(a size from %llu to %llu bytes, K/M/G "
				    "suffixes)", v, key,
				    (unsigned long long)nums[i].min,
				    (unsigned long long)nums[i].max);
			else
				seterr(err, errlen, "bad value '%s' for %s "
				    "(a whole number from %llu to %llu)", v,
				    key, (unsigned long long)nums[i].min,
				    (unsigned long long)nums[i].max);
			return -1;
		} else if (nums[i].size)
			*(size_t *)(p + nums[i].off) = (size_t)n;
		else
			*(unsigned *)(p + nums[i].off) = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "anonymous_calls") == 0) {
		if (parse_bool(v, &c->anonymous_calls) != 0) {
			seterr(err, errlen, "bad value '%s' for "
			    "anonymous_calls (yes or no)", v);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "cors_origins") == 0) {
		if (!valid_origins(v)) {
			seterr(err, errlen, "bad value '%s' for cors_origins "
			    "(*, or origins such as https://example.org "
			    "separated by spaces)", v);
			return -1;
		}
		set_str(&c->cors_origins, v);
		return 0;
	}
	if (strcmp(key, "trusted_proxies") == 0) {
		if (!valid_addresses(v)) {
			seterr(err, errlen, "bad value '%s' for "
			    "trusted_proxies (IP addresses separated by "
			    "spaces)", v);
			return -1;
		}
		set_str(&c->trusted_proxies, v);
		return 0;
	}
	return 1;
}

/* Apply one setting. Returns 0, or -1 with the reason in err. */
static int
config_set(struct vmsd_config *c, const char *key, const char *v,
    char *err, size_t errlen)
{
	uint64_t n;
	char *end, lerr[VMS_ERRLEN], *kv;
	unsigned long mode;
	int rc;

	if (strcmp(key, "state_dir") == 0 || strcmp(key, "socket") == 0) {
		if (*v == '\0') {
			seterr(err, errlen, "%s must not be empty", key);
			return -1;
		}
		set_str(key[1] == 't' ? &c->state_dir : &c->socket, v);
	} else if (strcmp(key, "socket_mode") == 0) {
		errno = 0;
		mode = strtoul(v, &end, 8);
		if (*v == '\0' || *end != '\0' || errno != 0 ||
		    mode > 0777) {
			seterr(err, errlen, "bad value '%s' for socket_mode "
			    "(octal mode, e.g. 0660)", v);
			return -1;
		}
		c->socket_mode = (mode_t)mode;
	} else if (strcmp(key, "admin_group") == 0) {
		set_str(&c->admin_group, v);
	} else if (strcmp(key, "listen") == 0) {
		if (!valid_listen(v)) {
			seterr(err, errlen, "bad value '%s' for listen "
			    "(ADDR:PORT, or empty for none)", v);
			return -1;
		}
		set_str(&c->listen, v);
	} else if (strcmp(key, "max_message") == 0) {
		if (parse_size(v, 1ULL << 30, &n) != 0 || n < 1024) {
			seterr(err, errlen, "bad value '%s' for max_message "
			    "(bytes, 1K..1G, K/M/G suffixes)", v);
			return -1;
		}
		c->max_message = (size_t)n;
	} else if (strcmp(key, "queue_limit") == 0) {
		if (parse_uint(v, 1, 1000000, &n) != 0)
			goto bad_uint;
		c->queue_limit = (unsigned)n;
	} else if (strcmp(key, "idle_timeout") == 0) {
		if (parse_uint(v, 0, 86400 * 365, &n) != 0)
			goto bad_uint;
		c->idle_timeout = (unsigned)n;
	} else if (strcmp(key, "call_timeout") == 0) {
		if (parse_uint(v, 0, 86400, &n) != 0)
			goto bad_uint;
		c->call_timeout = (unsigned)n;
	} else if (strcmp(key, "shutdown_grace") == 0) {
		if (parse_uint(v, 0, 3600, &n) != 0)
			goto bad_uint;
		c->shutdown_grace = (unsigned)n;
	} else if (strcmp(key, "max_restarts") == 0) {
		if (parse_uint(v, 1, 1000, &n) != 0)
			goto bad_uint;
		c->max_restarts = (unsigned)n;
	} else if (strcmp(key, "restart_window") == 0) {
		if (parse_uint(v, 1, 86400, &n) != 0)
			goto bad_uint;
		c->restart_window = (unsigned)n;
	} else if (strcmp(key, "snapshot_interval") == 0) {
		if (parse_uint(v, 1, UINT64_MAX / 2, &n) != 0)
			goto bad_uint;
		c->snapshot_interval = n;
	} else if (strcmp(key, "batch_max") == 0) {
		if (parse_uint(v, 1, 65536, &n) != 0)
			goto bad_uint;
		c->batch_max = (unsigned)n;
	} else if (strcmp(key, "commits_in_flight") == 0) {
		if (parse_uint(v, 1, 2, &n) != 0) {
			seterr(err, errlen, "bad value '%s' for "
			    "commits_in_flight (1 or 2)", v);
			return -1;
		}
		c->commits_in_flight = (unsigned)n;
	} else if (strcmp(key, "commit_beside_after") == 0) {
		if (parse_uint(v, 0, 1000000, &n) != 0)
			goto bad_uint;
		c->commit_beside_after = (unsigned)n;
	} else if (strcmp(key, "commit_inline_max") == 0) {
		if (parse_uint(v, 1, 65536, &n) != 0)
			goto bad_uint;
		c->commit_inline_max = (unsigned)n;
	} else if (strcmp(key, "handoff") == 0) {
		if (parse_bool(v, &c->handoff) != 0) {
			seterr(err, errlen, "bad value '%s' for handoff "
			    "(yes or no)", v);
			return -1;
		}
	} else if (strcmp(key, "debug_auth") == 0) {
		if (parse_bool(v, &c->debug_auth) != 0) {
			seterr(err, errlen, "bad value '%s' for debug_auth "
			    "(yes or no)", v);
			return -1;
		}
	} else if (strcmp(key, "origin_prefix") == 0) {
		if (strchr(v, ' ') || strchr(v, '+') || strchr(v, '\t')) {
			seterr(err, errlen, "bad value '%s' for origin_prefix "
			    "(no spaces or '+')", v);
			return -1;
		}
		if (*v == '\0') {
			free(c->origin_prefix);
			c->origin_prefix = default_origin_prefix(
			    &c->origin_unqualified);
		} else {
			set_str(&c->origin_prefix, v);
			c->origin_unqualified = 0;
		}
	} else if (strcmp(key, "log_level") == 0) {
		if (log_level_parse(v, &c->log_level) != 0) {
			seterr(err, errlen, "bad value '%s' for log_level "
			    "(err, warning, notice, info or debug)", v);
			return -1;
		}
	} else if (strncmp(key, "oracle ", 7) == 0 ||
	    strncmp(key, "oracle\t", 7) == 0) {
		return oracle_set(c, key, v, 0, err, errlen);
	} else if (strncmp(key, "oracle_key ", 11) == 0 ||
	    strncmp(key, "oracle_key\t", 11) == 0) {
		return oracle_set(c, key, v, 1, err, errlen);
	} else if (strcmp(key, "oracle_timeout_ms") == 0) {
		if (parse_uint(v, 10, 600000, &n) != 0)
			goto bad_uint;
		c->oracle_timeout = (unsigned)n;
	} else if (strcmp(key, "oracle_max_output") == 0) {
		if (parse_size(v, 1ULL << 20, &n) != 0 || n < 16) {
			seterr(err, errlen, "bad value '%s' for "
			    "oracle_max_output (bytes, 16 to 1M, K/M "
			    "suffixes)", v);
			return -1;
		}
		c->oracle_max_output = n;
	} else if ((rc = set_client_key(c, key, v, err, errlen)) != 1) {
		return rc;
	} else if (strncmp(key, "limit.", 6) == 0) {
		xasprintf(&kv, "%s=%s", key + 6, v);
		if (limits_set(&c->limits, kv, lerr, sizeof(lerr)) != 0) {
			seterr(err, errlen, "bad setting '%s': %s", key, lerr);
			free(kv);
			return -1;
		}
		free(kv);
	} else {
		seterr(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	return 0;

bad_uint:
	seterr(err, errlen, "bad value '%s' for %s (a whole number in range)",
	    v, key);
	return -1;
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
