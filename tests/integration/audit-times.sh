#!/bin/sh
# audit-times.sh — the audit checks that entry times never decrease
# (#16 item 7): a ledger re-signed by its own key with one entry's time set
# to 0, or to the year 5138, in the middle or at the end, fails the first
# audit naming the entry; the honest ledger passes. The contract never
# reads the clock, so only the time check can catch it.
. "$TOP/tests/tools/forge.sh"
forge_build || exit 0

T=$(mktemp -d /tmp/vms-audit-times.XXXXXX)
[ -n "$VMS_TEST_KEEP" ] || trap 'rm -rf "$T"' EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
ORIGIN=test.example/vmsd/counter

cat >"$T/counter.lua" <<'LUA'
local M = {}
function M.init() System.files.writeFile('/n', '0') end
function M.inc()
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  return n
end
return M
LUA
i=0; : >"$T/calls"
while [ $i -lt 12 ]; do echo '{"method":"inc","args":[]}' >>"$T/calls"; i=$((i + 1)); done
"$FORGE" keygen "$T/key" &&
"$FORGE" build "$T/led" "$T/key" "$ORIGIN" "$T/counter.lua" "$T/calls" ||
    { echo "FAIL setup: cannot build the ledger"; exit 1; }

# expect NAME RC PATTERN [REWRITE OPTIONS]: audit a re-signed copy
expect() {
	name=$1 want=$2 pat=$3; shift 3
	rm -rf "$T/c" "$VMSCTL_KNOWN"
	if [ $# -gt 0 ]; then
		"$FORGE" rewrite "$T/led" "$T/c" "$T/key" "$@" || { echo "FAIL $name: rewrite"; return; }
	else
		cp -r "$T/led" "$T/c"
	fi
	out=$("$VMSCTL" audit --dir "$T/c" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want: $out"
	elif ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "FAIL $name: output lacks \"$pat\": $out"
	else
		echo "PASS $name"
	fi
}

Y5138=100000000000000	# 5138-11-16T09:46:40Z
expect honest 0 "counter: OK — 13 entries"
expect time-zero-middle 1 "FAIL at entry 6 (call inc by .*): entry 6: time 0 (1970-01-01T00:00:00.000Z) is earlier than entry 5's .*: entry times never decrease" --set-time 6 0
expect year-5138-middle 1 "FAIL at entry 6 (call inc by .*): entry 6: time $Y5138 (5138-11-16T09:46:40.000Z) is later than this auditor's clock (.*) by more than a day" --set-time 6 $Y5138
expect year-5138-last 1 "FAIL at entry 12 (call inc by .*): entry 12: time $Y5138 (5138-11-16T09:46:40.000Z) is later than this auditor's clock (.*) by more than a day" --set-time 12 $Y5138
expect deploy-in-the-future 1 "FAIL at entry 0 (deploy): entry 0: time $Y5138 .* is later than this auditor's clock" --set-time 0 $Y5138
# A time that goes back by a little (a host whose clock was stepped back
# and which did not hold the previous time).
t8=$(python3 - "$T/led/entries" <<'PY'
import json, struct, sys
d = open(sys.argv[1], "rb").read(); off = 0; n = 0
while off < len(d):
    (l,) = struct.unpack(">I", d[off:off + 4]); off += 4
    if not l & 0x80000000:
        if n == 8:
            print(json.loads(d[off:off + l])["time"])
        n += 1
    off += l & 0x7fffffff
PY
)
expect time-back-1ms 1 "FAIL at entry 9 (call inc by .*): entry 9: time $((t8 - 1)) .* is earlier than entry 8's $t8 " --set-time 9 $((t8 - 1))
# The deploy entry's limits are still checked.
expect deploy-limits 1 "FAIL at entry 0.*bad limits" '--set=limits' 0 '{"memory":"lots"}'
exit 0
