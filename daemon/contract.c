/*
 * contract.c — the contract registry (contract.h) and the startup scan of
 * the state directory.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "contract.h"
#include "ledger.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "vmsd.h"

static TAILQ_HEAD(, contract) contracts = TAILQ_HEAD_INITIALIZER(contracts);
static size_t ncontracts;
static void (*on_change)(void);

char *
contract_path(const char *pre, const char *name, const char *suf)
{
	char *p;

	xasprintf(&p, "%s/%s%s%s", vmsd_conf->state_dir, pre, name, suf);
	return p;
}

struct contract *
contract_find(const char *name)
{
	struct contract *c;

	if (name == NULL)
		return NULL;
	TAILQ_FOREACH(c, &contracts, entry)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct contract *
contract_new(const char *name)
{
	struct contract *c = xcalloc(1, sizeof(*c)), *at;

	c->name = xstrdup(name);
	c->dir = contract_path("contracts/", name, "");
	c->keypath = contract_path("keys/", name, ".key");
	c->headpath = contract_path("keys/", name, ".head");
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->inflight);
	TAILQ_INIT(&c->waiters);
	/* Sorted by name, for list. */
	TAILQ_FOREACH(at, &contracts, entry)
		if (strcmp(at->name, name) > 0)
			break;
	if (at)
		TAILQ_INSERT_BEFORE(at, c, entry);
	else
		TAILQ_INSERT_TAIL(&contracts, c, entry);
	ncontracts++;
	return c;
}

void
contract_free(struct contract *c)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "no such contract: %s", c->name);
	rpcreq_fail_list(&c->queue, &c->nqueue, RPC_NO_CONTRACT, msg);
	rpcreq_fail_list(&c->inflight, &c->ninflight, RPC_UNAVAILABLE, msg);
	rpcreq_fail_list(&c->waiters, NULL, RPC_NO_CONTRACT, msg);
	TAILQ_REMOVE(&contracts, c, entry);
	ncontracts--;
	if (c->timer)
		event_free(c->timer);
	if (c->ctimer)
		event_free(c->ctimer);
	free(c->name);
	free(c->dir);
	free(c->keypath);
	free(c->headpath);
	free(c->refused);
	free(c->vkey);
	free(c->origin);
	free(c);
}

struct contract *
contract_first(void)
{
	return TAILQ_FIRST(&contracts);
}

struct contract *
contract_next(struct contract *c)
{
	return TAILQ_NEXT(c, entry);
}

size_t
contract_count(void)
{
	struct contract *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &contracts, entry)
		if (!c->hidden)
			n++;
	return n;
}

const char *
contract_status(const struct contract *c)
{
	if (c->refused)
		return "unavailable";
	if (c->failed)
		return "failed";
	if (c->admin_stopped)
		return "stopped";
	if (c->worker)
		return "running";
	return "idle";
}

void
contract_set_info(struct contract *c, uint64_t size, const char *vkey,
    const char *origin)
{
	c->size = size;
	if (vkey != NULL) {
		free(c->vkey);
		c->vkey = xstrdup(vkey);
	}
	if (origin != NULL) {
		free(c->origin);
		c->origin = xstrdup(origin);
	}
}

static void
load_one(const char *name)
{
	struct contract *c = contract_new(name);
	struct ledger *l;
	char err[VMS_ERRLEN], *path;
	uint8_t *buf;
	size_t len;

	xasprintf(&path, "%s/status", c->dir);
	if (read_file(path, 64, &buf, &len, err, sizeof(err)) == 0) {
		c->admin_stopped = strncmp((char *)buf, "stopped", 7) == 0;
		free(buf);
	}
	free(path);
	xasprintf(&path, "%s/%s", c->dir, CONTRACT_CHILDREN_PENDING);
	c->children_pending = access(path, F_OK) == 0;
	free(path);
	if (ledger_open(c->dir, NULL, &l, NULL, err, sizeof(err)) != 0) {
		log_warnx("%s: %s", name, err);
		return;
	}
	/* A read-only open repairs nothing: the worker will, and say so. */
	contract_set_info(c, ledger_committed_size(l), ledger_vkey(l),
	    ledger_origin(l));
	ledger_close(l);
	log_debug("%s: %llu entries%s", name, (unsigned long long)c->size,
	    c->admin_stopped ? " (stopped)" : "");
}

int
contracts_load(char *err, size_t errlen)
{
	struct dirent *de;
	char *path;
	DIR *d;

	xasprintf(&path, "%s/contracts", vmsd_conf->state_dir);
	if ((d = opendir(path)) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!valid_contract_name(de->d_name)) {
			log_warnx("%s/%s: not a contract name, ignored", path,
			    de->d_name);
			continue;
		}
		load_one(de->d_name);
	}
	closedir(d);
	free(path);
	log_info("%zu contracts in %s", ncontracts, vmsd_conf->state_dir);
	return 0;
}

void
contracts_on_change(void (*fn)(void))
{
	on_change = fn;
}

void
contracts_changed(void)
{
	if (on_change != NULL)
		on_change();
}

void
contracts_free_all(void)
{
	struct contract *c;

	while ((c = TAILQ_FIRST(&contracts)) != NULL)
		contract_free(c);
}
