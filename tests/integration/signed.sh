#!/bin/sh
# signed.sh — signed calls through the real daemon (vmsd-protocol(7),
# "Signed calls"): vmsctl keygen/whoami; 300 signed RSVPs from
# `vmsctl --remote` by 20 identities, each writing /rsvps/<caller id>.json;
# a replayed request, one signed for another contract and one with a bad
# signature refused and absent from the ledger; the nonces surviving a
# kill -9 of the daemon and a lost snapshot; the audit passing, and
# failing at the entry whose signature a dishonest host altered.
. "$TOP/tests/integration/lib/daemon.sh"
. "$TOP/tests/tools/forge.sh"

PORT=$(free_port 11) || { echo "FAIL port: no free port"; exit 1; }
URL=http://127.0.0.1:$PORT
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
export VMSCTL_KNOWN="$T/known"
# 300 RSVPs from one address as fast as they go: no rate limit per address
# here (the limits are http.sh's and limits.sh's).
printf 'call_rate_per_address = 0\n' >"$T/vmsd.conf"
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
V() { "$VMSCTL" -s "$T/s.sock" "$@"; }
V deploy "$TOP/examples/guestlist.lua" >/dev/null &&
V deploy --name party "$TOP/examples/guestlist.lua" >/dev/null ||
    { fail deploy "cannot deploy"; exit 1; }
ORIGIN=$(V info guestlist | sed -n 's/^origin: *//p')

# ---- identities ----
export XDG_CONFIG_HOME="$T/id0"
out=$("$VMSCTL" keygen); rc=$?
id0=$("$VMSCTL" whoami)
mode=$(stat -c %a "$T/id0/vmsctl/identity" 2>/dev/null)
dmode=$(stat -c %a "$T/id0/vmsctl" 2>/dev/null)
check keygen "rc=$rc mode=$mode/$dmode out=$out id=$id0" sh -c \
    "[ $rc = 0 ] && [ '$mode' = 600 ] && [ '$dmode' = 700 ] &&
     echo '$id0' | grep -Eq '^ed25519:[A-Za-z0-9_-]{43}$' &&
     echo '$out' | grep -q 'caller: *$id0'"
cp "$T/id0/vmsctl/identity" "$T/id0.saved"
out=$("$VMSCTL" keygen 2>&1); rc=$?
check keygen_no_overwrite "rc=$rc out=$out" sh -c \
    "[ $rc = 1 ] && cmp -s '$T/id0/vmsctl/identity' '$T/id0.saved' &&
     echo '$out' | grep -q -- '--force'"
"$VMSCTL" keygen --force >/dev/null; id0b=$("$VMSCTL" whoami)
check keygen_force "same id $id0b" [ "$id0b" != "$id0" ]
cp "$T/id0.saved" "$T/id0/vmsctl/identity"
chmod 644 "$T/id0/vmsctl/identity"
out=$("$VMSCTL" whoami 2>&1); rc=$?
check identity_mode_refused "rc=$rc out=$out" sh -c \
    "[ $rc = 1 ] && echo '$out' | grep -q 'chmod 600'"
chmod 600 "$T/id0/vmsctl/identity"
out=$(XDG_CONFIG_HOME=$T/none "$VMSCTL" whoami 2>&1); rc=$?
check whoami_no_identity "rc=$rc out=$out" sh -c \
    "[ $rc = 1 ] && echo '$out' | grep -q 'vmsctl keygen'"

# Local calls keep peer credentials; --sign signs them too; a remote
# call with --no-sign is anonymous (vmsd refuses it: anonymous_calls = no).
V call guestlist RSVP local true >/dev/null
V --sign call guestlist RSVP signedlocal true >/dev/null
out=$("$VMSCTL" --remote "$URL" --no-sign call guestlist RSVP anon true 2>&1); rc=$?
V --json log guestlist --from 1 >"$T/log1"
check local_peercred "$(cut -c1-300 "$T/log1")" sh -c \
    "sed -n 1p '$T/log1' | grep -q '\"auth\":\"peercred\"' &&
     sed -n 2p '$T/log1' | grep -q '\"caller\":\"$id0\"' &&
     sed -n 2p '$T/log1' | grep -q '\"auth\":\"ed25519\"'"
check no_sign_is_anonymous "rc=$rc out=$out" sh -c \
    "[ $rc = 1 ] && echo '$out' | grep -q 'anonymous remote calls are off'"

