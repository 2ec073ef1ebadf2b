#!/bin/sh
# daemon-snapshot.sh — the periodic snapshot (state.snap) is written by a
# child the worker forks, not by the worker in line (which stalled every
# call behind it); the worker keeps serving meanwhile, a restart after a
# SIGKILL starts from it, and a snapshot that cannot be written is logged
# once per interval (not retried every batch) without failing any call.
# The writer holds neither the contract's nor the ledger's lock nor the
# worker's socket, dies with its worker (held up by strace, it could not end by itself),
# and a writer's leftover temporary file is removed at the next open. A
# large state is snapshotted no more often than every state's count of
# entries (its files and directories).
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'snapshot_interval = 20\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null
rpc call '{"contract":"c","method":"inc","args":[]}' >/dev/null
WPID=$(rpc info '{"contract":"c"}' | field result.pid)
SNAP="$T/state/contracts/c/state.snap"

load() {	# load CLIENTS CALLS: that many inc calls; prints how many ok
	$RPC -s "$T/s.sock" load --clients "$1" --calls "$2" --contract c \
	    --method inc >"$T/load.json"
	$JGET ok <"$T/load.json"
}

# trace_renames PID NAME: strace -f PID's renames into $T/NAME.out (SPID),
# once attached; 1 if it could not attach
trace_renames() {
	strace -f -p "$1" -e trace=rename,renameat,renameat2 \
	    -o "$T/$2.out" 2>"$T/$2.err" &
	SPID=$!
	i=0
	while [ $i -lt 50 ] && ! grep -q attached "$T/$2.err" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	grep -q attached "$T/$2.err"
}
# snap_renames NAME: how many times state.snap was renamed into place
snap_renames() {
	grep 'state\.snap"' "$T/$1.out" | grep -vc -- '-1 '
}

# Who renames state.snap into place: strace -f on the worker.
if command -v strace >/dev/null 2>&1; then
	if trace_renames "$WPID" strace; then
		ok=$(load 8 25)
		kill -INT "$SPID"; wait "$SPID"
		check traced_load_ok "ok=$ok of 200" [ "$ok" = 200 ]
		by=$(grep 'state\.snap"' "$T/strace.out" | grep -v -- '-1 ' |
		    awk '{ print $1 }' | sort -u)
		nren=$(snap_renames strace)
		if [ "$nren" -ge 2 ] && ! printf '%s\n' "$by" | grep -qx "$WPID"; then
			pass snapshot_by_child
		else
			fail snapshot_by_child "worker $WPID; state.snap renamed $nren times by: $(echo $by)"
			sed 's/^/     /' "$T/strace.out" | head -n 10
		fi
	else
		kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
		skip snapshot_by_child "strace cannot attach: $(head -c 200 "$T/strace.err")"
	fi
else
	skip snapshot_by_child "strace is not installed"
fi

# A writer killed mid-way leaves its temporary file: the next worker to
# open the contract removes it (and only such files).
printf 'half a snapshot' >"$T/state/contracts/c/state.snap.tmp.4194000"
printf 'keep' >"$T/state/contracts/c/state.snapshot-notes"
kill -KILL "$WPID"
sleep 0.5
v=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
WPID=$(rpc info '{"contract":"c"}' | field result.pid)
if [ "$v" = 201 ] && [ ! -e "$T/state/contracts/c/state.snap.tmp.4194000" ] &&
    [ -f "$T/state/contracts/c/state.snapshot-notes" ] &&
    grep -q 'removed state.snap.tmp.4194000, left by a snapshot writer' "$T/log"; then
	pass stale_snapshot_tmp_removed
else
	fail stale_snapshot_tmp_removed "get $v; $(ls "$T/state/contracts/c")"
fi

# Served while snapshots are written; then SIGKILL: the restarted worker
# starts from a snapshot and replays only what came after it.
ok=$(load 8 50)
check load_ok "ok=$ok of 400" [ "$ok" = 400 ]
size=$(rpc info '{"contract":"c"}' | field result.size)
v=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
p=$(rpc info '{"contract":"c"}' | field result.pid)
check worker_same "pid $p, was $WPID" [ "$p" = "$WPID" ]
# No snapshot writer left behind: the worker's only children are gone.
sleep 0.2
kids=$(ps -o pid= --ppid "$WPID" | tr -d ' ')
check no_writer_left "children of the worker: $kids" [ -z "$kids" ]
lines=$(wc -l <"$T/log")
kill -KILL "$WPID"
sleep 0.5
out=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
# (no roll forward at all: the last snapshot was of every entry)
rolled=$(tail -n "+$((lines + 1))" "$T/log" | grep 'rolled forward' | tail -1)
first=$(echo "$rolled" | sed -n 's/.*entries \([0-9]*\)\.\..*/\1/p')
[ -n "$rolled" ] || first=$size
# A snapshot is due every 20 entries; one due while the last is being
# written waits for the next turn, so allow a little more than that.
if [ "$out" = "$v" ] && [ -n "$first" ] && [ "$first" -gt 1 ] &&
    [ $((size - first)) -le 60 ]; then
	pass restart_from_periodic_snapshot
