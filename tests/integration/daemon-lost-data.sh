#!/bin/sh
# daemon-lost-data.sh — storage that lost synced data (#16 item 4). The
# reported case: `entries`, `checkpoints` (and the files derived from
# them) cut back below `state.snap`, as a disk that ignored fdatasync or a
# restore of the ledger from an older copy leaves them. vmsd used to
# rebuild from the shorter ledger and carry on: acknowledged calls gone,
# sizes it had signed signed again with other roots. Now the worker
# refuses: the contract is "unavailable" with the reason (info, list, the
# log, every call's error), reads of the ledger keep working, nothing is
# signed or written, no restart loop; each of the two checks (the signed
# head beside the key, the snapshot ahead of the ledger) catches it alone;
# once the lost entries are put back, `vmsctl start` brings it back and
# the audit passes.
. "$TOP/tests/integration/lib/daemon.sh"
export VMSCTL_KNOWN="$T/known"

write_counter
printf 'idle_timeout = 60\n' >"$T/vmsd.conf"
D="$T/state/contracts/c"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail setup "cannot deploy"; exit 1; }
$RPC -s "$T/s.sock" load --clients 4 --calls 75 --pipeline 8 --contract c --method inc >"$T/l1.json"
stop_vmsd
cp -a "$D" "$T/old"		# an older copy of the ledger: 301 entries
start_vmsd || { fail setup "restart"; exit 1; }
# (one call a batch: 400 batches, more than the signed head's ring holds,
# so its journal cannot bring the older copy up to the head)
$RPC -s "$T/s.sock" load --clients 1 --calls 400 --pipeline 1 --contract c --method inc >"$T/l2.json"
[ "$($JGET ok <"$T/l2.json")" = 400 ] || { fail setup "load: $(cat "$T/l2.json")"; exit 1; }
stop_vmsd			# state.snap at entry 700, signed head at 701
cp -a "$D" "$T/full"
cp "$T/state/keys/c.head" "$T/full.head"

# lose: the ledger's files back to the older copy; state.snap and the
# signed head (beside the key) stay
lose() {
	for f in entries index hashes checkpoint checkpoints; do
		cp "$T/old/$f" "$D/$f"
	done
}
# signed_twice: checkpoints signed in the ledger now (history and commit
# records) that are not the root of the full ledger at their size
signed_twice() {
	python3 "$LIB/ledgerfiles.py" inconsistent "$T/full" "$D"
}

lose
mark=$(wc -l <"$T/log")
start_vmsd || { fail restart "vmsd did not start"; exit 1; }
calls_ok=0; out=
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(rpc call '{"contract":"c","method":"inc","args":[]}') && calls_ok=$((calls_ok + 1))
done
code=$(printf '%s\n' "$out" | field error.code)
msg=$(printf '%s\n' "$out" | field error.message)
if [ "$calls_ok" = 0 ] && [ "$code" = -32005 ] &&
    printf '%s' "$msg" | grep -q "contract c is unavailable: the ledger in .* holds 301 committed entries, but a checkpoint of size 701 was signed (.*/keys/c.head): the storage lost entries it had synced, or the ledger was restored from an older copy. Refusing to run or sign" &&
    printf '%s' "$msg" | grep -q "then vmsctl start c; see vmsd(8), RECOVERY"; then
	pass calls_refused_with_reason
else
	fail calls_refused_with_reason "$calls_ok calls succeeded; last: $out"
fi
n=$(signed_twice)
check nothing_resigned "$n sizes signed again with another root" [ "$n" = 0 ]
cmp -s "$D/entries" "$T/old/entries" && cmp -s "$D/checkpoints" "$T/old/checkpoints" &&
    cmp -s "$T/state/keys/c.head" "$T/full.head" &&
    pass nothing_written || fail nothing_written "the ledger or its head changed"
