#!/bin/sh
# oracle.sh — oracles through the real vmsd: configured in vmsd.conf, run
# by the worker with a clean environment and no descriptors, answers
# recorded in the entry; failures (no such oracle, a hang, a flood, a
# non-zero exit, bad JSON, a bad signature) are errors the contract sees,
# recorded and replayed; the ledger audits clean on "another machine" (a
# copy of the state directory, the oracles' executables gone); a forged
# signed answer in a re-signed ledger fails the audit, naming the entry.
. "$TOP/tests/tools/daemon.sh"
. "$TOP/tests/tools/forge.sh"

T=$(mktemp -d /tmp/vms-oracle.XXXXXX)
cleanup() { daemon_stop; [ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM
export VMSCTL_KNOWN="$T/known"

forge_build || exit 0
SIGN="$TOP/build/tests/oracle-sign"
make -s -C "$TOP" build/tests/oracle-sign >"$T/make.log" 2>&1 ||
    { echo "FAIL oracle-sign: cannot build it: $(tail -3 "$T/make.log")"; exit 1; }

# The oracles (absolute paths: they run with PATH=/usr/local/bin:/usr/bin:/bin).
O="$T/oracles"
mkdir -p "$O"
cat >"$O/echo" <<'SH'
#!/bin/sh
# answers with what it got, its environment and its open descriptors
read -r req
fds=$(ls /proc/self/fd | sort -n | tr '\n' ' ')
printf '{"answer":{"req":%s,"env":"%s","fds":"%s"}}\n' "$req" \
    "$(env | sort | tr '\n' ' ')" "$fds"
SH
cat >"$O/hang" <<'SH'
#!/bin/sh
sleep 30
SH
cat >"$O/flood" <<'SH'
#!/bin/sh
printf '{"answer":"'; yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 10000000
SH
cat >"$O/fail" <<'SH'
#!/bin/sh
echo '{"answer":1}'
exit 3
SH
cat >"$O/garbage" <<'SH'
#!/bin/sh
echo 'this is not JSON'
SH
cat >"$O/refuses" <<'SH'
#!/bin/sh
echo '{"error":"market closed"}'
SH
PUB=$("$SIGN" keygen "$T/feed.key") || { echo "FAIL keygen"; exit 1; }
OTHER=$("$SIGN" keygen "$T/other.key")
cat >"$O/feed" <<SH
#!/bin/sh
exec "$SIGN" answer "$T/feed.key" '{"BTC":64000}'
SH
# signed, but by another key than the one vmsd.conf names
cat >"$O/impostor" <<SH
#!/bin/sh
exec "$SIGN" answer "$T/other.key" '{"BTC":1}'
SH
chmod +x "$O"/*

cat >"$T/prices.lua" <<'LUA'
local M = {}
function M.ask(name, ...)
  local ok, v, key = pcall(System.oracle, name, ...)
  if not ok then return { error = v } end
  System.files.writeFile('/last', System.json.encode(v))
  return { answer = v, key = key or false }
end
function M.btc()
  local v, key = System.oracle('feed', 'BTC')
  if key ~= FEED_KEY then error('not the feed') end
  return v.BTC
end
return M
LUA
# the contract pins the feed's key itself
sed -i "1i FEED_KEY = '$PUB'" "$T/prices.lua"
sed -i 's/^FEED_KEY = /local FEED_KEY = /' "$T/prices.lua"

if ! daemon_usable; then
	echo "SKIP oracle: vmsd cannot deploy in this build"; exit 0
fi
export VMSD_SECRET=do-not-leak
daemon_start "$T/d" "oracle echo = $O/echo" "oracle hang = $O/hang" \
    "oracle flood = $O/flood" "oracle fail = $O/fail" \
    "oracle garbage = $O/garbage" "oracle refuses = $O/refuses" \
    "oracle feed = $O/feed" "oracle_key feed = $PUB" \
    "oracle impostor = $O/impostor" "oracle_key impostor = $PUB" \
    "oracle_timeout_ms = 1000" "oracle_max_output = 4K" \
    "call_timeout = 10" || exit 1
unset VMSD_SECRET
$V deploy "$T/prices.lua" >/dev/null 2>"$T/err" || { echo "FAIL deploy: $(cat "$T/err")"; exit 1; }

# call NAME JQPATH WANT CMD...: a field of the result
field() { python3 "$TOP/tests/integration/lib/jget.py" "$1"; }
expect() {
	n=$1 path=$2 want=$3; shift 3
	got=$($V call prices ask "$@" 2>"$T/err" | field "$path")
	if [ "$got" = "$want" ]; then echo "PASS $n"
	else echo "FAIL $n: $path is '$got', want '$want' ($(cat "$T/err"))"; fi
}
contains() {
	n=$1 path=$2 pat=$3; shift 3
	got=$($V call prices ask "$@" 2>"$T/err" | field "$path")
	if printf '%s' "$got" | grep -q -- "$pat"; then echo "PASS $n"
	else echo "FAIL $n: $path is '$got', lacks '$pat' ($(cat "$T/err"))"; fi
}

# an answer, and what the oracle was given
out=$($V call prices ask echo BTC 2 2>&1)
printf '%s' "$out" | field answer.req.args | grep -qx '\["BTC", 2\]' &&
    printf '%s' "$out" | field answer.req.contract | grep -qx prices &&
    printf '%s' "$out" | field answer.req.oracle | grep -qx echo &&
    printf '%s' "$out" | field answer.req.index | grep -qx 1 &&
    echo "PASS answer" || echo "FAIL answer: $out"
env=$(printf '%s' "$out" | field answer.env)
case "$env" in
*VMSD_SECRET*|*HOME=*|*ASAN*) echo "FAIL clean-env: the oracle saw: $env" ;;
*VMSD_ORACLE=echo*) echo "PASS clean-env" ;;
*) echo "FAIL clean-env: $env" ;;
esac
fds=$(printf '%s' "$out" | field answer.fds)
# 0 1 2, and the one ls opened to list them
[ "$(echo $fds | wc -w)" -le 4 ] && echo "PASS no-descriptors" ||
    echo "FAIL no-descriptors: the oracle had $fds"
log=$($V log prices --from 1 --count 1)
printf '%s' "$log" | grep -q '"oracles":\[{"answer":{' &&
    printf '%s' "$log" | grep -q '"name":"echo"' &&
    echo "PASS recorded" || echo "FAIL recorded: $log"

# signed: the contract checks the key; vmsd checked the signature
got=$($V call prices btc 2>&1)
[ "$got" = 64000 ] && echo "PASS signed" || echo "FAIL signed: $got"
contains impostor error "oracle impostor: bad answer: the signature does not verify" impostor

# failures, seen by the contract and recorded
t0=$(date +%s%N)
contains hang error "oracle hang: timed out after 1000 ms" hang
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 5000 ] && echo "PASS hang-bounded (${ms} ms)" ||
    echo "FAIL hang-bounded: the call took ${ms} ms"
pgrep -f "^/bin/sh $O/hang" >/dev/null && echo "FAIL hang-killed: still running" ||
    echo "PASS hang-killed"
contains flood error "oracle flood: answer larger than 4096 bytes" flood
contains exit-status error "oracle fail: exited with status 3" fail
contains bad-json error "oracle garbage: bad answer: the output is not JSON" garbage
expect refuses error "oracle refuses: market closed" refuses
expect unknown error "oracle nope: no such oracle on this host" nope
expect bad-name error "System.oracle: bad oracle name" "no such"
$V log prices 2>/dev/null | grep -q '"error":"timed out after 1000 ms","name":"hang"' &&
    echo "PASS failure-recorded" || echo "FAIL failure-recorded"
# the daemon kept serving throughout
[ "$($V call prices ask echo x 2>/dev/null | field answer.req.args)" = '["x"]' ] &&
    echo "PASS still-serving" || echo "FAIL still-serving"

# the audit replays every answer without asking any oracle
n=$($V info prices 2>/dev/null | sed -n 's/^size: *//p')
out=$($V audit prices 2>&1) && printf '%s' "$out" | grep -q "prices: OK" &&
    echo "PASS audit-daemon" || echo "FAIL audit-daemon: $out"

# another machine: a copy of the ledger, no oracle at all
daemon_stop
cp -r "$T/d/state/contracts/prices" "$T/copy"
mv "$O" "$O.gone"
rm -f "$VMSCTL_KNOWN"
out=$($VMSCTL audit --dir "$T/copy" 2>&1) &&
    printf '%s' "$out" | grep -q "prices: OK — $n entries" &&
    echo "PASS audit-elsewhere" || echo "FAIL audit-elsewhere: $out"

# the host forges the signed answer (and re-signs its ledger)
# (the entry of the btc call, as the daemon lists the ledger)
daemon_start "$T/d"	# in this shell: daemon_stop must find its pid
sig_entry=$($V log prices | grep -n '"method":"btc"' | head -1 | cut -d: -f1)
oracles=$($V log prices | sed -n "${sig_entry}p" | field oracles)
daemon_stop
sig_entry=$((sig_entry - 1))
forged=$(printf '%s' "$oracles" | sed 's/64000/99999/')
rm -rf "$T/forged" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/copy" "$T/forged" "$T/d/state/keys/prices.key" \
    --set=oracles "$sig_entry" "$forged" >"$T/forge.log" 2>&1 ||
    echo "FAIL forge: $(cat "$T/forge.log")"
out=$($VMSCTL audit --dir "$T/forged" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" |
    grep -q "FAIL at entry $sig_entry (call btc by unix:.*): oracle answer 0 (feed): the signature does not verify" &&
    echo "PASS forged-answer" || echo "FAIL forged-answer: exit $rc: $out"
# an altered request (another symbol) is caught too
forged=$(printf '%s' "$oracles" | sed 's/"BTC"\]/"ETH"]/')
rm -rf "$T/forged" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/copy" "$T/forged" "$T/d/state/keys/prices.key" \
    --set=oracles "$sig_entry" "$forged" >"$T/forge.log" 2>&1
out=$($VMSCTL audit --dir "$T/forged" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "FAIL at entry $sig_entry .*oracle request 0 differs" &&
    echo "PASS forged-request" || echo "FAIL forged-request: exit $rc: $out"
mv "$O.gone" "$O"
# every vmsd this test started has stopped
left=$(pgrep -af -- "$T/d/state")
[ -z "$left" ] && echo "PASS no-daemon-left" || echo "FAIL no-daemon-left: $left"
exit 0