# ---- 300 signed RSVPs over HTTP, 20 identities, 4 at a time ----
before=$(V info guestlist | sed -n 's/^size: *//p')
i=1
while [ $i -le 20 ]; do
	XDG_CONFIG_HOME="$T/id$i" "$VMSCTL" keygen >/dev/null || fail keygen_$i "failed"
	i=$((i + 1))
done
rsvps() {	# rsvps FIRST LAST: identities FIRST..LAST, 15 calls each
	n=$1
	while [ "$n" -le "$2" ]; do
		k=1
		while [ $k -le 15 ]; do
			att=true; [ $((k % 2)) = 0 ] && att=false
			XDG_CONFIG_HOME="$T/id$n" "$VMSCTL" --remote "$URL" \
			    call guestlist RSVP "guest$n" $att "call $k" \
			    >/dev/null 2>>"$T/rsvp.err" || echo "id$n call $k" >>"$T/rsvp.fail"
			k=$((k + 1))
		done
		n=$((n + 1))
	done
}
t0=$(date +%s)
rsvps 1 5 & p1=$!; rsvps 6 10 & p2=$!; rsvps 11 15 & p3=$!; rsvps 16 20 & p4=$!
wait $p1 $p2 $p3 $p4
t1=$(date +%s)
after=$(V info guestlist | sed -n 's/^size: *//p')
check rsvp_300 "$(cat "$T/rsvp.fail" 2>/dev/null | wc -l) failed: $(head -3 "$T/rsvp.err" 2>/dev/null); size $before -> $after" \
    sh -c "[ ! -s '$T/rsvp.fail' ] && [ $((after - before)) = 300 ]"
echo "     300 signed RSVPs by 20 identities (4 in parallel): $((t1 - t0)) s"
# every identity's file, written by its own signed calls
ok=1; i=1
while [ $i -le 20 ]; do
	id=$(XDG_CONFIG_HOME="$T/id$i" "$VMSCTL" whoami)
	got=$(V read guestlist "/rsvps/$id.json" 2>&1)
	echo "$got" | grep -q "\"id\":\"$id\"" && echo "$got" | grep -q "\"name\":\"guest$i\"" &&
	    echo "$got" | grep -q '"reason":"call 15"' || { ok=0; echo "     id$i: $got"; }
	i=$((i + 1))
done
check rsvp_files "a file is missing or wrong" [ $ok = 1 ]
V --json log guestlist --from "$before" --count 300 >"$T/log300"
python3 - "$T/log300" <<'PY' >"$T/check300" 2>&1
import json, sys
last, n = {}, 0
for line in open(sys.argv[1]):
    e = json.loads(line)["entry"]
    assert e["auth"] == "ed25519", e["auth"]
    s = e["signed"]
    assert e["caller"] == "ed25519:" + s["key"]
    assert e["writes"][0]["path"] == "/rsvps/%s.json" % e["caller"], e["writes"]
    assert s["nonce"] > last.get(s["key"], 0), "nonce order"
    last[s["key"]] = s["nonce"]
    n += 1
assert n == 300 and len(last) == 20, (n, len(last))
print("ok")
PY
check rsvp_entries "$(tail -3 "$T/check300")" grep -q '^ok$' "$T/check300"

# ---- refusals: nothing recorded ----
# the request of the latest signed entry, sent again (a replay)
V --json log guestlist --from $((after - 1)) >"$T/last"
python3 - "$T/last" "$T" <<'PY'
import json, sys
e = json.loads(open(sys.argv[1]).readline())["entry"]
def req(contract, signed):
    return json.dumps({"contract": contract, "method": e["method"],
                       "args": e["args"], "signed": signed})
s = dict(e["signed"])
open(sys.argv[2] + "/replay.json", "w").write(req("guestlist", s))
open(sys.argv[2] + "/other.json", "w").write(req("party", s))
b = dict(s); b["sig"] = ("B" if s["sig"][0] == "A" else "A") + s["sig"][1:]
b["nonce"] = s["nonce"] + 1
open(sys.argv[2] + "/badsig.json", "w").write(req("guestlist", b))
PY
size0=$(V info guestlist | sed -n 's/^size: *//p')
psize0=$(V info party | sed -n 's/^size: *//p')
out=$($RPC -t "127.0.0.1:$PORT" call call "$(cat "$T/replay.json")")
check replay_refused "$out" sh -c "echo '$out' | grep -q '\"code\":-32012' &&
    echo '$out' | grep -q 'last_nonce'"
