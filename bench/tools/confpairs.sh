#!/bin/sh
# bench/tools/confpairs.sh — two vmsd.conf settings against each other in
# alternating rounds: for each client count, a round of vmsd with
# setting A and one with setting B (A first, then B first, ...), each on
# a fresh vmsd with the guest list deployed and warmed by one client, and
# per round the calls/s, p50, p99 and the worker's CPU a call (all
# threads);
# then the medians and B/A. For a knob of vmsd.conf(5) (busy_poll,
# commit_inline_max, ...): this machine's speed drifts by 20-60 % within
# an hour, and alternating rounds let the drift weigh on both sides
# alike (bench/README.md, round 10). Not run by `make bench` (bench/run
# runs bench/*.sh; bench/tools/ holds aids for measuring changes).
#
#   make all build/bench/bench-daemon &&
#   sh bench/tools/confpairs.sh 'busy_poll = 0' 'busy_poll = 100' 1 2 8
#
# A and B are vmsd.conf lines ('\n' between several; '' for none: the
# defaults), added to the benchmarks' own (bench_conf). The client counts
# default to 1 and 32. VMS_BENCH_PAIRS pairs (default 5); a round makes
# VMS_BENCH_CALLS calls per client (default 3000) plus 6000.
cd "$(dirname "$0")/../.." || exit 2
. bench/lib/vmsd.sh
[ $# -ge 2 ] || {
	echo "usage: sh bench/tools/confpairs.sh 'A lines' 'B lines' [CLIENTS...]"
	exit 2
}
A=$1 B=$2
shift 2
[ $# -gt 0 ] || set -- 1 32
PAIRS="${VMS_BENCH_PAIRS:-5}"
PER="${VMS_BENCH_CALLS:-3000}"
W="$BENCH_DIR/confpairs"
R="$BENCH_DIR/confpairs-rounds"	# (the rounds' figures: $R.a, $R.b)
PID=

bench_need confpairs.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
mkdir -p "$BENCH_DIR" || exit 1
trap 'stop_vmsd; rm -rf "$W" "$R.a" "$R.b"' EXIT INT TERM

# round CONF CLIENTS: one round on a fresh vmsd with CONF; prints
# "RATE P50 P99 CPU" (calls/s, ms, ms, us of the worker's CPU a call)
round() {
	rm -rf "$W"
	mkdir -p "$W"
	{ bench_conf; printf '%b\n' "$1"; } >"$W/vmsd.conf"
	start_vmsd "$W" confpairs.sh
	"$BD" --addr "$W/sock" --clients 1 --calls 2000 --tag w \
	    --label warm >/dev/null || { echo "confpairs.sh: warm-up failed"; exit 1; }
	_wpid=$("$VMSCTL" -s "$W/sock" --json info guestlist |
	    sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
	_n=$(($2 * PER + 6000))
	_t0=$(proc_ticks "$_wpid")
	_out=$("$BD" --addr "$W/sock" --clients "$2" --calls "$_n" --tag r \
	    --label round | tail -n 1)
	_t1=$(proc_ticks "$_wpid")
	stop_vmsd
	echo "$(echo "$_out" | bench_field rate) $(echo "$_out" | bench_field p50)" \
	    "$(echo "$_out" | bench_field p99)" \
	    "$(cpu_per_call $((_t1 - _t0)) "$_n")"
}

echo "vmsd.conf A: $(printf '%b' "$A" | tr '\n' ';')  B: $(printf '%b' "$B" | tr '\n' ';')"
echo "(alternating rounds, $PAIRS pairs: calls/s, p50 ms, p99 ms, worker CPU us a call)"
for c in "$@"; do
	: >"$R.a"; : >"$R.b"
	i=0
	while [ $i -lt "$PAIRS" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			round "$A" "$c" >>"$R.a"; round "$B" "$c" >>"$R.b"
		else
			round "$B" "$c" >>"$R.b"; round "$A" "$c" >>"$R.a"
		fi
		i=$((i + 1))
	done
	for s in a b; do
		printf '  %3d clients %s: %s\n' "$c" "$(echo $s | tr ab AB)" \
		    "$(awk '{ printf "%s/%s/%s/%s ", $1, $2, $3, $4 }' "$R.$s")"
	done
	ra=$(awk '{ print $1 }' "$R.a" | bench_median); rb=$(awk '{ print $1 }' "$R.b" | bench_median)
	pa=$(awk '{ print $2 }' "$R.a" | bench_median); pb=$(awk '{ print $2 }' "$R.b" | bench_median)
	qa=$(awk '{ print $3 }' "$R.a" | bench_median); qb=$(awk '{ print $3 }' "$R.b" | bench_median)
	ca=$(awk '{ print $4 }' "$R.a" | bench_median); cb=$(awk '{ print $4 }' "$R.b" | bench_median)
	printf '  %3d clients medians: A %s calls/s p50 %s p99 %s ms cpu %s us, B %s calls/s p50 %s p99 %s ms cpu %s us; B/A calls/s %s\n' \
	    "$c" "$ra" "$pa" "$qa" "$ca" "$rb" "$pb" "$qb" "$cb" \
	    "$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.2fx", (a > 0 ? b / a : 0) }')"
	rm -f "$R.a" "$R.b"
done
