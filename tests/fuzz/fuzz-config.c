/*
 * fuzz-config.c — the vmsd.conf parser (daemon/config.c) through
 * config_parse_text over the defaults, as config_load does with the file.
 * Invariants: a failure names the line ("fuzz.conf:N: ..."); after a
 * success every setting is within the range vmsd.conf(5) documents and
 * the limits pass limits_from_json(limits_to_json()); what config_print
 * (vmsd -T) writes parses again over the defaults and prints the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"
#include "config.h"

/* config_print's text of c (malloc'd; its length in *len). */
static char *
printed(const struct vmsd_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		fuzz_fail("open_memstream failed");
	if (config_print(c, f) != 0)
		fuzz_fail("config_print failed");
	if (fclose(f) != 0)
		fuzz_fail("fclose failed");
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmsd_config c;
	struct vms_limits back;
	struct vmsd_config d;
	json_t *j;
	char err[VMS_ERRLEN], *a, *b;
	size_t alen, blen;

	fuzz_init();
	config_defaults(&c);
	err[0] = '\0';
	if (config_parse_text(&c, "fuzz.conf", (const char *)data, size, err,
	    sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			fuzz_fail("error does not name the file: %s", err);
		config_free(&c);
		return 0;
	}
	if (c.state_dir == NULL || c.state_dir[0] == '\0' ||
	    c.socket == NULL || c.socket[0] == '\0' || c.admin_group == NULL ||
	    c.listen == NULL || c.origin_prefix == NULL ||
	    c.origin_prefix[0] == '\0' || strpbrk(c.origin_prefix, " +\t"))
		fuzz_fail("bad string setting");
	if (c.socket_mode > 0777 || c.max_message < 1024 ||
	    c.max_message > (1u << 30) || c.queue_limit < 1 ||
	    c.queue_limit > 1000000 || c.call_timeout > 86400 ||
	    c.shutdown_grace > 3600 || c.max_restarts < 1 ||
	    c.max_restarts > 1000 || c.restart_window < 1 ||
	    c.restart_window > 86400 || c.snapshot_interval < 1 ||
	    c.batch_max < 1 || c.batch_max > 65536 ||
	    (c.debug_auth != 0 && c.debug_auth != 1) ||
	    c.log_level < LOG_ERR || c.log_level > LOG_DEBUG)
		fuzz_fail("setting out of range");
	j = limits_to_json(&c.limits);
	if (limits_from_json(&back, j, err, sizeof(err)) != 0)
		fuzz_fail("limits do not round-trip: %s", err);
	if (memcmp(&back, &c.limits, sizeof(back)) != 0)
		fuzz_fail("limits differ after a round trip");
	json_decref(j);
	a = printed(&c, &alen);
	config_defaults(&d);
	if (config_parse_text(&d, "printed", a, alen, err, sizeof(err)) != 0)
		fuzz_fail("the printed configuration does not parse: %s", err);
	b = printed(&d, &blen);
	if (alen != blen || memcmp(a, b, alen) != 0)
		fuzz_fail("the printed configuration reads back as another");
	free(a);
	free(b);
	config_free(&d);
	config_free(&c);
	return 0;
}
