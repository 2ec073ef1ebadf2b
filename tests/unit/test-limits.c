/*
 * test-limits.c — the pieces of the clients' limits that need no socket
 * (from build/libdaemon.a): keytab.c's table under growth, deletion and
 * sweeps; admit.c's address keys (an IPv6 /64), trusted proxies and
 * per-key counts; budget.c's accounts, eviction of the largest holder and
 * evbuffer watching; ratelimit.c's token buckets (per address, per
 * identity, refused without taking a token, the retry time); rpcmsg.c's
 * batches through a stub front end (order, notifications, empty batch,
 * max_batch). The front ends themselves are tested through real sockets
 * in tests/integration/http.sh and limits.sh.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "admit.h"
#include "budget.h"
#include "config.h"
#include "keytab.h"
#include "proto.h"
#include "ratelimit.h"
#include "rpcmsg.h"
#include "rpcreq.h"
#include "vmsd.h"

#include "test.h"

static struct vmsd_config conf;

TEST(keytab_grows_and_sweeps)
{
	struct keytab *t = keytab_new(sizeof(int));
	char key[32];
	int *v, i, bad = 0;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		v = keytab_get(t, key, 1);
		*v = i;
	}
	CHECK_EQ_INT(keytab_count(t), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		v = keytab_get(t, key, 0);
		if (v == NULL || *v != i)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(keytab_get(t, "absent", 0) == NULL);
	keytab_del(t, "k7");
	CHECK(keytab_get(t, "k7", 0) == NULL);
	CHECK_EQ_INT(keytab_count(t), 4999);
	keytab_free(t);
}

static int
odd(void *val, void *arg)
{
	return *(int *)val % 2;
}

TEST(keytab_sweep)
{
	struct keytab *t = keytab_new(sizeof(int));
	char key[32];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%d", i);
		*(int *)keytab_get(t, key, 1) = i;
	}
	keytab_sweep(t, odd, NULL);
	CHECK_EQ_INT(keytab_count(t), 50);
	CHECK(keytab_get(t, "3", 0) == NULL);
	CHECK(keytab_get(t, "4", 0) != NULL);
	keytab_free(t);
}

TEST(address_keys)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	char buf[64];

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &s4.sin_addr);
	admit_addr_key((struct sockaddr *)&s4, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "192.0.2.7");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &s6.sin6_addr);
	admit_addr_key((struct sockaddr *)&s6, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2001:db8:1:2::/64");
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr);
	admit_addr_key((struct sockaddr *)&s6, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "192.0.2.9");
	free(conf.trusted_proxies);
	conf.trusted_proxies = strdup("127.0.0.1, ::1 10.0.0.2");
	CHECK(admit_trusted_proxy("127.0.0.1"));
	CHECK(admit_trusted_proxy("::1"));
	CHECK(admit_trusted_proxy("10.0.0.2"));
	CHECK(!admit_trusted_proxy("10.0.0.20"));
	CHECK(!admit_trusted_proxy("127.0.0"));
}

TEST(admission_counts)
{
	char why[256];
	int i, ok = 0;

	conf.max_connections = 10;
	conf.max_connections_per_address = 3;
	conf.max_connections_per_uid = 4;
	admit_init();
	for (i = 0; i < 5; i++)
		ok += admit_http("192.0.2.1", 0, why, sizeof(why)) == 0;
	CHECK_EQ_INT(ok, 3);
	CHECK_CONTAINS(why, "max_connections_per_address = 3");
	/* a trusted proxy is not held to the per-address limit */
	for (i = 0; i < 5; i++)
		ok += admit_http("127.0.0.1", 1, why, sizeof(why)) == 0;
	CHECK_EQ_INT(ok, 8);
	for (i = 0; i < 5; i++)
		ok += admit_control(1000, why, sizeof(why)) == 0;
	CHECK_EQ_INT(ok, 10);	/* max_connections */
	CHECK_CONTAINS(why, "too many connections");
	CHECK_EQ_INT(admit_open(), 10);
	admit_http_release("192.0.2.1");
	CHECK_EQ_INT(admit_http("192.0.2.1", 0, why, sizeof(why)), 0);
	admit_free();
	conf.max_connections = 1024;
}

static int evicted;

static void
evict(struct budget_acct *a)
{
	evicted++;
	budget_close(a);
}

TEST(budget_evicts_the_largest)
{
	struct budget_acct a, b, c;
	struct evbuffer *buf = evbuffer_new();
	struct evbuffer_cb_entry *w;
	char chunk[4096];

	memset(chunk, 'x', sizeof(chunk));
	conf.memory_budget = 100000;
	budget_init();
	budget_open(&a, evict, "a");
	budget_open(&b, evict, "b");
	budget_open(&c, evict, "c");
	budget_add(&a, 10000);
	budget_add(&b, 50000);
	w = budget_watch(&c, buf);
	evbuffer_add(buf, chunk, sizeof(chunk));
	CHECK_EQ_INT(c.held, 4096);
	CHECK_EQ_INT(budget_used(), 64096);
	evbuffer_drain(buf, 1000);
	CHECK_EQ_INT(c.held, 3096);
	/* over the budget: b, the largest, is closed at the next loop */
	budget_add(&a, 38000);
	CHECK_EQ_INT(evicted, 0);
	event_base_loop(vmsd_base, EVLOOP_NONBLOCK);
	CHECK_EQ_INT(evicted, 1);
	CHECK(!b.open && a.open && c.open);
	CHECK_EQ_INT(budget_used(), 48000 + 3096);
	budget_unwatch(buf, w);
	evbuffer_add(buf, chunk, 10);
	CHECK_EQ_INT(c.held, 3096);
	budget_close(&a);
	budget_close(&c);
	CHECK_EQ_INT(budget_used(), 0);
	evbuffer_free(buf);
}

