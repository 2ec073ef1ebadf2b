#!/bin/sh
# daemon-contracts.sh — contracts over the raw protocol: deploy, call, log,
# checkpoint (verified independently), restart without loss, snapshot
# recovery, replace, stop/start/remove, debug_auth, and the admin check for
# a non-admin peer.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'socket_mode = 0666\nidle_timeout = 60\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi

verify_ledger() {	# verify_ledger NAME: independent root + signature check
	rpc log "{\"contract\":\"$1\",\"count\":10000}" | field result >"$T/log.json"
	rpc checkpoint "{\"contract\":\"$1\"}" | field result >"$T/cp.json"
	vk=$(rpc info "{\"contract\":\"$1\"}" | field result.vkey)
	python3 "$LIB/verify.py" "$T/log.json" "$T/cp.json" "$vk"
}

out=$(deploy counter "$T/counter.lua")
if [ "$(printf "%s\n" "$out" | field result.size)" = 1 ] && printf "%s\n" "$out" | field result.vkey | grep -q '^.*/vmsd/counter+[0-9a-f]\{8\}+' &&
    printf "%s\n" "$out" | field result.methods | grep -q '"inc"'; then
	pass deploy
else
	fail deploy "got $out"
fi
check deploy_key_0600 "key mode" [ "$(stat -c %a "$T/state/keys/counter.key" 2>/dev/null)" = 600 ]

out=$(deploy counter "$T/counter.lua")
check deploy_exists "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32004 ]
out=$(rpc deploy '{"name":"../etc","code":"return {}"}')
check deploy_bad_name "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32602 ]
printf 'return {{{' >"$T/bad.lua"
out=$(deploy broken "$T/bad.lua")
if [ "$(printf "%s\n" "$out" | field error.code)" = -32000 ] && [ ! -e "$T/state/contracts/broken" ] &&
    [ ! -e "$T/state/keys/broken.key" ] && ! ls -a "$T/state/contracts" "$T/state/keys" | grep -q deploy; then
	pass failed_deploy_leaves_nothing
else
	fail failed_deploy_leaves_nothing "got $out; $(ls -a "$T/state/contracts" "$T/state/keys")"
fi
out=$(deploy limited "$T/counter.lua" '{"limits":{"nosuchlimit":5}}')
check deploy_bad_limit "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32602 ]

r1=$(rpc call '{"contract":"counter","method":"inc","args":[]}')
r2=$(rpc call '{"contract":"counter","method":"inc"}')
if [ "$(printf "%s\n" "$r1" | field result.value)" = 1 ] && [ "$(printf "%s\n" "$r1" | field result.index)" = 1 ] &&
    [ "$(printf "%s\n" "$r2" | field result.value)" = 2 ] && [ "$(printf "%s\n" "$r2" | field result.index)" = 2 ]; then
	pass call_value_and_index
else
	fail call_value_and_index "got $r1 / $r2"
fi
out=$(rpc call '{"contract":"counter","method":"whoami","args":[]}')
check caller_is_peercred "got $out" [ "$(printf "%s\n" "$out" | field result.value)" = "unix:$(id -un)" ]
out=$(rpc call '{"contract":"counter","method":"boom","args":[]}')
if [ "$(printf "%s\n" "$out" | field error.code)" = -32000 ] && printf "%s\n" "$out" | field error.message | grep -q 'boom: on purpose' &&
    [ "$(printf "%s\n" "$out" | field error.data.index)" = 4 ]; then
	pass contract_error_recorded
else
	fail contract_error_recorded "got $out"
fi
out=$(rpc call '{"contract":"counter","method":"nosuch","args":[]}')
check unknown_contract_method "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32006 ]
out=$(rpc call '{"contract":"counter","method":"init","args":[]}')
check init_not_callable "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32006 ]
out=$(rpc call '{"contract":"counter","method":"echo","args":[{"a":[1,2.5,true]},"x"]}')
check json_args_roundtrip "got $out" [ "$(printf "%s\n" "$out" | field result.value)" = '[{"a": [1, 2.5, true]}, "x"]' ]

