# bench/lib/vmsd.sh — what the bench/*.sh scripts share: the tree's
# programs, and running a private vmsd (POSIX sh, sourced from the top of
# the tree, where each script goes first; not a benchmark itself, so
# outside bench/*.sh).

# The release build's programs, and where benchmark data goes (bench/run
# sets VMS_BENCH_DIR).
TOP=$(pwd)
VMSD="$TOP/daemon/vmsd"
VMSCTL="$TOP/ctl/vmsctl"
BD="$TOP/build/bench/bench-daemon"
BENCH_DIR="${VMS_BENCH_DIR:-$TOP/build/bench-data}"

# bench_need SCRIPT TARGETS FILE...: exit 1 unless every FILE is built
bench_need() {
	_script=$1 _targets=$2
	shift 2
	for _f in "$@"; do
		if [ ! -x "$_f" ]; then
			echo "$_script: $_f missing: run make $_targets"
			exit 1
		fi
	done
}

# bench_conf: the benchmarks' vmsd.conf, on standard output. debug_auth:
# every call claims a unique caller id, so every RSVP writes a new file
# (the contract files RSVPs under the caller's id). The rate limit per
# address is off: it would refuse the benchmark's calls over HTTP (all
# from 127.0.0.1); it costs one lookup per call either way. Up to 512
# connections from one uid (128 clients and more).
bench_conf() {
	printf 'debug_auth = yes\nidle_timeout = 0\ncall_rate_per_address = 0\nmax_connections_per_uid = 512\n'
}

# bench_field NAME: the value of NAME= in the result lines on standard
# input (bench-daemon's, bench-worker's, redis_round's)
bench_field() {
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p"
}

# proc_ticks PID...: the CPU time (utime + stime, all threads) of the
# processes, in clock ticks of TCK a second
TCK=$(getconf CLK_TCK)
proc_ticks() {
	for _p in "$@"; do
		awk '{ print $14 + $15 }' "/proc/$_p/stat" 2>/dev/null || echo 0
	done | awk '{ t += $1 } END { print t + 0 }'
}

# cpu_per_call TICKS CALLS: microseconds of CPU per call
cpu_per_call() {
	awk -v t="$1" -v n="$2" -v k="$TCK" \
	    'BEGIN { printf "%.1f\n", (n > 0 ? t * 1e6 / k / n : 0) }'
}

# bench_median: the median of the numbers on standard input, one a line
# (the lower middle one of an even count)
bench_median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# stop_var NAME: SIGTERM the process whose pid the variable NAME holds, if
# any, wait for it and empty NAME
stop_var() {
	eval "_pid=\$$1"
	[ -n "$_pid" ] || return 0
	kill -TERM "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	eval "$1="
}

# stop_vmsd: stop the vmsd in $PID, if any
stop_vmsd() {
	stop_var PID
}

# run_vmsd DIR: a vmsd with DIR/vmsd.conf, its state in DIR/state, its
# control socket DIR/sock and its log DIR/vmsd.log, answering; sets PID.
# Needs VMSD and VMSCTL.
run_vmsd() {
	"$VMSD" -f "$1/vmsd.conf" --state-dir "$1/state" --socket "$1/sock" \
	    2>>"$1/vmsd.log" &
	PID=$!
	_i=0
	while [ $_i -lt 100 ] && ! "$VMSCTL" -s "$1/sock" ping >/dev/null 2>&1
	do
		sleep 0.1; _i=$((_i + 1))
	done
}

# deploy_guestlist SOCK: deploy examples/guestlist.lua with room for the
# files of every RSVP a benchmark makes (one a call: 1.7 million by the
# end of daemon.sh on a fast day pass the default state_size of 256 MiB)
deploy_guestlist() {
	"$VMSCTL" -s "$1" deploy "$TOP/examples/guestlist.lua" \
	    --limit state_size=17179869184 >/dev/null
}

# warm_worker DIR SCRIPT: 200 RSVPs of 4 clients to DIR's vmsd, which
# start the guest list's worker and warm it; sets WPID to its pid; exits
# 1 if either fails. Needs BD and VMSCTL.
warm_worker() {
	"$BD" --addr "$1/sock" --clients 4 --calls 200 --rounds 1 --tag w \
	    --label warmup >/dev/null || { echo "$2: warm-up failed"; exit 1; }
	WPID=$("$VMSCTL" -s "$1/sock" --json info guestlist |
	    sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
	[ -n "$WPID" ] || { echo "$2: no worker pid"; exit 1; }
}

# start_vmsd DIR SCRIPT: run_vmsd DIR with the guest list deployed; exits
# 1 if that fails. Needs TOP too.
start_vmsd() {
	: >"$1/vmsd.log"
	run_vmsd "$1"
	deploy_guestlist "$1/sock" ||
	    { echo "$2: deploy failed"; tail -n 5 "$1/vmsd.log"; exit 1; }
}
