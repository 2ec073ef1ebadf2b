#!/bin/sh
# limits.sh — the front ends under attack (issues #13, #16): slow-loris and
# idle connections dropped on the control socket (clients reconnect);
# connections per uid; 1,000 concurrent connections on both front ends
# refused or served without stalling a well-behaved client, whose latency
# is asserted bounded; replies never read (max_output); memory bombs (many
# connections holding just-under-max partial requests, or unread replies)
# with vmsd's RSS sampled and asserted bounded by memory_budget; and, under
# a low `ulimit -n`, a crashed worker restarted and an old connection
# answered while new ones are refused. Each part is bounded to seconds.
. "$TOP/tests/integration/lib/daemon.sh"

ABUSE="python3 $LIB/abuse.py"
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
# The well-behaved client runs as another user where the test can (root):
# the attackers' uid is over its connection limit on purpose.
PROBE_UID=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	PROBE_UID="--probe-uid $(id -u nobody)"
fi
# py EXPR < JSON: EXPR on the JSON as `r`
py() { python3 -c "import json,sys; r=json.loads(sys.stdin.read()); sys.exit(0 if ($1) else 1)"; }
checkpy() {	# checkpy NAME JSON EXPR
	if printf '%s' "$2" | py "$3" 2>/dev/null; then pass "$1"; else fail "$1" "got $2"; fi
}
PORT=$(free_port 17) || { echo "FAIL port: no free port"; exit 1; }

# ---- control socket: timeouts, per uid, unread replies, flood ----
cat >"$T/vmsd.conf" <<EOF
socket_mode = 0666
client_request_timeout = 2
client_idle_timeout = 2
max_connections_per_uid = 40
max_output = 256K
EOF
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
write_counter
"$VMSCTL" -s "$T/s.sock" deploy -n counter "$T/counter.lua" >/dev/null
$RPC -s "$T/s.sock" load --clients 4 --calls 100 --contract counter --method inc --pipeline 8 >/dev/null

checkpy control_slowloris_dropped "$($ABUSE slowloris "unix:$T/s.sock" --conns 3 --seconds 6)" \
    'r["dropped"] == 3 and r["after"] <= 4.5'
# An idle connection is closed; a client that kept it (audit --follow,
# polling every 3 s) reconnects instead of failing.
out=$(python3 - "$T/s.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'); s.recv(4096)
t = time.monotonic()
print("closed after %.1f" % (time.monotonic() - t) if s.recv(4096) == b"" else "data")
PY
)
check control_idle_closed "got $out" sh -c "echo '$out' | grep -q '^closed after [1-3]\.'"
out=$(VMSCTL_KNOWN="$T/known" "$VMSCTL" -s "$T/s.sock" audit --follow counter --interval 3 --timeout 7 2>&1); rc=$?
check client_reconnects_after_idle_close "rc=$rc got $(echo "$out" | tail -2)" [ $rc = 0 ]

# Over max_connections_per_uid: told why, then closed.
out=$(python3 - "$T/s.sock" <<'PY'
import socket, sys
held = []
for _ in range(40):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.decode().strip())
PY
)
check control_per_uid_refused "got $out" sh -c "echo '$out' | grep -q '\"code\":-32001.*max_connections_per_uid'"

# Replies never read: the connections are dropped at max_output, others
# are served (memory: in the release build's part below).
out=$($ABUSE unread "unix:$T/s.sock" --conns 8 --requests 20 --seconds 6 --pid "$VPID" \
    --params '{"contract":"counter","count":400}' $PROBE_UID)
checkpy control_unread_replies_dropped "$out" \
    'r["closed"] == 8 and r["probe_failed"] == 0 and r["probe_ok"] > 0 and r["probe_worst"] < 2'
grep -q 'does not read its replies' "$T/log" && pass control_unread_logged ||
    fail control_unread_logged "no log line"

# 1,000 connections at once from one user: most refused (per uid), a
# well-behaved client (another user) served throughout.
out=$($ABUSE flood "unix:$T/s.sock" --conns 1000 --seconds 3 $PROBE_UID)
if [ -n "$PROBE_UID" ]; then
	checkpy control_flood_1000 "$out" \
	    'r["held"] <= 40 and r["probe_failed"] == 0 and r["probe_ok"] >= 10 and r["probe_worst"] < 2'
else
	skip control_flood_1000 "needs root to probe as another user: $out"
fi
# ---- HTTP: 1,000 connections ----
out=$($ABUSE flood "http://127.0.0.1:$PORT" --conns 1000 --seconds 3 --probe-from 127.0.0.2)
checkpy http_flood_1000 "$out" \
    'r["refused"] + r["connect_failed"] >= 850 and r["probe_failed"] == 0 and r["probe_ok"] >= 10 and r["probe_worst"] < 2'
if kill -0 "$VPID" && rpc ping >/dev/null; then pass still_serving; else fail still_serving "daemon gone"; fi
stop_vmsd
rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log

# ---- memory bombs, RSS sampled (the release build: no sanitizer heap) ----
VMSD_RELEASE="${VMSD_RELEASE:-$TOP/daemon/vmsd}"
if [ -x "$VMSD_RELEASE" ]; then
	cat >"$T/vmsd.conf" <<EOF
