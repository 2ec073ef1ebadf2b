#!/bin/sh
# handoff.sh — vmsd's own hand-over of control connections to workers
# (vmsd.conf(5) "handoff", vmsd-protocol(7)): a client's second call hands
# its connection to the contract's worker, which answers its calls
# directly, in order; the first line that is not a call of that contract
# (another method or contract, a line that does not parse, a batch, a line
# over 64 KiB) goes back to vmsd with the connection and is answered as
# vmsd answers it, and the connection stays vmsd's; a worker that stops
# gives its connections back, one that dies closes them; handoff = no
# relays every call; every call acknowledged is in the ledger, which
# audits clean.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
cat >"$T/vmsd.conf" <<CONF
debug_auth = yes
idle_timeout = 0
log_level = debug
CONF
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail deploy "deploy failed"; exit 1; }
deploy d "$T/counter.lua" >/dev/null || { fail deploy "deploy d failed"; exit 1; }

H="python3 $LIB/handoff_test.py $T/s.sock"
$H one_call_stays,in_order,mixed,back_stays,half_close,long_line,stop,crash
# the log says what happened, both ways
check log_handed_over "no hand-over logged" \
    grep -q 'is handed over (a call)' "$T/log"
check log_given_back "no connection given back logged" \
    grep -q 'is back (a line that is not a call of this contract)' "$T/log"
check log_given_back_stopping "no give-back at the worker's stop" \
    grep -q 'is back (the worker is stopping)' "$T/log"
# every call acknowledged above is in the ledger (the counter's value is
# the number of inc entries), and the ledger audits clean
check_counter_ledger c
check log_long_line_back "the long line did not go back" \
    grep -q 'is back (a line longer than a worker takes)' "$T/log"
# reloaded (SIGHUP) with a setting; wait for the n-th reload's line
reload() {
	echo "$1" >>"$T/vmsd.conf"
	kill -HUP "$VPID"
	i=0
	until [ "$(grep -c 'configuration reloaded' "$T/log")" -ge "$2" ] ||
	    [ $i -ge 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
}
# over the worker's max_connections_per_uid: back to vmsd at once
reload 'max_connections_per_uid = 3' 1
$H over_limit
check log_over_limit_back "no give-back over the limit" \
    grep -q 'is back (too many connections attached)' "$T/log"
# handoff = no: every call relayed
reload 'handoff = no' 2
$H off
# (after vmsd has stopped: its own leak report comes at its exit, its
# workers' at theirs; LeakSanitizer's reports too, not only ASan's)
stop_vmsd
check_sanitizer_log
exit 0
