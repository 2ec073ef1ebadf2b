/*
 * worker_receipt.c — the receipts of a batch's calls, in the worker: once
 * the batch's checkpoint is signed (worker.c commit_start, while its
 * fdatasync runs), each call's reply is encoded where it waits in the
 * batch's output, carrying the checkpoint and the entry's inclusion proof
 * (see vmsd-protocol(7)). The proofs of a batch share their siblings
 * (ledger_inclusion_proofs reads each once); the replies are written as
 * text, the checkpoint's JSON string encoded once per batch, so a receipt
 * costs a few microseconds per call, not a jansson object tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "worker.h"

#define VALUE_JSON	(JSON_COMPACT | JSON_REAL_PRECISION(17) | \
			 JSON_ENCODE_ANY)

static void
add(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

/*
 * The base64 text of the hashes a batch's proofs share (a batch's calls
 * are neighbours: most of their siblings are the same nodes), each
 * encoded once: slot by the hash's first bytes, which are uniform.
 */
#define HASH_B64_LEN	B64_LEN(MERKLE_HASH_LEN)
struct hash_texts {
	struct {
		merkle_hash	 h;
		char		 t[HASH_B64_LEN + 1];	/* "" : empty slot */
	} slot[128];
};

static void
add_hash(struct jbuf *b, struct hash_texts *ht, const uint8_t *h)
{
	size_t k = ((size_t)h[0] | (size_t)h[1] << 8) % 128;

	if (ht->slot[k].t[0] == '\0' ||
	    memcmp(ht->slot[k].h, h, MERKLE_HASH_LEN) != 0) {
		memcpy(ht->slot[k].h, h, MERKLE_HASH_LEN);
		b64_put(ht->slot[k].t, h, MERKLE_HASH_LEN);
		ht->slot[k].t[HASH_B64_LEN] = '\0';
	}
	add(b, "\"");
	jbuf_raw(b, ht->slot[k].t, HASH_B64_LEN);
	add(b, "\"");
}

static int
dump_cb(const char *p, size_t n, void *arg)
{
	jbuf_raw(arg, p, n);
	return 0;
}

/* The receipt object of hole h into b. */
static void
receipt_text(struct worker *w, struct jbuf *b, struct hash_texts *ht,
    const struct receipt_hole *h, const char *notejson, uint64_t size,
    const merkle_hash *proof, size_t n)
{
	merkle_hash leaf;
	size_t i;

	if (ledger_leaf_hash(w->ledger, h->index, leaf) != 0)
		fatal("receipt: leaf hash of entry %llu",
		    (unsigned long long)h->index);
	add(b, "{\"index\":");
	jbuf_uint(b, h->index);
	add(b, ",\"leaf_hash\":");
	add_hash(b, ht, leaf);
	add(b, ",\"size\":");
	jbuf_uint(b, size);
	add(b, ",\"checkpoint\":");
	add(b, notejson);
	add(b, ",\"proof\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			add(b, ",");
		add_hash(b, ht, proof[i]);
	}
	add(b, "]");
	if (h->entry != NULL) {
		add(b, ",\"entry\":\"");
		jbuf_b64(b, h->entry, h->entrylen);
		add(b, "\"");
	}
	add(b, "}");
}

/* One call's reply with its receipt, appended to out. */
static void
put_reply(struct worker *w, struct jbuf *out, struct jbuf *t,
    struct hash_texts *ht, const struct receipt_hole *h, const char *notejson,
    uint64_t size, const merkle_hash *proof, size_t n)
{
	t->len = 0;
	if (h->code == 0) {
		add(t, "{\"value\":");
		if (json_dump_callback(h->value, dump_cb, t, VALUE_JSON) != 0) {
			wire_put_error(out, h->id, h->size, RPC_INTERNAL_ERROR,
			    "cannot encode the result (not valid UTF-8?)",
			    NULL);
			return;
		}
		add(t, ",\"index\":");
		jbuf_uint(t, h->index);
		add(t, ",\"receipt\":");
		receipt_text(w, t, ht, h, notejson, size, proof, n);
		add(t, "}");
		wire_put_result_text(out, h->id, h->size, t->s, t->len);
	} else {
		add(t, "{\"index\":");
		jbuf_uint(t, h->index);
		add(t, ",\"receipt\":");
		receipt_text(w, t, ht, h, notejson, size, proof, n);
		add(t, "}");
		wire_put_error_text(out, h->id, h->size, h->code, h->message,
		    t->s, t->len);
	}
}

/* The reply in `out` from offset off to end is a call's with an entry in
 * the batch: if its fdatasync finds the storage full, worker.c rewrites it
 * as an error (refuse_calls). */
