#!/bin/sh
# daemon-pipeline.sh — the worker's pipelined group commit (a commit thread
# fdatasyncs batch N while batch N+1 executes): under load with reads mixed
# in, every acknowledged call is in the ledger, in execution order, and
# reads see only committed state; a worker killed under load loses no
# acknowledged call and its successor rebuilds a consistent state; the
# worker reports its batches at stop, and the checkpoints it signed with
# nonces made ahead, its nonce thread woken once per half pool.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'idle_timeout = 60\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null

pid_of() {
	rpc info "{\"contract\":\"$1\"}" | field result.pid
}

# Calls from 16 clients while one client keeps reading the counter (get is
# a call too: an entry): the value it reads never goes back.
$RPC -s "$T/s.sock" load --clients 16 --calls 60 --contract c --method inc >"$T/load.json" &
LOAD=$!
last=0; bad=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	out=$(rpc call '{"contract":"c","method":"get","args":[]}')
	v=$(printf '%s\n' "$out" | field result.value)
	[ -n "$v" ] || { bad="no value: $out"; break; }
	if [ "$v" -lt "$last" ]; then bad="value went back: $last then $v"; break; fi
	last=$v
done
wait $LOAD
ok=$($JGET ok <"$T/load.json"); distinct=$($JGET distinct_indexes <"$T/load.json")
size=$(rpc info '{"contract":"c"}' | field result.size)
val=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
check reads_monotonic "$bad" [ -z "$bad" ]
# get is a call too (an entry): every acknowledged inc and get is in the
# ledger, the counter counts exactly the incs.
if [ "$ok" = 960 ] && [ "$distinct" = 960 ] && [ "$val" = 960 ] &&
    [ "$size" = $((1 + 960 + 20)) ]; then
	pass acknowledged_calls_all_in_ledger
else
	fail acknowledged_calls_all_in_ledger "ok=$ok distinct=$distinct value=$val size=$size"
fi

# The entries are in execution order: the counter's return values, read
# back from the ledger, are 1, 2, 3, ... in entry order.
python3 - "$LIB" "$T/state/contracts/c/entries" >"$T/order.out" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from ledgerfiles import records
vals = []
for note, rec in records(sys.argv[2]):
    if note:
        continue
    e = json.loads(rec)
    if e.get("method") == "inc":
        r = e.get("result")
        vals.append(r.get("value") if isinstance(r, dict) else r)
print("ok" if vals == list(range(1, len(vals) + 1)) else "bad %s" % vals[:20])
PY
check entries_in_execution_order "$(cat "$T/order.out")" grep -q '^ok$' "$T/order.out"

# The sync point (every 256 commits) runs on the commit thread
# (ledger_sync_in_commits): one client's 300 calls are 300 commits, and
# while vmsd runs `checkpoint` moves on to a note the history holds,
# without a warning.
ck0=$(sed -n 2p "$T/state/contracts/c/checkpoint")
$RPC -s "$T/s.sock" load --clients 1 --calls 300 --contract c --method inc >"$T/load1.json"
sz=$(rpc info '{"contract":"c"}' | field result.size)
ck1=$(sed -n 2p "$T/state/contracts/c/checkpoint")
if [ "$($JGET ok <"$T/load1.json")" = 300 ] && [ -n "$ck0" ] &&
    [ -n "$ck1" ] && [ "$ck1" -gt "$ck0" ] && [ "$ck1" -le "$sz" ] &&
    ! grep -q 'sync point' "$T/log"; then
	pass sync_point_on_the_commit_thread
else
	fail sync_point_on_the_commit_thread "checkpoint $ck0 -> $ck1, size $sz"
fi

# SIGKILL of the worker under load: no acknowledged call is lost, and the
# successor's state matches its ledger.
size0=$(rpc info '{"contract":"c"}' | field result.size)
val0=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
pc=$(pid_of c)
$RPC -s "$T/s.sock" load --clients 16 --calls 500 --contract c --method inc >"$T/load2.json" 2>/dev/null &
LOAD=$!
# killed once the load is well under way
wait_size c $((size0 + 400))
[ -n "$pc" ] && kill -KILL "$pc"
wait $LOAD
ok=$($JGET ok <"$T/load2.json")
size1=$(rpc info '{"contract":"c"}' | field result.size)
val=$(rpc call '{"contract":"c","method":"get","args":[]}' | field result.value)
# size1 - size0 - 1 entries were added between the two gets: all incs
if [ -n "$ok" ] && [ "$ok" -gt 0 ] && [ "$ok" -lt 8000 ] &&
    [ $((size1 - size0 - 1)) -ge "$ok" ] && [ "$val" = $((val0 + size1 - size0 - 1)) ]; then
	pass worker_killed_under_load_loses_nothing
