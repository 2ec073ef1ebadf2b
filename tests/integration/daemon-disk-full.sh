#!/bin/sh
# daemon-disk-full.sh — a full disk (#16 item 6), on a small ext4
# filesystem loop-mounted for the test (root and loop devices needed, else
# SKIP). While it is full, calls fail with a clear "no space left on
# device" error and nothing of them is recorded; reads (read, ls, info,
# log, checkpoint) keep working; the worker is never killed nor the
# contract failed; the ledger audits clean. Once space is freed, calls
# succeed again by themselves. Every acknowledged call is in the ledger,
# once.
. "$TOP/tests/integration/lib/daemon.sh"
export VMSCTL_KNOWN="$T/known"

M="$T/mnt"
if [ "$(id -u)" != 0 ]; then skip disk_full "needs root to mount a filesystem"; exit 0; fi
if ! command -v mkfs.ext4 >/dev/null; then skip disk_full "no mkfs.ext4"; exit 0; fi
mkdir -p "$M"
truncate -s 16M "$T/fs.img" && mkfs.ext4 -q -F -m 0 "$T/fs.img" >/dev/null 2>&1 ||
    { skip disk_full "cannot make a filesystem image"; exit 0; }
if ! mount -o loop "$T/fs.img" "$M" 2>"$T/mount.err"; then
	skip disk_full "no loop device: $(cat "$T/mount.err")"
	exit 0
fi
umount_fs() {
	if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
		kill -KILL "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null
	fi
	VPID=
	sleep 0.3	# workers exit on EOF
	umount "$M" 2>/dev/null || { sleep 1; umount -l "$M"; }
	cleanup
}
trap umount_fs EXIT INT TERM

write_counter
printf 'idle_timeout = 60\nstate_dir = %s/state\n' "$M" >"$T/vmsd.conf"
"$VMSD" -f "$T/vmsd.conf" --socket "$T/s.sock" >>"$T/log" 2>&1 </dev/null &
VPID=$!
i=0; until rpc ping >/dev/null 2>&1 || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
deploy c "$T/counter.lua" >/dev/null || { fail setup "cannot deploy: $(tail -3 "$T/log")"; exit 1; }
# a factory: a call that makes a child also writes its intent file
deploy f "$TOP/examples/counter-factory.lua" '{"limits":{"children":10}}' >/dev/null ||
    { fail setup "cannot deploy the factory: $(tail -3 "$T/log")"; exit 1; }

# calls N TAG: N calls from one pipelined client, each with a unique tag;
# prints "ok refused other", appends "INDEX TAG" of each acknowledged one
# to $T/acks and the first other error to $T/other
calls() {
	python3 - "$T/s.sock" "$1" "$2" "$T/acks" "$T/other" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); f = s.makefile("rwb")
n, tag = int(sys.argv[2]), sys.argv[3]
acks = open(sys.argv[4], "a")
for i in range(n):
    f.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": "call",
        "params": {"contract": "c", "method": "echo",
                   "args": ["%s-%d" % (tag, i), "x" * 200]}}) + "\n").encode())
f.flush()
ok = refused = other = 0
for i in range(n):
    m = json.loads(f.readline())
    if "result" in m:
        ok += 1; acks.write("%d %s-%d\n" % (m["result"]["index"], tag, m["id"]))
    elif m["error"]["code"] == -32005 and m["error"].get("data", {}).get("reason") == "no_space" \
            and m["error"]["message"].startswith("no space left on device: the call was not recorded"):
        refused += 1
    else:
        other += 1
        if other == 1:
            open(sys.argv[5], "a").write(json.dumps(m) + "\n")
print(ok, refused, other)
PY
}
: >"$T/acks"; : >"$T/other"
set -- $(calls 50 before)
[ "$1" = 50 ] || { fail setup "calls before filling: $*"; exit 1; }
pid0=$(rpc info '{"contract":"c"}' | field result.pid)

# Fill the filesystem.
dd if=/dev/zero of="$M/fill" bs=64k >/dev/null 2>&1
dd if=/dev/zero of="$M/fill2" bs=4k >/dev/null 2>&1
sync

# Calls until they fail (what little room is left in allocated blocks
# may take a few), then a pipelined burst: every one refused cleanly.
okf=0; i=0
while [ $i -lt 40 ]; do
	set -- $(calls 5 fill$i)
	okf=$((okf + $1))
	[ "$2" -gt 0 ] && break
	i=$((i + 1))
done
set -- $(calls 200 full)
full_ok=$1 full_refused=$2 full_other=$3
if [ "$full_refused" -ge 150 ] && [ "$full_other" = 0 ]; then
	pass calls_refused_no_space
