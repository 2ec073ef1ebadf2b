#!/bin/sh
# daemon-timeout.sh — call_timeout: a worker that is stopped (SIGSTOP) with
# calls in flight is killed after call_timeout seconds; those calls are
# answered -32005 "call timed out ... (it may have been committed ...)"
# with data.reason "call_timeout", within the bound; other contracts keep
# answering meanwhile; the worker is restarted and the next call works;
# the ledger still audits clean. call_timeout = 0 disables the watchdog.
. "$TOP/tests/integration/lib/daemon.sh"
export VMSCTL_KNOWN="$T/known"

write_counter
printf 'idle_timeout = 60\ncall_timeout = 2\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
rpc deploy "{\"name\":\"a\",\"code\":$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/counter.lua")}" >/dev/null &&
rpc deploy "{\"name\":\"b\",\"code\":$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/counter.lua")}" >/dev/null ||
    { fail setup "cannot deploy"; exit 1; }

pid_of() {
	rpc list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["result"]["contracts"]:
    if c["name"] == sys.argv[1]:
        print(c["pid"] if c["pid"] is not None else "")' "$1"
}
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

rpc call '{"contract":"a","method":"inc","args":[]}' >/dev/null
rpc call '{"contract":"b","method":"inc","args":[]}' >/dev/null
pa=$(pid_of a)
[ -n "$pa" ] || { fail setup "no worker for a"; exit 1; }
kill -STOP "$pa"

# Two calls in flight to the stopped worker, in the background.
t0=$(now_ms)
rpc call '{"contract":"a","method":"inc","args":[]}' >"$T/c1.out" &
C1=$!
rpc call '{"contract":"a","method":"get","args":[]}' >"$T/c2.out" &
C2=$!
sleep 0.5
# b answers while a is stuck.
out=$(rpc call '{"contract":"b","method":"inc","args":[]}')
check other_contract_answers "got $out" [ "$(printf '%s\n' "$out" | field result.value)" = 2 ]
wait $C1; wait $C2
el=$(( $(now_ms) - t0 ))
c1=$(cat "$T/c1.out"); c2=$(cat "$T/c2.out")
check timeout_within_bound "answered after ${el} ms (call_timeout 2 s)" [ $el -ge 1800 -a $el -le 6000 ]
code1=$(printf '%s\n' "$c1" | field error.code); code2=$(printf '%s\n' "$c2" | field error.code)
if [ "$code1" = -32005 ] && [ "$code2" = -32005 ] &&
    printf '%s\n' "$c1" | grep -qF 'call timed out: the worker of a answered nothing for 2s and was killed; call not executed or not acknowledged (it may have been committed: check the ledger before retrying)' &&
    [ "$(printf '%s\n' "$c1" | field error.data.reason)" = call_timeout ] &&
    [ "$(printf '%s\n' "$c1" | field error.data.call_timeout)" = 2 ] &&
    printf '%s\n' "$c2" | grep -qF 'call timed out'; then
	pass timeout_error
else
	fail timeout_error "got $c1 / $c2"
fi
kill -0 "$pa" 2>/dev/null && fail worker_killed "pid $pa still exists" || pass worker_killed
grep -q "a: worker $pa answered nothing for 2s with 2 calls in flight (stopped or stuck): killing it" "$T/log" &&
    pass timeout_logged || fail timeout_logged "no log line"

# The next call works (a new worker), the count is the ledger's.
out=$(rpc call '{"contract":"a","method":"inc","args":[]}')
v=$(printf '%s\n' "$out" | field result.value)
# 2 acknowledged incs, plus the timed-out one if it was committed (it was
# not: the worker was stopped before it read it, but either is honest).
check next_call_works "got $out" [ "$v" = 2 -o "$v" = 3 ]
restarts=$(rpc info '{"contract":"a"}' | field result.restarts)
pn=$(pid_of a)
check worker_restarted "restarts $restarts, pid $pn (was $pa)" [ "$restarts" = 1 -a -n "$pn" -a "$pn" != "$pa" ]

# The audit still passes.
out=$("$VMSCTL" -s "$T/s.sock" audit a 2>&1); rc=$?
check audit_passes "exit $rc: $out" [ $rc -eq 0 ]

# A worker stopped with nothing in flight is only caught by the next call.
kill -STOP "$pn"
sleep 2.5
kill -0 "$pn" 2>/dev/null && pass idle_stopped_worker_left_alone ||
    fail idle_stopped_worker_left_alone "killed without a call in flight"
out=$(rpc call '{"contract":"a","method":"get","args":[]}')
check stopped_idle_worker_times_out "got $out" [ "$(printf '%s\n' "$out" | field error.code)" = -32005 ]
out=$(rpc call '{"contract":"a","method":"get","args":[]}')
check recovers_again "got $out" [ "$(printf '%s\n' "$out" | field result.value)" = "$v" ]

# call_timeout = 0: no watchdog (reload with SIGHUP).
printf 'idle_timeout = 60\ncall_timeout = 0\n' >"$T/vmsd.conf"
kill -HUP "$VPID"; sleep 0.3
p3=$(pid_of a)
kill -STOP "$p3"
rpc call '{"contract":"a","method":"get","args":[]}' >"$T/c3.out" &
C3=$!
sleep 3
kill -0 $C3 2>/dev/null && kill -0 "$p3" 2>/dev/null && pass zero_disables ||
    fail zero_disables "answered: $(cat "$T/c3.out")"
kill -CONT "$p3"
wait $C3
check resumed_call_answered "got $(cat "$T/c3.out")" [ "$(field result.value <"$T/c3.out")" = "$v" ]

stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