else
	fail worker_killed_under_load_loses_nothing "ok=$ok entries added $((size1 - size0 - 1)) value $val0 -> $val"
fi

# One client's 100 calls: 100 more batches for the last worker, each
# signed with a nonce made ahead; the nonce thread is woken once its pool
# is half empty, not once per batch (a wake-up costs the main thread more
# than the nonce).
$RPC -s "$T/s.sock" load --clients 1 --calls 100 --contract c --method inc >"$T/load3.json"

stop_vmsd
if grep -q "stopped at [0-9]* entries; [1-9][0-9]* batches committed, [0-9]* of them while the next one executed" "$T/log"; then
	pass worker_reports_batches
	echo "     ($(grep -o '[0-9]* batches committed, [0-9]* of them while the next one executed' "$T/log" | tail -1))"
else
	fail worker_reports_batches "no stop line in the log"
fi
# The batches' checkpoints were signed with nonces the nonce thread made
# ahead (worker_nonce.c), and they verified: every reply above carried
# its receipt, and the audits of the other tests check such ledgers.
if grep -q "; [1-9][0-9]* checkpoints signed with a nonce made ahead, [0-9]* without" "$T/log"; then
	pass checkpoints_signed_with_nonces_made_ahead
	echo "     ($(grep -o '[0-9]* checkpoints signed with a nonce made ahead, [0-9]* without' "$T/log" | tail -1))"
else
	fail checkpoints_signed_with_nonces_made_ahead "$(grep 'stopped at' "$T/log" | tail -1)"
fi
stopline=$(grep 'stopped at' "$T/log" | tail -1)
batches=$(printf '%s\n' "$stopline" | sed -n 's/.*; \([0-9]*\) batches committed.*/\1/p')
wakes=$(printf '%s\n' "$stopline" | sed -n 's/.*nonce thread woken \([0-9]*\) times.*/\1/p')
if [ "$($JGET ok <"$T/load3.json")" = 100 ] && [ -n "$batches" ] &&
    [ "$batches" -ge 100 ] && [ -n "$wakes" ] &&
    [ $((wakes * 16)) -le "$batches" ]; then
	pass nonce_thread_woken_once_per_half_pool
	echo "     ($batches batches, nonce thread woken $wakes times)"
else
	fail nonce_thread_woken_once_per_half_pool "$stopline"
fi

# commits_in_flight = 1 (vmsd.conf(5)): one at a time, nothing flushed
# beside another, every call acknowledged and in the ledger, one commit
# thread.
printf 'idle_timeout = 60\ncommits_in_flight = 1\n' >"$T/vmsd.conf"
: >"$T/log"
if ! start_vmsd; then fail one_commit_in_flight "vmsd did not start"; exit 1; fi
size0=$(rpc info '{"contract":"c"}' | field result.size)
$RPC -s "$T/s.sock" load --clients 16 --calls 30 --contract c --method inc >"$T/load4.json"
size1=$(rpc info '{"contract":"c"}' | field result.size)
# (one commit thread, not two: the main thread, it and the nonce thread)
wpid=$(rpc info '{"contract":"c"}' | field result.pid)
nthreads=$(ls "/proc/$wpid/task" 2>/dev/null | wc -l)
# (each named, for ps -L, top -H, perf and bench/wakes.sh)
tnames=$(cat "/proc/$wpid/task/"*/comm 2>/dev/null | sort | tr '\n' ' ')
stop_vmsd
if [ "$tnames" = "vmsd vmsd-commit vmsd-nonce " ]; then
	pass worker_threads_named
else
	fail worker_threads_named "worker $wpid threads: $tnames"