out=$(rpc call "$(cat "$T/replay.json")")
check replay_refused_socket "$out" sh -c "echo '$out' | grep -q '\"code\":-32012'"
out=$($RPC -t "127.0.0.1:$PORT" call call "$(cat "$T/other.json")")
check other_contract_refused "$out" sh -c "echo '$out' | grep -q '\"code\":-32011' &&
    echo '$out' | grep -q 'party'"
out=$($RPC -t "127.0.0.1:$PORT" call call "$(cat "$T/badsig.json")")
check bad_signature_refused "$out" sh -c "echo '$out' | grep -q '\"code\":-32010'"
size1=$(V info guestlist | sed -n 's/^size: *//p')
psize1=$(V info party | sed -n 's/^size: *//p')
check refusals_not_recorded "guestlist $size0 -> $size1, party $psize0 -> $psize1" \
    sh -c "[ '$size0' = '$size1' ] && [ '$psize0' = '$psize1' ]"

# ---- the nonces survive kill -9 and a lost snapshot ----
kill -KILL "$VPID"; wait "$VPID" 2>/dev/null; VPID=
sleep 0.3
start_vmsd --listen 127.0.0.1:$PORT || fail restart "vmsd did not restart"
out=$($RPC -t "127.0.0.1:$PORT" call call "$(cat "$T/replay.json")")
check replay_refused_after_kill "$out" sh -c "echo '$out' | grep -q '\"code\":-32012'"
stop_vmsd
rm -f "$T/state/contracts/guestlist/state.snap"
start_vmsd --listen 127.0.0.1:$PORT || fail restart "vmsd did not restart"
out=$($RPC -t "127.0.0.1:$PORT" call call "$(cat "$T/replay.json")")
check replay_refused_after_rebuild "$out" sh -c "echo '$out' | grep -q '\"code\":-32012'"
out=$(XDG_CONFIG_HOME="$T/id3" "$VMSCTL" --remote "$URL" call guestlist RSVP again true 2>&1)
check signed_after_restart "$out" [ "$out" = null ]

# the REPL signs as call does (one origin lookup, increasing nonces)
out=$(printf 'RSVP("r1", true)\nRSVP("r2", false)\n' |
    XDG_CONFIG_HOME="$T/id4" "$VMSCTL" --remote "$URL" repl guestlist 2>&1)
id4=$(XDG_CONFIG_HOME="$T/id4" "$VMSCTL" whoami)
got=$(V read guestlist "/rsvps/$id4.json" 2>&1)
check repl_signed "$out / $got" sh -c "echo '$got' | grep -q '\"name\":\"r2\"'"

# ---- the audit ----
out=$(V audit guestlist 2>&1)
check audit_signed "$out" sh -c "echo '$out' | grep -q 'guestlist: OK'"
# A dishonest host alters entry $bad's signature and re-signs the tree with
# the contract's real key: the checkpoint verifies, the replay does not.
bad=$((before + 5))	# (check() uses $n)
V --json log guestlist --from $bad --count 1 | python3 -c '
import json, sys
s = json.loads(sys.stdin.readline())["entry"]["signed"]
s["sig"] = s["sig"][:10] + ("A" if s["sig"][10] != "A" else "B") + s["sig"][11:]
print(json.dumps(s))' >"$T/altered"
stop_vmsd
forge_build || exit 0
rm -f "$VMSCTL_KNOWN"
out=$("$VMSCTL" audit --dir "$T/state/contracts/guestlist" 2>&1)
check audit_dir_signed "$out" sh -c "echo '$out' | grep -q 'guestlist: OK'"
rm -rf "$T/copy" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/state/contracts/guestlist" "$T/copy" \
    "$T/state/keys/guestlist.key" "--set=signed" "$bad" "$(cat "$T/altered")" ||
    fail forge "rewrite failed"
out=$("$VMSCTL" audit --dir "$T/copy" 2>&1); rc=$?
check audit_altered_signature "rc=$rc $out" sh -c "[ $rc = 1 ] &&
    echo '$out' | grep -q 'FAIL at entry $bad .*bad signature'"
# the same rewrite without the alteration passes: the failure is the signature's
rm -rf "$T/copy2" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/state/contracts/guestlist" "$T/copy2" \
    "$T/state/keys/guestlist.key" >/dev/null 2>&1
out=$("$VMSCTL" audit --dir "$T/copy2" 2>&1); rc=$?
check audit_rewritten_honest "rc=$rc $out" [ $rc = 0 ]
