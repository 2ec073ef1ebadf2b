#!/bin/sh
# daemon-loglevel.sh — log_level err|warning|notice|info|debug is honoured by
# vmsd and by the workers it starts (handed down as VMS_LOG_LEVEL), and a
# SIGHUP reload changes it for workers started afterwards.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'idle_timeout = 60\nlog_level = warning\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
code=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/counter.lua")
rpc deploy "{\"name\":\"a\",\"code\":$code}" >/dev/null || { fail setup "cannot deploy"; exit 1; }

pid_of() {
	rpc list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["result"]["contracts"]:
    if c["name"] == sys.argv[1]:
        print(c["pid"] if c["pid"] is not None else "")' "$1"
}
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
# crash: kill a's worker, wait until vmsd noticed, call again (new worker,
# after the restart backoff: 100 ms doubling). Sets SLOW if the call took
# more than 5 s (the backoff timer was once shadowed by the idle timer).
SLOW=
crash() {
	p=$(pid_of a); [ -n "$p" ] && kill -KILL "$p"
	j=0; while [ "$(pid_of a)" = "$p" ] && [ $j -lt 50 ]; do sleep 0.1; j=$((j + 1)); done
	t0=$(now_ms)
	rpc call '{"contract":"a","method":"inc","args":[]}' >/dev/null
	[ $(( $(now_ms) - t0 )) -le 5000 ] || SLOW="$SLOW $(( $(now_ms) - t0 ))ms"
}

rpc call '{"contract":"a","method":"inc","args":[]}' >/dev/null
crash
if grep -q 'killed by signal 9' "$T/log" && ! grep -q 'ready:\|contract worker started\|deployed:\|listening on' "$T/log"; then
	pass warning_level "warnings only"
else
	fail warning_level "$(grep -c . "$T/log") lines: $(head -3 "$T/log")"
fi

printf 'idle_timeout = 60\nlog_level = info\n' >"$T/vmsd.conf"
kill -HUP "$VPID"; sleep 0.3
crash
grep -q 'contract worker started' "$T/log" && grep -q 'ready: [0-9]* entries' "$T/log" &&
    ! grep -q 'snapshot saved' "$T/log" &&
    pass info_level_after_reload || fail info_level_after_reload "no info line from vmsd and its worker"

printf 'idle_timeout = 60\nlog_level = err\n' >"$T/vmsd.conf"
kill -HUP "$VPID"; sleep 0.3
n=$(grep -c . "$T/log")
crash
n2=$(grep -c . "$T/log")
check err_level "log grew from $n to $n2 lines: $(tail -2 "$T/log")" [ "$n" = "$n2" ]

printf 'idle_timeout = 60\nlog_level = debug\n' >"$T/vmsd.conf"
kill -HUP "$VPID"; sleep 0.3
crash
check restart_after_backoff_prompt "calls after a crash took$SLOW" [ -z "$SLOW" ]
stop_vmsd; rc=$?
grep -q 'snapshot saved at entry' "$T/log" && pass debug_level_in_worker ||
    fail debug_level_in_worker "no worker debug line"
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
