/*
 * cmd-audit.c — vmsctl audit [NAME ...] | --dir PATH | --remote URL |
 * --follow NAME|--remote URL, [--children]:
 * option handling, trust on first use (looked up by the checkpoint's
 * origin, remembered with the socket it was seen on), contracts a daemon
 * stopped listing, one line (or JSON object) per contract, the children
 * a verified parent made (each audited against what the parent recorded),
 * and the follow loop. The checks are audit/audit.c's.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit-cli.h"
#include "httpc.h"
#include "util.h"
#include "vmsctl.h"

static int cmd_audit(struct ctl *, int, char **);

const struct cmd_entry cmd_audit_entry = {
	"audit",
	"[NAME ...] | --dir PATH | --remote URL | --follow NAME|--remote URL "
	"[--interval S] [--count N] [--timeout S] [--key VKEY] [--children] "
	"[--threads N] [--json]",
	"verify ledgers: signature, tree, deploy entry, replay, state",
	cmd_audit
};

struct audit_cli {
	struct ctl	*c;
	const char	*key;
	char		 known[PATH_MAX];
	int		 progress;
	int		 children;	/* --children */
	int		 threads;	/* --threads (--dir) */
};

/* The CPUs this process may run on (as nproc(1) counts them), at most
 * AUDIT_MAX_THREADS: --dir's default --threads. */
static int
usable_cpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > AUDIT_MAX_THREADS ? AUDIT_MAX_THREADS : (int)n;
}

static void
print_report(struct audit_cli *ac, const struct audit_report *r)
{
	char *line;
	json_t *o;

	if (ac->c->json) {
		o = audit_report_json(r);
		ctl_print_json(o);
		json_decref(o);
	} else {
		line = audit_report_line(r);
		printf("%s\n", line);
		free(line);
	}
	fflush(stdout);
}

static void
remember(struct audit_cli *ac, const char *seen,
    const struct audit_report *r)
{
	struct audit_trusted t;
	char err[VMS_ERRLEN];

	memset(&t, 0, sizeof(t));
	snprintf(t.vkey, sizeof(t.vkey), "%s", r->vkey);
	t.size = r->size;
	memcpy(t.root, r->root, MERKLE_HASH_LEN);
	if (trust_store(ac->known, r->origin, &t, seen, err, sizeof(err)) != 0)
		ctl_errx("cannot remember the verified checkpoint: %s", err);
}

/* The socket as remembered: its real path when it resolves. */
static void
socket_id(struct audit_cli *ac, char *buf, size_t len)
{
	char real[PATH_MAX];

	if (realpath(ac->c->socket, real) != NULL)
		snprintf(buf, len, "%s", real);
	else
		snprintf(buf, len, "%s", ac->c->socket);
}

static const char *
last_component(const char *origin)
{
	const char *s = strrchr(origin, '/');

	return s ? s + 1 : origin;
}

struct lookup_ctx {
	struct audit_cli	*ac;
	const char		*name;	/* contract name asked for, or NULL */
	const char		*seen;	/* socket, or NULL for --dir */
};

/* audit_opts.lookup: what is remembered for this origin. */
static enum audit_verdict
lookup(void *arg, const char *origin, struct audit_trusted *t, int *found,
    char *why, size_t whylen)
{
	struct lookup_ctx *l = arg;
	struct trust_rec *recs;
	size_t n, i;
	enum audit_verdict rc = AUDIT_PASS;

	*found = 0;
	if (trust_load(l->ac->known, &recs, &n, why, whylen) != 0)
		return AUDIT_ERROR;
	for (i = 0; i < n; i++)
		if (strcmp(recs[i].origin, origin) == 0) {
			*t = recs[i].t;
			*found = 1;
			break;
		}
	/* A daemon that once served NAME under another origin now presents
	 * a new one: that is a key change in disguise. */
	for (i = 0; !*found && l->seen != NULL && l->name != NULL &&
	    l->ac->key == NULL && i < n; i++)
		if (strcmp(recs[i].seen, l->seen) == 0 &&
		    strcmp(last_component(recs[i].origin), l->name) == 0) {
			seterr(why, whylen, "origin changed for %s on %s (was "
			    "%s, now %s): refusing; use --key to accept a new "
			    "key explicitly", l->name, l->seen,
			    recs[i].origin, origin);
			rc = AUDIT_FAIL;
			break;
		}
	free(recs);
	return rc;
}

