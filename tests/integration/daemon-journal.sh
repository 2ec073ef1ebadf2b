#!/bin/sh
# daemon-journal.sh — a commit is one flush, of the signed head holding the
# batch (#15: the head's journal, vms-ledger(5)); `entries` is synced
# only every few commits. A power loss then loses what was written to
# `entries` after its last sync: simulated here by killing vmsd and its
# worker (kill -9) under load and cutting `entries` back to what its own
# history says was synced. At the restart the worker puts the lost
# batches back from the journal and says so; every acknowledged call is
# in the ledger at its index, once; nothing is signed twice; the audits
# (through vmsd and of the directory) pass; calls go on. Cut further back
# than the journal reaches (storage that lost synced data), the contract
# is refused, as before.
. "$TOP/tests/integration/lib/daemon.sh"
export VMSCTL_KNOWN="$T/known"

write_counter
printf 'idle_timeout = 60\n' >"$T/vmsd.conf"
D="$T/state/contracts/c"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail setup "cannot deploy"; exit 1; }

: >"$T/acks"
python3 "$LIB/ackload.py" "$T/s.sock" c inc 2 "$T/acks" --clients 8 --depth 4 >"$T/load.json"
acked=$($JGET acked <"$T/load.json")
# `entries` is synced every few commits: one call at a time until the last
# commit is one that did not sync it (else the crash would lose nothing)
i=0
while [ $i -lt 20 ] && [ "$(python3 "$LIB/ledgerfiles.py" durable "$D")" = "$(python3 "$LIB/ledgerfiles.py" committed "$D")" ]; do
	out=$(rpc call '{"contract":"c","method":"inc","args":["one-'$i'"]}')
	idx=$(printf '%s\n' "$out" | field result.index)
	[ -n "$idx" ] && [ "$idx" != null ] && echo "$idx one-$i" >>"$T/acks" && acked=$((acked + 1))
	i=$((i + 1))
done
wp=$(rpc info '{"contract":"c"}' | field result.pid)
# the crash: nothing more is written or synced
kill -KILL "$wp" "$VPID"; wait "$VPID" 2>/dev/null; VPID=
cp -a "$D" "$T/full"
# the power loss: `entries` as far as it was synced, zeros after
off=$(python3 "$LIB/ledgerfiles.py" durable "$D")
size=$(stat -c %s "$D/entries")
python3 - "$D/entries" "$off" "$size" <<'PY'
import sys
p, off, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(p, "r+b") as f:
    f.seek(off)
    f.write(b"\0" * (size - off))
PY
kept=$(python3 -c "import sys; sys.path.insert(0, '$LIB'); import ledgerfiles as L; print(len(L.leaves('$D')))")
echo "acked $acked calls; entries synced up to byte $off of $size: $kept entries"
# (else this tested nothing: the loss must take acknowledged calls)
check loss_takes_acknowledged_calls "acked $acked, kept $kept" [ "$acked" -gt 100 -a "$kept" -le "$acked" ]

mark=$(wc -l <"$T/log")
start_vmsd || { fail restart "vmsd did not start"; exit 1; }
out=$(rpc call '{"contract":"c","method":"inc","args":["after"]}')
v=$(printf '%s\n' "$out" | field result.value)
tail -n +"$mark" "$T/log" >"$T/log2"
check put_back_logged "$(grep -i journal "$T/log2")" grep -q "entries put back from the head's journal" "$T/log2"
# (the counter counts every call committed: one past the last acknowledged)
last=$(sort -n "$T/acks" | tail -1 | cut -d' ' -f1)
check calls_go_on "got $out, last acknowledged at $last" \
    [ "$v" = "$(printf '%s\n' "$out" | field result.index)" -a "$v" -gt "$last" ]
res=$(python3 "$LIB/ledgerfiles.py" acks "$D" "$T/acks"); rc=$?
check every_ack_in_ledger "$res" [ $rc -eq 0 ]
twice=$(python3 "$LIB/ledgerfiles.py" inconsistent "$D" "$T/full")
check never_signed_twice "$twice" [ "$twice" = 0 ]
out=$("$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_through_vmsd "exit $rc: $out" [ $rc -eq 0 ]
stop_vmsd
out=$("$VMSCTL" audit --dir "$D" 2>&1); rc=$?
check audit_of_directory "exit $rc: $out" [ $rc -eq 0 ]

# Lost further back than the journal reaches: refused, nothing signed.
start_vmsd || { fail restart2 "vmsd did not start"; exit 1; }
python3 "$LIB/ackload.py" "$T/s.sock" c inc 1 "$T/acks2" --clients 8 --depth 4 >/dev/null
stop_vmsd
cp -a "$D" "$T/full2"
# the ledger's files back to the copy taken after the first load: the
# journal holds only the last few commits of the second
for f in entries index hashes checkpoint checkpoints; do cp "$T/full/$f" "$D/$f"; done
cp "$T/state/keys/c.head" "$T/head2"
start_vmsd || { fail restart3 "vmsd did not start"; exit 1; }
out=$(rpc call '{"contract":"c","method":"inc","args":["x"]}')
printf '%s\n' "$out" | grep -q "the storage lost entries it had synced, or the ledger was restored from an older copy" &&
    pass beyond_journal_refused || fail beyond_journal_refused "$out"
twice=$(python3 "$LIB/ledgerfiles.py" inconsistent "$T/full2" "$D")
check beyond_journal_nothing_signed "$twice sizes signed twice" [ "$twice" = 0 ]
check beyond_journal_head_kept "$(cmp "$T/head2" "$T/state/keys/c.head" 2>&1)" \
    cmp -s "$T/head2" "$T/state/keys/c.head"

stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
