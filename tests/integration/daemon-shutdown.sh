#!/bin/sh
# daemon-shutdown.sh — SIGTERM drains without a client noticing: vmsd stops
# accepting, serves the calls clients send on connections already open,
# closes idle connections after a short grace, refuses new requests only
# after shutdown_grace, exits 0, and a client that connects meanwhile is
# left to the next instance (socket activation, no systemd needed).
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
python3 "$LIB/shutdown_test.py" "$VMSD" "$T" "$T/counter.lua"
check_sanitizer_log
exit 0