info=$(rpc info '{"contract":"c"}')
st=$(printf '%s\n' "$info" | field result.status)
reason=$(printf '%s\n' "$info" | field result.reason)
restarts=$(printf '%s\n' "$info" | field result.restarts)
size=$(printf '%s\n' "$info" | field result.size)
if [ "$st" = unavailable ] && [ "$restarts" = 0 ] && [ "$size" = 301 ] &&
    printf '%s' "$reason" | grep -q "a checkpoint of size 701 was signed"; then
	pass info_says_why
else
	fail info_says_why "$info"
fi
out=$("$VMSCTL" -s "$T/s.sock" info c 2>&1)
printf '%s\n' "$out" | grep -q "^status:   unavailable" &&
    printf '%s\n' "$out" | grep -q "^reason:   the ledger in .* holds 301 committed entries" &&
    pass vmsctl_info_says_why || fail vmsctl_info_says_why "$out"
out=$("$VMSCTL" -s "$T/s.sock" list 2>&1)
printf '%s\n' "$out" | grep -q "^c .*unavailable" && pass listed_unavailable ||
    fail listed_unavailable "$out"
grep -q "c: contract unavailable: the ledger in .* holds 301 committed entries, but a checkpoint of size 701 was signed" "$T/log" &&
    pass logged || fail logged "no log line"
n=$(tail -n +$((mark + 1)) "$T/log" | grep -c "contract worker started")
check no_restart_loop "$n workers started for 10 calls" [ "$n" = 1 ]
out=$(rpc checkpoint '{"contract":"c"}')
check reads_work "checkpoint: $out" [ "$(printf '%s\n' "$out" | field result.size)" = 301 ]
out=$(rpc log '{"contract":"c","from":299,"count":5}')
check log_reads_work "log: $out" [ "$(printf '%s\n' "$out" | field result.size)" = 301 ]
stop_vmsd

# Each check alone. The snapshot, without the signed head (a ledger from
# before it, or the head lost too):
rm -f "$T/state/keys/c.head"
start_vmsd || { fail restart2 "vmsd did not start"; exit 1; }
out=$(rpc call '{"contract":"c","method":"inc","args":[]}')
printf '%s\n' "$out" | grep -q "unavailable: .*/contracts/c/state.snap is at entry 700 but the ledger holds only 301 committed entries: the storage lost entries it had synced" &&
    pass snapshot_alone_refuses || fail snapshot_alone_refuses "$out"
cmp -s "$D/checkpoints" "$T/old/checkpoints" && pass snapshot_alone_nothing_signed ||
    fail snapshot_alone_nothing_signed "checkpoints changed"
stop_vmsd
# The signed head, without the snapshot:
cp "$T/full.head" "$T/state/keys/c.head"
rm -f "$D/state.snap"
start_vmsd || { fail restart3 "vmsd did not start"; exit 1; }
out=$(rpc call '{"contract":"c","method":"inc","args":[]}')
printf '%s\n' "$out" | grep -q "unavailable: the ledger in .* holds 301 committed entries, but a checkpoint of size 701 was signed" &&
    pass head_alone_refuses || fail head_alone_refuses "$out"
cmp -s "$D/checkpoints" "$T/old/checkpoints" && pass head_alone_nothing_signed ||
    fail head_alone_nothing_signed "checkpoints changed"

# vmsctl start retries: refused again while the entries are missing.
out=$(rpc start '{"contract":"c"}')
check start_retries_and_refuses_again "start: $out" [ "$(rpc info '{"contract":"c"}' | field result.status)" = unavailable ]

# Recovery: the lost entries put back, then vmsctl start.
for f in entries index hashes checkpoint checkpoints state.snap; do cp "$T/full/$f" "$D/$f"; done
out=$("$VMSCTL" -s "$T/s.sock" start c 2>&1)
out=$(rpc call '{"contract":"c","method":"inc","args":[]}')
check recovered_after_restore "got $out" [ "$(printf '%s\n' "$out" | field result.value)" = 701 ]
out=$("$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_after_restore "exit $rc: $out" [ $rc -eq 0 ]
n=$(signed_twice)
check never_signed_twice "$n sizes signed twice" [ "$n" = 0 ]

stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