/* One audit. Returns EXIT_OK, EXIT_FAILED or EXIT_UNREACHABLE; on success
 * with follow != NULL, *follow is the live audit (caller frees). parent:
 * what the parent's ledger says of this child, or NULL. */
static int
audit_one(struct audit_cli *ac, struct audit_source *src, const char *name,
    const char *seen, int *transport_failed, struct audit **follow,
    const struct audit_parent *parent)
{
	struct lookup_ctx l;
	struct audit_opts o;
	struct audit_report r;
	char err[VMS_ERRLEN];
	int rc;

	memset(&o, 0, sizeof(o));
	o.name = name;
	o.parent = parent;
	/* --key pins the parent's key, not its children's */
	o.pinned_vkey = parent == NULL ? ac->key : NULL;
	o.progress = ac->progress;
	o.threads = ac->threads;
	l.ac = ac;
	l.name = name;
	l.seen = seen;
	o.lookup = lookup;
	o.lookup_arg = &l;
	rc = audit_run(src, &o, &r, follow, err, sizeof(err));
	if (rc == AUDIT_ERROR) {
		ctl_errx("%s: %s", name ? name : src->what, err);
		if (ac->c->json) {
			json_t *j = json_pack("{s:s,s:b,s:s}", "contract",
			    name ? name : src->what, "ok", 0, "error", err);

			ctl_print_json(j);
			json_decref(j);
		}
		return transport_failed != NULL && *transport_failed ?
		    EXIT_UNREACHABLE : EXIT_FAILED;
	}
	print_report(ac, &r);
	if (rc != 0)
		return EXIT_FAILED;
	remember(ac, seen, &r);
	return EXIT_OK;
}

/* A child the parent's ledger names that could not be audited at all. */
static void
child_missing(struct audit_cli *ac, const char *name, const char *why)
{
	if (ac->c->json) {
		json_t *o = json_pack("{s:s,s:b,s:s}", "contract", name, "ok",
		    0, "error", why);

		ctl_print_json(o);
		json_decref(o);
	} else
		printf("%s: FAIL: %s\n", name, why);
	fflush(stdout);
}

/*
 * --children: audit every child the verified parent ledger made, each
 * against the entry 0 the parent recorded (audit_opts.parent). audit_child
 * audits one (from the daemon or a sibling directory). EXIT_OK or the
 * worst of the children's.
 */
static int
audit_children_of(struct audit_cli *ac, struct audit *parent,
    const char *pname, int (*audit_child)(struct audit_cli *, const char *,
    const struct audit_parent *, void *), void *arg)
{
	struct audit_parent p;
	json_t *kids = audit_children(parent), *k;
	size_t i;
	int rc = EXIT_OK, r;

	json_array_foreach(kids, i, k) {
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *hex = json_string_value(json_object_get(k, "entry"));

		memset(&p, 0, sizeof(p));
		p.contract = pname;
		p.origin = audit_origin(parent);
		p.index = (uint64_t)json_integer_value(json_object_get(k,
		    "index"));
		p.stopped = json_is_true(json_object_get(k, "stopped"));
		if (name == NULL || hex == NULL ||
		    hex_decode(hex, p.entry, MERKLE_HASH_LEN) != 0) {
			child_missing(ac, name ? name : "?", "bad record in "
			    "the parent's ledger");
			rc = EXIT_FAILED;
			continue;
		}
		r = audit_child(ac, name, &p, arg);
		if (r == EXIT_UNREACHABLE || (r != EXIT_OK && rc == EXIT_OK))
			rc = r;
		if (r == EXIT_UNREACHABLE)
			break;
	}
	json_decref(kids);
	return rc;
}

