#!/bin/sh
# valgrind.sh — the daemon's main paths under valgrind (memcheck, leak
# check): the release vmsd, the deploy worker and a contract worker it
# execs, and vmsctl, through deploy, calls, a failed call, a call hitting
# the instruction limit, log, read, an attached connection's calls
# (attach), an audit, stop/start, periodic
# snapshots and SIGTERM. Each process must report 0 errors and no
# definitely or indirectly lost bytes.
# Skipped when valgrind is not installed. (ASan covers the other tests.)
. "$TOP/tests/integration/lib/daemon.sh"

command -v valgrind >/dev/null 2>&1 || { skip valgrind "valgrind not installed"; exit 0; }
VMSD="$TOP/daemon/vmsd"
CTL="$TOP/ctl/vmsctl"
[ -x "$VMSD" ] && [ -x "$CTL" ] || { fail valgrind "release binaries not built"; exit 0; }
VG="valgrind --quiet --trace-children=yes --child-silent-after-fork=yes \
    --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --num-callers=30"

export VMSCTL_KNOWN="$T/known"
# Periodic snapshots too: the worker forks their writer, polls its pipe and
# reaps it (the writer itself, forked without exec, is not reported on).
printf 'snapshot_interval = 4\n' >"$T/vmsd.conf"
write_counter
sed 's/^return M$/function M.spin() while true do end end\nreturn M/' \
    "$T/counter.lua" >"$T/c.lua"

# shellcheck disable=SC2086
$VG --log-file="$T/vg.%p" "$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state" \
    --socket "$T/s.sock" >>"$T/log" 2>&1 </dev/null &
VPID=$!
i=0
until $RPC -s "$T/s.sock" call ping >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$VPID" 2>/dev/null; then
		fail vmsd_starts "under valgrind"; exit 0
	fi
	sleep 0.1
done
pass vmsd_starts

ctl() {	# ctl ARGS...: vmsctl under valgrind; output in $T/out
	# shellcheck disable=SC2086
	$VG --log-file="$T/vg.%p" "$CTL" -s "$T/s.sock" "$@" >"$T/out" 2>&1
}
ok=1
ctl deploy "$T/c.lua" --limit instructions=1000000 || ok=0
n=0
while [ $n -lt 10 ]; do ctl call c inc >/dev/null || ok=0; n=$((n + 1)); done
ctl call c get && [ "$(cat "$T/out")" = 10 ] || ok=0
ctl call c boom; grep -q 'boom: on purpose' "$T/out" || ok=0
ctl call c spin; grep -q 'limit exceeded: instructions' "$T/out" || ok=0
ctl call c inc && [ "$(cat "$T/out")" = 11 ] || ok=0
ctl log c >/dev/null || ok=0
ctl read c /n && [ "$(cat "$T/out")" = 11 ] || ok=0
# a connection attached to the worker: handed over, served, closed
python3 "$LIB/attach_test.py" "$T/s.sock" carryover
ctl stop c || ok=0
ctl start c || ok=0
ctl call c inc || ok=0
ctl audit c || { ok=0; sed 's/^/     audit: /' "$T/out"; }
if [ $ok = 1 ]; then pass paths_work; else fail paths_work "a command failed"; fi

kill -TERM "$VPID"
wait "$VPID"; rc=$?; VPID=
check vmsd_exits_0 "exit status $rc" test "$rc" = 0
sleep 0.5	# workers exit after the daemon

nlogs=0; bad=""
for f in "$T"/vg.*; do
	[ -f "$f" ] || continue
	nlogs=$((nlogs + 1))
	# --quiet: a clean process writes nothing but (maybe) a heap summary
	if grep -q 'Invalid\|uninitialised\|definitely lost\|indirectly lost\|Mismatched\|ERROR SUMMARY: [1-9]' "$f"; then
		bad="$bad $(basename "$f")"
		sed -n '1,40p' "$f" | sed 's/^/     vg: /'
	fi
done
# vmsd, the deploy worker, the contract worker (twice: stop/start) and the
# vmsctl runs
check processes_traced "only $nlogs valgrind logs" test "$nlogs" -ge 20
check valgrind_clean "reports in:$bad" test -z "$bad"
exit 0
