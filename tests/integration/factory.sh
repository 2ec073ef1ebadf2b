#!/bin/sh
# factory.sh — child contracts through the real vmsd, with
# examples/counter-factory.lua: children made by calls serve calls; the
# parent's and children's audits pass (vmsctl audit --children, from the
# daemon and from directories); the cap on children, a child's limits
# within its parent's, names under the parent, a failed call makes
# nothing, dotted names refused to admins; a child stopped by its parent;
# a tampered child-creation entry (re-signed) fails the parent's audit, a
# tampered child entry 0 fails the child's; a parent that died between its
# entry and the child is made at the next start, exactly once.
. "$TOP/tests/tools/daemon.sh"
. "$TOP/tests/tools/forge.sh"

T=$(mktemp -d /tmp/vms-factory.XXXXXX)
cleanup() { daemon_stop; [ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
EX="$TOP/examples/counter-factory.lua"
F=counter-factory

forge_build || exit 0
if ! daemon_usable; then
	echo "SKIP factory: vmsd cannot deploy in this build"; exit 0
fi
daemon_start "$T/d" "debug_auth = yes" || exit 1
S="$T/d/state"

# is NAME WANT CMD...: stdout exactly WANT, exit 0
is() {
	n=$1 w=$2; shift 2
	o=$("$@" 2>"$T/err"); r=$?
	if [ $r -ne 0 ]; then echo "FAIL $n: exit $r: $(cat "$T/err")"
	elif [ "$o" != "$w" ]; then echo "FAIL $n: got $o, want $w"
	else echo "PASS $n"; fi
}
# fails NAME PATTERN CMD...: non-zero exit, PATTERN on stderr
fails() {
	n=$1 p=$2; shift 2
	"$@" >/dev/null 2>"$T/err"; r=$?
	if [ $r -eq 0 ]; then echo "FAIL $n: it succeeded"
	elif ! grep -q -- "$p" "$T/err"; then echo "FAIL $n: stderr lacks $p: $(cat "$T/err")"
	else echo "PASS $n"; fi
}
children() { ls "$S/contracts" | grep -c "^$F\."; }

is deploy-factory "" sh -c "$V deploy $EX --limit children=4 >/dev/null"
A="$V --user unix:alice"
B="$V --user unix:bob"

# children made by calls, serving calls
is create-alice "\"$F.alice\"" $A call $F create alice
is create-bob "\"$F.bob\"" $B call $F create bob
is listed "2" sh -c "$V list | grep -c '^$F\.'"
is child-serves 1 $A call $F.alice increment
is child-serves-2 2 $A call $F.alice increment
is child-owner '"unix:alice"' $V call $F.alice owner
fails child-refuses "only the owner" $B call $F.alice increment
is other-child 1 $B call $F.bob increment
# entry 0 of a child names its parent and the entry
e0=$($V log $F.alice --count 1)
printf '%s' "$e0" | grep -q '"parent":{"contract":"counter-factory","index":1,"origin":"[^"]*/counter-factory"}' &&
    printf '%s' "$e0" | grep -q '"caller":"contract:counter-factory"' &&
    printf '%s' "$e0" | grep -q '"args":\["unix:alice"\]' &&
    echo "PASS child-entry0" || echo "FAIL child-entry0: $e0"
e1=$($V log $F --from 1 --count 1)
printf '%s' "$e1" | grep -q '"contracts":\[{"args":\["unix:alice"\],"code":' &&
    printf '%s' "$e1" | grep -q '"name":"counter-factory.alice","op":"deploy"' &&
    echo "PASS parent-entry" || echo "FAIL parent-entry: $e1"

# limits: the cap, names, a child's limits within its parent's
is create-carol "\"$F.carol\"" $V --user unix:carol call $F create carol
is create-dave "\"$F.dave\"" $V --user unix:dave call $F create dave
fails cap "this contract may make 4 children" $V --user unix:erin call $F create erin
fails dup "counter-factory.alice exists" $A call $F create alice
fails dotted "name must be a contract name without dots" $A call $F create a.b
is four-children 4 children
fails admin-dotted "such names belong to child contracts" $V deploy "$EX" --name $F.mallory
cat >"$T/greedy.lua" <<'LUA'
local M = {}
function M.big()
  return System.contracts.deploy{ name = 'big', code = 'return {}',
    limits = { memory = 128 * 1024 * 1024 } }
end
function M.undo()
  System.contracts.deploy{ name = 'undone', code = 'return {}' }
  error('and then it failed')
end
function M.badinit()
  return System.contracts.deploy{ name = 'bad',
    code = 'return { init = function() error("nope") end }' }
end
return M
LUA
is deploy-greedy "" sh -c "$V deploy $T/greedy.lua --limit children=5 >/dev/null"
fails child-limits "limit memory (134217728) exceeds the parent's (67108864)" $V call greedy big
fails failed-call "and then it failed" $V call greedy undo
fails child-init "System.contracts.deploy: greedy.bad: init failed" $V call greedy badinit
ls "$S/contracts" | grep -q '^greedy\.' && echo "FAIL nothing-made: $(ls "$S/contracts")" ||
    echo "PASS nothing-made"

# audits: the parent and every child, both ways
out=$($V audit $F --children 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c ': OK')" -eq 5 ] &&
    echo "PASS audit-children" || echo "FAIL audit-children: exit $rc: $out"

# the owner closes a counter: stopped by its parent
is close true $A call $F close alice
fails stopped "contract counter-factory.alice is stopped" $A call $F.alice get
is status-file "stopped" sed -n 1p "$S/contracts/$F.alice/status"
fails close-again "is stopped already" $A call $F close alice
is counters-listed "true" sh -c "$V call $F counters | python3 -c 'import json,sys; print(str([c[\"stopped\"] for c in json.load(sys.stdin) if c[\"name\"]==\"$F.alice\"][0]).lower())'"

# crash between a parent's entry and its child: the entry is durable, the
# child not made, the intent left (what a kill -9 there leaves): vmsd makes
# it at startup, without any call
# (dave's entry made him; here he was never made)
daemon_stop
# (his signed head goes too: a child never made has none)
rm -rf "$S/contracts/$F.dave" "$S/keys/$F.dave.key" "$S/keys/$F.dave.head"
alice_size=$(ls -l "$S/contracts/$F.alice/entries" | awk '{print $5}')
# the intent from entry 1 on covers alice's entry too: she is not made again
printf '1\n' >"$S/contracts/$F/children.pending"
daemon_start "$T/d" "debug_auth = yes" || exit 1
i=0
while [ ! -d "$S/contracts/$F.dave" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -d "$S/contracts/$F.dave" ] && echo "PASS remade-at-start" ||
    echo "FAIL remade-at-start: $(tail -5 "$T/d/vmsd.log")"
i=0
while [ -f "$S/contracts/$F/children.pending" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ ! -f "$S/contracts/$F/children.pending" ] && echo "PASS intent-gone" ||
    echo "FAIL intent-gone"
is remade-serves '"unix:dave"' $V call $F.dave owner
[ "$(ls -l "$S/contracts/$F.alice/entries" | awk '{print $5}')" = "$alice_size" ] &&
    [ -f "$S/contracts/$F.alice/status" ] &&
    echo "PASS exactly-once" || echo "FAIL exactly-once: alice was made again"
rm -f "$VMSCTL_KNOWN"	# (this dave has a new key: the old one was deleted)
out=$($V audit $F --children 2>&1); rc=$?
[ $rc -eq 0 ] && echo "PASS audit-after-restart" || echo "FAIL audit-after-restart: exit $rc: $(echo $out)"

# tampering, on a copy: the host re-signs its ledgers
daemon_stop
cp -r "$S" "$T/copy"
C="$T/copy/contracts"
rm -f "$VMSCTL_KNOWN"
out=$($VMSCTL audit --dir "$C/$F" --children 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c ': OK')" -ge 5 ] &&
    echo "PASS audit-dir-children" || echo "FAIL audit-dir-children: exit $rc: $out"
# (entry 1 made alice) a parent entry whose child request was altered
daemon_start "$T/d"	# in this shell: daemon_stop must find its pid
ops=$($V log $F --from 1 --count 1 | python3 "$TOP/tests/integration/lib/jget.py" contracts)
daemon_stop
forged=$(printf '%s' "$ops" | sed 's/"unix:alice"/"unix:mallory"/')
rm -rf "$T/forged" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$C/$F" "$T/forged" "$S/keys/$F.key" --set=contracts 1 "$forged" \
    >"$T/forge.log" 2>&1 || echo "FAIL forge: $(cat "$T/forge.log")"
out=$($VMSCTL audit --dir "$T/forged" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "FAIL at entry 1 (call create by unix:alice): contracts differs" &&
    echo "PASS tampered-creation" || echo "FAIL tampered-creation: exit $rc: $out"
# a child whose entry 0 names another entry of its parent
rm -rf "$T/c2" "$VMSCTL_KNOWN"
cp -r "$C" "$T/c2"
rm -rf "$T/c2/$F.bob"
"$FORGE" rewrite "$C/$F.bob" "$T/c2/$F.bob" "$S/keys/$F.bob.key" \
    --set=parent 0 "{\"contract\":\"$F\",\"index\":5,\"origin\":\"$(sed -n 1p "$C/$F/checkpoint")\"}" \
    >"$T/forge.log" 2>&1 || echo "FAIL forge: $(cat "$T/forge.log")"
out=$($VMSCTL audit --dir "$T/c2/$F" --children 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "^$F: OK" &&
    printf '%s' "$out" | grep -q "^$F.bob: FAIL at entry 0 (deploy): entry 0 names its parent counter-factory (.*) entry 5, not counter-factory (.*) entry 2 which made it" &&
    echo "PASS tampered-child-link" || echo "FAIL tampered-child-link: exit $rc: $out"
# ... or other init args than its parent asked for
rm -rf "$T/c2/$F.bob" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$C/$F.bob" "$T/c2/$F.bob" "$S/keys/$F.bob.key" \
    --set=args 0 '["unix:mallory"]' >"$T/forge.log" 2>&1
out=$($VMSCTL audit --dir "$T/c2/$F" --children 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "^$F.bob: FAIL at entry 0 (deploy): entry 0 is not the one counter-factory recorded at its entry 2" &&
    echo "PASS tampered-child-entry" || echo "FAIL tampered-child-entry: exit $rc: $out"
# a child the parent made is missing
rm -rf "$T/c2/$F.bob" "$VMSCTL_KNOWN"
out=$($VMSCTL audit --dir "$T/c2/$F" --children 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "^$F.bob: FAIL: made by counter-factory at entry 2, but its ledger cannot be read" &&
    echo "PASS missing-child" || echo "FAIL missing-child: exit $rc: $out"
# every vmsd this test started has stopped
left=$(pgrep -af -- "$T/d/state")
[ -z "$left" ] && echo "PASS no-daemon-left" || echo "FAIL no-daemon-left: $left"
exit 0