else
	fail calls_refused_no_space "of 200 calls on a full disk: $full_ok ok, $full_refused refused, $full_other other: $(head -1 "$T/other")"
fi
set -- $(calls 20 full2)
check still_refused_no_crash "20 more: $*; $(head -1 "$T/other")" [ "$3" = 0 ]

# A call that makes a child contract: refused like the others, or (when
# the factory's batch and intent still fit) acknowledged with its child
# owed; either way the factory's worker is neither restarted nor failed
# (it was: the child could not be made, the worker restarted to retry and
# crashed into "failed").
fpid0=$(rpc info '{"contract":"f"}' | field result.pid)
out=$(rpc call '{"contract":"f","method":"create","args":["zed"]}')
code=$(printf '%s\n' "$out" | field error.code)
why=$(printf '%s\n' "$out" | field error.data.reason)
zed_acked=$(printf '%s\n' "$out" | field result.value)
sleep 1
finfo=$(rpc info '{"contract":"f"}')
fst=$(printf '%s\n' "$finfo" | field result.status)
fpid1=$(printf '%s\n' "$finfo" | field result.pid)
if { [ "$code" = -32005 ] && [ "$why" = no_space ]; } || [ "$zed_acked" = f.zed ]; then
	pass factory_call_answered
else
	fail factory_call_answered "got $out"
fi
check factory_not_restarted "status $fst, pid $fpid0 -> $fpid1" \
    [ "$fst" = running -a "$fpid1" = "$fpid0" ]

# Reads keep working.
r1=$(rpc read '{"contract":"c","path":"/n"}' | field result.size)
r2=$(rpc ls '{"contract":"c","path":"/"}' | field result.entries.0.name)
r3=$(rpc checkpoint '{"contract":"c"}' | field result.size)
r4=$(rpc log '{"contract":"c","from":0,"count":2}' | field result.entries.1.index)
info=$(rpc info '{"contract":"c"}')
st=$(printf '%s\n' "$info" | field result.status)
pid1=$(printf '%s\n' "$info" | field result.pid)
restarts=$(printf '%s\n' "$info" | field result.restarts)
check reads_work "read $r1, ls $r2, checkpoint $r3, log $r4" [ "$r1" = 1 -a "$r2" = n -a -n "$r3" -a "$r4" = 1 ]
check not_failed_nor_restarted "status $st, pid $pid0 -> $pid1, restarts $restarts" \
    [ "$st" = running -a "$pid1" = "$pid0" -a "$restarts" = 0 ]
n=$(grep -c "worker c: storage full: calls are refused until space is freed (.*No space left on device" "$T/log")
[ "$n" = 1 ] &&
    pass logged_once_full || fail logged_once_full "$n log lines"
out=$("$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_clean_while_full "exit $rc: $out" [ $rc -eq 0 ]

# Space comes back: calls succeed by themselves.
rm -f "$M/fill" "$M/fill2"
set -- $(calls 50 after)
check calls_succeed_again "after freeing space: $*; $(head -1 "$T/other")" [ "$1" = 50 ]
# after space returns: a committing call makes what is owed
[ "$zed_acked" = f.zed ] || rpc call '{"contract":"f","method":"create","args":["zed"]}' >/dev/null
out=$(rpc call '{"contract":"f","method":"create","args":["yan"]}')
i=0
while { [ ! -d "$M/state/contracts/f.zed" ] || [ ! -d "$M/state/contracts/f.yan" ]; } && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
check factory_makes_again "got $out; $(ls "$M/state/contracts" | tr '\n' ' ')" \
    [ -d "$M/state/contracts/f.zed" -a -d "$M/state/contracts/f.yan" ]
zed=$(rpc call '{"contract":"f.zed","method":"owner","args":[]}' | field result.value)
check factory_child_serves "owner of f.zed: $zed" [ -n "$zed" ]
out=$("$VMSCTL" -s "$T/s.sock" audit f --children 2>&1); rc=$?
check factory_audit_clean "exit $rc: $out" [ $rc -eq 0 ]
grep -q "worker c: storage has space again: calls are recorded again" "$T/log" &&
    pass logged_space_again || fail logged_space_again "no log line"
out=$("$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_clean_after "exit $rc: $out" [ $rc -eq 0 ]
kill -TERM "$VPID"; wait "$VPID"; rc=$?; VPID=
check clean_exit "rc=$rc" [ $rc -eq 0 ]
out=$(python3 "$LIB/ledgerfiles.py" acks "$M/state/contracts/c" "$T/acks"); rc=$?
check every_ack_in_ledger_once "$out" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
