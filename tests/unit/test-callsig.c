/*
 * test-callsig.c — signed calls' encoding (libvms/callsig.c): the worked
 * example of vmsd-protocol(7), read from the page itself (key, caller id,
 * message bytes, signature), the "signed" object's parser, base64url, and
 * what each part of the message binds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "test.h"
#include "util.h"

/* ---- the manual page's example ---- */

struct example {
	char	seed[80], key[64], caller[80], nonce[32], origin[256];
	char	method[64], args[256], sig[128];
	char	msghex[2048];
	size_t	msglen;
	int	found;
};

static void
field(const char *line, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) != 0 || line[n] != ' ')
		return;
	line += n;
	while (*line == ' ')
		line++;
	snprintf(out, outlen, "%s", line);
}

/* The block after "A worked example" in man/vmsd-protocol.7. */
static int
read_example(struct example *ex)
{
	FILE *f = fopen("man/vmsd-protocol.7", "r");
	char line[1024], *p;
	int in = 0, inmsg = 0;

	memset(ex, 0, sizeof(*ex));
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "A worked example", 16) == 0)
			in = 1;
		if (!in)
			continue;
		if (in == 1 && strncmp(line, ".Bd", 3) == 0) {
			in = 2;
			continue;
		}
		if (in == 2 && strncmp(line, ".Ed", 3) == 0)
			break;
		if (in != 2)
			continue;
		p = line;
		while (*p == ' ')
			p++;
		if (inmsg && strspn(p, "0123456789abcdef") == strlen(p) &&
		    *p != '\0') {
			strncat(ex->msghex, p, sizeof(ex->msghex) -
			    strlen(ex->msghex) - 1);
			continue;
		}
		inmsg = 0;
		field(p, "seed", ex->seed, sizeof(ex->seed));
		field(p, "key", ex->key, sizeof(ex->key));
		field(p, "caller", ex->caller, sizeof(ex->caller));
		field(p, "nonce", ex->nonce, sizeof(ex->nonce));
		field(p, "origin", ex->origin, sizeof(ex->origin));
		field(p, "method", ex->method, sizeof(ex->method));
		field(p, "args", ex->args, sizeof(ex->args));
		field(p, "sig", ex->sig, sizeof(ex->sig));
		if (sscanf(p, "message %zu bytes:", &ex->msglen) == 1)
			inmsg = 1;
	}
	fclose(f);
	ex->found = ex->seed[0] && ex->key[0] && ex->caller[0] &&
	    ex->nonce[0] && ex->origin[0] && ex->method[0] && ex->args[0] &&
	    ex->sig[0] && ex->msghex[0];
	return ex->found ? 0 : -1;
}