else
	fail restart_from_periodic_snapshot "size $size, got $out (want $v), $rolled"
fi

# The writer holds neither the contract's lock (its key file), nor the
# ledger's (the flock on entries), nor the worker's socket to vmsd, and
# dies with the worker: a worker SIGKILLed while its writer runs is
# followed by the next one at once. A contract
# with ~20 MB of state makes each snapshot last long enough to be seen:
# 700 files rewritten in turn, so that a snapshot (due every state's count
# of entries, 700) falls in the second load.
cat >"$T/big.lua" <<'LUA'
local M = {}
function M.init() System.files.writeFile('/n', '0') end
function M.big()
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  System.files.writeFile('/b' .. (n % 700), string.rep('x', 30000))
  return n
end
return M
LUA
deploy big "$T/big.lua" >/dev/null
$RPC -s "$T/s.sock" load --clients 4 --calls 700 --contract big \
    --method big >/dev/null
BPID=$(rpc info '{"contract":"big"}' | field result.pid)
$RPC -s "$T/s.sock" load --clients 4 --calls 600 --contract big \
    --method big >/dev/null 2>&1 &
LPID=$!
child=
i=0
while [ $i -lt 3000 ] && [ -z "$child" ] && kill -0 "$LPID" 2>/dev/null; do
	child=$(ps -o pid= --ppid "$BPID" | tr -d ' ' | head -n 1)
	i=$((i + 1))
done
# what the writer must not keep: the contract's key (its lock), the
# signed head, the ledger's files (the flock on entries), the socket
HELD='big\.key\|big\.head\|/entries$\|/index$\|/hashes$\|/checkpoints$\|socket:'
if [ -n "$child" ]; then
	fds=$(ls -l "/proc/$child/fd" 2>/dev/null)
	if [ -z "$fds" ]; then
		skip writer_descriptors "the writer $child ended before it was looked at"
	elif printf '%s\n' "$fds" | grep -q "$HELD"; then
		fail writer_descriptors "the writer holds: $(printf '%s\n' "$fds" | grep "$HELD" | tr '\n' ' ')"
	else
		pass writer_descriptors
	fi
	lines=$(wc -l <"$T/log")
	# Frozen (cgroup freezer: no signal runs until it is thawed), the
	# writer cannot end by itself: the SIGKILL its parent's death sends
	# (PR_SET_PDEATHSIG) shows as pending; then thawed, it dies of it.
	FZ=/sys/fs/cgroup/freezer/vmsd-test.$$
	if mkdir "$FZ" 2>/dev/null && echo "$child" >"$FZ/tasks" 2>/dev/null &&
	    echo FROZEN >"$FZ/freezer.state" 2>/dev/null; then
		i=0
		while [ $i -lt 50 ] && [ "$(cat "$FZ/freezer.state")" != FROZEN ]; do
			sleep 0.02; i=$((i + 1))
		done
		kill -KILL "$BPID"
		i=0 pending=
		while [ $i -lt 20 ] && [ -z "$pending" ]; do
			pending=$(awk '/^(SigPnd|ShdPnd):/ && ("0x" $2) + 0 > 0 {
			    print $2 }' "/proc/$child/status" 2>/dev/null |
			    python3 -c 'import sys
print(" ".join(l.strip() for l in sys.stdin if int(l, 16) & 0x100))')
			[ -n "$pending" ] || { sleep 0.1; i=$((i + 1)); }
		done
		if [ -n "$pending" ] || ! kill -0 "$child" 2>/dev/null; then
			pass writer_dies_with_worker
		else
			fail writer_dies_with_worker "writer $child has no SIGKILL pending: $(grep -E 'SigPnd|ShdPnd' "/proc/$child/status" | tr '\n' ' ')"
		fi
		echo THAWED >"$FZ/freezer.state"
		kill -KILL "$child" 2>/dev/null
		i=0
		while [ $i -lt 50 ] && [ -n "$(cat "$FZ/tasks" 2>/dev/null)" ]; do
			sleep 0.1; i=$((i + 1))
		done
		rmdir "$FZ" 2>/dev/null
	else
		rmdir "$FZ" 2>/dev/null
		kill -KILL "$BPID"
		skip writer_dies_with_worker "no cgroup freezer to hold the writer in"
	fi
	wait "$LPID" 2>/dev/null
	out=$(rpc call '{"contract":"big","method":"big","args":[]}')
	if [ -n "$(printf '%s\n' "$out" | field result.value)" ] &&
	    ! tail -n "+$((lines + 1))" "$T/log" | grep -q 'another worker still holds'; then
		pass next_worker_at_once
	else
		fail next_worker_at_once "got $out; $(tail -n "+$((lines + 1))" "$T/log" | grep 'still holds' | head -1)"
	fi
	# (the new worker's own writer may be busy with a file of its own)
	check no_tmp_after_restart "state.snap.tmp.$child left" \
	    [ ! -e "$T/state/contracts/big/state.snap.tmp.$child" ]