/* A child's ledger directory: a sibling of its parent's. */
static int
dir_child(struct audit_cli *ac, const char *name,
    const struct audit_parent *p, void *arg)
{
	const char *pdir = arg, *slash = strrchr(pdir, '/');
	struct audit_source *src;
	char err[VMS_ERRLEN], *dir, why[VMS_ERRLEN + PATH_MAX];
	int rc;

	xasprintf(&dir, "%.*s/%s", slash ? (int)(slash - pdir) : 1,
	    slash ? pdir : ".", name);
	if (audit_dir_source(dir, &src, err, sizeof(err)) != 0) {
		snprintf(why, sizeof(why), "made by %s at entry %llu, but its "
		    "ledger cannot be read: %s", p->contract,
		    (unsigned long long)p->index, err);
		child_missing(ac, name, why);
		free(dir);
		return EXIT_FAILED;
	}
	rc = audit_one(ac, src, name, NULL, NULL, NULL, p);
	audit_source_free(src);
	free(dir);
	return rc;
}

static int
audit_dir(struct audit_cli *ac, const char *dir)
{
	struct audit_source *src;
	struct audit *a = NULL;
	char err[VMS_ERRLEN], real[PATH_MAX];
	const char *s;
	int rc, r;

	if (realpath(dir, real) == NULL) {
		ctl_errx("%s: cannot resolve path", dir);
		return EXIT_FAILED;
	}
	if (audit_dir_source(real, &src, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAILED;
	}
	rc = audit_one(ac, src, NULL, NULL, NULL, ac->children ? &a : NULL,
	    NULL);
	if (rc == EXIT_OK && a != NULL) {
		s = strrchr(audit_origin(a), '/');
		r = audit_children_of(ac, a, s ? s + 1 : audit_origin(a),
		    dir_child, real);
		if (r != EXIT_OK)
			rc = r;
	}
	audit_free(a);
	audit_source_free(src);
	return rc;
}

static int
contract_names(struct ctl *c, char ***names, size_t *n)
{
	json_t *res, *v;
	size_t i;
	int rc;

	*names = NULL;
	*n = 0;
	if ((rc = ctl_rpc(c, PM_LIST, json_object(), &res, NULL)) != EXIT_OK)
		return rc;
	*names = xcalloc(json_array_size(json_object_get(res, "contracts")) +
	    1, sizeof(char *));
	json_array_foreach(json_object_get(res, "contracts"), i, v)
		if (json_string_value(json_object_get(v, "name")) != NULL)
			(*names)[(*n)++] = xstrdup(json_string_value(
			    json_object_get(v, "name")));
	json_decref(res);
	return EXIT_OK;
}

/*
 * Every origin remembered as seen on this daemon's socket must still be
 * listed: a host cannot hide a contract by leaving it out of `list`.
 * Returns EXIT_OK or EXIT_FAILED (one FAIL line per missing contract).
 */
static int
check_missing(struct audit_cli *ac, char **names, size_t n)
{
	struct trust_rec *recs;
	char err[VMS_ERRLEN], seen[PATH_MAX], why[PATH_MAX + 64];
	size_t nr, i, j;
	int rc = EXIT_OK;

	if (trust_load(ac->known, &recs, &nr, err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAILED;
	}
	socket_id(ac, seen, sizeof(seen));
	for (i = 0; i < nr; i++) {
		const char *nm = last_component(recs[i].origin);

		if (strcmp(recs[i].seen, seen) != 0)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(names[j], nm) == 0)
				break;
		if (j < n)
			continue;
		snprintf(why, sizeof(why), "missing: the daemon no longer "
		    "lists it (origin %s, last verified at checkpoint %"
		    PRIu64 ")", recs[i].origin, recs[i].t.size);
		if (ac->c->json) {
			json_t *o = json_pack("{s:s,s:b,s:s,s:s}", "contract",
			    nm, "ok", 0, "origin", recs[i].origin, "error",
			    why);

			ctl_print_json(o);
			json_decref(o);
		} else
			printf("%s: FAIL: %s\n", nm, why);
		rc = EXIT_FAILED;
	}
	fflush(stdout);
	free(recs);
	return rc;
}

static int
audit_daemon_as(struct audit_cli *ac, const char *name,
    struct audit **follow, struct audit_source **keep,
    const struct audit_parent *parent)
{
	struct audit_source *src;
	char seen[PATH_MAX];
	int tf = 0, rc;

	if ((rc = ctl_connect(ac->c)) != EXIT_OK)
		return rc;
	src = audit_rpc_source(ac->c->client, name, &tf);
	/* a stopped child has no worker to report its live state */
	if (parent != NULL && parent->stopped)
		src->state_page = NULL;
	socket_id(ac, seen, sizeof(seen));
	rc = audit_one(ac, src, name, seen, &tf, follow, parent);
	if (keep != NULL && rc == EXIT_OK)
		*keep = src;
	else
		audit_source_free(src);
	return rc;
}

static int
daemon_child(struct audit_cli *ac, const char *name,
    const struct audit_parent *p, void *arg)
{
	return audit_daemon_as(ac, name, NULL, NULL, p);
}

static int
audit_daemon(struct audit_cli *ac, const char *name, struct audit **follow,
    struct audit_source **keep)
{
	struct audit *a = NULL;
	int rc, r;

	if (follow != NULL || !ac->children)
		return audit_daemon_as(ac, name, follow, keep, NULL);
	rc = audit_daemon_as(ac, name, &a, NULL, NULL);
	if (rc == EXIT_OK && a != NULL) {
		r = audit_children_of(ac, a, name, daemon_child, NULL);
		if (r != EXIT_OK)
			rc = r;
	}
	audit_free(a);
	return rc;
}

/* From a tlog-tiles log at a URL prefix (vmsd's /c/NAME or a mirror). */
static int
audit_remote(struct audit_cli *ac, const char *url, struct audit **follow,
    struct audit_source **keep)
{
	struct audit_source *src;
	char err[VMS_ERRLEN];
	int tf = 0, rc;

	if (audit_tiles_source(url, ac->c->timeout_ms, &src, &tf, err,
	    sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_USAGE;
	}
	rc = audit_one(ac, src, NULL, src->what, &tf, follow, NULL);
	if (keep != NULL && rc == EXIT_OK)
		*keep = src;
	else
		audit_source_free(src);
	return rc;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int
audit_follow(struct audit_cli *ac, const char *name, const char *url,
    uint64_t interval_ms, uint64_t count, uint64_t timeout_ms)
{
	struct audit_source *src = NULL;
	struct audit *a = NULL;
	struct audit_report r;
	char err[VMS_ERRLEN], sock[PATH_MAX];
	uint64_t seen = 0, start = mono_usec(), last;
	int rc, grew;

	if (url != NULL) {
		if ((rc = audit_remote(ac, url, &a, &src)) != EXIT_OK)
			return rc;
		snprintf(sock, sizeof(sock), "%s", src->what);
		name = NULL;
	} else {
		if ((rc = audit_daemon(ac, name, &a, &src)) != EXIT_OK)
			return rc;
		socket_id(ac, sock, sizeof(sock));
	}
	for (;;) {
		if (count != 0 && seen >= count)
			break;
		if (timeout_ms != 0 &&
		    (mono_usec() - start) / 1000 >= timeout_ms)
			break;
		sleep_ms(interval_ms);
		last = 0;
		memset(&r, 0, sizeof(r));
		snprintf(r.contract, sizeof(r.contract), "%.*s",
		    (int)sizeof(r.contract) - 1, name ? name : sock);
		rc = audit_follow_step(a, &r, &grew, err, sizeof(err));
		if (rc == AUDIT_ERROR) {
			ctl_errx("%s: %s", r.contract, err);
			rc = EXIT_UNREACHABLE;
			break;
		}
		if (rc == AUDIT_FAIL) {
			print_report(ac, &r);
			rc = EXIT_FAILED;
			break;
		}
		if (!grew)
			continue;
		(void)last;
		seen++;
		if (ac->c->json)
			print_report(ac, &r);
		else {
			printf("%s: checkpoint %" PRIu64 " verified, "
			    "consistent with the last, new entries replayed in "
			    "%.2f s%s\n", r.contract, r.size, r.replay_secs,
			    r.state_checked ? ", state matches" : "");
			fflush(stdout);
		}
		remember(ac, sock, &r);
	}
	audit_free(a);
	audit_source_free(src);
	return rc;
}

static int
parse_secs(const char *s, uint64_t *ms)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || v < 0 || v > 1e7)
		return -1;
	*ms = (uint64_t)(v * 1000);
	return 0;
}

static int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "remote",	required_argument,	NULL, 'r' },
		{ "follow",	no_argument,		NULL, 'f' },
		{ "key",	required_argument,	NULL, 'k' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ "count",	required_argument,	NULL, 'n' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "children",	no_argument,		NULL, 'c' },
		{ "threads",	required_argument,	NULL, 'T' },
		{ NULL,		0,			NULL, 0 }
	};
	struct audit_cli ac;
	const char *dir = NULL, *url = NULL;
	uint64_t interval = 1000, count = 0, timeout = 0, nthreads = 1;
	char err[VMS_ERRLEN], **names = NULL;
	size_t n = 0, i;
	int ch, follow = 0, rc = EXIT_OK, r;

	memset(&ac, 0, sizeof(ac));
	ac.c = c;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			url = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'k':
			ac.key = optarg;
			break;
		case 'i':
			if (parse_secs(optarg, &interval) != 0 || interval == 0) {
				ctl_errx("bad --interval \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (ctl_parse_u64(optarg, &count) != 0) {
				ctl_errx("bad --count \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (parse_secs(optarg, &timeout) != 0) {
				ctl_errx("bad --timeout \"%s\"", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			c->json = 1;
			break;
		case 'c':
			ac.children = 1;
			break;
		case 'T':
			if (ctl_parse_u64(optarg, &nthreads) != 0 ||
			    nthreads < 1 || nthreads > AUDIT_MAX_THREADS) {
				ctl_errx("bad --threads \"%s\" (1 to %d)", optarg,
				    AUDIT_MAX_THREADS);
				return EXIT_USAGE;
			}
			ac.threads = (int)nthreads;
			break;
		default:
			return ctl_usage(&cmd_audit_entry);
		}
	}
	argc -= optind;
	argv += optind;
	if ((dir != NULL && (argc != 0 || follow || url != NULL)) ||
	    (url != NULL && argc != 0) ||
	    (follow && url == NULL && argc != 1) ||
	    (ac.children && (follow || url != NULL)))
		return ctl_usage(&cmd_audit_entry);
	if (ac.threads > 1 && dir == NULL) {
		ctl_errx("--threads replays a directory's entries on several "
		    "threads: it goes with --dir");
		return EXIT_USAGE;
	}
	if (dir != NULL && ac.threads == 0)
		ac.threads = usable_cpus();
	if (url != NULL && !httpc_is_url(url)) {
		ctl_errx("--remote wants an http:// or https:// URL, the log's "
		    "prefix (http://HOST:PORT/c/NAME, or a mirror's)");
		return EXIT_USAGE;
	}
	if (ac.key != NULL) {
		struct note_verifier v;

		if (note_vkey_parse(ac.key, &v, err, sizeof(err)) != 0) {
			ctl_errx("bad --key: %s", err);
			return EXIT_USAGE;
		}
		if (dir == NULL && url == NULL && argc != 1) {
			ctl_errx("--key pins one contract's key: name one "
			    "contract");
			return EXIT_USAGE;
		}
	}
	if (trust_path(ac.known, sizeof(ac.known), err, sizeof(err)) != 0) {
		ctl_errx("%s", err);
		return EXIT_FAILED;
	}
	ac.progress = !c->json && isatty(STDERR_FILENO);
	if (dir != NULL)
		return audit_dir(&ac, dir);
	if (follow)
		return audit_follow(&ac, url ? NULL : argv[0], url, interval,
		    count, timeout);
	if (url != NULL)
		return audit_remote(&ac, url, NULL, NULL);
	if (argc == 0) {
		if ((rc = contract_names(c, &names, &n)) != EXIT_OK)
			return rc;
		if (n == 0 && !c->json)
			printf("no contracts\n");
		rc = check_missing(&ac, names, n);
	} else {
		for (i = 0; i < (size_t)argc; i++)
			if (!valid_contract_name(argv[i])) {
				ctl_errx("bad contract name \"%s\"", argv[i]);
				return EXIT_USAGE;
			}
	}
	for (i = 0; i < (argc == 0 ? n : (size_t)argc); i++) {
		r = audit_daemon(&ac, argc == 0 ? names[i] : argv[i], NULL,
		    NULL);
		if (r == EXIT_UNREACHABLE || (r == EXIT_FAILED && rc == EXIT_OK))
			rc = r;
		if (r == EXIT_UNREACHABLE)
			break;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
