/*
 * test-methods.c — the method table (libvms/proto.c) and the dispatcher
 * (daemon/methods.c, from build/libdaemon.a): the table is consistent,
 * man/vmsd-protocol.7 documents exactly its rows (names, parameters,
 * types, which are required), and the dispatcher answers what the table
 * says: unknown methods, permissions, parameter presence and types, and
 * the handlers' own checks, all before anything reaches a worker.
 * Run from the top of the tree (tests/run does).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "methods.h"
#include "proto.h"
#include "rpcreq.h"
#include "util.h"
#include "vmsd.h"

#include "test.h"

TEST(table_is_consistent)
{
	const struct proto_method *m;
	const struct proto_param *p, *q;
	size_t i, j, n;

	for (i = 0; i < PM_COUNT; i++) {
		m = &proto_methods[i];
		CHECK_MSG(m->id == (enum proto_method_id)i && m->name != NULL,
		    "row %zu", i);
		if (m->name == NULL)
			continue;
		CHECK(proto_method_find(m->name) == m);
		for (j = i + 1; j < PM_COUNT; j++)
			CHECK_MSG(proto_methods[j].name == NULL ||
			    strcmp(proto_methods[j].name, m->name) != 0,
			    "%s twice", m->name);
		for (n = 0, p = m->params; p->name != NULL; p++, n++)
			for (q = p + 1; q->name != NULL; q++)
				CHECK_MSG(strcmp(p->name, q->name) != 0,
				    "%s: param %s twice", m->name, p->name);
		CHECK(n <= PROTO_MAX_PARAMS);
		if (m->flags & PM_CONTRACT)
			CHECK_MSG(m->params[0].name != NULL && strcmp(
			    m->params[0].name, "contract") == 0 &&
			    m->params[0].required && m->params[0].type ==
			    PT_STRING, "%s: PM_CONTRACT without \"contract\"",
			    m->name);
		if (m->flags & PM_LEDGER)
			CHECK_MSG(m->flags & PM_CONTRACT, "%s", m->name);
		CHECK_MSG(!((m->flags & PM_ADMIN) && (m->flags & PM_REMOTE)),
		    "%s is both admin and remote", m->name);
	}
	CHECK(proto_method_find("nope") == NULL);
	CHECK(proto_method_find(NULL) == NULL);
}

/* ---- the manual page ---- */

struct doc_param {
	char	name[32];
	char	type;		/* S N B { [ */
	int	lines;		/* lines of the method naming it required */
	int	optional;	/* named with "?" somewhere */
};

struct doc_method {
	char		 name[32];
	int		 lines;
	struct doc_param p[16];
	size_t		 np;
};

static struct doc_method docs[32];
static size_t ndocs;

/* One ".It Cm NAME No {"a":S, "b":N?, "c":{...}?, "d":[...]}" line. */
static int
parse_doc_line(const char *line)
{
	struct doc_method *d = NULL;
	struct doc_param *dp;
	char name[32], pname[32];
	const char *s;
	size_t i, n;

	if (sscanf(line, ".It Cm %31s No {", name) != 1)
		return 0;
	for (i = 0; i < ndocs; i++)
		if (strcmp(docs[i].name, name) == 0)
			d = &docs[i];
	if (d == NULL) {
		if (ndocs == sizeof(docs) / sizeof(docs[0]))
			return -1;
		d = &docs[ndocs++];
		snprintf(d->name, sizeof(d->name), "%s", name);
	}
	d->lines++;
	s = strchr(line, '{') + 1;
	while ((s = strchr(s, '"')) != NULL) {
		s++;
		for (n = 0; s[n] != '\0' && s[n] != '"'; n++)
			;
		if (s[n] != '"' || n == 0 || n >= sizeof(pname) ||
		    s[n + 1] != ':')
			return -1;
		memcpy(pname, s, n);
		pname[n] = '\0';
		s += n + 2;
		dp = NULL;
		for (i = 0; i < d->np; i++)
			if (strcmp(d->p[i].name, pname) == 0)
				dp = &d->p[i];
		if (dp == NULL) {
			if (d->np == sizeof(d->p) / sizeof(d->p[0]))
				return -1;
			dp = &d->p[d->np++];
			snprintf(dp->name, sizeof(dp->name), "%s", pname);
			dp->type = *s;
		} else if (dp->type != *s)
			return -1;
		/* skip the type ({...} and [...] contain no quote) */
		if (*s == '{' || *s == '[') {
			s = strchr(s, *s == '{' ? '}' : ']');
			if (s == NULL)
				return -1;
		}
		s++;
		if (*s == '?')
			dp->optional = 1;
		else
			dp->lines++;
	}
	return 1;
}