out=$(rpc log '{"contract":"counter"}')
n=$(printf "%s\n" "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["entries"]))')
e1=$(printf "%s\n" "$out" | python3 -c 'import json,sys,base64; e=json.load(sys.stdin)["result"]["entries"][1]; d=json.loads(base64.b64decode(e["leaf"])); print(d["type"], d["method"], d["ok"], d["auth"])')
e0=$(printf '%s\n' "$out" | python3 -c 'import json,sys,base64; e=json.load(sys.stdin)["result"]["entries"][0]; d=json.loads(base64.b64decode(e["leaf"])); print(d["type"], d["caller"], d["auth"])')
check log_entries "n=$n e1=$e1" [ "$n" = 6 -a "$e1" = "call inc True peercred" ]
check deploy_entry_records_deployer "e0=$e0" [ "$e0" = "deploy unix:$(id -un) peercred" ]
out=$(rpc log '{"contract":"counter","from":4,"count":1}')
check log_from_count "got $(printf "%s\n" "$out" | cut -c1-100)" [ "$(printf "%s\n" "$out" | field result.entries.0.index)" = 4 -a "$(printf "%s\n" "$out" | field result.size)" = 6 ]
# max_bytes: the entries stop once their base64 passes it, one at least;
# without it, count entries whatever their size (ledgerq.c)
nent() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["entries"]))'; }
n1=$(rpc log '{"contract":"counter","from":1,"count":4,"max_bytes":1}' | nent)
n2=$(rpc log '{"contract":"counter","from":1,"count":4,"max_bytes":1000000}' | nent)
n3=$(rpc log '{"contract":"counter","from":1,"count":4}' | nent)
check log_max_bytes "1 byte: $n1, 1 MB: $n2, none: $n3" [ "$n1" = 1 -a "$n2" = 4 -a "$n3" = 4 ]
idx() { python3 -c 'import json,sys; print(" ".join(str(e["index"]) for e in json.load(sys.stdin)["result"]["entries"]))'; }
i1=$(rpc log '{"contract":"counter","from":2,"count":3}' | idx)
i2=$(rpc log '{"contract":"counter","from":5,"count":100}' | idx)
i3=$(rpc log '{"contract":"counter","from":9,"count":100}' | idx)
check log_ranges "from 2 count 3: $i1; from 5: $i2; from 9: '$i3'" [ "$i1" = "2 3 4" -a "$i2" = 5 -a -z "$i3" ]
# An entry whose bytes no longer match its leaf hash (a disk's fault, or
# tampering): the pages that hold it fail with the ledger's error, those
# before and after it are served, and vmsd serves on.
deploy tamper "$T/counter.lua" >/dev/null
for k in 1 2 3 4 5; do rpc call '{"contract":"tamper","method":"inc","args":[]}' >/dev/null; done
python3 - "$T/state/contracts/tamper" <<'PY'
import struct, sys
d = sys.argv[1]
with open(d + "/index", "rb") as f:
    off = struct.unpack(">Q", f.read(32)[24:32])[0]	# entry 3's record
with open(d + "/entries", "r+b") as f:
    f.seek(off + 20)
    b = f.read(1)
    f.seek(off + 20)
    f.write(bytes([b[0] ^ 1]))
PY
o1=$(rpc log '{"contract":"tamper","from":0,"count":10}')
n1=$(rpc log '{"contract":"tamper","from":0,"count":3}' | idx)
n2=$(rpc log '{"contract":"tamper","from":4,"count":10}' | idx)
o3=$(rpc ping)
if printf '%s\n' "$o1" | grep -q "entry 3 does not match its leaf hash" &&
    [ "$n1" = "0 1 2" -a "$n2" = "4 5" ] && printf '%s\n' "$o3" | grep -q version; then
	pass log_corrupt_entry
else
	fail log_corrupt_entry "got $o1 / $n1 / $n2 / $o3"
