#!/bin/sh
# bench/daemon.sh — end-to-end benchmark of a release-build vmsd: start it on
# a private state dir under $VMS_BENCH_DIR (real disk), deploy
# examples/guestlist.lua, drive RSVP calls with build/bench/bench-daemon (one
# thread, a poll loop, one call in flight per connection, like
# redis-benchmark) with 1 and 32 clients over the control socket and over
# the HTTP port (POST /rpc, kept-alive connections), with 8 and 128
# clients over the control socket, with 1 and 32 attached to the worker
# (attach), with 1 and 32 relayed by vmsd (handoff = no, vmsd.conf(5):
# by default vmsd hands a calling client over to the worker), unsigned
# (debug caller
# ids) and signed (a fresh Ed25519 key per call), with the ratios to the
# control socket; then report checkpoints signed (group commit), CPU per call, peak RSS
# of vmsd and of the contract's worker, ledger bytes per call and `vmsctl
# audit` speed, and stop vmsd. Results also go to $VMS_BENCH_DIR/daemon-results,
# which bench/redis.sh (run next by bench/run) reads for the summary table.
#
#   make all build/bench/bench-daemon && sh bench/daemon.sh
#
# Each figure is the best of VMS_BENCH_ROUNDS rounds (default 3): on a shared
# machine other jobs only slow a round down (bench/redis.sh does the same).
# A round of unsigned calls lasts VMS_BENCH_SECONDS (default 3: issue #15
# asks for at least 3 s per round), as many calls as fit; VMS_BENCH_CALLS1,
# VMS_BENCH_CALLS8, VMS_BENCH_CALLS32 and VMS_BENCH_CALLS128 can cap them
# (default: no cap). The signed rows sign every call before the run, so
# they are counted instead: VMS_BENCH_SIGNED1 and VMS_BENCH_SIGNED32 calls
# per round (defaults 3000 and 16000, about 3 s each on the machine of
# bench/README.md), with 60 s as their bound.
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
ROUNDS="${VMS_BENCH_ROUNDS:-3}"
N1="${VMS_BENCH_CALLS1:-10000000}"
N8="${VMS_BENCH_CALLS8:-10000000}"
N32="${VMS_BENCH_CALLS32:-10000000}"
N128="${VMS_BENCH_CALLS128:-10000000}"
NS1="${VMS_BENCH_SIGNED1:-3000}"
NS32="${VMS_BENCH_SIGNED32:-16000}"
SECS="${VMS_BENCH_SECONDS:-3}"
W="$BENCH_DIR/daemon"
RES="$BENCH_DIR/daemon-results"
STATE="$W/state"
SOCK="$W/vmsd.sock"
LEDGER="$STATE/contracts/guestlist"
PID=

bench_need daemon.sh "all build/bench/bench-daemon" "$VMSD" "$VMSCTL" "$BD"

fail() {
	echo "daemon.sh: $*"
	[ -f "$W/vmsd.log" ] && tail -n 5 "$W/vmsd.log" | sed 's/^/  vmsd: /'
	stop_vmsd
	exit 1
}
trap 'stop_vmsd' EXIT
trap 'exit 1' INT TERM
# A private trust store for vmsctl audit (each run deploys a new key).
VMSCTL_KNOWN="$W/known_contracts"
export VMSCTL_KNOWN

rm -rf "$W" "$RES"
mkdir -p "$W" || exit 1
bench_conf >"$W/vmsd.conf"