static int answered;
static char last[4096];

static void
done(struct rpcreq *req, void *owner)
{
	answered++;
	snprintf(last, sizeof(last), "%s", req->notification ? "(none)" :
	    req->reply);
}

static struct rpcreq *
call_from(struct conn_info *ci, const char *addr, const char *caller)
{
	struct rpcreq *r = rpcreq_new(ci, ci, done);

	r->addr = addr;
	if (caller != NULL)
		r->caller = strdup(caller);
	return r;
}

TEST(rate_limits)
{
	struct conn_info ci = { 1, 0, 0, 0, NULL };
	const char *addr1 = "198.51.100.1";
	struct rpcreq *r;
	int i, ok = 0;

	conf.call_rate_per_address = 1;
	conf.call_burst_per_address = 3;
	conf.call_rate_per_identity = 1;
	conf.call_burst_per_identity = 2;
	answered = 0;
	/* an address: the burst passes, then refused */
	for (i = 0; i < 5; i++) {
		r = call_from(&ci, addr1, NULL);
		if (ratelimit_call(r) == 0)
			ok++;
		else
			CHECK(r->retry_after >= 1);
		rpcreq_free(r);
	}
	CHECK_EQ_INT(ok, 3);
	CHECK_EQ_INT(answered, 2);
	CHECK_CONTAINS(last, "-32009");
	CHECK_CONTAINS(last, "retry_after");
	/* an identity from other addresses: its own burst */
	ok = 0;
	for (i = 0; i < 4; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		r = call_from(&ci, addr, "ed25519:someone");
		if (ratelimit_call(r) == 0)
			ok++;
		rpcreq_free(r);
	}
	CHECK_EQ_INT(ok, 2);
	CHECK_CONTAINS(last, "identity");
	/* a refused call took no token from its address: 203.0.113.9
	 * refused by the identity still has its burst of 3 */
	r = call_from(&ci, "203.0.113.9", "ed25519:someone");
	CHECK(ratelimit_call(r) != 0);
	rpcreq_free(r);
	for (ok = 0, i = 0; i < 3; i++) {
		r = call_from(&ci, "203.0.113.9", NULL);
		ok += ratelimit_call(r) == 0;
		rpcreq_free(r);
	}
	CHECK_EQ_INT(ok, 3);
	/* a rate of 0 is no limit */
	conf.call_rate_per_address = 0;
	conf.call_rate_per_identity = 0;
	for (ok = 0, i = 0; i < 100; i++) {
		r = call_from(&ci, "203.0.113.9", "ed25519:someone");
		ok += ratelimit_call(r) == 0;
		rpcreq_free(r);
	}
	CHECK_EQ_INT(ok, 100);
	ratelimit_free();
}

/* A message through rpcmsg.c with a stub front end: ping only. */
static void
message(const char *text)
{
	struct conn_info ci = { 0, 0, 0, 0, NULL };
	struct rpcreq *r = rpcreq_new(&ci, &ci, done);

	answered = 0;
	last[0] = '\0';
	rpcmsg_handle(r, text, strlen(text), 0);
	if (answered == 1)
		rpcreq_free(r);
}

TEST(batches)
{
	conf.max_batch = 3;
	message("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},1]");
	CHECK_EQ_INT(answered, 1);
	CHECK_CONTAINS(last, "[{\"id\":1,\"jsonrpc\":\"2.0\",\"result\"");
	CHECK_CONTAINS(last, "},{\"error\":{\"code\":-32600");
	CHECK(last[strlen(last) - 2] == ']' && last[strlen(last) - 1] == '\n');
	message("[{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]");
	CHECK_EQ_STR(last, "(none)");
	message("[]");
	CHECK_CONTAINS(last, "empty batch");
	CHECK(last[0] == '{');
	message("[1,1,1,1]");
	CHECK_CONTAINS(last, "over max_batch (3)");
	message("1");
	CHECK_CONTAINS(last, "-32600");
	message("[1");
	CHECK_CONTAINS(last, "-32700");
	message("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"ping\"}");
	CHECK_CONTAINS(last, "{\"id\":\"s\",");
}

int
main(void)
{
	config_defaults(&conf);
	vmsd_conf = &conf;
	if ((vmsd_base = event_base_new()) == NULL)
		return 1;
	RUN(keytab_grows_and_sweeps);
	RUN(keytab_sweep);
	RUN(address_keys);
	RUN(admission_counts);
	RUN(budget_evicts_the_largest);
	RUN(rate_limits);
	RUN(batches);
	budget_free();
	event_base_free(vmsd_base);
	config_free(&conf);
	return test_summary();
}
