# tests/integration/lib/daemon.sh — shared helpers for the daemon-*.sh tests
# (POSIX sh, sourced). Each test gets a private temp dir $T with a config
# $T/vmsd.conf, state $T/state and socket $T/s.sock.

LIB="$TOP/tests/integration/lib"
RPC="python3 $LIB/rpc.py"
JGET="python3 $LIB/jget.py"
VMSD="${VMSD:-$TOP/build/san/vmsd}"
VPID=

T=$(mktemp -d /tmp/vmsd-test.XXXXXX)
chmod 755 "$T"
cleanup() {
	if [ -n "$VPID" ] && kill -0 "$VPID" 2>/dev/null; then
		kill -KILL "$VPID" 2>/dev/null
		wait "$VPID" 2>/dev/null
	fi
	# Workers of a killed daemon exit on EOF; give them a moment.
	sleep 0.2
	[ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
: >"$T/vmsd.conf"

# free_port SEED [EXCLUDE...]: a port on 127.0.0.1 nothing holds now,
# below the ephemeral range (lib/freeport.py)
free_port() { python3 "$LIB/freeport.py" "$@"; }

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; [ -f "$T/log" ] && tail -5 "$T/log" | sed 's/^/     log: /'; }
skip() { echo "SKIP $1: $2"; }
check() {	# check NAME WHY CMD...: PASS if CMD succeeds
	n=$1; why=$2; shift 2
	if "$@"; then pass "$n"; else fail "$n" "$why"; fi
}

# start_vmsd [ARGS...]: run vmsd in the background, wait until it answers;
# with VMSD_ENV's NAME=VALUE words (no spaces) in its environment alone.
start_vmsd() {
	env $VMSD_ENV "$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state" \
	    --socket "$T/s.sock" "$@" >>"$T/log" 2>&1 </dev/null &
	VPID=$!
	i=0
	while [ $i -lt 100 ]; do
		if $RPC -s "$T/s.sock" call ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$VPID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop_vmsd: SIGTERM and wait; prints nothing, returns vmsd's exit status.
stop_vmsd() {
	[ -n "$VPID" ] || return 0
	kill -TERM "$VPID" 2>/dev/null
	wait "$VPID"
	rc=$?
	VPID=
	return $rc
}

rpc() { $RPC -s "$T/s.sock" call "$@"; }
# field: rpc ... | field result.index
field() { $JGET "$1"; }
# wait_size CONTRACT N: until its ledger holds N entries (10 s at most; 1
# if it never does). For acting once a load is under way, not after a
# fixed time a slow machine may not have started it in.
wait_size() {
	_i=0
	while [ $_i -lt 200 ]; do
		_s=$(rpc info "{\"contract\":\"$1\"}" | field result.size)
		[ -n "$_s" ] && [ "$_s" -ge "$2" ] && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# A small contract used by the daemon tests (no dependency on examples/).
write_counter() {
	cat >"$T/counter.lua" <<'LUA'
local M = {}
function M.init() System.files.writeFile('/n', '0') end
function M.inc()
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  return n
end
function M.get() return tonumber(System.files.readFile('/n')) end
function M.whoami() return System.caller.id end
function M.boom() error('boom: on purpose') end
function M.echo(...) return {...} end
return M
LUA
}

# deploy NAME FILE [EXTRA_JSON_FIELDS]: deploy over the raw protocol.
deploy() {
	python3 - "$1" "$2" "${3:-}" <<'PY' >"$T/deploy.json"
import json, sys
p = {"name": sys.argv[1], "code": open(sys.argv[2]).read()}
if sys.argv[3]:
    p.update(json.loads(sys.argv[3]))
print(json.dumps(p))
PY
	rpc deploy "$(cat "$T/deploy.json")"
}

# check_counter_ledger NAME: a counter contract's value is the number of
# inc entries in its ledger (every call acknowledged is there, none twice),
# and the ledger audits clean (vmsctl audit, a trust store in $T/known).
check_counter_ledger() {
	_n=$(rpc call "{\"contract\":\"$1\",\"method\":\"get\",\"args\":[]}" |
	    field result.value)
	_incs=$(python3 - "$LIB" "$T/state/contracts/$1/entries" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from ledgerfiles import records
print(sum(1 for note, rec in records(sys.argv[2])
          if not note and json.loads(rec).get("method") == "inc"))
PY
)
	check counter_matches_ledger "value $_n, $_incs inc entries" \
	    [ -n "$_n" -a "$_n" = "$_incs" ]
	if VMSCTL_KNOWN="$T/known" "$VMSCTL" -s "$T/s.sock" audit "$1" \
	    >"$T/audit.out" 2>&1; then
		pass audit_clean
	else
		fail audit_clean "$(tail -3 "$T/audit.out")"
	fi
}

# check_sanitizer_log: PASS no_sanitizer_reports unless $T/log (vmsd's and
# its workers' stderr) holds a sanitizer's report or a runtime error; its
# first lines are the failure's reason. After stop_vmsd when the test can:
# LeakSanitizer reports at a process's exit.
check_sanitizer_log() {
	if grep -q 'Sanitizer\|runtime error' "$T/log"; then
		fail no_sanitizer_reports \
		    "$(grep -m3 'Sanitizer\|runtime error' "$T/log")"
	else
		pass no_sanitizer_reports
	fi
}

# audit_rss VMSCTL CONTRACT: the peak resident memory (KiB) of VMSCTL
# auditing CONTRACT through this vmsd (VMSCTL_KNOWN $T/known), -1 if the
# audit failed; its output in $T/audit.out. RELEASE_VMSCTL: the release
# build, whose memory these tests measure (the sanitizers' heap would
# swamp it).
RELEASE_VMSCTL="${VMSCTL_RELEASE:-$TOP/ctl/vmsctl}"
audit_rss() {
	python3 - "$1" "$T/s.sock" "$T/known" "$T/audit.out" "$2" <<'PY'
import os, resource, subprocess, sys
env = dict(os.environ, VMSCTL_KNOWN=sys.argv[3])
with open(sys.argv[4], "w") as out:
    r = subprocess.run([sys.argv[1], "-s", sys.argv[2], "audit", sys.argv[5]],
                       stdout=out, stderr=subprocess.STDOUT, env=env)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if
      r.returncode == 0 else -1)
PY
}
