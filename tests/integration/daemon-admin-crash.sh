#!/bin/sh
# daemon-admin-crash.sh — deploy, replace and remove are crash-atomic
# (#16 item 5). vmsd is killed (SIGKILL, by a fault point compiled into
# the sanitizer build: VMSD_FAULT=NAME) at each step of each operation;
# after a restart the contract is either fully old or fully new: listed
# (or, for a remove, gone with its ledger in removed/), its ledger beside
# its own key (the worker starts and signs), running, never failed, no
# leftover; the old ledger of a replace is kept in removed/ whole.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
cp "$T/counter.lua" "$T/new.lua"
sed -i 's/^return M$/function M.version() return 2 end\nreturn M/' "$T/new.lua"
printf 'idle_timeout = 60\n' >"$T/vmsd.conf"

# The starting point of every case: contract "c" with 6 entries.
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null || { fail setup "cannot deploy"; exit 1; }
for i in 1 2 3 4 5; do rpc call '{"contract":"c","method":"inc","args":[]}' >/dev/null; done
stop_vmsd
cp -a "$T/state" "$T/pristine"

# crash POINT CMD...: from the starting point, run CMD against a vmsd that
# kills itself at POINT; then start vmsd again. 0 if it died there.
crash() {
	point=$1; shift
	rm -rf "$T/state"; cp -a "$T/pristine" "$T/state"
	export VMSD_FAULT="$point"
	start_vmsd || { unset VMSD_FAULT; return 1; }
	unset VMSD_FAULT
	"$@" >"$T/op.out" 2>&1
	wait "$VPID"; rc=$?
	VPID=
	start_vmsd || return 1
	[ $rc -eq 137 ]
}

# state_of NAME: "old", "new", "absent", or what is wrong (one client:
# list, then version, inc and info if listed).
state_of() {
	python3 - "$T/s.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); f = s.makefile("rwb")
def rpc(method, params):
    f.write((json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                         "params": params}) + "\n").encode()); f.flush()
    return json.loads(f.readline())
name = sys.argv[2]
cs = rpc("list", {})["result"]["contracts"]
if not any(c["name"] == name for c in cs):
    print("absent"); sys.exit(0)
v = rpc("call", {"contract": name, "method": "version", "args": []})
n = rpc("call", {"contract": name, "method": "inc", "args": []})
st = rpc("info", {"contract": name}).get("result", {}).get("status")
v = v.get("result", {}).get("value"); n = n.get("result", {}).get("value")
if st != "running": print("status %s" % st)
elif v == 2 and n == 1: print("new")
elif v is None and n == 6: print("old")
else: print("mixed: version=%s inc=%s" % (v, n))
PY
}

# leftovers: temporary files or intents still there
leftovers() {
	ls -a "$T/state/contracts" "$T/state/keys" "$T/state/intents" 2>/dev/null |
	    grep -E '^\.(deploy|purge)-|\.intent$' | tr '\n' ' '
}
# removed_ok: the old ledger whole in removed/ (6 entries, audits clean)
removed_ok() {
	d=$(ls -d "$T/state/removed/c."* 2>/dev/null | head -1)
	[ -n "$d" ] && VMSCTL_KNOWN="$T/known.removed" "$VMSCTL" audit --dir "$d" 2>&1 |
	    grep -q "c: OK — 6 entries"
}

# expect_case NAME WANT: the contract is WANT, nothing is left over, and
# (replaced) the old ledger is kept whole.
expect_case() {
	name=$1 want=$2
	got=$(state_of c); left=$(leftovers)
	if [ "$got" != "$want" ]; then
		fail "$name" "contract is $got, want $want"
	elif [ -n "$left" ]; then
		fail "$name" "left over: $left"
	elif [ "$3" = removed ] && ! removed_ok; then
		fail "$name" "the old ledger is not whole in removed/: $(ls "$T/state/removed")"
	else
		pass "$name"
	fi
	stop_vmsd
}

