#!/bin/sh
# daemon-supervision.sh — worker supervision: SIGKILL of a worker under load
# (in-flight calls answered "unavailable", never a false success; the worker
# restarts; another contract keeps answering), idle stop, backoff, and
# "failed" after max_restarts crashes within restart_window.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
# (idle_timeout 2, not 1: on a slow machine a worker could go idle between
# a call and the kill that follows it below, and the kill then miss it.
# handoff = no: the load's calls are relayed by vmsd, which answers those
# in flight when the worker dies; a connection handed over to the worker
# is closed with it instead, handoff.sh's crash case)
printf 'idle_timeout = 2\nmax_restarts = 3\nrestart_window = 60\nhandoff = no\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy a "$T/counter.lua" >/dev/null
deploy b "$T/counter.lua" >/dev/null

pid_of() {
	rpc list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["result"]["contracts"]:
    if c["name"] == sys.argv[1]:
        print(c["pid"] if c["pid"] is not None else "")' "$1"
}
status_of() {
	rpc list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["result"]["contracts"]:
    if c["name"] == sys.argv[1]:
        print(c["status"])' "$1"
}

rpc call '{"contract":"a","method":"inc","args":[]}' >/dev/null
$RPC -s "$T/s.sock" load --clients 4 --calls 150 --contract a --method inc >"$T/load.json" 2>"$T/load.err" &
LOAD=$!
sleep 0.3
# The worker's pid, read and killed at once (on a loaded machine a pid
# read earlier may belong to a worker that idle_timeout has stopped).
pa=; i=0
while [ $i -lt 50 ]; do
	pa=$(pid_of a)
	[ -n "$pa" ] && kill -KILL "$pa" 2>/dev/null && break
	pa=; sleep 0.1; i=$((i + 1))
done
[ -n "$pa" ] || fail kill_worker "no worker of a to kill"
# b keeps answering while a is killed and restarted.
bok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(rpc call '{"contract":"b","method":"inc","args":[]}')
	[ "$(printf '%s\n' "$out" | field result.value)" = $i ] && bok=$((bok + 1))
done
wait $LOAD
check other_contract_kept_answering "b answered $bok/10" [ $bok = 10 ]
restarts=$(rpc info '{"contract":"a"}' | field result.restarts)
nstart=$(grep -c 'a: contract worker started' "$T/log")
check worker_restarted "restarts $restarts, worker starts $nstart" [ "$restarts" = 1 -a "$nstart" -ge 2 ]
ok=$($JGET ok <"$T/load.json"); un=$($JGET unanswered <"$T/load.json")
errs=$($JGET errors <"$T/load.json")
unavail=$(printf '%s\n' "$errs" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e.get("-32005",0)); sys.exit(0 if set(e) <= {"-32005"} else 1)')
codes_ok=$?
check crash_only_unavailable_errors "errors $errs unanswered $un" [ $codes_ok = 0 -a "$un" = 0 ]
size=$(rpc info '{"contract":"a"}' | field result.size)
val=$(rpc call '{"contract":"a","method":"get","args":[]}' | field result.value)
# Every acknowledged call is in the ledger; unacknowledged ones may or may
# not be (crash after commit, before the reply), never the reverse.
entries=$((size - 1))
if [ "$val" = "$entries" ] && [ $entries -ge $((ok + 1)) ] && [ $entries -le $((ok + 1 + unavail)) ]; then
	pass no_false_success "ok=$ok unavailable=$unavail entries=$entries"
else
	fail no_false_success "ok=$ok unavailable=$unavail entries=$entries value=$val"
fi
distinct=$($JGET distinct_indexes <"$T/load.json")
check acknowledged_indexes_distinct "distinct $distinct ok $ok" [ "$distinct" = "$ok" ]
grep -q "a: worker $pa killed by signal 9" "$T/log" && pass crash_logged || fail crash_logged "no crash line"

# Idle stop: after idle_timeout the worker exits and the contract is idle.
sleep 4
st=$(status_of b); pb=$(pid_of b)
check idle_stop "status $st pid '$pb'" [ "$st" = idle -a -z "$pb" ]
out=$(rpc call '{"contract":"b","method":"get","args":[]}')
check lazy_start_after_idle "got $out" [ "$(printf '%s\n' "$out" | field result.value)" = 10 ]

# Repeated crashes: backoff, then "failed".
for i in 1 2 3; do
	rpc call '{"contract":"a","method":"get","args":[]}' >/dev/null
	p=$(pid_of a)
	[ -n "$p" ] && kill -KILL "$p"
	j=0
	while [ -n "$(pid_of a)" ] && [ $j -lt 50 ]; do sleep 0.1; j=$((j + 1)); done
done
st=$(status_of a)
out=$(rpc call '{"contract":"a","method":"get","args":[]}')
if [ "$st" = failed ] && [ "$(printf '%s\n' "$out" | field error.code)" = -32005 ] &&
    printf '%s\n' "$out" | grep -q failed; then
	pass failed_after_max_restarts
else
	fail failed_after_max_restarts "status $st, call $out"
fi
grep -q 'restarting worker in 200 ms' "$T/log" && pass exponential_backoff || fail exponential_backoff "no 200 ms backoff in log"
out=$(rpc log '{"contract":"a","count":1}')
check failed_contract_log_readable "got $(printf '%s\n' "$out" | cut -c1-80)" [ "$(printf '%s\n' "$out" | field result.entries.0.index)" = 0 ]
out=$(rpc start '{"contract":"a"}')
o2=$(rpc call '{"contract":"a","method":"get","args":[]}')
check start_clears_failed "got $out / $o2" [ "$(printf '%s\n' "$o2" | field result.value)" = "$entries" ]

# A deploy worker killed in the middle of init leaves nothing behind.
cat >"$T/slow.lua" <<'LUA'
local M = {}
function M.init() local x = 0; for i = 1, 200000000 do x = x + i end end
function M.get() return 1 end
return M
LUA
deploy slow "$T/slow.lua" '{"limits":{"instructions":1000000000000}}' >"$T/slow.out" &
DEP=$!
j=0; dp=
while [ -z "$dp" ] && [ $j -lt 50 ]; do
	sleep 0.1; j=$((j + 1))
	dp=$(pgrep -f -- "--worker slow --fd 3 --dir $T/state/contracts/.deploy-slow" | head -1)
done
[ -n "$dp" ] && kill -KILL "$dp"
wait $DEP
out=$(cat "$T/slow.out")
if [ -n "$dp" ] && [ "$(printf '%s\n' "$out" | field error.code)" = -32603 ] &&
    [ -z "$(ls -A "$T/state/contracts" | grep slow)" ] && [ -z "$(ls -A "$T/state/keys" | grep slow)" ] &&
    [ "$(rpc info '{"contract":"slow"}' | field error.code)" = -32002 ]; then
	pass killed_deploy_leaves_nothing
else
	fail killed_deploy_leaves_nothing "pid '$dp', got $out; $(ls -A "$T/state/contracts" "$T/state/keys")"
fi

stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