static void
note_call(struct worker *w, uint64_t id, size_t off, size_t end)
{
	struct reply_spans *sp = &w->out_calls;

	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 64;
		sp->v = xrealloc(sp->v, sp->cap * sizeof(*sp->v));
	}
	sp->v[sp->n].id = id;
	sp->v[sp->n].off = off;
	sp->v[sp->n].end = end;
	sp->n++;
}

static void
hole_clear(struct receipt_hole *h)
{
	json_decref(h->value);
	free(h->message);
	free(h->entry);
}

/*
 * Rebuild the open batch's output with each hole's reply in its place:
 * put(w, b, i, arg) appends hole i's to b. The holes are cleared.
 */
static void
splice_holes(struct worker *w, void (*put)(struct worker *,
    struct jbuf *, size_t, void *), void *arg)
{
	struct jbuf b = w->spliced;
	size_t i, at = 0;

	b.len = 0;
	for (i = 0; i < w->nholes; i++) {
		if (w->holes[i].at > at)
			jbuf_raw(&b, w->out.s + at, w->holes[i].at - at);
		at = w->holes[i].at;
		put(w, &b, i, arg);
		hole_clear(&w->holes[i]);
	}
	if (w->out.len > at)
		jbuf_raw(&b, w->out.s + at, w->out.len - at);
	w->nholes = 0;
	w->spliced = w->out;
	w->spliced.len = 0;
	w->out = b;
}

/* The batch's checkpoint is signed: each reply with its receipt. */
struct filled {
	const char	*notejson;
	uint64_t	 size;
	struct hash_texts ht;
};

static void
put_filled(struct worker *w, struct jbuf *b, size_t i, void *arg)
{
	struct filled *f = arg;
	size_t start = b->len;

	put_reply(w, b, &w->rtext, &f->ht, &w->holes[i], f->notejson, f->size,
	    w->proofs[i], w->prooflens[i]);
	/* if its fdatasync finds the storage full, it is refused */
	note_call(w, w->holes[i].id, start, b->len);
}

/* The batch is lost: each reply is this error. */
struct refused {
	int		 code;
	const char	*message;
	json_t		*data;
};

static void
put_refused(struct worker *w, struct jbuf *b, size_t i, void *arg)
{
	struct refused *r = arg;

	wire_put_error(b, w->holes[i].id, ledger_committed_size(w->ledger),
	    r->code, r->message, r->data);
}

void
worker_fill_receipts(struct worker *w, const char *note, uint64_t size)
{
	struct filled f;
	struct jbuf notejson;
	char err[VMS_ERRLEN];
	size_t i;
	int consecutive = 1;

	if (w->nholes == 0)
		return;
	if (w->capproofs < w->nholes) {
		w->capproofs = w->nholes;
		w->proofs = xrealloc(w->proofs, w->capproofs *
		    sizeof(*w->proofs));
		w->prooflens = xrealloc(w->prooflens, w->capproofs *
		    sizeof(*w->prooflens));
	}
	for (i = 1; i < w->nholes; i++)
		if (w->holes[i].index != w->holes[i - 1].index + 1)
			consecutive = 0;
	if (consecutive) {
		if (ledger_inclusion_proofs(w->ledger, w->holes[0].index,
		    w->nholes, size, w->proofs, w->prooflens, err,
		    sizeof(err)) != 0)
			fatalx("receipts: %s", err);
	} else
		for (i = 0; i < w->nholes; i++)
			if (ledger_inclusion_proof(w->ledger, w->holes[i].index,
			    size, w->proofs[i], &w->prooflens[i], err,
			    sizeof(err)) != 0)
				fatalx("receipts: %s", err);
	/* the checkpoint, as a JSON string, once for the batch (jbuf_str:
	 * the text jansson writes, without its allocations, 4 % of the
	 * worker's time at one client) */
	jbuf_init(&notejson);
	if (jbuf_str(&notejson, note, strlen(note)) != 0)
		fatalx("receipts: cannot encode the checkpoint");
	memset(&f, 0, sizeof(f));
	f.notejson = notejson.s;
	f.size = size;
	w->out_calls.n = 0;	/* every call's reply is a hole until now */
	splice_holes(w, put_filled, &f);
	jbuf_free(&notejson);
}

size_t
worker_refuse_holes(struct worker *w, int code, const char *message,
    const char *reason)
{
	struct refused r;
	size_t count = w->nholes;

	if (count == 0)
		return 0;
	r.code = code;
	r.message = message;
	r.data = json_pack("{s:s}", "reason", reason);
	splice_holes(w, put_refused, &r);
	json_decref(r.data);
	return count;
}

void
worker_free_receipts(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nholes; i++)
		hole_clear(&w->holes[i]);
	free(w->holes);
	free(w->proofs);
	free(w->prooflens);
	jbuf_free(&w->spliced);
	jbuf_free(&w->rtext);
	w->holes = NULL;
	w->proofs = NULL;
	w->prooflens = NULL;
	w->nholes = w->capholes = w->capproofs = 0;
}
