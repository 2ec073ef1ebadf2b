#!/bin/sh
# attach.sh — connections handed over to a contract's worker (the control
# method attach, vmsd-protocol(7)): the worker answers the calls sent on
# them, in order, each once durable, with the caller vmsd would decide;
# what comes after the attach request goes over with the connection;
# wrong and hostile lines get errors and the connection goes on, a line
# over max_message is answered and closes it, a partial line times out,
# and none of that disturbs the other clients; attach is refused for an
# unknown contract and in a batch (the connection stays vmsd's); the
# worker caps attached connections per user, counts them in info, is not
# stopped as idle while it serves one, closes one whose client reads none
# of its replies, the largest holders over memory_budget, and all of them
# when stopped; every acknowledged call is in the ledger, which audits
# clean.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
cat >"$T/vmsd.conf" <<CONF
debug_auth = yes
idle_timeout = 1
client_request_timeout = 2
max_message = 65536
max_connections_per_uid = 4
client_idle_timeout = 4
CONF
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail deploy "deploy failed"; exit 1; }

A="python3 $LIB/attach_test.py $T/s.sock"
VMSD_PID=$VPID $A basic,carryover,epoll_clean,flood,stuck_reader,refusals,too_large,slow_line
# the worker stopped as idle meanwhile: attach starts it again
sleep 1.5
$A idle_worker,limit
# every call acknowledged above is in the ledger (the counter's value is
# the number of inc entries), and the ledger audits clean
check_counter_ledger c
$A stop
# memory_budget over the attached connections, on a daemon restarted with
# a small one (c was stopped above: started again)
stop_vmsd >/dev/null
echo 'memory_budget = 1M' >>"$T/vmsd.conf"
if start_vmsd && rpc start '{"contract":"c"}' >/dev/null; then
	$A budget
else
	fail budget_start "vmsd or c did not start again"
fi
# (after vmsd has stopped: its own leak report comes at its exit, its
# workers' at theirs; LeakSanitizer's reports too, not only ASan's)
stop_vmsd
check_sanitizer_log
exit 0