REPLACE="deploy c $T/new.lua {\"replace\":true}"
for p in install:before-intent install:intent-written install:old-moved \
    install:ledger-installed install:key-installed install:head-installed \
    install:synced; do
	if ! crash "$p" $REPLACE; then
		fail "replace_killed_at_${p#install:}" "vmsd did not die there: $(cat "$T/op.out")"
		stop_vmsd; continue
	fi
	if [ "$p" = install:before-intent ]; then
		expect_case "replace_killed_at_${p#install:}" old
	else
		expect_case "replace_killed_at_${p#install:}" new removed
	fi
done
grep -q "c: an interrupted deploy was completed; the old ledger is in removed/c\." "$T/log" &&
    pass replace_completion_logged || fail replace_completion_logged "no log line"

# A first deploy (of "d"): absent or fully there.
for p in install:before-intent install:intent-written \
    install:key-installed; do
	if ! crash "$p" deploy d "$T/new.lua"; then
		fail "deploy_killed_at_${p#install:}" "vmsd did not die there: $(cat "$T/op.out")"
		stop_vmsd; continue
	fi
	if [ "$p" = install:before-intent ]; then want=absent; else want=new; fi
	got=$(state_of d); left=$(leftovers)
	if [ "$got" = "$want" ] && [ -z "$left" ] && [ "$(state_of c)" = old ]; then
		pass "deploy_killed_at_${p#install:}"
	else
		fail "deploy_killed_at_${p#install:}" "d is $got (want $want), c is $(state_of c), left over: $left"
	fi
	stop_vmsd
done

# Remove and remove --purge: killed before the intent, the contract stays;
# after it, it is gone (its ledger in removed/, or purged).
for p in remove:before-intent remove:intent-written remove:moved \
    remove:key-unlinked; do
	if ! crash "$p" rpc remove '{"contract":"c"}'; then
		fail "remove_killed_at_${p#remove:}" "vmsd did not die there: $(cat "$T/op.out")"
		stop_vmsd; continue
	fi
	if [ "$p" = remove:before-intent ]; then
		expect_case "remove_killed_at_${p#remove:}" old
	else
		got=$(state_of c); left=$(leftovers)
		if [ "$got" = absent ] && [ -z "$left" ] && removed_ok &&
		    [ ! -e "$T/state/keys/c.key" ] && [ ! -e "$T/state/keys/c.head" ]; then
			pass "remove_killed_at_${p#remove:}"
		else
			fail "remove_killed_at_${p#remove:}" "c is $got, left over: $left, removed: $(ls "$T/state/removed")"
		fi
		stop_vmsd
	fi
done
for p in remove:moved remove:purged; do
	if ! crash "$p" rpc remove '{"contract":"c","purge":true}'; then
		fail "purge_killed_at_${p#remove:}" "vmsd did not die there: $(cat "$T/op.out")"
		stop_vmsd; continue
	fi
	got=$(state_of c); left=$(leftovers)
	if [ "$got" = absent ] && [ -z "$left" ] && [ -z "$(ls "$T/state/removed")" ] &&
	    [ ! -e "$T/state/keys/c.key" ]; then
		pass "purge_killed_at_${p#remove:}"
	else
		fail "purge_killed_at_${p#remove:}" "c is $got, left over: $left, removed: $(ls "$T/state/removed")"
	fi
	stop_vmsd
done

# After all that, an operation not interrupted leaves no intent behind and
# the audit of the replaced contract passes.
rm -rf "$T/state"; cp -a "$T/pristine" "$T/state"
start_vmsd || { fail final "vmsd did not start"; exit 1; }
out=$(deploy c "$T/new.lua" '{"replace":true}')
check replace_uninterrupted "got $out, left over: $(leftovers)" [ "$(printf '%s\n' "$out" | field result.size)" = 1 -a -z "$(leftovers)" ]
out=$(VMSCTL_KNOWN="$T/known.final" "$VMSCTL" -s "$T/s.sock" audit c 2>&1); rc=$?
check audit_after_replace "exit $rc: $out" [ $rc -eq 0 ]
stop_vmsd; rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
