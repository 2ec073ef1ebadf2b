#!/bin/sh
# bench/tail.sh — the tail latency the periodic snapshot adds: a release
# vmsd on a fresh guest list under $VMS_BENCH_DIR, VMS_TAIL_CALLS RSVPs
# (default 60000) at 32 clients over the control socket from 5,000 caller
# ids in turn (a state of 5,000 files, each replaced in turn: a growing
# state is snapshotted no more often than every state's count of entries,
# so a new file per call would see none), once with the default
# snapshot_interval (10000: a snapshot every 10,000 entries, written by a
# forked child) and once with none during the run (100000000), then the
# ratio of their p99.9. Before the snapshot was written off the serving
# path, the first run's p99.9 was 4-5x the second's (bench/README.md,
# round 4).
#
#   make all build/bench/bench-daemon && sh bench/tail.sh
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
N="${VMS_TAIL_CALLS:-60000}"
W="$BENCH_DIR/tail"
PID=

bench_need tail.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
trap 'stop_vmsd; rm -rf "$W"' EXIT INT TERM

# run INTERVAL: one fresh daemon, one round; prints bench-daemon's line
run() {
	rm -rf "$W" && mkdir -p "$W" || exit 1
	{ bench_conf; echo "snapshot_interval = $1"; } >"$W/vmsd.conf"
	start_vmsd "$W" tail.sh
	"$BD" --addr "$W/sock" --clients 32 --calls "$N" --seconds 60 \
	    --rounds 1 --tag t --label "snapshot_interval=$1" --callers 5000 ||
	    { echo "tail.sh: bench-daemon failed"; exit 1; }
	stop_vmsd
}

echo "$N guest-list RSVPs at 32 clients from 5000 callers in turn on a fresh contract, control socket; latencies in ms"
with=$(run 10000) || { echo "$with"; exit 1; }
without=$(run 100000000) || { echo "$without"; exit 1; }
printf '%s\n%s\n' "$with" "$without" | awk '{
	printf "  %-28s %s %s %s %s\n", $1, $6, $10, $11, $12 }'
printf '%s\n%s\n' "$with" "$without" | awk '{
	for (i = 2; i <= NF; i++) if ($i ~ /^p999=/) v[NR] = substr($i, 6) }
	END { if (v[2] > 0) printf "  p99.9 with the periodic snapshot / without: %.2fx\n", v[1] / v[2] }'