fi
stopline=$(grep 'stopped at' "$T/log" | tail -1)
if [ "$nthreads" -eq 3 ] && [ "$($JGET ok <"$T/load4.json")" = 480 ] &&
    [ $((size1 - size0)) -ge 480 ] &&
    printf '%s\n' "$stopline" | grep -q ', 0 flushed beside the one before'; then
	pass one_commit_in_flight
else
	fail one_commit_in_flight "ok=$($JGET ok <"$T/load4.json") entries $size0 -> $size1; worker $wpid threads $nthreads; $stopline"
fi

# Two commits in flight (worker.c, ledger_commits_in_flight), with
# flushes of a set length (tests/tools/flushdelay.c, preloaded into vmsd
# and its workers alone, after the sanitizer's runtime if it has one): a
# batch whose calls have run while the flush of one of 8 calls or more is
# in flight waits for it, up to commit_beside_after µs, then flushes
# beside it; behind a smaller one it flushes beside it at once. With
# nothing in flight, a batch of up to commit_inline_max calls is flushed
# by the main thread when few requests arrived during the last flushes.
# The worker's stop line counts all three.
preload=$(ldd "$VMSD" 2>/dev/null | awk '/libasan/ { print $3 }')
preload=${preload:+$preload:}$TOP/build/tests/flushdelay.so
# stopped_count RE: the number RE's \(...\) matches in $stopline, the
# worker's stop line
stopped_count() {
	printf '%s\n' "$stopline" | sed -n "s/.*$1.*/\\1/p"
}
# flushes_of US CLIENTS NAME [CONF]: vmsd with flushes of US µs and CONF
# (printf %b), CLIENTS clients' 8 calls each; sets beside, waited,
# inlined and past from the stop line; 0 if every call was acknowledged
# and the stop line found
flushes_of() {
	printf 'idle_timeout = 60\n%b' "${4:-}" >"$T/vmsd.conf"
	VMSD_ENV="LD_PRELOAD=$preload FLUSHDELAY_US=$1"
	start_vmsd || { VMSD_ENV=; return 1; }
	VMSD_ENV=
	$RPC -s "$T/s.sock" load --clients "$2" --calls 8 --contract c \
	    --method inc >"$T/$3.json"
	stop_vmsd
	stopline=$(grep 'stopped at' "$T/log" | tail -1)
	beside=$(stopped_count ', \([0-9]*\) flushed beside the one before')
	waited=$(stopped_count ', \([0-9]*\) waited for it instead')
	inlined=$(stopped_count \
	    ', \([0-9]*\) of 2 calls or more flushed without a')
	past=$(stopped_count 'instead (\([0-9]*\) past commit_beside_after')
	[ "$($JGET ok <"$T/$3.json")" = $(($2 * 8)) ] && [ -n "$beside" ] &&
	    [ -n "$waited" ] && [ -n "$inlined" ] && [ -n "$past" ]
}
# is N as WANT says: 0 none, + some, - any
counted() {
	case $2 in
	0) [ "$1" -eq 0 ] ;;
	+) [ "$1" -gt 0 ] ;;
	*) true ;;
	esac
}
# flush_case NAME US CLIENTS CONF BESIDE WAITED [INLINED [PAST]]: PASS
# NAME if flushes_of US CLIENTS runs with CONF and the batches flushed
# beside, those that waited, those of 2 calls or more flushed by the main
# thread and those that waited past commit_beside_after are counted as
# BESIDE, WAITED, INLINED and PAST (both by default -) say (counted)
flush_case() {
	if flushes_of "$2" "$3" "$1" "$4" && counted "$beside" "$5" &&
	    counted "$waited" "$6" && counted "$inlined" "${7:--}" &&
	    counted "$past" "${8:--}"; then
		pass "$1"
		echo "     ($beside batches flushed beside the one before, $waited waited for it ($past past commit_beside_after), $inlined flushed without a commit thread)"
	else
		fail "$1" "$stopline"
	fi
}
# Flushes of 300 ms, commit_beside_after's default 200 µs, 16 clients:
# batches flushed beside the one before.
flush_case beside_a_slow_flush 300000 16 '' + -
# Flushes of 25 ms, commit_beside_after 20 ms, 32 clients: the disk's
# flushes are short (the shortest under 1.5 times commit_beside_after),
# so the calls that run while one of 8 or more is in flight wait for it,
# up to 32 times the shortest, rather than start theirs beside it after
# 20 ms: a flush that runs past commit_beside_after on such a disk is
# one held up and about to end, and a disk that runs flushes one after
# the other would end one beside it no sooner, at the cost of the
# worker's CPU (bench/README.md, round 27). Without that rule none waited
# past commit_beside_after: they went beside.
flush_case waits_past_commit_beside_after_on_a_fast_disk 25000 32 \
    'commit_beside_after = 20000\n' - + - +
