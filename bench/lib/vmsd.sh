# bench/lib/vmsd.sh — what the bench/*.sh scripts that run a private vmsd
# share (POSIX sh, sourced; not a benchmark itself, so outside bench/*.sh).

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

# stop_vmsd: SIGTERM the vmsd in $PID, if any, and wait for it
stop_vmsd() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}
