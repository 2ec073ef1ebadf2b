#!/bin/sh
# daemon-watchdog.sh — the call watchdog fires only on a worker that has
# really stopped answering (#16 item 1). A healthy worker kept busy by one
# client is never killed nor marked failed:
#   - ~900 `log` requests kept in flight for longer than call_timeout (the
#     worker answers all the time, but never has nothing in flight);
#   - 50 or more `log count=10000` requests (as many as the worker takes
#     about 2.5 s to answer) whose replies the client does not read while
#     the worker takes longer than call_timeout to answer them all.
# Before the watchdog was re-armed on every answer, both got the worker
# killed every call_timeout and the contract `failed` after max_restarts.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
# call_timeout 1 s, and a contract is failed after 2 kills: the old bug
# shows within the few seconds each case runs. The unread replies (~1.4
# MB each, 300 at most) are let through the output limits, which are not
# under test.
printf 'idle_timeout = 60\ncall_timeout = 1\nmax_restarts = 2\nqueue_limit = 1000\nmax_output = 512M\nmemory_budget = 1G\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail setup "cannot deploy"; exit 1; }
# A ledger of some size, so that each log reply takes the worker a while.
$RPC -s "$T/s.sock" load --clients 4 --calls 750 --pipeline 64 --contract c --method inc >"$T/fill.json"
[ "$($JGET ok <"$T/fill.json")" = 3000 ] || { fail setup "fill: $(cat "$T/fill.json")"; exit 1; }

pid0=$(rpc info '{"contract":"c"}' | field result.pid)
[ -n "$pid0" ] || { fail setup "no worker"; exit 1; }

# Case 1: ~900 pipelined log requests for 4 s (4 x call_timeout).
python3 - "$T/s.sock" <<'PY' >"$T/pipe.json"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
depth, dur = 900, 4.0
sent = got = errors = 0
first_error = None
buf = b""
t0 = time.time()
def req(i):
    return (json.dumps({"jsonrpc": "2.0", "id": i, "method": "log",
            "params": {"contract": "c", "from": i % 2900, "count": 20}})
            + "\n").encode()
while True:
    now = time.time() - t0
    if now < dur and sent - got < depth:
        s.sendall(b"".join(req(sent + k) for k in range(depth - (sent - got))))
        sent += depth - (sent - got)
    if got == sent:
        break
    d = s.recv(1 << 20)
    if not d:
        break
    buf += d
    lines = buf.split(b"\n")
    buf = lines.pop()
    for l in lines:
        m = json.loads(l)
        got += 1
        if "error" in m:
            errors += 1
            first_error = first_error or m["error"]
print(json.dumps({"sent": sent, "got": got, "errors": errors,
                  "first_error": first_error,
                  "seconds": round(time.time() - t0, 2)}))
PY
sent=$($JGET sent <"$T/pipe.json"); got=$($JGET got <"$T/pipe.json"); errs=$($JGET errors <"$T/pipe.json")
secs=$($JGET seconds <"$T/pipe.json")
if [ "$errs" = 0 ] && [ "$sent" = "$got" ] && [ "$sent" -gt 900 ]; then
	pass pipelined_log_all_answered
else
	fail pipelined_log_all_answered "$(cat "$T/pipe.json")"
fi
info=$(rpc info '{"contract":"c"}')
pid1=$(printf '%s\n' "$info" | field result.pid)
r1=$(printf '%s\n' "$info" | field result.restarts)
st1=$(printf '%s\n' "$info" | field result.status)
check pipelined_worker_not_killed "pid $pid0 -> $pid1, restarts $r1, status $st1 after $sent requests in ${secs}s" \
    [ "$pid1" = "$pid0" -a "$r1" = 0 -a "$st1" = running ]

# Each case on its own: a contract the first case failed is started again.
[ "$st1" = running ] || rpc start '{"contract":"c"}' >/dev/null
rpc call '{"contract":"c","method":"get","args":[]}' >/dev/null
pid0=$(rpc info '{"contract":"c"}' | field result.pid)
r0=$(rpc info '{"contract":"c"}' | field result.restarts)