TEST(man_page_example)
{
	struct example ex;
	uint8_t seed[32], pk[32], sk[64], want[1024], *msg;
	char b64[128], id[CALLSIG_ID_LEN + 1], err[VMS_ERRLEN], *canon;
	struct callsig cs;
	json_t *args, *obj;
	size_t len, alen;

	CHECK_MSG(read_example(&ex) == 0, "no complete worked example in "
	    "man/vmsd-protocol.7 (run from the top of the tree)");
	if (!ex.found)
		return;
	CHECK(hex_decode(ex.seed, seed, 32) == 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	b64url_encode(pk, 32, b64);
	CHECK_EQ_STR(b64, ex.key);
	callsig_caller_id(pk, id);
	CHECK_EQ_STR(id, ex.caller);

	args = json_loads(ex.args, 0, NULL);
	CHECK(json_is_array(args));
	canon = json_canonical(args, &alen);
	CHECK_EQ_STR(canon, ex.args);	/* the page shows canonical args */
	msg = callsig_message(pk, strtoull(ex.nonce, NULL, 10), ex.origin,
	    ex.method, canon, alen, &len);
	CHECK_EQ_INT(len, ex.msglen);
	CHECK_EQ_INT(strlen(ex.msghex), 2 * ex.msglen);
	CHECK(hex_decode(ex.msghex, want, ex.msglen) == 0);
	CHECK(len == ex.msglen && memcmp(msg, want, len) == 0);

	CHECK(callsig_sign(&cs, sk, strtoull(ex.nonce, NULL, 10), ex.origin,
	    ex.method, args, err, sizeof(err)) == 0);
	b64url_encode(cs.sig, 64, b64);
	CHECK_EQ_STR(b64, ex.sig);
	CHECK(callsig_verify(&cs, ex.method, canon, alen, err,
	    sizeof(err)) == 0);
	/* the signature is over exactly the message shown */
	CHECK(crypto_sign_verify_detached(cs.sig, want, ex.msglen, pk) == 0);

	/* and the object round-trips through the parser */
	obj = callsig_to_json(&cs);
	memset(&cs, 0, sizeof(cs));
	CHECK_MSG(callsig_parse(obj, &cs, err, sizeof(err)) == 0, "%s", err);
	CHECK(callsig_verify(&cs, ex.method, canon, alen, err,
	    sizeof(err)) == 0);
	json_decref(obj);
	json_decref(args);
	free(canon);
	free(msg);
}

/* ---- what the signature binds ---- */

static void
keypair(uint8_t sk[64], int n)
{
	uint8_t seed[32], pk[32];

	memset(seed, n, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
}

static int
verifies(const struct callsig *cs, const char *method, const char *args)
{
	char err[VMS_ERRLEN];

	return callsig_verify(cs, method, args, strlen(args), err,
	    sizeof(err)) == 0;
}

TEST(signature_binds_every_part)
{
	uint8_t sk[64], other[64];
	struct callsig cs, t;
	json_t *args = json_loads("[1,\"a\",{\"b\":[true,null]}]", 0, NULL);
	const char *canon = "[1,\"a\",{\"b\":[true,null]}]";
	char err[VMS_ERRLEN];

	keypair(sk, 1);
	keypair(other, 2);
	CHECK(callsig_sign(&cs, sk, 42, "h/vmsd/c", "m", args, err,
	    sizeof(err)) == 0);
	CHECK(verifies(&cs, "m", canon));
	CHECK(!verifies(&cs, "n", canon));			/* method */
	CHECK(!verifies(&cs, "m", "[1,\"a\",{\"b\":[true]}]"));	/* args */
	t = cs;
	t.nonce = 43;
	CHECK(!verifies(&t, "m", canon));			/* nonce */
	t = cs;
	snprintf(t.origin, sizeof(t.origin), "h/vmsd/d");
	CHECK(!verifies(&t, "m", canon));			/* origin */
	t = cs;
	memcpy(t.key, other + 32, 32);
	CHECK(!verifies(&t, "m", canon));			/* key */
	t = cs;
	t.sig[63] ^= 1;
	CHECK(!verifies(&t, "m", canon));			/* sig */
	json_decref(args);
}

TEST(parts_are_length_prefixed)
{
	uint8_t key[32] = { 0 }, *a, *b;
	size_t la, lb;

	/* moving a byte from the origin to the method changes the bytes */
	a = callsig_message(key, 1, "ab", "c", "[]", 2, &la);
	b = callsig_message(key, 1, "a", "bc", "[]", 2, &lb);
	CHECK(la == lb && memcmp(a, b, la) != 0);
	CHECK(memcmp(a, "vmsd-call/v1\0", 13) == 0);
	CHECK_EQ_INT(la, 13 + 32 + 8 + 4 + 2 + 4 + 1 + 4 + 2);
	free(a);
	free(b);
}

/* ---- the "signed" object ---- */

static int
parse(const char *text, char *err, size_t errlen)
{
	struct callsig cs;
	json_t *o = json_loads(text, JSON_DECODE_ANY, NULL);
	int r;

	if (o == NULL) {
		snprintf(err, errlen, "(test) not JSON: %s", text);
		return -2;
	}
	r = callsig_parse(o, &cs, err, errlen);
	json_decref(o);
	return r;
}

#define KEY	"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
#define SIG	"Lcnrzl3VNddWfiXCNI7fhquiNv25sYLHZjbWCDK9B5tYeVHlQC8glTvm3P59zYxPuJfXeOcQdThqZUWXMTi6Dw"

TEST(parse_refuses_malformed)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "[]", "must be an object" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1,\"origin\":\"o\"}",
		    "exactly the members" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1,\"origin\":\"o\",\"sig\":\""
		    SIG "\",\"x\":1}", "exactly the members" },
		{ "{\"key\":\"" KEY "=\",\"nonce\":1,\"origin\":\"o\",\"sig\":\""
		    SIG "\"}", "signed.key" },
		/* the standard alphabet */
		{ "{\"key\":\"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg\","
		    "\"nonce\":1,\"origin\":\"o\",\"sig\":\"" SIG "\"}",
		    "signed.key" },
		/* non-canonical trailing bits (g = ...000110 vs h) */
		{ "{\"key\":\"A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbh\","
		    "\"nonce\":1,\"origin\":\"o\",\"sig\":\"" SIG "\"}",
		    "signed.key" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1,\"origin\":\"o\",\"sig\":\""
		    KEY "\"}", "signed.sig" },
		{ "{\"key\":\"" KEY "\",\"nonce\":0,\"origin\":\"o\",\"sig\":\""
		    SIG "\"}", "signed.nonce" },
		{ "{\"key\":\"" KEY "\",\"nonce\":-5,\"origin\":\"o\",\"sig\":\""
		    SIG "\"}", "signed.nonce" },
		{ "{\"key\":\"" KEY "\",\"nonce\":\"1\",\"origin\":\"o\","
		    "\"sig\":\"" SIG "\"}", "signed.nonce" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1.5,\"origin\":\"o\","
		    "\"sig\":\"" SIG "\"}", "signed.nonce" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1,\"origin\":\"\",\"sig\":\""
		    SIG "\"}", "signed.origin" },
		{ "{\"key\":\"" KEY "\",\"nonce\":1,\"origin\":7,\"sig\":\""
		    SIG "\"}", "signed.origin" },
	};
	char err[VMS_ERRLEN], big[600], text[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(parse(bad[i].json, err, sizeof(err)) == -1,
		    "accepted: %s", bad[i].json);
		CHECK_CONTAINS(err, bad[i].why);
	}
	memset(big, 'o', 256);
	big[256] = '\0';
	snprintf(text, sizeof(text), "{\"key\":\"" KEY "\",\"nonce\":1,"
	    "\"origin\":\"%s\",\"sig\":\"" SIG "\"}", big);
	CHECK(parse(text, err, sizeof(err)) == -1);
	big[255] = '\0';
	snprintf(text, sizeof(text), "{\"key\":\"" KEY "\",\"nonce\":"
	    "9223372036854775807,\"origin\":\"%s\",\"sig\":\"" SIG "\"}", big);
	CHECK_MSG(parse(text, err, sizeof(err)) == 0, "%s", err);
}

TEST(base64url)
{
	uint8_t in[64], out[64];
	char b[B64URL_LEN(64) + 1];
	size_t n;

	randombytes_buf(in, sizeof(in));
	for (n = 1; n <= 64; n++) {
		b64url_encode(in, n, b);
		CHECK_EQ_INT(strlen(b), B64URL_LEN(n));
		CHECK(strpbrk(b, "+/=") == NULL);
		CHECK(b64url_decode_fixed(b, strlen(b), out, n) == 0 &&
		    memcmp(in, out, n) == 0);
		CHECK(b64url_decode_fixed(b, strlen(b), out, n + 1) == -1);
	}
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(man_page_example);
	RUN(signature_binds_every_part);
	RUN(parts_are_length_prefixed);
	RUN(parse_refuses_malformed);
	RUN(base64url);
	return test_summary();
}