socket_mode = 0666
memory_budget = 32M
max_connections_per_uid = 1000
max_connections_per_address = 1000
client_request_timeout = 30
EOF
	mv "$T/log" "$T/log.san"
	VMSD=$VMSD_RELEASE start_vmsd --listen 127.0.0.1:$PORT || fail start_release "vmsd did not start"
	# 100 connections x 4 MB lines without their newline: 400 MB offered.
	out=$($ABUSE membomb "unix:$T/s.sock" --conns 100 --size 4000000 --seconds 4 --pid "$VPID" $PROBE_UID)
	checkpy control_membomb_rss_bounded "$out" \
	    'r["rss_peak_mb"] < 120 and r["closed"] >= 50 and r["sent_mb"] > 100 and r["probe_failed"] == 0 and r["probe_worst"] < 2'
	# 100 HTTP requests x 4 MB bodies, each short of its length.
	out=$($ABUSE membomb "http://127.0.0.1:$PORT" --conns 100 --size 4000000 --seconds 4 --pid "$VPID" \
	    --probe-from 127.0.0.2)
	checkpy http_membomb_rss_bounded "$out" \
	    'r["rss_peak_mb"] < 120 and r["closed"] >= 50 and r["sent_mb"] > 100 and r["probe_failed"] == 0 and r["probe_worst"] < 2'
	# 16 connections each asking for 60 replies of ~120 KB (under
	# max_output), reading none: 115 MB asked for, over memory_budget.
	$RPC -s "$T/s.sock" load --clients 4 --calls 100 --contract counter --method inc --pipeline 8 >/dev/null
	out=$($ABUSE unread "unix:$T/s.sock" --conns 16 --requests 60 --seconds 5 --pid "$VPID" \
	    --params '{"contract":"counter","count":400}' $PROBE_UID)
	checkpy unread_replies_rss_bounded "$out" \
	    'r["rss_peak_mb"] < 120 and r["closed"] >= 4 and r["probe_failed"] == 0 and r["probe_worst"] < 2'
	grep -q 'memory_budget (33554432 bytes) exhausted' "$T/log" && pass membomb_logged ||
	    fail membomb_logged "no log line"
	# The heap is given back once the attackers are gone.
	sleep 0.5
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$VPID/status)
	check rss_falls_after_attack "VmRSS ${rss} kB" [ "$rss" -lt 61440 ]
	if kill -0 "$VPID" && rpc ping >/dev/null; then pass release_still_serving; else fail release_still_serving "daemon gone"; fi
	stop_vmsd
else
	skip membomb "no release build (daemon/vmsd)"
fi

# ---- descriptors: ulimit -n 96, two contracts, 300 connections ----
printf 'socket_mode = 0666\n' >"$T/vmsd.conf"
rm -rf "$T/state"
mv "$T/log" "$T/log.release" 2>/dev/null
(ulimit -n 96 && exec "$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state" --socket "$T/s.sock" \
    >>"$T/log" 2>&1 </dev/null) &
VPID=$!
i=0
until rpc ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
"$VMSCTL" -s "$T/s.sock" deploy -n a "$T/counter.lua" >/dev/null
"$VMSCTL" -s "$T/s.sock" deploy -n b "$T/counter.lua" >/dev/null
out=$(python3 - "$T/s.sock" "$VPID" <<'PY'
import json, os, signal, socket, subprocess, sys, time
path, vpid = sys.argv[1], int(sys.argv[2])
def conn():
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(path); return s
def call(s, i, contract):
    s.sendall(json.dumps({"jsonrpc": "2.0", "id": i, "method": "call", "params":
        {"contract": contract, "method": "inc"}}).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None
        buf += d
    return json.loads(buf.split(b"\n")[0])
old = conn()
first = call(old, 1, "a")
held, told, failed = [], 0, 0
for _ in range(300):
    try:
        held.append(conn())
    except OSError:
        failed += 1
time.sleep(0.5)
for s in held:
    s.setblocking(False)
    try:
        d = s.recv(4096)
        if b"-32001" in d:
            told += 1
    except BlockingIOError:
        pass
workers = [int(l.split()[0]) for l in subprocess.check_output(
    ["ps", "-eo", "pid,ppid,args"]).decode().splitlines()[1:]
    if int(l.split()[1]) == vpid and "--worker a" in l]
for w in workers:
    os.kill(w, signal.SIGKILL)
time.sleep(0.3)
t = time.monotonic()
after = call(old, 2, "a")
lat = time.monotonic() - t
other = call(old, 3, "b")
print(json.dumps({"first": bool(first and "result" in first), "workers": len(workers),
                  "told": told, "failed": failed, "held": 300 - failed - told,
                  "after": after.get("result", after.get("error")) if after else None,
                  "latency": round(lat, 2),
                  "other": bool(other and "result" in other)}))
PY
)
checkpy fd_reserve_worker_restarted "$out" \
    'r["first"] and r["workers"] == 1 and r["told"] >= 50 and r["held"] < 96 and isinstance(r["after"], dict) and r["after"].get("value") == 2 and r["latency"] < 5 and r["other"]'
grep -q 'refusing connections: too many connections.*kept for the workers' "$T/log" &&
    pass fd_reserve_logged || fail fd_reserve_logged "no log line"
if grep -q 'Too many open files' "$T/log"; then fail fd_never_exhausted "$(grep -m1 'Too many open files' "$T/log")"; else pass fd_never_exhausted; fi
if kill -0 "$VPID" && rpc ping >/dev/null; then pass fd_still_serving; else fail fd_still_serving "daemon gone"; fi
stop_vmsd
exit 0
