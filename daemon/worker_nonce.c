/*
 * worker_nonce.c — the worker's nonce thread: keeps the signer's pool of
 * signing nonces full (libvms/note_nonce.c), so that signing a batch's
 * checkpoint costs a few microseconds on the main thread instead of the
 * ~35 of a whole Ed25519 signature. It is woken when the pool of
 * NONCE_POOL is half empty, and refills all of it. It runs under
 * SCHED_IDLE (else at nice +19): it gets the time no other thread wants
 * and never preempts the main thread when woken (at nice +10 it did: the
 * main thread was switched out for it right in noncer_kick); when it gets
 * none the pool runs dry and note_sign() signs the usual way, on the main
 * thread, as before.
 */
#include <sys/resource.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "note.h"
#include "util.h"
#include "worker.h"

#define NONCE_POOL	64	/* one per batch; made in ~35 us each */
#define NONCE_LOW	(NONCE_POOL / 2)	/* kicked below this */
#define NONCE_NICE	19

struct noncer {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	const struct note_signer *signer;
	/* under mtx */
	int			 kick, stop;
	int			 waiting;	/* in cond_wait (pool full) */
	uint64_t		 wakes;		/* kicks that woke it */
};

static void *
noncer_run(void *arg)
{
	struct noncer *c = arg;
	struct sched_param sp;
	int r;

	(void)pthread_setname_np(pthread_self(), "vmsd-nonce");
	/* (best effort: a filter may refuse both, then it runs as the
	 * rest) */
	memset(&sp, 0, sizeof(sp));
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), NONCE_NICE);
	for (;;) {
		while ((r = note_nonce_refill(c->signer)) == 1)
			;
		if (r < 0)
			log_warnx("nonce thread: could not make a nonce; "
			    "checkpoints are signed without one");
		if (pthread_mutex_lock(&c->mtx) != 0)
			fatalx("nonce thread: mutex");
		c->waiting = 1;
		while (!c->kick && !c->stop)
			if (pthread_cond_wait(&c->cv, &c->mtx) != 0)
				fatalx("nonce thread: cond_wait");
		c->waiting = 0;
		c->kick = 0;
		if (c->stop) {
			(void)pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		(void)pthread_mutex_unlock(&c->mtx);
	}
}

struct noncer *
noncer_start(struct note_signer *s, char *err, size_t errlen)
{
	struct noncer *c = xcalloc(1, sizeof(*c));
	int e;

	if (note_signer_pool(s, NONCE_POOL, err, errlen) != 0) {
		free(c);
		return NULL;
	}
	c->signer = s;
	if ((e = pthread_mutex_init(&c->mtx, NULL)) != 0 ||
	    (e = pthread_cond_init(&c->cv, NULL)) != 0 ||
	    (e = pthread_create(&c->thread, NULL, noncer_run, c)) != 0) {
		seterr(err, errlen, "nonce thread: %s", strerror(e));
		free(c);
		return NULL;
	}
	return c;
}

/* Set the thread's flag (kick or stop) and wake it, after the unlock. */
static void
post(struct noncer *c, int *flag)
{
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("nonce thread: mutex");
	*flag = 1;
	(void)pthread_mutex_unlock(&c->mtx);
	if (pthread_cond_signal(&c->cv) != 0)
		fatalx("nonce thread: cond_signal");
}

/*
 * A signature may have taken a nonce: once the pool is half empty, wake
 * the thread to refill all of it, if it waits (else it is refilling, or
 * starved of CPU: it takes the rest before it waits again). Not after
 * each signature: a wake-up costs more than the nonce it orders (woken
 * per batch, at 32 attached clients on a PVM guest, the worker spent
 * 48-73 us of CPU per call against 33-40 once per half pool;
 * bench/README.md, round 14). Once woken it fills the pool before it
 * waits again, so it is woken at most once per NONCE_POOL - NONCE_LOW
 * signatures.
 */
void
noncer_kick(struct noncer *c)
{
	int wake;

	if (c == NULL || note_nonce_pooled(c->signer) >= NONCE_LOW)
		return;
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("nonce thread: mutex");
	if ((wake = c->waiting && !c->kick)) {
		c->kick = 1;
		c->wakes++;
	}
	(void)pthread_mutex_unlock(&c->mtx);
	if (wake && pthread_cond_signal(&c->cv) != 0)
		fatalx("nonce thread: cond_signal");
}

uint64_t
noncer_wakes(struct noncer *c)
{
	uint64_t n;

	if (c == NULL)
		return 0;
	if (pthread_mutex_lock(&c->mtx) != 0)
		fatalx("nonce thread: mutex");
	n = c->wakes;
	(void)pthread_mutex_unlock(&c->mtx);
	return n;
}

void
noncer_stop(struct noncer *c)
{
	if (c == NULL)
		return;
	post(c, &c->stop);
	if (pthread_join(c->thread, NULL) != 0)
		log_warnx("nonce thread: pthread_join failed");
	(void)pthread_cond_destroy(&c->cv);
	(void)pthread_mutex_destroy(&c->mtx);
	free(c);
}
