#!/bin/sh
# run-local.sh — `make run`: run the freshly built vmsd in the foreground
# with its state, keys and control socket under ./var, and an HTTP port on
# 127.0.0.1:5555. Ctrl-C stops it cleanly (the shell execs the daemon, so
# the signal reaches vmsd itself). Override with VMSD_LISTEN=addr:port.

cd "$(dirname "$0")/.." || exit 1
VMSD=${VMSD:-daemon/vmsd}
LISTEN=${VMSD_LISTEN:-127.0.0.1:5555}

if [ ! -x "$VMSD" ] || [ ! -x ctl/vmsctl ]; then
	echo "run-local: build first: make all" >&2
	exit 1
fi
mkdir -p var || exit 1
chmod 0700 var

cat <<MSG
vmsd: state in ./var, control socket ./var/vmsd.sock, HTTP $LISTEN
In another terminal, try:

  ctl/vmsctl -s ./var/vmsd.sock deploy examples/guestlist.lua
  ctl/vmsctl -s ./var/vmsd.sock call guestlist RSVP bob false "Washing my hair, sorry!"
  ctl/vmsctl -s ./var/vmsd.sock log guestlist
  ctl/vmsctl -s ./var/vmsd.sock audit guestlist

Ctrl-C stops vmsd.
MSG
exec "$VMSD" -F -f /dev/null --state-dir ./var --socket ./var/vmsd.sock \
    --listen "$LISTEN"
