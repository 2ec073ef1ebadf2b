/*
 * tiles.c — GET /c/NAME/... on the HTTP port: the contract's ledger as a
 * C2SP tlog-tiles log (tiles.h), so that any HTTP client, cache or CDN can
 * read it and an auditor needs nothing but these static resources:
 *
 *   checkpoint          text/plain; charset=utf-8, max-age=2
 *   tile/L/N            application/octet-stream, immutable, 1 year
 *   tile/entries/N      same (entries: uint16 BE length || leaf bytes)
 *   tile/.../N.p/W      partial tiles: same type, max-age=10
 *   vkey                the ledger's verifier key, one line (vmsd's own,
 *                       for trust on first use; not part of tlog-tiles)
 *
 * 404 for a contract that does not exist (or is being deployed) and for a
 * tile the committed tree does not hold (yet). Each request costs O(tile)
 * (libvms/ledger_tiles.c); no worker is involved, so stopped contracts are
 * served too. The handle of each contract is opened read-only once and
 * moved forward (ledger_refresh, O(log n)) when the contract's worker has
 * reported a larger committed size; it is reopened if the ledger files
 * were replaced (a new deploy under the same name).
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "contract.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "tile.h"
#include "tiles.h"
#include "util.h"

#define TILES_MAX_OPEN	64	/* cached read-only handles */

#define CC_FULL		"public, max-age=31536000, immutable"
#define CC_PARTIAL	"public, max-age=10"
#define CC_CHECKPOINT	"public, max-age=2"
#define CC_VKEY		"public, max-age=60"

struct handle {
	char			*name;
	struct ledger		*l;
	dev_t			 dev;
	ino_t			 ino;
	uint64_t		 used;
	LIST_ENTRY(handle)	 entry;
};

static LIST_HEAD(, handle) handles = LIST_HEAD_INITIALIZER(handles);
static size_t nhandles;
static uint64_t clock_;

static void
handle_free(struct handle *h)
{
	LIST_REMOVE(h, entry);
	nhandles--;
	ledger_close(h->l);
	free(h->name);
	free(h);
}

static void
reply_body(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *cc, const void *body, size_t len)
{
	http_reply(req, code, reason, ctype, cc, body != NULL ? body : "",
	    len);
}

static void
not_found(struct evhttp_request *req, const char *why)
{
	char msg[VMS_ERRLEN + 2];
	int n = snprintf(msg, sizeof(msg), "%s\n", why);

	reply_body(req, 404, "Not Found", "text/plain; charset=utf-8", "no-store",
	    msg, n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n :
	    sizeof(msg) - 1);
}

static void
server_error(struct evhttp_request *req, const char *name, const char *why)
{
	char msg[VMS_ERRLEN + 2];
	int n;

	log_warnx("%s: tiles: %s", name, why);
	n = snprintf(msg, sizeof(msg), "%s\n", why);
	reply_body(req, 500, "Internal Server Error", "text/plain; charset=utf-8",
	    "no-store", msg, n < 0 ? 0 : (size_t)n < sizeof(msg) ?
	    (size_t)n : sizeof(msg) - 1);
}

static void
drop(const char *name)
{
	struct handle *h;

	LIST_FOREACH(h, &handles, entry)
		if (strcmp(h->name, name) == 0) {
			handle_free(h);
			return;
		}
}

/* The contract's read-only ledger, opened or brought up to the size its
 * worker last reported. NULL with err. */
static struct ledger *
ledger_of(struct contract *c, char *err, size_t errlen)
{
	struct handle *h, *lru = NULL;
	struct stat st;
	struct ledger *l;
	char *p;

	xasprintf(&p, "%s/entries", c->dir);
	if (stat(p, &st) != 0) {
		seterr(err, errlen, "%s: %s", p, strerror(errno));
		free(p);
		return NULL;
	}
	free(p);
	LIST_FOREACH(h, &handles, entry)
		if (strcmp(h->name, c->name) == 0)
			break;
	if (h != NULL && (h->dev != st.st_dev || h->ino != st.st_ino)) {
		handle_free(h);		/* replaced: a new ledger */
		h = NULL;
	}
	if (h == NULL) {
		if (ledger_open(c->dir, NULL, &l, NULL, err, errlen) != 0)
			return NULL;
		if (nhandles >= TILES_MAX_OPEN) {
			LIST_FOREACH(h, &handles, entry)
				if (lru == NULL || h->used < lru->used)
					lru = h;
			handle_free(lru);
		}
		h = xcalloc(1, sizeof(*h));
		h->name = xstrdup(c->name);
		h->l = l;
		h->dev = st.st_dev;
		h->ino = st.st_ino;
		LIST_INSERT_HEAD(&handles, h, entry);
		nhandles++;
	} else if (c->size > ledger_committed_size(h->l) &&
	    ledger_refresh(h->l, err, errlen) != 0)
		return NULL;
	h->used = ++clock_;
	return h->l;
}

static void
serve_tile(struct evhttp_request *req, struct contract *c, struct ledger *l,
    const char *path)
{
	struct tile_id t;
	char err[VMS_ERRLEN];
	uint8_t *buf;
	size_t len;
	int rc;

	if (tile_parse_path(path, &t) != 0) {
		not_found(req, "not a tlog-tiles resource");
		return;
	}
	rc = ledger_tile(l, &t, &buf, &len, err, sizeof(err));
	if (rc == 1) {
		not_found(req, err);
		return;
	}
	if (rc != 0) {
		server_error(req, c->name, err);
		return;
	}
	reply_body(req, 200, "OK", "application/octet-stream", t.width < TILE_WIDTH ?
	    CC_PARTIAL : CC_FULL, buf, len);
	free(buf);
}

static void
serve(struct evhttp_request *req, const char *rest, void *arg)
{
	char name[65], err[VMS_ERRLEN], *vk;
	const char *slash = strchr(rest, '/'), *what;
	struct contract *c;
	struct ledger *l;
	size_t n;

	(void)arg;
	if (slash == NULL || (n = (size_t)(slash - rest)) >= sizeof(name)) {
		not_found(req, "no such contract");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	what = slash + 1;
	if (!valid_contract_name(name) || (c = contract_find(name)) == NULL ||
	    c->hidden) {
		drop(name);	/* removed: let its files go */
		not_found(req, "no such contract");
		return;
	}
	if ((l = ledger_of(c, err, sizeof(err))) == NULL) {
		server_error(req, name, err);
		return;
	}
	if (strcmp(what, "checkpoint") == 0)
		reply_body(req, 200, "OK", "text/plain; charset=utf-8", CC_CHECKPOINT,
		    ledger_checkpoint(l), strlen(ledger_checkpoint(l)));
	else if (strcmp(what, "vkey") == 0) {
		xasprintf(&vk, "%s\n", ledger_vkey(l));
		reply_body(req, 200, "OK", "text/plain; charset=utf-8", CC_VKEY, vk,
		    strlen(vk));
		free(vk);
	} else
		serve_tile(req, c, l, what);
}

void
tiles_init(void)
{
	http_route("/c/", serve, NULL);
}

void
tiles_free(void)
{
	while (!LIST_EMPTY(&handles))
		handle_free(LIST_FIRST(&handles));
}