# Start vmsd on a free loopback port (retry if the port is taken).
now() { date +%s.%N; }
tries=0
while :; do
	PORT=$(( 20000 + ($$ + tries * 7919) % 30000 ))
	"$VMSD" -f "$W/vmsd.conf" --state-dir "$STATE" --socket "$SOCK" \
	    --listen "127.0.0.1:$PORT" 2>"$W/vmsd.log" &
	PID=$!
	i=0
	while [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do
		"$VMSCTL" -s "$SOCK" ping >/dev/null 2>&1 && break
		sleep 0.05
		i=$((i + 1))
	done
	"$VMSCTL" -s "$SOCK" ping >/dev/null 2>&1 && break
	wait "$PID" 2>/dev/null
	PID=
	tries=$((tries + 1))
	[ $tries -lt 5 ] || fail "vmsd did not start"
done
deploy_guestlist "$SOCK" || fail "deploy failed"
echo "$("$VMSCTL" -s "$SOCK" ping), state $STATE, http://127.0.0.1:$PORT"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "guestlist RSVP, a unique caller id per call (every call writes);"
echo "each client: one connection, one call in flight; best of $ROUNDS rounds of $SECS s (signed: $NS1 and $NS32 calls); latencies in ms"

ncp() { "$BD" --checkpoints "$LEDGER/checkpoints" || fail "no checkpoints"; }

# Warm-up (starts the contract's worker), not reported.
"$BD" --addr "$SOCK" --clients 4 --calls 200 --tag w --label warmup \
    >/dev/null || fail "warm-up failed"

info=$("$VMSCTL" -s "$SOCK" --json info guestlist) || fail "info failed"
WPID=$(echo "$info" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$WPID" ] || fail "no worker pid in: $info"

# run LABEL ADDR CLIENTS CALLS-PER-ROUND [BENCH-DAEMON OPTIONS]
run() {
	label=$1 addr=$2 clients=$3 calls=$4
	shift 4
	d0=$(proc_ticks "$PID"); w0=$(proc_ticks "$WPID")
	c0=$(ncp)
	line=$("$BD" --addr "$addr" --clients "$clients" --calls "$calls" \
	    --seconds "${secs:-$SECS}" --rounds "$ROUNDS" --tag "$label" \
	    --label "$label" "$@") ||
	    fail "$label: bench-daemon failed: $line"
	c1=$(ncp)
	d1=$(proc_ticks "$PID"); w1=$(proc_ticks "$WPID")
	ck=$((c1 - c0))
	echo "$line checkpoints=$ck" >> "$RES"
	echo "$line" | awk -v ck="$ck" -v tck="$TCK" -v dc=$((d1 - d0)) \
	    -v wc=$((w1 - w0)) '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		t = v["total"]
		printf "  %-10s %6d calls/s  p50 %6.3f  p90 %6.3f  p99 %6.3f  p99.9 %7.3f  max %7.3f  (best round: %d calls in %s s)\n",
		    $1, v["rate"], v["p50"], v["p90"], v["p99"], v["p999"],
		    v["max"], v["calls"], v["secs"]
		printf "  %-10s rounds %s calls/s; %d checkpoints for %d calls = %.1f calls/checkpoint\n",
		    "", v["rates"], ck, t, (ck ? t / ck : 0)
		printf "  %-10s CPU per call: vmsd %.1f us, worker %.1f us, client %d us%s\n",
		    "", dc * 1e6 / tck / t, wc * 1e6 / tck / t, v["cpu"],
		    (v["reconnects"] > 0 ? sprintf(" (%d reconnects: max_requests_per_connection)", v["reconnects"]) : "") }'
}
run unix-c1 "$SOCK" 1 "$N1"
run unix-c8 "$SOCK" 8 "$N8"
run unix-c32 "$SOCK" 32 "$N32"
run unix-c128 "$SOCK" 128 "$N128"
# Each connection attached to the contract's worker first (attach,
# vmsd-protocol(7)): the worker answers its calls, vmsd relays none.
run attach-c1 "$SOCK" 1 "$N1" --attach
run attach-c32 "$SOCK" 32 "$N32" --attach
# Every call relayed by vmsd (handoff = no, reloaded; HTTP and the rest
# below are relayed either way).
echo 'handoff = no' >>"$W/vmsd.conf"
kill -HUP "$PID"
i=0
until grep -q 'configuration reloaded' "$W/vmsd.log" || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ $i -lt 100 ] || fail "handoff = no: no reload"
run relay-c1 "$SOCK" 1 "$N1"
run relay-c32 "$SOCK" 32 "$N32"
run http-c1 "http://127.0.0.1:$PORT" 1 "$N1"
run http-c32 "http://127.0.0.1:$PORT" 32 "$N32"
# Signed calls over HTTP: each call signed by a key of its own (a new
# caller, so a new file, per call, as above); the worker verifies. The
# client signs every call before the run (rsvp-presigned): signing a call
# and making its key cost the client ~70 us of the two cores the daemon
# uses, which a client on its own machine would not take.
ORIGIN=$("$VMSCTL" -s "$SOCK" info guestlist | sed -n 's/^vkey: *\([^+]*\)+.*/\1/p')
[ -n "$ORIGIN" ] || fail "no origin in vmsctl info"
secs=60
run signed-c1 "http://127.0.0.1:$PORT" 1 "$NS1" --call rsvp-presigned --origin "$ORIGIN"
run signed-c32 "http://127.0.0.1:$PORT" 32 "$NS32" --call rsvp-presigned --origin "$ORIGIN"
secs=
# HTTP against the control socket, same run.
awk '/clients=/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	r[$1] = v["rate"]; p[$1] = v["p50"] }
    END { if (r["unix-c1"] && r["unix-c32"]) {
	printf "  HTTP / control socket: c=1 %.2fx calls/s (p50 %.3f vs %.3f ms), c=32 %.2fx calls/s (p50 %.3f vs %.3f ms)\n",
	    r["http-c1"] / r["unix-c1"], p["http-c1"], p["unix-c1"],
	    r["http-c32"] / r["unix-c32"], p["http-c32"], p["unix-c32"]
	printf "  signed HTTP / control socket: c=1 %.2fx calls/s (p50 %.3f ms), c=32 %.2fx calls/s (p50 %.3f ms)\n",
	    r["signed-c1"] / r["unix-c1"], p["signed-c1"],
	    r["signed-c32"] / r["unix-c32"], p["signed-c32"]
	printf "  attached / control socket: c=1 %.2fx calls/s (p50 %.3f vs %.3f ms), c=32 %.2fx calls/s (p50 %.3f vs %.3f ms)\n",
	    r["attach-c1"] / r["unix-c1"], p["attach-c1"], p["unix-c1"],
	    r["attach-c32"] / r["unix-c32"], p["attach-c32"], p["unix-c32"]
	printf "  relayed (handoff = no) / control socket: c=1 %.2fx calls/s (p50 %.3f vs %.3f ms), c=32 %.2fx calls/s (p50 %.3f vs %.3f ms)\n",
	    r["relay-c1"] / r["unix-c1"], p["relay-c1"], p["unix-c1"],
	    r["relay-c32"] / r["unix-c32"], p["relay-c32"], p["unix-c32"] } }' "$RES"