# Flushes of 100 ms with commit_beside_after a second, 16 clients: the
# calls that run while a batch of 8 or more is flushed wait for it.
flush_case waits_behind_a_batch_of_8_calls 100000 16 \
    'commit_beside_after = 1000000\n' - +
# The same with 4 clients (each batch to a commit thread, as below): no
# batch of 8, none waits.
flush_case never_waits_behind_fewer_calls 100000 4 \
    'commit_beside_after = 1000000\ncommit_inline_max = 1\n' + 0
# commit_beside_after = 0, 16 clients: beside at once, none waits.
flush_case commit_beside_after_0_flushes_at_once 100000 16 \
    'commit_beside_after = 0\n' + 0
# Flushes of 100 ms, 4 clients: few arrive during a flush, so their
# batches are flushed by the main thread.
flush_case few_callers_flush_without_a_commit_thread 100000 4 '' - 0 +
# The same with commit_inline_max = 1: only a lone call is, as before;
# the others go to the commit threads, some beside another.
flush_case commit_inline_max_1_hands_batches_over 100000 4 \
    'commit_inline_max = 1\n' + 0 0

# Busy polling (busy_poll, worker_poll.c): after 8 lone calls in a row,
# each flushed by the worker itself, the wait for the next request polls
# for up to busy_poll µs before it sleeps; a poll that finds nothing
# stops polling until such a wait ends within busy_poll µs. The stop
# line counts the polls and those that found something.
# polls_of NAME CONF: vmsd with CONF, NAME's calls (run_NAME); sets
# polled and found from the stop line; 0 if found
polls_of() {
	printf 'idle_timeout = 60\n%b' "$2" >"$T/vmsd.conf"
	start_vmsd || return 1
	"run_$1"
	stop_vmsd
	stopline=$(grep 'stopped at' "$T/log" | tail -1)
	polled=$(stopped_count '; \([0-9]*\) waits busy-polled, ')
	found=$(stopped_count 'busy-polled, \([0-9]*\) of them found work')
	[ -n "$polled" ] && [ -n "$found" ]
}
# one client calling in a loop on one connection
run_loop() {
	$RPC -s "$T/s.sock" load --clients 1 --calls 40 --contract c \
	    --method inc >"$T/loop.json"
}
# 20 clients one after the other, a call each: far apart for a worker
run_apart() {
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		rpc call '{"contract":"c","method":"inc","args":[]}' \
		    >/dev/null || return 1
	done
}
# A client calling in a loop answers within 10 ms, under a sanitizer too:
# from its 9th call the worker polls for each next one, and finds it.
if polls_of loop 'busy_poll = 10000\n' && [ "$polled" -ge 20 ] &&
    [ "$found" -ge $((polled - 1)) ] &&
    [ "$($JGET ok <"$T/loop.json")" = 40 ]; then
	pass busy_poll_finds_a_looping_client
	echo "     ($polled waits polled, $found of them found work)"
else
	fail busy_poll_finds_a_looping_client "$stopline"
fi
if polls_of loop 'busy_poll = 0\n' && [ "$polled" -eq 0 ]; then
	pass busy_poll_0_never_polls
	echo "     ($polled waits polled, $found of them found work)"
else
	fail busy_poll_0_never_polls "$stopline"
fi
# Calls milliseconds apart (a process each): one dry poll after the 8th,
# none after the 12 that follow.
if polls_of apart '' && [ "$polled" -le 1 ] && [ "$found" -eq 0 ]; then
	pass busy_poll_gives_up_on_a_slow_client
	echo "     ($polled waits polled, $found of them found work)"
else
	fail busy_poll_gives_up_on_a_slow_client "$stopline"
fi
# (the log of every vmsd run since one_commit_in_flight's start)
check_sanitizer_log
