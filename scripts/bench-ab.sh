#!/bin/sh
# scripts/bench-ab.sh — compare the end-to-end benchmark of this tree with an
# earlier commit on the same machine in the same minutes: build BASE (git
# archive into a temp dir), then run bench/daemon.sh of each tree in turn,
# N times (default 3), and print the median of each figure. On a shared
# machine, interleaving is the only fair comparison.
#
#   make all build/bench/bench-daemon && sh scripts/bench-ab.sh BASE [N]
cd "$(dirname "$0")/.." || exit 2
TOP=$(pwd)
BASE=${1:?usage: sh scripts/bench-ab.sh BASE-COMMIT [N]}
N=${2:-3}
B=$(mktemp -d /tmp/vmsd-ab.XXXXXX) || exit 1
trap 'rm -rf "$B"' EXIT
trap 'exit 1' INT TERM
git archive "$BASE" | tar -x -C "$B" || exit 1
echo "building $BASE in $B"
make -C "$B" -j2 all build/bench/bench-daemon >"$B/build.log" 2>&1 ||
    { tail -5 "$B/build.log"; exit 1; }
OUT="$B/results"
i=0
while [ $i -lt "$N" ]; do
	for t in base new; do
		[ $t = base ] && d=$B || d=$TOP
		echo "run $((i + 1))/$N $t (load $(cut -d' ' -f1 /proc/loadavg))"
		VMS_BENCH_DIR=$d/build/bench-data sh "$d/bench/daemon.sh" 2>&1 |
		    awk -v t=$t '
			/^  (unix|tcp)-c[0-9]+ / { cfg = $1; rate = $2; p50 = $5; p99 = $9 }
			/calls\/checkpoint/ { cpc = $(NF - 1) }
			/CPU per call/ { print t, cfg, rate, p50, p99, cpc, $5, $8 }' >>"$OUT"
	done
	i=$((i + 1))
done
echo "median of $N runs (each the best of its rounds): calls/s, p50 and p99 ms,"
echo "calls per checkpoint, CPU per call (us) of vmsd and of the worker"
for cfg in unix-c1 unix-c32 tcp-c1 tcp-c32; do
	for t in base new; do
		printf '  %-4s %-9s' $t $cfg
		for f in 3 4 5 6 7 8; do
			awk -v t=$t -v c=$cfg -v f=$f '$1 == t && $2 == c { print $f }' "$OUT" |
			    sort -n | awk '{ v[NR] = $1 } END {
				printf " %9s", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
		done
		echo
	done
done
