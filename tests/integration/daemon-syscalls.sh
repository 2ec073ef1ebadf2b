#!/bin/sh
# daemon-syscalls.sh — the system calls vmsd (the supervisor) makes per
# call on the control socket, counted with strace -c under load from 16
# clients (skipped without strace or ptrace): requests go to the worker in
# one write per turn of the event loop, without arming and disarming
# EV_WRITE (epoll_ctl) for each batch, and sockets are read without
# asking FIONREAD first. And the worker, answering an attached client,
# waits once per turn (one epoll set) and reads vmsd's socket only when
# it is ready. And the worker's commit thread makes one futex call per
# batch it syncs (the wait for the next), none to post a result.
. "$TOP/tests/integration/lib/daemon.sh"

if ! command -v strace >/dev/null 2>&1; then
	skip syscalls "strace is not installed"
	exit 0
fi
write_counter
# The waits themselves are counted: no busy polling (its looks, after 8
# lone calls in a row, are as many as the client under strace is slow;
# daemon-pipeline.sh tests it).
printf 'busy_poll = 0\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null
# Start the worker before counting.
rpc call '{"contract":"c","method":"inc","args":[]}' >/dev/null

CLIENTS=16 CALLS=50
N=$((CLIENTS * CALLS))
strace -c -f -p "$VPID" -o "$T/strace.out" 2>"$T/strace.err" &
SPID=$!
# strace says it attached on stderr.
i=0
while [ $i -lt 50 ] && ! grep -q attached "$T/strace.err" 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
if ! grep -q attached "$T/strace.err"; then
	kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
	skip syscalls "strace cannot attach: $(head -c 200 "$T/strace.err")"
	exit 0
fi
$RPC -s "$T/s.sock" load --clients $CLIENTS --calls $CALLS --contract c \
    --method inc >"$T/load.json"
kill -INT "$SPID"
wait "$SPID"
ok=$($JGET ok <"$T/load.json")
check load_ok "ok=$ok of $N" [ "$ok" = "$N" ]

# count NAME: calls of that system call during the load
count() {
	awk -v n="$1" '$NF == n { c = ($4 ~ /^[0-9]+$/) ? $4 : $3; print c; f = 1 }
	    END { if (!f) print 0 }' "$T/strace.out"
}
epctl=$(count epoll_ctl)
# Only connections coming and going may arm events: 16 connections open
# and close (a few each), not one per batch or call.
check no_epoll_ctl_per_batch "epoll_ctl $epctl for $N calls" \
    [ "$epctl" -le $((CLIENTS * 6)) ]
# The sockets are read with one read(2) each time they are readable, never
# asking FIONREAD first (libevent's bufferevents do, one ioctl per read):
# about one read per call (its request) and one per batch of replies.
ioctls=$(count ioctl)
reads=$(( $(count read) + $(count readv) + $(count recvfrom) ))
check no_fionread "ioctl $ioctls for $N calls" [ "$ioctls" -eq 0 ]
check one_read_per_call "reads $reads for $N calls" [ "$reads" -le $((N * 3 / 2)) ]
sed 's/^/     /' "$T/strace.out" | head -n 20

# The worker's commit thread, at 16 clients (batches of several calls go
# to it): one futex call per batch it syncs, the wait for its next ticket.
# With a mutex and condition variables it made two (pthread_cond_wait
# takes the mutex back marked contended, so its unlock is a futex wake for
# nobody) and could make the main thread wait on the mutex.
wpid=$(rpc info '{"contract":"c"}' | field result.pid)
strace -f -p "$wpid" -e trace=futex,fdatasync -o "$T/wstrace.out" \
    2>"$T/wstrace.err" &
SPID=$!
i=0
while [ $i -lt 50 ] && ! grep -q attached "$T/wstrace.err" 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
$RPC -s "$T/s.sock" load --clients $CLIENTS --calls $CALLS --contract c \
    --method inc >"$T/load2.json"
kill -INT "$SPID"
wait "$SPID"
# the commit thread: the one that makes the most fdatasync calls
set -- $(awk '$2 ~ /^fdatasync\(/ { f[$1]++ } $2 ~ /^futex\(/ { x[$1]++ }
    END { for (t in f) if (f[t] > best) { best = f[t]; tid = t }
	print best + 0, x[tid] + 0 }' "$T/wstrace.out")
syncs=$1 futexes=$2
check commit_thread_syncs "the commit thread synced $syncs batches" \
    [ "$syncs" -ge 10 ]
check commit_thread_one_futex_per_batch \
    "the commit thread: $futexes futex calls for $syncs fdatasyncs" \
    [ "$futexes" -le $((syncs + syncs / 4 + 2)) ]

# The worker, answering one attached client: one epoll_wait for all it
# waits on, vmsd's socket read only when ready (attach_test.py).
T="$T" python3 "$LIB/attach_test.py" "$T/s.sock" one_wait_per_call
stop_vmsd
exit 0
