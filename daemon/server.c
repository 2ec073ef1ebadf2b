/*
 * server.c — the daemon's life (server.h): configuration, the state
 * directory's lock, listeners, the supervisor, sd_notify, signals
 * (SIGTERM/SIGINT drain and exit, SIGHUP reload, SIGCHLD) and the orderly
 * shutdown: stop accepting, serve the connected clients until they are
 * idle (control_drain), then stop the workers, which commit and snapshot,
 * and exit 0. vmsd never daemonizes itself: it runs in the foreground, as
 * systemd (Type=notify) expects.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "admit.h"
#include "budget.h"
#include "contract.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "proc.h"
#include "ratelimit.h"
#include "server.h"
#include "supervisor.h"
#include "tiles.h"
#include "util.h"
#include "vmsd.h"

static struct vmsd_config conf;
static struct vmsd_flags flags;
static struct event *ev_term, *ev_int, *ev_hup, *ev_chld;
static int stopping;			/* SIGTERM/SIGINT received */
static int lock_fd = -1;

static int
resolve_admin_gid(const struct vmsd_config *c, char *err, size_t errlen)
{
	struct group *gr;

	if (c->admin_group[0] != '\0') {
		errno = 0;
		if ((gr = getgrnam(c->admin_group)) == NULL) {
			seterr(err, errlen, "admin_group '%s': no such group",
			    c->admin_group);
			return -1;
		}
		vmsd_admin_gid = gr->gr_gid;
	} else if (control_socket_gid() != (gid_t)-1)
		vmsd_admin_gid = control_socket_gid();
	else
		vmsd_admin_gid = getegid();
	return 0;
}

static const char *
status_line(void)
{
	static char buf[64];
	size_t n = contract_count();

	snprintf(buf, sizeof(buf), "serving %zu contract%s", n,
	    n == 1 ? "" : "s");
	return buf;
}

static void
update_status(void)
{
	if (!stopping)
		notify_status("%s", status_line());
}

/* Parents that died before making the children their ledgers ask for:
 * their workers make them at open (CONTRACT_CHILDREN_PENDING). */
static void
start_pending_parents(void)
{
	struct contract *c;

	for (c = contract_first(); c != NULL; c = contract_next(c))
		if (c->children_pending && !c->admin_stopped) {
			log_info("%s: children to make: starting its worker",
			    c->name);
			c->children_pending = 0;
			supervisor_start_worker(c);
		}
}

static void
ready(void)
{
	notify_ready(status_line());
}

/* Every worker has committed, snapshotted and exited. */
static void
workers_done(void)
{
	log_info("all workers stopped");
	event_base_loopexit(vmsd_base, NULL);
}

/* No client is left: no request can arrive any more. */
static int fronts_busy;		/* front ends still draining */

/* Every front end is drained: no request can arrive any more. */
static void
clients_done(void)
{
	if (--fronts_busy > 0)
		return;
	log_info("all clients served; stopping the workers");
	vmsd_shutting_down = 1;
	supervisor_shutdown(workers_done);
}

/*
 * Stop accepting (a socket-activated listener stays open in systemd, so new
 * clients wait for the next instance), serve the connected clients until
 * each is idle or shutdown_grace passes, then stop the workers.
 */
static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	if (stopping) {
		log_info("signal %d: already shutting down", (int)sig);
		return;
	}
	log_info("signal %d: shutting down; no new connections", (int)sig);
	stopping = 1;
	notify_stopping();
	control_stop_listening();
	fronts_busy = 2;
	http_drain(clients_done);
	control_drain(conf.shutdown_grace, clients_done);
}

