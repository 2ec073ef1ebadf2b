#!/bin/sh
# bench/hops.sh — where one client's call spends its time, from the
# worker's side: perf's tracepoints at the return of read, recvfrom,
# write and sendto, on the worker alone (no CPU is kept busy by the tracing), VMS_HOPS_CALLS guest-list
# RSVPs (default 2000) from one client attached to the worker, then
# through vmsd's control socket relayed by vmsd (handoff = no: by
# default vmsd hands such a client over to the worker, vmsd.conf(5)).
# Per call, medians in us:
# "inside", from the worker's read of the request to its write of the
# reply (running the call, the commit and its flush); "outside", from
# that write to its read of the next request (the client's turn, and for
# a relayed call vmsd's two hops); and of "inside", the time in
# fdatasync (any of the worker's threads), so that #15's one-client
# target (p50 at most one fdatasync + 60 us) is read in the same run:
# inside - flush + outside is what a call costs beyond its flush. Then as
# many calls again, untraced: the tracepoints slow each system call the
# worker makes, so the client's p50 of that round less the traced
# flush's median is the same reading without them (round 25).
# Skipped without perf or without the
# right to trace (root, or kernel.perf_event_paranoid and tracefs
# permissions that allow it).
#
#   make all build/bench/bench-daemon && sh bench/hops.sh
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
N="${VMS_HOPS_CALLS:-2000}"
W="$BENCH_DIR/hops"
PID=

bench_need hops.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"
EVENTS="-e syscalls:sys_exit_read -e syscalls:sys_exit_recvfrom"
EVENTS="$EVENTS -e syscalls:sys_exit_write -e syscalls:sys_exit_sendto"
EVENTS="$EVENTS -e syscalls:sys_enter_fdatasync -e syscalls:sys_exit_fdatasync"
if ! command -v perf >/dev/null 2>&1 ||
    ! perf record $EVENTS -o /dev/null -- true >/dev/null 2>&1; then
	echo "skipped: perf cannot record syscall tracepoints here"
	exit 0
fi
trap 'stop_vmsd; rm -rf "$W"' EXIT INT TERM

# phases PID: from `perf script` on standard input, the worker's main
# thread (tid PID): "inside n outside n flush n beyond n", medians in us
# and how many ("flush": the fdatasyncs of any of its threads that
# returned within "inside"; "beyond": inside - flush + outside, call by
# call). A read or a write of more than 100 bytes is a request or a
# reply; the worker's other reads and writes (eventfds) are 8 bytes,
# errors are negative (a return value longer than 10 hex digits).
phases() {
	awk -v tid="$1" -v dir="$W" '
	function bytes(x,  i, v) {
		if (length(x) > 10)
			return -1
		v = 0
		for (i = 3; i <= length(x); i++)
			v = v * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
		return v
	}
	{ t = $4; sub(/:$/, "", t); t *= 1e6 }
	$5 ~ /sys_enter_fdatasync:/ { fs[$2] = t; next }
	$5 ~ /sys_exit_fdatasync:/ {
		if (r != "" && ($2 in fs))
			fl += t - (fs[$2] > r ? fs[$2] : r)
		delete fs[$2]
		next
	}
	$2 == tid && bytes($6) > 100 {
		if ($5 ~ /sys_exit_(read|recvfrom):/) {
			if (s != "") {
				print t - s > (dir "/outside")
				print in_ - fl_ + t - s > (dir "/beyond")
			}
			r = t; s = ""; fl = 0
		} else {
			if (r != "") {
				print t - r > (dir "/inside")
				print fl > (dir "/flush")
				in_ = t - r; fl_ = fl
			}
			s = t; r = ""
		}
	}'
	for f in inside outside flush beyond; do
		sort -n "$W/$f" | awk '{ v[NR] = $1 }
		    END { printf "%d %d ", v[int((NR + 1) / 2)], NR }'
	done
	echo
}

# run MODE: one fresh daemon, N calls of one client traced, then N more
# untraced; prints "MODE inside n outside n flush n beyond n p50
# p50-untraced" (the tracepoints slow each system call the worker makes,
# so the client's p50 is read again without them)
run() {
	rm -rf "$W" && mkdir -p "$W" || exit 1
	bench_conf >"$W/vmsd.conf"
	[ "$1" = relayed ] && echo 'handoff = no' >>"$W/vmsd.conf"
	start_vmsd "$W" hops.sh
	warm_worker "$W" hops.sh
	wpid=$WPID
	_a=; [ "$1" = attached ] && _a=--attach
	"$BD" --addr "$W/sock" --clients 1 --calls "$N" --rounds 1 \
	    --tag h --label "$1" $_a >"$W/bd" &
	_b=$!
	perf record -q $EVENTS -p "$wpid" -o "$W/perf.data" \
	    -- sh -c "while kill -0 $_b 2>/dev/null; do sleep 0.1; done" \
	    >/dev/null 2>&1
	wait $_b || { echo "hops.sh: bench-daemon failed"; exit 1; }
	"$BD" --addr "$W/sock" --clients 1 --calls "$N" --rounds 1 \
	    --tag u --label "$1" $_a >"$W/bd2" ||
	    { echo "hops.sh: bench-daemon failed"; exit 1; }
	echo "$1 $(perf script -i "$W/perf.data" 2>/dev/null | phases "$wpid")" \
	    "$(bench_field p50 <"$W/bd") $(bench_field p50 <"$W/bd2")"
	stop_vmsd
}

echo "$N guest-list RSVPs from one client; the worker's time per call (medians, us; perf tracepoints on the worker)"
a=$(run attached) || { echo "$a"; exit 1; }
r=$(run relayed) || { echo "$r"; exit 1; }
printf '%s\n%s\n' "$a" "$r" | awk '{
	printf "  %-9s inside %6d us (request read -> reply written; of it fdatasync %d)   outside %5d us (reply written -> next request read)   %d calls\n", $1, $2, $6, $4, $3
	printf "  %-9s beyond the flush %d us a call (inside - fdatasync + outside; #15: at most 60); client p50 %d us\n", "", $8, $10 * 1000
	printf "  %-9s untraced: client p50 %d us = the flush %d + %d us (#15: at most 60)\n", "", $11 * 1000, $6, $11 * 1000 - $6
	o[NR] = $4 }
	END { if (o[1] > 0) printf "  outside, relayed / attached: %.1fx (vmsd'"'"'s two hops)\n", o[2] / o[1] }'