else
	wait "$LPID" 2>/dev/null
	skip writer_descriptors "no snapshot writer seen while the load ran"
fi

# A large state is snapshotted no more often than every state's count of
# entries: 2,000 files and snapshot_interval = 20, so none in the next
# 1,440 calls (the last snapshot was at the deploy, entry 0), then one
# within the 800 after them.
cat >"$T/many.lua" <<'LUA'
local M = {}
function M.init() System.files.mkdir('/f') end
function M.fill(from, n)
  for i = from, from + n - 1 do System.files.writeFile('/f/' .. i, 'x') end
end
function M.poke() System.files.writeFile('/p', 'x') end
return M
LUA
deploy many "$T/many.lua" >/dev/null
for i in 1 401 801 1201 1601; do
	rpc call "{\"contract\":\"many\",\"method\":\"fill\",\"args\":[$i,400]}" >/dev/null
done
MPID=$(rpc info '{"contract":"many"}' | field result.pid)
SPID=
if command -v strace >/dev/null 2>&1 && trace_renames "$MPID" strace-many; then
	$RPC -s "$T/s.sock" load --clients 4 --calls 360 --contract many \
	    --method poke >/dev/null
	sleep 0.5
	n1440=$(snap_renames strace-many)
	$RPC -s "$T/s.sock" load --clients 4 --calls 200 --contract many \
	    --method poke >/dev/null
	i=0	# (the writer, traced too, may take a while)
	while [ $i -lt 100 ] && [ "$(snap_renames strace-many)" = 0 ]; do
		sleep 0.1; i=$((i + 1))
	done
	n2240=$(snap_renames strace-many)
	kill -INT "$SPID"; wait "$SPID"
	if [ "$n1440" = 0 ] && [ "$n2240" = 1 ]; then
		pass large_state_snapshots_less_often
	else
		fail large_state_snapshots_less_often "state.snap renamed $n1440 times in 1,440 calls (want 0), $n2240 in 2,240 (want 1)"
	fi
else
	[ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
	skip large_state_snapshots_less_often "no strace, or it cannot attach"
fi

# A snapshot that cannot be written (state.snap is a directory: rename
# fails): the calls succeed, the failure is logged with its reason, once
# per interval rather than on every batch.
rm -f "$SNAP"
mkdir "$SNAP"
before=$(grep -c 'snapshot not saved' "$T/log")
ok=$(load 4 50)
check load_ok_snapshot_failing "ok=$ok of 200" [ "$ok" = 200 ]
after=$(grep -c 'snapshot not saved' "$T/log")
nfail=$((after - before))
if [ "$nfail" -ge 1 ] && [ "$nfail" -le 12 ] &&
    grep 'snapshot not saved' "$T/log" | tail -1 | grep -q 'state.snap.*Is a directory'; then
	pass snapshot_failure_logged
else
	fail snapshot_failure_logged "$nfail failures logged for 200 calls: $(grep 'snapshot not saved' "$T/log" | tail -1)"
fi
rmdir "$SNAP"
ok=$(load 4 25)
check load_ok_after "ok=$ok of 100" [ "$ok" = 100 ]
v=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
stop_vmsd
check saved_at_exit "no state.snap" [ -f "$SNAP" ]
: >"$T/log"
start_vmsd
out=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
if [ "$out" = "$v" ] && ! grep -q 'rolled forward\|rebuilding' "$T/log"; then
	pass restart_from_exit_snapshot
else
	fail restart_from_exit_snapshot "got $out (want $v): $(grep 'rolled\|rebuild' "$T/log" | head -2)"
fi

# A restart with no snapshot brings the state forward over every entry by
# its recorded writes, read thousands at a time (4,400 entries: more than
# one read), and checks the root at the last entry: the state is the one
# the calls made, and nothing had to be applied again entry by entry.
deploy roll "$T/counter.lua" >/dev/null  # (write_counter's)
$RPC -s "$T/s.sock" load --clients 4 --calls 1100 --contract roll \
    --method inc >/dev/null
RPID=$(rpc info '{"contract":"roll"}' | field result.pid)
kill -KILL "$RPID"
sleep 0.5
rm -f "$T/state/contracts/roll/state.snap"
: >"$T/log"
out=$(rpc call '{"contract":"roll","method":"get","args":[]}' | field result.value)
if [ "$out" = 4400 ] && grep -q 'rolled forward over entries 0\.\.4400' "$T/log" &&
    ! grep -q 'entry by entry' "$T/log"; then
	pass roll_forward_without_snapshot
else
	fail roll_forward_without_snapshot "got $out (want 4400): $(grep 'roll\|rebuild' "$T/log" | head -3)"
fi
stop_vmsd
exit 0
