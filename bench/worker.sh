#!/bin/sh
# bench/worker.sh — what vmsd's relay costs: at 32 clients, a round through
# vmsd (bench-daemon on the control socket) and a round of the worker
# alone (bench-worker: the same worker binary on the same ledger, driven
# over its wire without vmsd), in turn (vmsd first, then the worker
# first, ...), on a fresh state each pair; each pair's ratio
# (vmsd / worker alone) and their median. The worker alone is a ceiling
# for serving clients without the relay: it reads every caller's requests
# from one socket, where connections of their own would cost it a receive
# and a send per call (bench/README.md, round 11).
#
#   make all build/bench/bench-daemon build/bench/bench-worker && sh bench/worker.sh
#
# VMS_BENCH_PAIRS pairs (default 5) of VMS_BENCH_SECONDS-second rounds
# (default 3).
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
W="$BENCH_DIR/worker"
BW="$TOP/build/bench/bench-worker"
PAIRS="${VMS_BENCH_PAIRS:-5}"
SECS="${VMS_BENCH_SECONDS:-3}"
C=32
PID=

bench_need worker.sh "all build/bench/bench-daemon build/bench/bench-worker" \
    "$VMSD" "$VMSCTL" "$BD" "$BW"
trap 'stop_vmsd; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM

# via_vmsd TAG: the calls/s of one round through vmsd (running)
via_vmsd() {
	"$BD" --addr "$W/sock" --clients "$C" --calls 10000000 \
	    --seconds "$SECS" --rounds 1 --tag "$1" --label via | bench_field rate
}
# alone: the calls/s of one round of the worker alone (vmsd stopped)
alone() {
	"$BW" "$VMSD" "$W/state" "$C" "$SECS" 2>>"$W/worker.log" | bench_field rate
}

echo "guest-list RSVP at $C clients, through vmsd (control socket) and the worker"
echo "alone over its wire, in alternating rounds of $SECS s on a fresh state each"
echo "pair: calls/s through vmsd / alone, then the median"
k=0
pairs=
while [ $k -lt "$PAIRS" ]; do
	rm -rf "$W"
	mkdir -p "$W" || exit 1
	bench_conf >"$W/vmsd.conf"
	start_vmsd "$W" worker.sh
	"$BD" --addr "$W/sock" --clients 4 --calls 200 --tag w --label warmup \
	    >/dev/null || { echo "worker.sh: warm-up failed"; exit 1; }
	if [ $((k % 2)) -eq 0 ]; then
		v=$(via_vmsd "v$k")
		stop_vmsd
		a=$(alone)
	else
		stop_vmsd
		a=$(alone)
		run_vmsd "$W"
		v=$(via_vmsd "v$k")
		stop_vmsd
	fi
	if [ -z "$v" ] || [ -z "$a" ] || [ "$a" -eq 0 ]; then
		echo "worker.sh: pair $k failed"
		tail -n 5 "$W/vmsd.log" "$W/worker.log" 2>/dev/null
		exit 1
	fi
	pairs="$pairs $v/$a"
	k=$((k + 1))
	sync
done
echo "$pairs" | awk '{
	line = "  32 clients "
	for (i = 1; i <= NF; i++) {
		split($i, va, "/")
		x[i] = va[1] / va[2]
		line = line sprintf(" %d/%d %.2fx", va[1], va[2], x[i])
	}
	n = NF
	for (i = 1; i <= n; i++)
		for (j = i; j > 1 && x[j - 1] > x[j]; j--) {
			t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
		}
	med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
	printf "%s  median %.2fx\n", line, med
}'
