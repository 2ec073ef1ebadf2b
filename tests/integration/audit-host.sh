#!/bin/sh
# audit-host.sh — `vmsctl audit` over the socket protocol against a host
# that can lie: tests/tools/ledger-forge's `serve` mode speaks the vmsd
# protocol for one contract (so this runs even before vmsd is complete)
# and can misreport its state or send bad consistency proofs. Checks:
# audit through a host, trust on first use, --follow, state lie (check 5,
# path named), bad consistency proof, unreachable host (exit 3).
. "$TOP/tests/tools/forge.sh"
forge_build || exit 0

T=$(mktemp -d /tmp/vms-audit-host.XXXXXX)
SPID=
stop_host() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null; SPID=; }
cleanup() { stop_host; [ -n "$BG" ] && kill "$BG" 2>/dev/null; [ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
SOCK="$T/host.sock"
V="$VMSCTL -s $SOCK"
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"	# the host is killed

start_host() {
	stop_host
	"$FORGE" serve "$T/led" "$T/key" "$SOCK" "$@" >>"$T/host.log" 2>&1 &
	SPID=$!
	i=0
	while [ $i -lt 50 ]; do
		$V ping >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	echo "FAIL host-start: $(cat "$T/host.log")"; exit 1
}

# expect_audit NAME RC PATTERN: `vmsctl audit guestlist` exits RC and
# prints a line matching PATTERN.
expect_audit() {
	out=$($V audit guestlist 2>&1); rc=$?
	[ $rc -eq "$2" ] && printf '%s' "$out" | grep -q "$3" &&
	    echo "PASS $1" || echo "FAIL $1: $rc $out"
}

write_guestlist "$T/guestlist.lua"
write_calls "$T/calls" 12
"$FORGE" keygen "$T/key" &&
"$FORGE" build "$T/led" "$T/key" test.example/vmsd/guestlist "$T/guestlist.lua" "$T/calls" ||
    { echo "FAIL setup: cannot build the ledger"; exit 1; }

start_host
out=$($V audit 2>&1); rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | grep -q "^guestlist: OK — 13 entries, checkpoint 13 verified, replayed in .* s, state matches" &&
    echo "PASS audit-through-host" || echo "FAIL audit-through-host: $rc $out"
grep -q "^test.example/vmsd/guestlist test.example/vmsd/guestlist+.* 13 .* $(realpath "$SOCK")$" "$VMSCTL_KNOWN" &&
    echo "PASS tofu-stored" || echo "FAIL tofu-stored: $(cat "$VMSCTL_KNOWN")"

$V call guestlist RSVP zed true >/dev/null
out=$($V audit guestlist 2>&1) && printf '%s' "$out" | grep -q "14 entries" &&
    echo "PASS audit-grown" || echo "FAIL audit-grown: $out"

# The same socket through another spelling is no first use.
ln -s "$SOCK" "$T/other.sock"
out=$($VMSCTL -s "$T/other.sock" audit guestlist 2>&1); rc=$?
[ $rc -eq 0 ] && ! printf '%s' "$out" | grep -q "first use" &&
    echo "PASS socket-other-spelling" || echo "FAIL socket-other-spelling: $rc $out"

# --follow: three new checkpoints, each verified and proven consistent.
( sleep 0.5; for i in 1 2 3; do $V call guestlist RSVP "f$i" true >/dev/null; sleep 0.4; done ) &
BG=$!
out=$($V audit --follow guestlist --interval 0.1 --count 3 --timeout 20 2>&1); rc=$?
wait $BG; BG=
n=$(printf '%s\n' "$out" | grep -c "^guestlist: checkpoint 1[5-7] verified, consistent with the last")
[ $rc -eq 0 ] && [ "$n" -eq 3 ] && echo "PASS follow" || echo "FAIL follow: rc=$rc $out"
grep -q " 17 " "$VMSCTL_KNOWN" && echo "PASS follow-remembers" || echo "FAIL follow-remembers"
out=$($V --json audit --follow guestlist --interval 0.1 --timeout 0.5 2>&1); rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]' &&
    echo "PASS follow-json-timeout" || echo "FAIL follow-json-timeout: $rc $out"

# The host misreports its materialised state: check 5 names the path.
start_host --lie-state
expect_audit state-lie 1 "FAIL at entry 16 .*host state after entry 16 does not match the replay: state differs at /"
grep -q " 17 " "$VMSCTL_KNOWN" && echo "PASS failed-audit-not-remembered" ||
    echo "FAIL failed-audit-not-remembered"

# The host claims a state index beyond its newest signed checkpoint:
# check 5 cannot be skipped that way.
start_host --state-ahead
expect_audit state-ahead 1 "^guestlist: FAIL: host state claims index 18 beyond its signed checkpoint 17"
out=$($V audit --follow guestlist --interval 0.1 --count 1 --timeout 5 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "beyond its signed checkpoint 17" &&
    echo "PASS state-ahead-follow" || echo "FAIL state-ahead-follow: $rc $out"

# The host's state never ends (every page names a next one): the auditor
# stops reading past the replay's count of files and reports the
# difference instead of holding an endless dump.
start_host --endless-state
out=$(timeout 60 $V audit guestlist 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "does not match the replay: state differs at /" &&
    echo "PASS state-endless" || echo "FAIL state-endless: $rc $out"

# The host's state in pages of 3 files: each compared as it comes.
start_host --paged-state
expect_audit state-paged 0 "^guestlist: OK — 17 entries, .* state matches"

# Every page after the first at the next index (the contract moving on
# while its state is read): read again, then given up, never skipped.
start_host --moving-state
expect_audit state-moving 1 "state not compared: the contract kept changing (8 tries); audit again"

# The host sends a consistency proof that does not verify.
start_host --bad-proof
$V call guestlist RSVP late true >/dev/null
expect_audit bad-consistency-proof 1 "consistency proof from size 17 to 18 does not verify"

# ... also caught while following.
start_host
$V audit guestlist >/dev/null 2>&1
start_host --bad-proof
( sleep 0.5; $V call guestlist RSVP later true >/dev/null ) &
BG=$!
out=$($V audit --follow guestlist --interval 0.1 --count 2 --timeout 10 2>&1); rc=$?
wait $BG; BG=
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "consistency proof from size 18 to 19 does not verify" &&
    echo "PASS follow-violation" || echo "FAIL follow-violation: rc=$rc $out"

# The host leaves a remembered contract out of `list`: audit of all fails.
start_host --list-empty
out=$($V audit 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "^guestlist: FAIL: missing: the daemon no longer lists it (origin test.example/vmsd/guestlist" &&
    echo "PASS list-hides-contract" || echo "FAIL list-hides-contract: $rc $out"

# The host now serves guestlist under another origin and key: refused.
"$FORGE" keygen "$T/evilkey" &&
"$FORGE" build "$T/evil" "$T/evilkey" evil.example/vmsd/guestlist "$T/guestlist.lua" "$T/calls" ||
    echo "FAIL origin-changed: cannot build the ledger"
stop_host
"$FORGE" serve "$T/evil" "$T/evilkey" "$SOCK" >>"$T/host.log" 2>&1 &
SPID=$!
i=0; while [ $i -lt 50 ] && ! $V ping >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
expect_audit origin-changed 1 "^guestlist: FAIL: origin changed for guestlist on .* (was test.example/vmsd/guestlist, now evil.example/vmsd/guestlist): refusing"

# Unknown contract: exit 1; the host gone: exit 3.
start_host
out=$($V audit nosuch 2>&1); rc=$?
[ $rc -eq 1 ] && echo "PASS audit-unknown-contract" || echo "FAIL audit-unknown-contract: $rc $out"
stop_host
out=$($V audit guestlist 2>&1); rc=$?
[ $rc -eq 3 ] && echo "PASS unreachable" || echo "FAIL unreachable: $rc $out"
exit 0
