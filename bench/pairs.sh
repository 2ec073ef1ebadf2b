#!/bin/sh
# bench/pairs.sh — vmsd against its peer in alternating rounds: at 1 and 32
# clients, a round of vmsd (control socket), a round of vmsd with every
# connection attached to the contract's worker (attach,
# vmsd-protocol(7)) and a round of Redis (appendfsync always, the same
# RSVP script as bench/redis.sh) back to back, in turn (vmsd first, then
# Redis first, ...), each one's ratio to the Redis round and their
# medians; and the CPU each spent per call in the control socket rounds
# (vmsd and its worker, all threads, against redis-server, the kernel's
# work for each included). daemon.sh and redis.sh each report the best of their own
# rounds, minutes apart, and this shared machine's speed moves by 20-60 %
# within an hour (bench/README.md, round 10): here the drift weighs on
# both sides of each ratio alike. The medians go to
# $VMS_BENCH_DIR/pairs-results, for the summary redis.sh prints.
#
#   make all build/bench/bench-daemon && sh bench/pairs.sh
#
# VMS_BENCH_PAIRS pairs per client count (default 5); a vmsd round lasts
# VMS_BENCH_SECONDS (default 3), a Redis round VMS_BENCH_REDIS_N1 or
# VMS_BENCH_REDIS_N32 calls (as in redis.sh: about 3 s). Without
# redis-server/redis-benchmark it prints a "skipped" line and exits 0.
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
W="$BENCH_DIR/pairs"
PRES="$BENCH_DIR/pairs-results"
PAIRS="${VMS_BENCH_PAIRS:-5}"
SECS="${VMS_BENCH_SECONDS:-3}"
PID=
RPID=

. bench/lib/redis.sh
bench_need pairs.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
trap 'stop_vmsd; stop_redis; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM

rm -rf "$W" "$PRES"
if ! have_redis; then
	echo "skipped: apt-get install redis-server redis-tools"
	exit 0
fi
mkdir -p "$W/redis" || exit 1
bench_conf >"$W/vmsd.conf"
start_vmsd "$W" pairs.sh
warm_worker "$W" pairs.sh
start_redis "$W/redis" pairs.sh

# vmsd_round CLIENTS TAG [--attach]: "RATE CPU" of one round: its calls/s
# and the CPU per call (us) of vmsd and its worker together
vmsd_round() {
	_t0=$(proc_ticks "$PID" "$WPID")
	_r=$("$BD" --addr "$W/sock" --clients "$1" --calls 10000000 \
	    --seconds "$SECS" --rounds 1 --tag "$2" --label pair $3)
	_t1=$(proc_ticks "$PID" "$WPID")
	echo "$(echo "$_r" | bench_field rate)" \
	    "$(cpu_per_call $((_t1 - _t0)) "$(echo "$_r" | bench_field total)")"
}

echo "guest-list RSVP, vmsd (control socket, then attached) and Redis"
echo "(appendfsync always) in alternating rounds of about $SECS s: vmsd/Redis calls/s"
echo "of each round, then the medians"
for c in 1 32; do
	case $c in
	1)	n="${VMS_BENCH_REDIS_N1:-12000}" ;;
	*)	n="${VMS_BENCH_REDIS_N32:-100000}" ;;
	esac
	k=0
	pairs=
	while [ $k -lt "$PAIRS" ]; do
		if [ $((k % 2)) -eq 0 ]; then
			v=$(vmsd_round "$c" "p$c.$k")
			a=$(vmsd_round "$c" "a$c.$k" --attach)
			rl=$(redis_round always "$c" "$n")
		else
			rl=$(redis_round always "$c" "$n")
			a=$(vmsd_round "$c" "a$c.$k" --attach)
			v=$(vmsd_round "$c" "p$c.$k")
		fi
		r=$(echo "$rl" | bench_field rate)
		rc=$(echo "$rl" | bench_field cpu)
		if [ -z "$v" ] || [ -z "$a" ] || [ -z "$r" ] || [ "$r" -eq 0 ]
		then
			echo "pairs.sh: a round at $c clients failed"
			exit 1
		fi
		set -- $v
		pairs="$pairs $1/$r"
		cpus="$cpus $2/$rc"
		set -- $a
		apairs="$apairs $1/$r"
		k=$((k + 1))
	done
	for kind in socket attached cpu; do
		case $kind in
		socket)		set -- $pairs ;;
		attached)	set -- $apairs ;;
		cpu)		set -- $cpus ;;
		esac
		echo "$c $kind $*" | awk -v res="$PRES" '{
			n = 0
			line = sprintf("  %3d client%s %-8s", $1, $1 == 1 ? " " : "s", $2)
			for (i = 3; i <= NF; i++) {
				split($i, vr, "/")
				x[++n] = vr[1] / vr[2]
				fmt = $2 == "cpu" ? " %.0f/%.0f %.2fx" : " %d/%d %.2fx"
				line = line sprintf(fmt, vr[1], vr[2], x[n])
				list = list (n > 1 ? "," : "") sprintf("%.2f", x[n])
			}
			for (i = 1; i <= n; i++)	# insertion sort: n is small
				for (j = i; j > 1 && x[j - 1] > x[j]; j--) {
					t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
				}
			med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
			printf "%s  median %.2fx\n", line, med
			printf "pairs clients=%d kind=%s median=%.2f ratios=%s\n", $1, $2, med, list >> res
		}'
	done
	apairs=
	cpus=
done
echo "(cpu: CPU per call in us, vmsd and its worker / redis-server, in the"
echo "control socket rounds: below 1x, vmsd spends less per call)"