static char
type_char(enum proto_ptype t)
{
	switch (t) {
	case PT_STRING:	return 'S';
	case PT_UINT:	return 'N';
	case PT_BOOL:	return 'B';
	case PT_OBJECT:	return '{';
	case PT_ARRAY:	return '[';
	}
	return '?';
}

TEST(manual_page_documents_the_table)
{
	FILE *f = fopen("man/vmsd-protocol.7", "r");
	const struct proto_method *m;
	const struct proto_param *p;
	struct doc_method *d;
	struct doc_param *dp;
	char line[1024];
	size_t i, j, k, np;

	CHECK_MSG(f != NULL, "man/vmsd-protocol.7 not found (run from the "
	    "top of the tree)");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		CHECK_MSG(parse_doc_line(line) >= 0, "cannot read: %s", line);
	fclose(f);
	CHECK(ndocs > 0);
	for (i = 0; i < PM_COUNT; i++) {
		m = &proto_methods[i];
		d = NULL;
		for (j = 0; j < ndocs; j++)
			if (strcmp(docs[j].name, m->name) == 0)
				d = &docs[j];
		CHECK_MSG(d != NULL, "method %s is not documented", m->name);
		if (d == NULL)
			continue;
		for (np = 0, p = m->params; p->name != NULL; p++, np++) {
			dp = NULL;
			for (k = 0; k < d->np; k++)
				if (strcmp(d->p[k].name, p->name) == 0)
					dp = &d->p[k];
			CHECK_MSG(dp != NULL, "%s: parameter %s is not "
			    "documented", m->name, p->name);
			if (dp == NULL)
				continue;
			CHECK_MSG(dp->type == type_char(p->type), "%s: %s is "
			    "documented as %c, the table says %c", m->name,
			    p->name, dp->type, type_char(p->type));
			/* required: on every line of the method, never "?" */
			CHECK_MSG(p->required == (!dp->optional &&
			    dp->lines == d->lines), "%s: %s is %s in the "
			    "table but not in the page", m->name, p->name,
			    p->required ? "required" : "optional");
		}
		CHECK_MSG(np == d->np, "%s: the page documents %zu "
		    "parameters, the table has %zu", m->name, d->np, np);
	}
	for (j = 0; j < ndocs; j++)
		CHECK_MSG(proto_method_find(docs[j].name) != NULL, "the page "
		    "documents %s, which is not in the table", docs[j].name);
}

/* ---- the dispatcher ---- */

static struct vmsd_config conf;
static json_t *reply;

static void
done(struct rpcreq *req, void *owner)
{
	json_error_t jerr;

	json_decref(reply);
	reply = json_loadb(req->reply, req->replylen, 0, &jerr);
}

/* Dispatch a request as this peer; the reply's error code, 0 on a result. */
static int
dispatch(const struct conn_info *peer, const char *method, const char *params)
{
	struct rpcreq *req = rpcreq_new(&conf, peer, done);
	json_error_t jerr;
	json_t *p = json_loads(params, 0, &jerr);
	int code = 1;

	json_decref(reply);
	reply = NULL;
	req->id = json_integer(1);
	methods_dispatch(req, method, p);
	json_decref(p);
	if (req->done) {
		if (json_object_get(reply, "result") != NULL)
			code = 0;
		else
			code = (int)json_integer_value(json_object_get(
			    json_object_get(reply, "error"), "code"));
		rpcreq_free(req);
	} else
		rpcreq_orphan(req);
	return code;
}

static const char *
message(void)
{
	return json_string_value(json_object_get(json_object_get(reply,
	    "error"), "message"));
}

