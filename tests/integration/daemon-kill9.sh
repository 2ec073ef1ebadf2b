#!/bin/sh
# daemon-kill9.sh — no fault loses an acknowledged call (#16): kill -9 of
# a contract's worker (three times) and of vmsd itself (twice, restarted
# at once) while 8 pipelined clients keep calling, reconnecting when vmsd
# is gone. Afterwards every acknowledged call is in the ledger at the
# index it was acknowledged with, once; no call is in it twice; the
# contract's state counts exactly the entries; the audit (through vmsd
# and of the directory) replays everything clean; the contract was never
# failed.
. "$TOP/tests/integration/lib/daemon.sh"
export VMSCTL_KNOWN="$T/known"

cat >"$T/tags.lua" <<'LUA'
local M = {}
function M.init()
  System.files.mkdir('/t')
  System.files.writeFile('/n', '0')
end
function M.add(tag)
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  System.files.writeFile('/t/' .. tag, tostring(n))
  return n
end
return M
LUA
printf 'idle_timeout = 60\nmax_restarts = 100\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/tags.lua" >/dev/null || { fail setup "cannot deploy"; exit 1; }
rpc call '{"contract":"c","method":"add","args":["warm"]}' >/dev/null

wpid() { rpc info '{"contract":"c"}' | field result.pid; }
kill_worker() {
	p=$(wpid)
	if [ -n "$p" ] && [ "$p" != null ]; then kill -KILL "$p"; echo "worker $p" >>"$T/kills"; fi
}
kill_vmsd() {
	kill -KILL "$VPID"; wait "$VPID" 2>/dev/null
	echo "vmsd $VPID" >>"$T/kills"; VPID=
	start_vmsd || echo "vmsd did not restart" >>"$T/kills"
}

: >"$T/acks"; : >"$T/kills"
python3 "$LIB/ackload.py" "$T/s.sock" c add 7 "$T/acks" --clients 8 --depth 4 >"$T/load.json" &
LOAD=$!
sleep 1; kill_worker
sleep 1; kill_vmsd
sleep 1; kill_worker
sleep 1; kill_vmsd
sleep 1; kill_worker
wait $LOAD
kills=$(wc -l <"$T/kills")
echo "load: $(cat "$T/load.json"), kills: $(tr "\n" " " <"$T/kills")"
acked=$($JGET acked <"$T/load.json"); lost=$($JGET lost <"$T/load.json")
check load_survived "$(cat "$T/load.json"); kills: $(tr '\n' ' ' <"$T/kills")" \
    [ "$kills" = 5 -a "$acked" -gt 200 -a "$($JGET gave_up <"$T/load.json")" = 0 ]
# The kills did interrupt calls in flight (else this tested nothing).
check kills_interrupted_calls "$(cat "$T/load.json")" [ "$lost" -gt 0 -o "$($JGET errors.-32005 <"$T/load.json" || echo 0)" -gt 0 ]

info=$(rpc info '{"contract":"c"}')
st=$(printf '%s\n' "$info" | field result.status)
size=$(printf '%s\n' "$info" | field result.size)
check never_failed "status $st" [ "$st" = running ]
n=$(rpc read '{"contract":"c","path":"/n"}' | field result.data | base64 -d)
check state_counts_entries "counter $n, ledger size $size" [ "$n" = $((size - 1)) ]
out=$("$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_through_vmsd "exit $rc: $out" [ $rc -eq 0 ]
stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]

D="$T/state/contracts/c"
out=$(python3 "$LIB/ledgerfiles.py" acks "$D" "$T/acks"); rc=$?
check every_ack_in_ledger_once "$out" [ $rc -eq 0 ]
out=$(VMSCTL_KNOWN="$T/known.dir" "$VMSCTL" audit --dir "$D" 2>&1); rc=$?
check audit_of_the_directory "exit $rc: $out" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
