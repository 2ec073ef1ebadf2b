/*
 * oracle-sign.c — test-only: an oracle whose answers are signed, for
 * tests/integration/oracle.sh. Built without sanitizers (the Makefile's
 * build/tests/oracle-sign), since vmsd runs oracles under a 512 MiB
 * address-space limit that a sanitizer's shadow memory cannot fit in.
 *
 *   oracle-sign keygen FILE        write a new key (hex seed) to FILE and
 *                                  print its public key (base64url)
 *   oracle-sign answer FILE JSON   read a request line on stdin and print
 *                                  {"answer":JSON,"sig":SIG} (oracle.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callsig.h"
#include "canon.h"
#include "oracle.h"
#include "util.h"

static int
load(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t *buf, seed[32];
	size_t len;
	char err[VMS_ERRLEN];

	if (read_file(path, 1024, &buf, &len, err, sizeof(err)) != 0 ||
	    len < 64) {
		fprintf(stderr, "oracle-sign: %s: cannot read the key\n", path);
		return -1;
	}
	buf[64] = '\0';
	if (hex_decode((char *)buf, seed, 32) != 0) {
		free(buf);
		return -1;
	}
	free(buf);
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t pk[32], sk[64], seed[32], sig[64];
	char hex[66], b64[B64URL_LEN(64) + 1], err[VMS_ERRLEN], *ans;
	char req[1 << 20];
	size_t n, anslen;
	json_t *v;

	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		randombytes_buf(seed, 32);
		hex_encode(seed, 32, hex);
		hex[64] = '\n';
		hex[65] = '\0';
		if (write_file_atomic(argv[2], hex, 65, 0600, err,
		    sizeof(err)) != 0 || load(argv[2], pk, sk) != 0) {
			fprintf(stderr, "oracle-sign: %s\n", err);
			return 1;
		}
		b64url_encode(pk, 32, b64);
		printf("%s\n", b64);
		return 0;
	}
	if (argc != 4 || strcmp(argv[1], "answer") != 0 ||
	    load(argv[2], pk, sk) != 0) {
		fprintf(stderr, "usage: oracle-sign keygen FILE | answer FILE "
		    "JSON\n");
		return 2;
	}
	if (fgets(req, sizeof(req), stdin) == NULL)
		return 1;
	n = strcspn(req, "\n");
	req[n] = '\0';
	if ((v = json_loads(argv[3], JSON_DECODE_ANY, NULL)) == NULL ||
	    (ans = json_canonical(v, &anslen)) == NULL)
		return 1;
	oracle_sign(sk, req, n, ans, anslen, sig);
	b64url_encode(sig, 64, b64);
	printf("{\"answer\":%s,\"sig\":\"%s\"}\n", ans, b64);
	free(ans);
	json_decref(v);
	return 0;
}