# How long does the worker take to answer n? The time between its first
# and last answer is what the old watchdog (armed once) measured: timed on
# 10 (read at once), and n made large enough for about 2.5 s of answers
# (a faster machine, or faster log pages, would otherwise answer all of
# them within call_timeout, and the case could not fail).
t10=$(python3 - "$T/s.sock" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.time()
s.sendall(b"".join((json.dumps({"jsonrpc": "2.0", "id": i, "method": "log",
          "params": {"contract": "c", "from": 0, "count": 10000}}) + "\n").encode()
          for i in range(10)))
buf = b""; got = 0
while got < 10:
    d = s.recv(1 << 22)
    if not d:
        break
    buf += d
    got += buf.count(b"\n"); buf = buf[buf.rfind(b"\n") + 1:]
print(max(1, int((time.time() - t0) * 1000)))
PY
)
nu=$(( 25000 / t10 + 1 )); [ $nu -lt 50 ] && nu=50; [ $nu -gt 300 ] && nu=300
tn=$(( t10 * nu / 10 ))

# Case 2: n log count=10000 whose replies are not read for 3 s; the
# worker takes longer than call_timeout to answer them all (measured
# above: a case that cannot fail is reported, not passed).
size=$(rpc info '{"contract":"c"}' | field result.size)
python3 - "$T/s.sock" "$size" "$nu" <<'PY' >"$T/unread.json"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
n = int(sys.argv[3])
s.sendall(b"".join((json.dumps({"jsonrpc": "2.0", "id": i, "method": "log",
          "params": {"contract": "c", "from": 0, "count": 10000}}) + "\n").encode()
          for i in range(n)))
time.sleep(3)
buf = b""; got = errors = 0; first_error = None
s.settimeout(60)
while got < n:
    d = s.recv(1 << 22)
    if not d:
        break
    buf += d
    lines = buf.split(b"\n")
    buf = lines.pop()
    for l in lines:
        m = json.loads(l)
        got += 1
        if "error" in m:
            errors += 1
            first_error = first_error or m["error"]
        elif len(m["result"]["entries"]) != int(sys.argv[2]):
            errors += 1
            first_error = first_error or "%d entries" % len(m["result"]["entries"])
print(json.dumps({"got": got, "errors": errors, "first_error": first_error}))
PY
got=$($JGET got <"$T/unread.json"); errs=$($JGET errors <"$T/unread.json")
check unread_log_all_answered "$nu sent (${tn} ms): $(cat "$T/unread.json")" [ "$got" = "$nu" -a "$errs" = 0 ]
info=$(rpc info '{"contract":"c"}')
pid2=$(printf '%s\n' "$info" | field result.pid)
r2=$(printf '%s\n' "$info" | field result.restarts)
st2=$(printf '%s\n' "$info" | field result.status)
check unread_worker_not_killed "pid $pid0 -> $pid2, restarts $r0 -> $r2, status $st2" \
    [ "$pid2" = "$pid0" -a "$r2" = "$r0" -a "$st2" = running ]
if [ "$tn" -gt 1200 ]; then
	pass unread_case_exceeds_call_timeout
else
	skip unread_case_exceeds_call_timeout "$nu replies take ${tn} ms, under call_timeout: this machine is too fast for the case to show the old bug"
fi

# The watchdog still catches a worker that really stopped answering.
kill -STOP "$pid0"
out=$(rpc call '{"contract":"c","method":"get","args":[]}')
check stopped_worker_still_caught "got $out" [ "$(printf '%s\n' "$out" | field error.code)" = -32005 ]
# (never leave a stopped worker behind: vmsd's shutdown waits for it)
kill -KILL "$pid0" 2>/dev/null
grep -q "answered nothing for 1s" "$T/log" && n=$(grep -c "answered nothing" "$T/log") || n=0
check killed_once_only "the watchdog fired $n times (once expected: the SIGSTOPped worker)" [ "$n" = 1 ]

stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