# Peak RSS of the daemon and of the contract's worker.
info=$("$VMSCTL" -s "$SOCK" --json info guestlist) || fail "info failed"
SIZE=$(echo "$info" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
RSS_D=$(hwm "$PID")
RSS_W=$(hwm "${WPID:-0}")
[ -n "$RSS_D" ] && [ -n "$RSS_W" ] || fail "cannot read VmHWM"

# Audit through the daemon (what a remote auditor does: download + replay).
t0=$(now)
"$VMSCTL" -s "$SOCK" audit guestlist > "$W/audit.out" 2>&1 ||
    fail "audit failed: $(cat "$W/audit.out")"
t1=$(now)
stop_vmsd
# Offline audit of the ledger directory (vmsctl audit --dir: on every
# core vmsctl may run on, its default).
t2=$(now)
"$VMSCTL" audit --dir "$LEDGER" > "$W/audit-dir.out" 2>&1 ||
    fail "audit --dir failed: $(cat "$W/audit-dir.out")"
t3=$(now)

LBYTES=0
for f in entries index hashes checkpoint checkpoints vkey; do
	LBYTES=$((LBYTES + $(stat -c %s "$LEDGER/$f")))
done
EBYTES=$(stat -c %s "$LEDGER/entries")
SNAP=$(stat -c %s "$LEDGER/state.snap" 2>/dev/null || echo 0)
awk -v size="$SIZE" -v lb="$LBYTES" -v eb="$EBYTES" -v snap="$SNAP" \
    -v rd="$RSS_D" -v rw="$RSS_W" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
    -v t3="$t3" 'BEGIN {
	a = t1 - t0; b = t3 - t2
	printf "  peak RSS (VmHWM): vmsd %.1f MiB, guestlist worker %.1f MiB\n",
	    rd / 1024, rw / 1024
	printf "  ledger: %d entries, %.0f bytes (%.0f bytes/call; entries file %.0f bytes/call); state.snap %d bytes\n",
	    size, lb, lb / size, eb / size, snap
	printf "  vmsctl audit guestlist (via daemon): %.2f s = %.0f entries/s\n",
	    a, size / a
	printf "  vmsctl audit --dir (offline, every core): %.2f s = %.0f entries/s\n",
	    b, size / b
	printf "rss_vmsd_kib=%d rss_worker_kib=%d entries=%d ledger_bytes_per_call=%.0f audit_rate=%.0f audit_dir_rate=%.0f\n",
	    rd, rw, size, lb / size, size / a, size / b > "/dev/stderr"
}' 2>> "$RES"
sed 's/^/  /' "$W/audit.out" | head -n 2
exit 0