static int
same(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The configured level, here and (through the environment) in every
 * worker started from now on. */
static void
apply_log_level(void)
{
	log_setlevel(conf.log_level);
	if (setenv(LOG_LEVEL_ENV, log_level_name(conf.log_level), 1) != 0)
		log_warn("setenv %s", LOG_LEVEL_ENV);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct vmsd_config nc;
	char err[VMS_ERRLEN];
	gid_t old_gid = vmsd_admin_gid;

	if (stopping)
		return;
	notify_reloading();
	log_info("SIGHUP: reloading %s", flags.config ? flags.config :
	    "(no config file)");
	if (config_load(&nc, &flags, err, sizeof(err)) != 0) {
		log_warnx("reload failed, keeping the current configuration: "
		    "%s", err);
		ready();
		return;
	}
	/* What a running daemon cannot change. */
	if (!same(nc.state_dir, conf.state_dir))
		log_warnx("state_dir changed: takes effect after a restart");
	if (!same(nc.socket, conf.socket) || nc.socket_mode != conf.socket_mode)
		log_warnx("socket or socket_mode changed: takes effect after "
		    "a restart");
	if (!same(nc.listen, conf.listen))
		log_warnx("listen changed: takes effect after a restart");
	free(nc.state_dir);
	nc.state_dir = xstrdup(conf.state_dir);
	free(nc.socket);
	nc.socket = xstrdup(conf.socket);
	nc.socket_mode = conf.socket_mode;
	free(nc.listen);
	nc.listen = xstrdup(conf.listen);
	if (resolve_admin_gid(&nc, err, sizeof(err)) != 0) {
		log_warnx("reload failed, keeping the current configuration: "
		    "%s", err);
		vmsd_admin_gid = old_gid;
		config_free(&nc);
		ready();
		return;
	}
	config_free(&conf);
	conf = nc;
	apply_log_level();
	http_configure();
	log_info("configuration reloaded (new snapshot_interval, "
	    "batch_max, commits_in_flight, commit_beside_after, "
	    "commit_inline_max and busy_poll apply to workers started from "
	    "now on)");
	ready();
}

static void
on_chld(evutil_socket_t sig, short what, void *arg)
{
	supervisor_sigchld();
}

static struct event *
add_signal(int sig, event_callback_fn fn)
{
	struct event *ev = evsignal_new(vmsd_base, sig, fn, NULL);

	if (ev == NULL || event_add(ev, NULL) != 0)
		fatalx("cannot watch signal %d", sig);
	return ev;
}

/* One daemon per state directory: two would run two writers per ledger. */
static void
lock_state_dir(void)
{
	char *path;

	xasprintf(&path, "%s/vmsd.lock", conf.state_dir);
	if ((lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		fatal("%s", path);
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			fatalx("state directory %s is in use by another vmsd",
			    conf.state_dir);
		fatal("lock %s", path);
	}
	free(path);
}

static void
setup_listeners(void)
{
	char err[VMS_ERRLEN], *dir;
	int cfd, tfd;

	notify_listen_fds(&cfd, &tfd);
	if (cfd >= 0) {
		if (control_listen_fd(cfd, err, sizeof(err)) != 0)
			fatalx("%s", err);
	} else {
		dir = xstrdup(conf.socket);
		if (mkdir_p(dirname(dir), 0755) != 0)
			fatal("mkdir %s", dir);
		free(dir);
		if (control_listen_unix(conf.socket, conf.socket_mode, err,
		    sizeof(err)) != 0)
			fatalx("%s", err);
		log_info("listening on %s", conf.socket);
	}
	if (tfd >= 0) {
		if (http_listen_fd(tfd, err, sizeof(err)) != 0)
			fatalx("%s", err);
	} else if (conf.listen[0] != '\0' &&
	    http_listen(conf.listen, err, sizeof(err)) != 0)
		fatalx("%s", err);
}

int
server_run(const struct vmsd_flags *f)
{
	char err[VMS_ERRLEN];
	struct sigaction sa;
	struct event_config *evcfg;

	flags = *f;
	if (config_load(&conf, &flags, err, sizeof(err)) != 0)
		fatalx("%s", err);
	vmsd_conf = &conf;
	apply_log_level();

	if (conf.origin_unqualified)
		log_warnx("origin_prefix is \"%s\", made of a host name that "
		    "is not fully qualified: another host of that name would "
		    "sign the same origins, and auditors could not tell the "
		    "two apart; set origin_prefix to a name only this host "
		    "has (e.g. origin_prefix = vms.example.org) in %s",
		    conf.origin_prefix, flags.config ? flags.config :
		    "vmsd.conf");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		fatal("sigaction");
	if (mkdir_p(conf.state_dir, 0755) != 0)
		fatal("state directory %s", conf.state_dir);
	lock_state_dir();

	/*
	 * Changes to what a descriptor waits for are batched into one
	 * epoll_ctl per descriptor and turn of the loop: evhttp stops and
	 * restarts reading and writing a connection around every request
	 * (4.0 epoll_ctl per HTTP request without it, 3.0 with it;
	 * bench/README.md, round 6). libevent's caveat, descriptors cloned
	 * by dup(), does not apply: vmsd dup()s only in a child between fork
	 * and exec.
	 */
	if ((evcfg = event_config_new()) == NULL ||
	    event_config_set_flag(evcfg,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) != 0 ||
	    (vmsd_base = event_base_new_with_config(evcfg)) == NULL)
		fatalx("event_base_new failed");
	event_config_free(evcfg);
	ev_term = add_signal(SIGTERM, on_term);
	ev_int = add_signal(SIGINT, on_term);
	ev_hup = add_signal(SIGHUP, on_hup);
	ev_chld = add_signal(SIGCHLD, on_chld);
	budget_init();

	setup_listeners();
	tiles_init();
	if (resolve_admin_gid(&conf, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (supervisor_init(err, sizeof(err)) != 0 ||
	    admin_recover(err, sizeof(err)) != 0 ||
	    contracts_load(err, sizeof(err)) != 0)
		fatalx("%s", err);
	supervisor_on_child(admin_child);
	supervisor_on_back(control_adopt);
	start_pending_parents();
	contracts_on_change(update_status);
	notify_init();
	admit_init();
	log_info("vmsd %s ready: state %s, %zu contract%s", VMSD_VERSION,
	    conf.state_dir, contract_count(),
	    contract_count() == 1 ? "" : "s");
	ready();

	if (event_base_dispatch(vmsd_base) < 0)
		fatalx("event loop failed");

	proc_free_all();
	admin_free_all();
	tiles_free();
	contracts_free_all();
	http_free();
	control_free_all();
	control_listeners_free();
	ratelimit_free();
	admit_free();
	budget_free();
	notify_free();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_chld);
	event_base_free(vmsd_base);
	libevent_global_shutdown();
	log_info("stopped");
	close(lock_fd);
	config_free(&conf);
	return 0;
}