fi
rpc remove '{"contract":"tamper","purge":true}' >/dev/null
# Entries whose text passes 64 MiB in one reply (1,200 of ~44 KB: each
# writes a 32 KB file) are refused without max_bytes, before the worker
# holds them all; with max_bytes they come in pages; the contract serves
# on.
cat >"$T/fat.lua" <<'LUA'
local M = {}
function M.big(tag)
  System.files.writeFile('/' .. tag, string.rep(tag .. '.', 32000 // (#tag + 1)))
end
return M
LUA
deploy fat "$T/fat.lua" >/dev/null
$RPC -s "$T/s.sock" load --clients 2 --calls 600 --pipeline 32 --contract fat --method big --args '["@"]' >"$T/fat.json"
o1=$(rpc log '{"contract":"fat","from":0,"count":10000}')
n2=$(rpc log '{"contract":"fat","from":0,"count":10000,"max_bytes":1000000}' | nent)
o3=$(rpc call '{"contract":"fat","method":"big","args":["x"]}')
if [ "$($JGET ok <"$T/fat.json")" = 1200 ] &&
    printf '%s\n' "$o1" | grep -q '"code":-32602.*the 1201 entries asked for from 0 pass 64 MiB of text' &&
    [ "$n2" -gt 10 -a "$n2" -lt 40 ] && printf '%s\n' "$o3" | grep -q '"result"'; then
	pass log_past_reply_max_refused
else
	fail log_past_reply_max_refused "fill $(cat "$T/fat.json" | cut -c1-100); $(printf '%s' "$o1" | cut -c1-200); paged $n2; $(printf '%s' "$o3" | cut -c1-100)"
fi
rpc remove '{"contract":"fat","purge":true}' >/dev/null
v=$(verify_ledger counter)
check checkpoint_verifies "$v" [ "${v%% *}" = ok ]
out=$(rpc checkpoint '{"contract":"counter","size":3}')
check checkpoint_history_at_size "got $(printf "%s\n" "$out" | cut -c1-100)" [ "$(printf "%s\n" "$out" | field result.size)" = 3 ]
out=$(rpc prove '{"contract":"counter","index":2,"size":6}')
check inclusion_proof "got $out" sh -c "echo '$out' | grep -q proof"
out=$(rpc prove '{"contract":"counter","old":3,"size":6}')
check consistency_proof "got $out" sh -c "echo '$out' | grep -q proof"
out=$(rpc read '{"contract":"counter","path":"/n"}')
check read_file "got $out" [ "$(printf "%s\n" "$out" | field result.data)" = "$(printf 2 | base64)" ]
out=$(rpc read '{"contract":"counter","path":"/nope"}')
check read_missing "got $out" [ "$(printf "%s\n" "$out" | field error.code)" = -32007 ]
out=$(rpc ls '{"contract":"counter"}')
check ls_root "got $out" [ "$(printf '%s\n' "$out" | field result.entries.0.path)" = /n -a "$(printf '%s\n' "$out" | field result.entries.0.type)" = file ]
out=$(rpc state '{"contract":"counter"}')
check state_dump "got $out" [ "$(printf "%s\n" "$out" | field result.index)" = 6 ]
out=$(rpc methods '{"contract":"counter"}')
check methods_handshake "got $out" sh -c "echo '$out' | grep -q whoami"
out=$(rpc info '{"contract":"counter"}')
if [ "$(printf "%s\n" "$out" | field result.status)" = running ] && [ "$(printf "%s\n" "$out" | field result.size)" = 6 ] &&
    printf "%s\n" "$out" | field result.checkpoint | grep -q '^—\|—'; then
	pass info
else
	fail info "got $out"
fi

# Non-admin peer (nobody): may call and read, may not deploy/stop/remove.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	cp "$LIB/rpc.py" "$T/rpc.py"; chmod 644 "$T/rpc.py"
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$T/rpc.py" -s "$T/s.sock" call "$@"; }
	out=$(asnobody deploy '{"name":"x","code":"return {}"}')
	o2=$(asnobody stop '{"contract":"counter"}')
	if [ "$(printf "%s\n" "$out" | field error.code)" = -32003 ] && [ "$(printf "%s\n" "$o2" | field error.code)" = -32003 ] &&
	    printf "%s\n" "$out" | grep -q 'permission denied'; then
		pass nonadmin_denied
	else
		fail nonadmin_denied "got $out / $o2"
	fi
	out=$(asnobody call '{"contract":"counter","method":"whoami","args":[]}')
	check nonadmin_may_call "got $out" [ "$(printf "%s\n" "$out" | field result.value)" = unix:nobody ]
else
	skip nonadmin_denied "needs root and setpriv to run a client as nobody"
fi

# Restart: nothing lost, state served from the snapshot (no roll forward).
before_cp=$(rpc checkpoint '{"contract":"counter"}' | field result.note)
size=$(rpc info '{"contract":"counter"}' | field result.size)
stop_vmsd; rc=$?
check sigterm_exit_0 "rc=$rc" [ $rc -eq 0 ]
check snapshot_saved "no state.snap" [ -f "$T/state/contracts/counter/state.snap" ]
: >"$T/log"
start_vmsd
after_cp=$(rpc checkpoint '{"contract":"counter"}' | field result.note)
out=$(rpc call '{"contract":"counter","method":"inc","args":[]}')
if [ "$before_cp" = "$after_cp" ] && [ "$(printf "%s\n" "$out" | field result.value)" = 3 ] &&
    [ "$(printf "%s\n" "$out" | field result.index)" = "$size" ]; then
	pass restart_nothing_lost
else
	fail restart_nothing_lost "cp same? $( [ "$before_cp" = "$after_cp" ] && echo yes) got $out"
fi
if grep -q 'rolled forward\|rebuilding' "$T/log"; then
	fail restart_uses_snapshot "$(grep 'rolled\|rebuild' "$T/log" | head -2)"
else
	pass restart_uses_snapshot
fi
v=$(verify_ledger counter)
check checkpoint_verifies_after_restart "$v" [ "${v%% *}" = ok ]

# A corrupt snapshot is detected and the state rebuilt from the ledger.
stop_vmsd
printf 'garbage' >"$T/state/contracts/counter/state.snap"
: >"$T/log"
start_vmsd
out=$(rpc call '{"contract":"counter","method":"get","args":[]}')
if [ "$(printf "%s\n" "$out" | field result.value)" = 3 ] && grep -q 'rebuilding' "$T/log"; then
	pass corrupt_snapshot_rebuilt
else
	fail corrupt_snapshot_rebuilt "got $out"
fi

# A torn tail (bytes written past the checkpoint by a crash) is cut off.
stop_vmsd
size=$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$T/state/contracts/counter/entries")
printf '\000\000\001\000{"torn":' >>"$T/state/contracts/counter/entries"
: >"$T/log"
start_vmsd
out=$(rpc call '{"contract":"counter","method":"get","args":[]}')
v=$(verify_ledger counter)
if [ "$(printf '%s\n' "$out" | field result.value)" = 3 ] && grep -q 'torn tail' "$T/log" && [ "${v%% *}" = ok ] &&
    [ "$(grep -c uncommitted "$T/log")" = 1 ]; then
	pass torn_tail_cut
else
	fail torn_tail_cut "got $out, verify $v"
fi

# Periodic snapshots: after a SIGKILL only the entries since the last
# snapshot are applied again.
stop_vmsd
printf 'socket_mode = 0666\nsnapshot_interval = 5\n' >"$T/vmsd.conf"
start_vmsd
i=0
while [ $i -lt 12 ]; do rpc call '{"contract":"counter","method":"inc","args":[]}' >/dev/null; i=$((i + 1)); done
n=$(rpc info '{"contract":"counter"}' | field result.size)
p=$(rpc info '{"contract":"counter"}' | field result.pid)
kill -KILL "$p"
sleep 0.5
: >"$T/log.2"
out=$(rpc call '{"contract":"counter","method":"get","args":[]}')
rolled=$(grep 'rolled forward' "$T/log" | tail -1)
first=$(echo "$rolled" | sed -n 's/.*entries \([0-9]*\)\.\..*/\1/p')
if [ "$(printf '%s\n' "$out" | field result.value)" = 15 ] && [ -n "$first" ] && [ $((n - first)) -le 5 ] && [ $((n - first)) -ge 1 ]; then
	pass periodic_snapshot
else
	fail periodic_snapshot "size $n, $rolled, got $out"
fi

# debug_auth: the "user" param is honoured and marked "debug" in the ledger.
stop_vmsd
printf 'socket_mode = 0666\ndebug_auth = yes\n' >"$T/vmsd.conf"
start_vmsd
out=$(rpc call '{"contract":"counter","method":"whoami","args":[],"user":"alice"}')
idx=$(printf "%s\n" "$out" | field result.index)
auth=$(rpc log "{\"contract\":\"counter\",\"from\":$idx,\"count\":1}" | python3 -c 'import json,sys,base64; e=json.load(sys.stdin)["result"]["entries"][0]; d=json.loads(base64.b64decode(e["leaf"])); print(d["caller"], d["auth"])')
check debug_auth_user "got $out / $auth" [ "$(printf "%s\n" "$out" | field result.value)" = alice -a "$auth" = "alice debug" ]

# stop / start / remove.
out=$(rpc stop '{"contract":"counter"}')
o2=$(rpc call '{"contract":"counter","method":"get","args":[]}')
o3=$(rpc log '{"contract":"counter","count":1}')
o4=$(rpc list)
if [ "$(printf "%s\n" "$out" | field result.status)" = stopped ] && [ "$(printf "%s\n" "$o2" | field error.code)" = -32005 ] &&
    [ "$(printf "%s\n" "$o3" | field result.entries.0.index)" = 0 ] && [ "$(printf "%s\n" "$o4" | field result.contracts.0.status)" = stopped ]; then
	pass stop_refuses_calls_serves_log
else
	fail stop_refuses_calls_serves_log "got $out / $o2 / $o3 / $o4"
fi
stop_vmsd; start_vmsd
o2=$(rpc call '{"contract":"counter","method":"get","args":[]}')
check stop_survives_restart "got $o2" [ "$(printf "%s\n" "$o2" | field error.code)" = -32005 ]
out=$(rpc start '{"contract":"counter"}')
o2=$(rpc call '{"contract":"counter","method":"get","args":[]}')
check start_serves_again "got $out / $o2" [ "$(printf "%s\n" "$o2" | field result.value)" = 15 ]

# replace: a new ledger and a new key, the old ledger kept under removed/.
oldvk=$(rpc info '{"contract":"counter"}' | field result.vkey)
out=$(deploy counter "$T/counter.lua" '{"replace":true}')
newvk=$(printf "%s\n" "$out" | field result.vkey)
o2=$(rpc call '{"contract":"counter","method":"get","args":[]}')
if [ "$(printf "%s\n" "$out" | field result.size)" = 1 ] && [ -n "$newvk" ] && [ "$newvk" != "$oldvk" ] &&
    [ "$(printf "%s\n" "$o2" | field result.value)" = 0 ] && ls "$T/state/removed" | grep -q '^counter\.'; then
	pass replace_new_ledger_new_key
else
	fail replace_new_ledger_new_key "got $out / $o2 / old $oldvk"
fi

out=$(rpc remove '{"contract":"counter"}')
o2=$(rpc list)
if [ "$(printf "%s\n" "$out" | field result.removed)" = true ] && [ "$(printf "%s\n" "$o2" | field result.contracts)" = "[]" ] &&
    [ ! -e "$T/state/keys/counter.key" ] && [ "$(ls "$T/state/removed" | grep -c '^counter\.')" = 2 ]; then
	pass remove_keeps_ledger
else
	fail remove_keeps_ledger "got $out / $o2 / $(ls "$T/state/removed")"
fi
deploy gone "$T/counter.lua" >/dev/null
out=$(rpc remove '{"contract":"gone","purge":true}')
check remove_purge "got $out" [ "$(printf "%s\n" "$out" | field result.purged)" = true -a ! -e "$T/state/contracts/gone" ]

stop_vmsd; rc=$?
check final_exit_0 "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
