# tests/tools/daemon.sh — sourced by the vmsctl/audit integration tests:
# start a real vmsd on a private state directory and socket, stop it.
#
#   daemon_start DIR [CONFIG-LINE ...]   sets SOCK, DPID, V ("$VMSCTL -s $SOCK")
#   daemon_stop                          SIGTERM, wait for exit
#   daemon_usable                        0 if vmsd can deploy (else the
#                                        caller prints SKIP and exits)

daemon_start() {
	DDIR=$1; shift
	mkdir -p "$DDIR"
	: >"$DDIR/vmsd.conf"
	for l in "$@"; do printf '%s\n' "$l" >>"$DDIR/vmsd.conf"; done
	SOCK="$DDIR/vmsd.sock"
	"$VMSD" -F -f "$DDIR/vmsd.conf" --state-dir "$DDIR/state" \
	    --socket "$SOCK" >>"$DDIR/vmsd.log" 2>&1 &
	DPID=$!
	V="$VMSCTL -s $SOCK"
	i=0
	while [ $i -lt 100 ]; do
		$V ping >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	echo "FAIL daemon-start: vmsd did not come up (log: $DDIR/vmsd.log)"
	return 1
}

daemon_stop() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	i=0
	while kill -0 "$DPID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$DPID" 2>/dev/null && kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

# Can this vmsd deploy a trivial contract? (It cannot while the daemon is
# still a placeholder.)
daemon_usable() {
	[ -x "$VMSD" ] || return 1
	u=$(mktemp -d /tmp/vms-probe.XXXXXX)
	printf 'local M = {}\nfunction M.hi() return 1 end\nreturn M\n' >"$u/probe.lua"
	ok=1
	if daemon_start "$u" >/dev/null 2>&1; then
		$V deploy "$u/probe.lua" >/dev/null 2>&1 &&
		    [ "$($V call probe hi 2>/dev/null)" = 1 ] && ok=0
		daemon_stop
	fi
	kill "$DPID" 2>/dev/null
	rm -rf "$u"
	DPID=
	return $ok
}
