#!/bin/sh
# daemon-notify.sh — systemd integration without systemd: a fake
# NOTIFY_SOCKET records the exact READY/STATUS/RELOADING/MONOTONIC_USEC/
# WATCHDOG/STOPPING messages, and the control socket is passed by socket
# activation (LISTEN_FDS, LISTEN_FDNAMES=control).
. "$TOP/tests/integration/lib/daemon.sh"

python3 "$LIB/notify_test.py" "$VMSD" "$T"
check_sanitizer_log
exit 0
