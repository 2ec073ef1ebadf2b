#!/bin/sh
# daemon-concurrency.sh — many clients at once: every call acknowledged, the
# ledger holds exactly the acknowledged entries, fewer signed checkpoints
# than calls (group commit); the queue limit answers "busy"; SIGTERM under
# load exits 0 with every acknowledged call durable.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'idle_timeout = 60\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null

# Checkpoints signed: the commit records in the ledger's `entries` (a
# record whose length has the top bit set), each written with its batch.
# (Not the `checkpoints` history: it takes a batch's checkpoint once
# `entries` is synced, about once a round of the signed head's ring.)
ncheckpoints() {
	python3 - "$T/state/contracts/$1/entries" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = off = 0
while off + 4 <= len(d):
    (l,) = struct.unpack(">I", d[off:off + 4])
    if l == 0:
        break                   # the zeros written ahead
    n += 1 if l & 0x80000000 else 0
    off += 4 + (l & 0x7fffffff)
print(n)
PY
}

cp0=$(ncheckpoints c)
$RPC -s "$T/s.sock" load --clients 16 --calls 40 --contract c --method inc >"$T/load.json"
ok=$($JGET ok <"$T/load.json"); distinct=$($JGET distinct_indexes <"$T/load.json")
size=$(rpc info '{"contract":"c"}' | field result.size)
val=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
if [ "$ok" = 640 ] && [ "$distinct" = 640 ] && [ "$size" = 641 ] && [ "$val" = 640 ]; then
	pass all_acknowledged_exactly_in_ledger
else
	fail all_acknowledged_exactly_in_ledger "ok=$ok distinct=$distinct size=$size value=$val"
fi
cp1=$(ncheckpoints c)
ncp=$((cp1 - cp0))
check group_commit_fewer_checkpoints "$ncp checkpoints for 640 calls" [ $ncp -lt 640 -a $ncp -gt 0 ]
echo "     (16 clients: $ncp checkpoints for 640 calls, $($JGET calls_per_s <"$T/load.json" | cut -d. -f1) calls/s sanitizer build)"

# Pipelining from one connection also group-commits.
$RPC -s "$T/s.sock" load --clients 1 --calls 300 --pipeline 50 --contract c --method inc >"$T/load2.json"
cp2=$(ncheckpoints c)
check pipelined_group_commit "$((cp2 - cp1)) checkpoints for 300 pipelined calls, ok $($JGET ok <"$T/load2.json")" \
    [ "$($JGET ok <"$T/load2.json")" = 300 -a $((cp2 - cp1)) -lt 300 ]

# Queue limit: beyond it, "busy, retry later"; every request answered.
stop_vmsd
printf 'queue_limit = 5\nbatch_max = 2\n' >"$T/vmsd.conf"
start_vmsd
size0=$(rpc info '{"contract":"c"}' | field result.size)
$RPC -s "$T/s.sock" load --clients 1 --calls 200 --pipeline 200 --contract c --method inc >"$T/load3.json"
ok=$($JGET ok <"$T/load3.json"); busy=$($JGET errors.-32001 <"$T/load3.json"); un=$($JGET unanswered <"$T/load3.json")
size1=$(rpc info '{"contract":"c"}' | field result.size)
if [ -n "$busy" ] && [ "$busy" -gt 0 ] && [ $((ok + busy)) = 200 ] && [ "$un" = 0 ] && [ $((size1 - size0)) = "$ok" ]; then
	pass queue_limit_busy
else
	fail queue_limit_busy "ok=$ok busy=$busy unanswered=$un entries added $((size1 - size0))"
fi
msg=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"call","params":{"contract":"c","method":"inc"}}' | python3 -c '
import sys; l = sys.stdin.read(); sys.stdout.write(l * 50)' | $RPC -s "$T/s.sock" raw --wait 3 | grep -m1 -- -32001)
check busy_message "got $msg" sh -c "printf '%s' '$msg' | grep -q 'busy, retry later: queue full'"

# SIGTERM under load: exit 0; every acknowledged call is durable.
stop_vmsd
: >"$T/vmsd.conf"
start_vmsd
val0=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
size0=$(rpc info '{"contract":"c"}' | field result.size)
$RPC -s "$T/s.sock" load --clients 8 --calls 5000 --contract c --method inc >"$T/load4.json" 2>/dev/null &
LOAD=$!
# stopped once the load is under way
wait_size c $((size0 + 200))
stop_vmsd; rc=$?
wait $LOAD
ok=$($JGET ok <"$T/load4.json")
start_vmsd
size1=$(rpc info '{"contract":"c"}' | field result.size)
val=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
if [ $rc = 0 ] && [ "$ok" -gt 0 ] && [ "$ok" -lt 40000 ] && [ $((size1 - size0)) -ge "$ok" ] &&
    [ "$val" = $((val0 + size1 - size0)) ]; then
	pass sigterm_under_load_durable "acknowledged $ok, entries added $((size1 - size0))"
else
	fail sigterm_under_load_durable "rc=$rc acknowledged=$ok entries added $((size1 - size0)) value=$val"
fi
stop_vmsd
check_sanitizer_log
exit 0
