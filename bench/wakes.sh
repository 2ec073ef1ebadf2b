#!/bin/sh
# bench/wakes.sh — what a thread switch costs the worker: how long its
# threads (the main thread "vmsd", "vmsd-commit", "vmsd-nonce") wait
# between being woken and running, by where they run: on the CPU of the
# thread or interrupt that woke them, or on another CPU, idle or busy when
# they were woken. VMS_WAKES_CLIENTS (default 8) clients call RSVPs over
# the control socket while `perf sched record` traces the whole machine
# for half a second. Per group: how many wake-ups, and the median and
# 75th percentile of the delay in us. A commit handed to the commit
# thread pays two of them, the thread's and the main thread's at its
# result (worker_commit.c); a lone client's commit runs on the main
# thread and pays none. Skipped without perf or without the right to
# trace the scheduler.
#
#   make all build/bench/bench-daemon && sh bench/wakes.sh
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
C="${VMS_WAKES_CLIENTS:-8}"
W="$BENCH_DIR/wakes"
PID=

bench_need wakes.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
if ! command -v perf >/dev/null 2>&1 ||
    ! perf sched record -o /dev/null -- true >/dev/null 2>&1; then
	echo "skipped: perf cannot record scheduler events here"
	exit 0
fi
trap 'stop_vmsd; rm -rf "$W"' EXIT INT TERM
rm -rf "$W" && mkdir -p "$W" || exit 1
bench_conf >"$W/vmsd.conf"
start_vmsd "$W" wakes.sh
warm_worker "$W" wakes.sh
wpid=$WPID
"$BD" --addr "$W/sock" --clients "$C" --calls $((C * 5000)) --rounds 1 \
    --tag r --label wakes >"$W/bd" &
_b=$!
sleep 0.5
perf sched record -q -o "$W/perf.data" -- sleep 0.5 >/dev/null 2>&1
wait $_b || { echo "wakes.sh: bench-daemon failed"; exit 1; }
tids=$(ls "/proc/$wpid/task" | tr '\n' ' ')
names=$(for t in $tids; do printf '%s=%s ' "$t" "$(cat "/proc/$wpid/task/$t/comm")"; done)

# From `perf script`: at sched_waking, each CPU's running task (0: idle)
# and the waker's CPU; at the sched_switch that runs the woken thread,
# the delay and its group.
echo "$C clients, guest-list RSVPs, $(bench_field rate <"$W/bd") calls/s; the worker's wake-ups over 0.5 s (delay from sched_waking to running, us)"
perf script -i "$W/perf.data" -F cpu,time,event,trace 2>/dev/null | awk -v names="$names" '
BEGIN {
	n = split(names, a, " ")
	for (i = 1; i <= n; i++) {
		split(a[i], kv, "=")
		name[kv[1]] = kv[2]
	}
}
{
	cpu = $1; gsub(/[\[\]]/, "", cpu); cpu += 0
	t = $2; sub(/:$/, "", t)
}
$3 == "sched:sched_waking:" {
	if (!match($0, / pid=[0-9]+/))
		next
	p = substr($0, RSTART + 5, RLENGTH - 5)
	if (!(p in name))
		next
	wt[p] = t; wc[p] = cpu
	for (c in run)
		busy[p, c] = run[c]
	next
}
$3 == "sched:sched_switch:" {
	if (!match($0, /next_pid=[0-9]+/))
		next
	p = substr($0, RSTART + 9, RLENGTH - 9)
	run[cpu] = p + 0
	if (!(p in wt))
		next
	if (cpu == wc[p])
		g = "on the waking CPU"
	else if (busy[p, cpu] + 0 == 0)
		g = "on another CPU, idle"
	else
		g = "on another CPU, busy"
	printf "%s\t%s\t%.1f\n", name[p], g, (t - wt[p]) * 1e6
	delete wt[p]
}' | sort -t '	' -k1,1 -k2,2 -k3,3n | awk -F '	' '
function out() {
	if (m > 0)
		printf "  %-12s %-22s %6d wake-ups   p50 %5.0f   p75 %5.0f\n", pk1, pk2, m, v[int((m + 1) / 2)], v[int((3 * m + 3) / 4)]
}
$1 != pk1 || $2 != pk2 { out(); m = 0; pk1 = $1; pk2 = $2 }
{ v[++m] = $3 }
END { out() }'
