/*
 * fuzz-config.c — the vmsd.conf parser (daemon/config.c) through
 * config_parse_text over the defaults, as config_load does with the file.
 * Invariants: a failure names the line ("fuzz.conf:N: ..."); after a
 * success every setting is within the range vmsd.conf(5) documents and
 * the limits pass limits_from_json(limits_to_json()).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"
#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmsd_config c;
	struct vms_limits back;
	json_t *j;
	char err[VMS_ERRLEN];

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
	config_free(&c);
	return 0;
}
