#!/bin/sh
# bench/startup.sh — start-up, which #15 lists among what must not get
# worse: a release vmsd whose one contract holds a guest list of N RSVPs
# (made through the daemon by bench-daemon at 32 clients, each from its
# own caller: N files), each time from a fresh exec of vmsd, in ms:
#   - "vmsd": until it answers `vmsctl ping` (its state directory read,
#     no worker started yet);
#   - "first call": then one RSVP through `vmsctl call`, which starts the
#     worker: the ledger opened and checked against its signed head, the
#     state brought to the ledger's end, the caller's warm template built
#     and checked against cold builds, the call made durable; with the
#     state.snap at the ledger's end that the worker wrote at stop, then
#     without it (the state rebuilt from every entry's recorded writes,
#     as after a snapshot is lost);
#   - "next call": a second RSVP right after, what a call costs through
#     `vmsctl call` (its own process, connection and handshake) once the
#     worker runs;
# each the median of VMS_BENCH_STARTUP_ROUNDS (default 5). And the peer:
# redis-server with an AOF of N RSVPs (the script's effects, SETs on
# keys drawn from N at random: about 63 % of them distinct), until it
# answers PING, from the AOF as written and after a
# BGREWRITEAOF (an RDB preamble, Redis's snapshot). The polling loops
# that wait for an answer make the resolution about one `vmsctl` or
# `redis-cli` run (a few ms).
#
#   make all build/bench/bench-daemon && sh bench/startup.sh
#
# Knobs: VMS_BENCH_STARTUP_ENTRIES (default 100000),
# VMS_BENCH_STARTUP_ROUNDS (default 5).
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
N="${VMS_BENCH_STARTUP_ENTRIES:-100000}"
ROUNDS="${VMS_BENCH_STARTUP_ROUNDS:-5}"
W="$BENCH_DIR/startup"
R="$BENCH_DIR/startup-redis"
PID=
RPID=

bench_need startup.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
. bench/lib/redis.sh
trap 'stop_vmsd; stop_redis; rm -rf "$W" "$R"' EXIT
trap 'exit 1' INT TERM

# ms since the epoch, to the microsecond
now_ms() { date +%s%6N | awk '{ printf "%.3f", $1 / 1000 }'; }
# ms from $1 to $2
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

rm -rf "$W" "$R"
mkdir -p "$W" "$R" || exit 1
bench_conf >"$W/vmsd.conf"
start_vmsd "$W" startup.sh
"$BD" --addr "$W/sock" --clients 32 --calls "$N" --tag s \
    --label build >/dev/null || { echo "startup.sh: bench-daemon failed"; exit 1; }
stop_vmsd
cp "$W/state/contracts/guestlist/state.snap" "$W/state.snap.tip" ||
    { echo "startup.sh: no state.snap after the worker stopped"; exit 1; }

# rsvp NAME: one RSVP through vmsctl call; 0 if it succeeded
rsvp() {
	"$VMSCTL" -s "$W/sock" call guestlist RSVP "$1" true "" >/dev/null 2>&1
}

# round SNAP I: vmsd started afresh, the contract's state.snap put back
# (SNAP = tip) or removed (none); prints "VMSD FIRST NEXT" in ms. (Not
# lib/vmsd.sh's run_vmsd: its 0.1 s sleeps between two pings would be
# the resolution of "VMSD"; this loop pings without a pause.)
round() {
	_snap="$W/state/contracts/guestlist/state.snap"
	rm -f "$_snap"
	[ "$1" = tip ] && cp "$W/state.snap.tip" "$_snap"
	_t0=$(now_ms)
	"$VMSD" -f "$W/vmsd.conf" --state-dir "$W/state" --socket "$W/sock" \
	    2>>"$W/vmsd.log" &
	PID=$!
	until "$VMSCTL" -s "$W/sock" ping >/dev/null 2>&1; do
		kill -0 "$PID" 2>/dev/null ||
		    { echo "startup.sh: vmsd exited"; tail -n 3 "$W/vmsd.log"; exit 1; }
	done
	_t1=$(now_ms)
	rsvp "first-$1-$2" || { echo "startup.sh: the first call failed"; tail -n 3 "$W/vmsd.log"; exit 1; }
	_t2=$(now_ms)
	rsvp "next-$1-$2" || { echo "startup.sh: the next call failed"; exit 1; }
	_t3=$(now_ms)
	stop_vmsd
	echo "$(since "$_t0" "$_t1") $(since "$_t1" "$_t2") $(since "$_t2" "$_t3")"
}

echo "start-up: a guest list of $N RSVPs from as many callers ($(du -k "$W/state.snap.tip" | cut -f1) KiB of state.snap), from a fresh exec of vmsd; medians of $ROUNDS rounds, ms"
for snap in tip none; do
	: >"$W/rounds"
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		round "$snap" "$i" >>"$W/rounds" || exit 1
		i=$((i + 1))
	done
	printf '  %-26s vmsd %6.1f   first call %7.1f   next call %5.1f   (first calls: %s)\n' \
	    "$([ "$snap" = tip ] && echo "state.snap at the end" || echo "no state.snap")" \
	    "$(awk '{ print $1 }' "$W/rounds" | bench_median)" \
	    "$(awk '{ print $2 }' "$W/rounds" | bench_median)" \
	    "$(awk '{ print $3 }' "$W/rounds" | bench_median)" \
	    "$(awk '{ printf "%s ", $2 }' "$W/rounds" | sed 's/ $//')"
done

if ! have_redis; then
	echo "  redis: skipped (redis-server, redis-benchmark or redis-cli not installed)"
	exit 0
fi
# redis_starts: ROUNDS redis-servers on $R's AOF, each started afresh
# (start_redis's settings) and stopped; the ms until each answered PING
# in $R/rounds, one a line
redis_starts() {
	: >"$R/rounds"
	_r=0	# (not _i: start_redis's)
	while [ $_r -lt "$ROUNDS" ]; do
		_t0=$(now_ms)
		start_redis "$R" startup.sh
		_t1=$(now_ms)
		stop_redis
		echo "$(since "$_t0" "$_t1")" >>"$R/rounds"
		_r=$((_r + 1))
	done
}
start_redis "$R" startup.sh
redis-cli -p "$RPORT" CONFIG SET appendfsync no >/dev/null
redis-benchmark -p "$RPORT" -n "$N" -c 8 -r "$N" -q EVALSHA "$SHA" 0 \
    user__rand_int__ bob true "" >/dev/null 2>&1 ||
    { echo "startup.sh: redis-benchmark failed"; exit 1; }
keys=$(redis-cli -p "$RPORT" DBSIZE)
stop_redis
redis_starts
aof=$(bench_median <"$R/rounds")
start_redis "$R" startup.sh
redis-cli -p "$RPORT" BGREWRITEAOF >/dev/null
while [ "$(redis-cli -p "$RPORT" INFO persistence |
    sed -n 's/^aof_rewrite_in_progress:\([0-9]\).*/\1/p')" != 0 ]; do
	sleep 0.05
done
stop_redis
redis_starts
printf '  %-26s the AOF as written %6.1f   after BGREWRITEAOF (an RDB preamble) %6.1f   (%s keys; until PING)\n' \
    "redis-server" "$aof" "$(bench_median <"$R/rounds")" "$keys"