TEST(dispatcher_follows_the_table)
{
	struct conn_info local = { 0, 0, 0, 1, "unix:root" };
	struct conn_info user = { 0, 54321, 54321, 2, "unix:someone" };
	struct conn_info tcp = { 1, 0, 0, 0, NULL };

	config_defaults(&conf);
	vmsd_conf = &conf;
	vmsd_admin_gid = 54320;

	CHECK_EQ_INT(dispatch(&local, "ping", "{}"), 0);
	CHECK_EQ_INT(dispatch(&local, "nope", "{}"), RPC_METHOD_NOT_FOUND);
	CHECK_EQ_INT(dispatch(&tcp, "deploy", "{}"), RPC_PERMISSION);
	CHECK_CONTAINS(message(), "not allowed over TCP");
	CHECK_EQ_INT(dispatch(&user, "stop", "{\"contract\":\"a\"}"),
	    RPC_PERMISSION);
	CHECK_EQ_INT(dispatch(&local, "info", "{}"), RPC_INVALID_PARAMS);
	CHECK_EQ_STR(message(), "missing parameter \"contract\"");
	CHECK_EQ_INT(dispatch(&local, "info", "{\"contract\":7}"),
	    RPC_INVALID_PARAMS);
	CHECK_EQ_STR(message(), "parameter \"contract\" must be a string");
	CHECK_EQ_INT(dispatch(&local, "log", "{\"contract\":\"a\","
	    "\"from\":-1}"), RPC_INVALID_PARAMS);
	CHECK_CONTAINS(message(), "non-negative integer");
	CHECK_EQ_INT(dispatch(&local, "ls", "{\"contract\":\"a\","
	    "\"recursive\":1}"), RPC_INVALID_PARAMS);
	CHECK_CONTAINS(message(), "true or false");
	CHECK_EQ_INT(dispatch(&local, "call", "{\"contract\":\"a\","
	    "\"method\":\"m\",\"args\":{}}"), RPC_INVALID_PARAMS);
	CHECK_EQ_STR(message(), "parameter \"args\" must be an array");
	CHECK_EQ_INT(dispatch(&local, "deploy", "{\"name\":\"a\","
	    "\"code\":\"\",\"limits\":[]}"), RPC_INVALID_PARAMS);
	CHECK_EQ_STR(message(), "parameter \"limits\" must be an object");
	/* the handlers' own checks */
	CHECK_EQ_INT(dispatch(&local, "info", "{\"contract\":\"../x\"}"),
	    RPC_NO_CONTRACT);
	CHECK_EQ_INT(dispatch(&local, "log", "{\"contract\":\"a\","
	    "\"count\":10001}"), RPC_INVALID_PARAMS);
	CHECK_EQ_INT(dispatch(&local, "prove", "{\"contract\":\"a\","
	    "\"size\":3,\"index\":1,\"old\":1}"), RPC_INVALID_PARAMS);
	CHECK_EQ_INT(dispatch(&local, "call", "{\"contract\":\"a\","
	    "\"method\":\"m\",\"user\":\"bob\"}"), RPC_INVALID_PARAMS);
	CHECK_CONTAINS(message(), "debug_auth");
	/* null is absent: optional params may be null */
	CHECK_EQ_INT(dispatch(&local, "log", "{\"contract\":\"a\","
	    "\"from\":null}"), RPC_NO_CONTRACT);
	/* valid requests reach the supervisor: no contract "a" here */
	CHECK_EQ_INT(dispatch(&local, "call", "{\"contract\":\"a\","
	    "\"method\":\"m\"}"), RPC_NO_CONTRACT);
	CHECK_EQ_INT(dispatch(&tcp, "info", "{\"contract\":\"a\"}"),
	    RPC_NO_CONTRACT);
	json_decref(reply);
	reply = NULL;
	config_free(&conf);
}

int
main(void)
{
	log_init("test", LOG_MODE_PLAIN, 0);
	RUN(table_is_consistent);
	RUN(manual_page_documents_the_table);
	RUN(dispatcher_follows_the_table);
	return test_summary();
}
