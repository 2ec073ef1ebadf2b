#!/bin/sh
# receipts.sh — a receipt for every call: the reply carries it (also for a
# call the contract failed), `vmsctl call --receipt` saves it as a C2SP
# tlog-proof, `vmsctl verify-receipt` checks it offline and says what was
# called, by whom, with what result, and refuses it after tampering with
# the entry, the proof, the index or the checkpoint; `vmsctl prove` makes
# one for any entry (also in an older checkpoint, `checkpoint --size`);
# `verify-receipt --against URL` holds against the honest host, and proves
# a fork once the host serves a ledger rewritten without the receipted
# entry (or with it replaced), printing both signed checkpoints.
. "$TOP/tests/integration/lib/daemon.sh"
. "$TOP/tests/tools/forge.sh"

VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
VMSCTL_KNOWN="$T/known_contracts"
export VMSCTL_KNOWN
forge_build || exit 1
PORT=$(free_port 17) || { echo "FAIL port: no free port"; exit 1; }
URL=http://127.0.0.1:$PORT/c/guestlist
V() { "$VMSCTL" -s "$T/s.sock" "$@"; }
has() { grep -q -- "$2" "$1"; }

if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
V deploy "$TOP/examples/guestlist.lua" >/dev/null
VK=$(curl -s "$URL/vkey")
for i in 1 2 3 4 5; do V call guestlist RSVP "g$i" true x >/dev/null; done

# The reply's receipt, over the raw protocol.
rpc call '{"contract":"guestlist","method":"RSVP","args":["amy",true,"yes"]}' >"$T/reply"
python3 - "$T/reply" <<'PY' && pass reply_receipt || fail reply_receipt "$(cat "$T/reply")"
import json, sys
r = json.load(open(sys.argv[1]))["result"]
rc = r["receipt"]
assert rc["index"] == r["index"] == 6 and rc["size"] >= 7
assert rc["checkpoint"].split("\n")[1] == str(rc["size"])
assert len(rc["proof"]) >= 1 and "entry" not in rc and len(rc["leaf_hash"]) == 44
PY

# call --receipt, verified offline
out=$(V call --receipt "$T/r.tlog-proof" guestlist RSVP bob false "Sorry" 2>&1)
check call_receipt "got $out" sh -c "[ '$out' = null ] && head -1 '$T/r.tlog-proof' | grep -qx 'c2sp.org/tlog-proof@v1'"
V verify-receipt "$T/r.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc=$?
check verify_offline "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 0 ] && grep -q 'VALID — entry 7 of' '$T/out' &&
    grep -q 'call:   RSVP \[\"bob\",false,\"Sorry\"\]' '$T/out' && grep -q 'by:     unix:' '$T/out' && grep -q 'result: null' '$T/out'"
V verify-receipt "$T/r.tlog-proof" --key "$VK" --json >"$T/out" 2>&1
python3 - "$T/out" <<'PY' && pass verify_json || fail verify_json "$(cat "$T/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] and r["index"] == 7 and r["entry"]["method"] == "RSVP" and r["entry"]["args"] == ["bob", False, "Sorry"]
PY
# a signed call over HTTP (an identity of its own) has one too, naming
# the key as the caller
XDG_CONFIG_HOME="$T/id" "$VMSCTL" keygen >/dev/null 2>&1
XDG_CONFIG_HOME="$T/id" "$VMSCTL" --remote "http://127.0.0.1:$PORT" call \
    --receipt "$T/signed.tlog-proof" guestlist RSVP dan true x >"$T/out" 2>&1; rc=$?
V verify-receipt "$T/signed.tlog-proof" --key "$VK" >>"$T/out" 2>&1; rc2=$?
check receipt_of_signed_call "rc=$rc/$rc2 $(cat "$T/out")" sh -c "[ $rc = 0 ] && [ $rc2 = 0 ] &&
    grep -q 'VALID — entry 8 of' '$T/out' && grep -q 'by:     ed25519:' '$T/out'"
# a failed call is recorded: it has a receipt too
out=$(V call --receipt "$T/err.tlog-proof" guestlist RSVP "" true 2>&1); rc=$?
V verify-receipt "$T/err.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc2=$?
check receipt_of_error "rc=$rc/$rc2 $out $(cat "$T/out")" sh -c "[ $rc = 1 ] && [ $rc2 = 0 ] && grep -q 'error:  \"guestlist:' '$T/out'"
# without --key: the key remembered by vmsctl audit for the origin
V verify-receipt "$T/r.tlog-proof" >"$T/out" 2>&1; rc=$?
check verify_needs_key "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 2 ] && grep -q 'give --key' '$T/out'"
V audit guestlist >/dev/null 2>&1
V verify-receipt "$T/r.tlog-proof" >"$T/out" 2>&1; rc=$?
check verify_trust_store "rc=$rc $(cat "$T/out")" [ $rc = 0 ]

# Tampering: the entry, the proof, the index, the checkpoint's root, its
# signature; and an --entry that is not the receipt's.
tamper() {	# tamper NAME PYTHON-EXPR-ON-lines
	python3 - "$T/r.tlog-proof" "$T/bad.tlog-proof" "$2" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
exec(sys.argv[3])
open(sys.argv[2], "w").write("\n".join(lines))
PY
	V verify-receipt "$T/bad.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc=$?
	check "tamper_$1" "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'INVALID' '$T/out'"
}
tamper entry 'e = base64.b64decode(lines[1][6:]); e = e.replace(b"Sorry", b"Happy"); lines[1] = "extra " + base64.b64encode(e).decode()'
tamper proof 'h = bytearray(base64.b64decode(lines[3])); h[0] ^= 1; lines[3] = base64.b64encode(bytes(h)).decode()'
tamper index 'lines[2] = "index 6"'
tamper root 'i = lines.index("") + 3; h = bytearray(base64.b64decode(lines[i])); h[5] ^= 1; lines[i] = base64.b64encode(bytes(h)).decode()'
tamper signature 'i = len(lines) - 2; lines[i] = lines[i][:-6] + ("AAAA==" if lines[i][-6:] != "AAAA==" else "BBBB==")'
python3 -c 'import base64,sys; l=open(sys.argv[1]).read().split("\n"); sys.stdout.buffer.write(base64.b64decode(l[1][6:]))' \
    "$T/r.tlog-proof" >"$T/entry"
printf 'x' >>"$T/entry.other"
cat "$T/entry" >>"$T/entry.other"
V verify-receipt "$T/r.tlog-proof" --key "$VK" --entry "$T/entry.other" >"$T/out" 2>&1; rc=$?
check verify_other_entry "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'INVALID' '$T/out'"
# a receipt without the entry, and the entry given apart
grep -v '^extra ' "$T/r.tlog-proof" >"$T/noentry.tlog-proof"
V verify-receipt "$T/noentry.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc=$?
check verify_no_entry "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 2 ] && grep -q -- '--entry' '$T/out'"
V verify-receipt "$T/noentry.tlog-proof" --key "$VK" --entry "$T/entry" >"$T/out" 2>&1; rc=$?
check verify_entry_apart "rc=$rc $(cat "$T/out")" [ $rc = 0 ]
V verify-receipt "$T/noentry.tlog-proof" --key "$VK" --entry "$T/entry.other" >"$T/out" 2>&1; rc=$?
check verify_entry_apart_wrong "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'INVALID' '$T/out'"

# prove: any entry, in the latest or an older checkpoint
V prove guestlist 2 -o "$T/p2.tlog-proof" && V verify-receipt "$T/p2.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc=$?
check prove_latest "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 0 ] && grep -q 'VALID — entry 2 of' '$T/out' && grep -q 'RSVP \[\"g2\"' '$T/out'"
V prove guestlist 0 --size 4 -o "$T/p0.tlog-proof" && V verify-receipt "$T/p0.tlog-proof" --key "$VK" >"$T/out" 2>&1; rc=$?
check prove_older "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 0 ] && grep -q 'checkpoint of size 4' '$T/out' && grep -q 'deploy:  contract guestlist' '$T/out'"
V checkpoint guestlist --size 4 >"$T/cp4"
python3 - "$T/cp4" "$T/p0.tlog-proof" <<'PY' && pass checkpoint_size || fail checkpoint_size "$(cat "$T/cp4")"
import sys
cp = open(sys.argv[1]).read()
proof = open(sys.argv[2]).read()
assert cp.split("\n")[1] == "4" and proof.split("\n\n", 1)[1] == cp
PY
V checkpoint guestlist --size 99999 >"$T/out" 2>&1; rc=$?
check checkpoint_size_none "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'no checkpoint was signed at size 99999' '$T/out'"
V prove guestlist 99 >"$T/out" 2>&1; rc=$?
check prove_beyond "rc=$rc $(cat "$T/out")" [ $rc = 1 ]

# Against the honest host: held.
V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
check against_held "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 0 ] && grep -q 'HELD' '$T/out'"

# The host drops the receipted entry 7 (entries 8.. move down: the signed
# call is at 7 now), re-signs
# with its own key and serves that: a fork, proven from its tiles.
for i in 1 2 3; do V call guestlist RSVP "late$i" true x >/dev/null; done
stop_vmsd
host() {	# host FORGE-REWRITE-ARGS...: serve a rewritten ledger
	rm -rf "$T/forged"
	"$FORGE" rewrite "$T/state/contracts/guestlist" "$T/forged" \
	    "$T/state/keys/guestlist.key" "$@" >"$T/forge.out" 2>&1 ||
	    { fail forge "$(cat "$T/forge.out")"; return 1; }
	mv "$T/state/contracts/guestlist" "$T/honest"
	mv "$T/forged" "$T/state/contracts/guestlist"
	start_vmsd --listen 127.0.0.1:$PORT || { fail restart "vmsd"; return 1; }
}
unhost() {
	stop_vmsd
	rm -rf "$T/state/contracts/guestlist"
	mv "$T/honest" "$T/state/contracts/guestlist"
}
host --drop 7 && {
	V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
	check against_dropped_fork "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] &&
	    grep -q 'FORK — the log.s checkpoint of size 12 holds another entry at index 7' '$T/out' &&
	    grep -q 'receipt.s checkpoint (signed):' '$T/out' && grep -q 'served checkpoint (signed):' '$T/out' &&
	    [ \$(grep -c '^— ' '$T/out') = 2 ] && grep -q 'RSVP \[\"dan\",true' '$T/out'"
	# the audit through the tiles sees it too
	"$VMSCTL" audit --remote "$URL" >"$T/out" 2>&1; rc=$?
	check audit_remote_fork "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'FAIL' '$T/out'"
	unhost
}
# The host replaces the entry's result instead (same size).
host --set-result 7 '"we never said sorry"' && {
	V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
	check against_replaced_fork "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'FORK' '$T/out' && grep -q 'we never said sorry' '$T/out'"
	unhost
}
# The host rewrites an earlier entry: the receipted one is still there,
# but the tree is not the one the receipt's checkpoint signs.
host --set-result 2 '"rewritten"' && {
	V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
	check against_history_fork "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'FORK' '$T/out' && grep -q 'rewrote history' '$T/out'"
	unhost
}
# The host rolls back to before the entry: missing (an older copy looks
# the same), both checkpoints printed.
host --drop 12 --drop 11 --drop 10 --drop 9 --drop 8 --drop 7 && {
	V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
	check against_rolled_back "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 1 ] && grep -q 'MISSING' '$T/out' && grep -q 'agrees' '$T/out' && [ \$(grep -c '^— ' '$T/out') = 2 ]"
	unhost
}
start_vmsd --listen 127.0.0.1:$PORT || fail restart "vmsd"
V verify-receipt "$T/r.tlog-proof" --key "$VK" --against "$URL" >"$T/out" 2>&1; rc=$?
check against_honest_again "rc=$rc $(cat "$T/out")" sh -c "[ $rc = 0 ] && grep -q 'HELD' '$T/out'"

# A batch of calls (24 pipelined on one connection: one commit): their
# receipts share a checkpoint and most of their proofs' nodes (the worker
# encodes each shared node once); every proof leads to the signed root.
python3 - "$T/batch.in" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(24):
        f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": "call",
            "params": {"contract": "guestlist", "method": "RSVP",
                       "args": ["batch%d" % i, True, "x"]}}) + "\n")
PY
$RPC -s "$T/s.sock" raw --wait 10 <"$T/batch.in" >"$T/batch.out" 2>&1
python3 - "$T/batch.out" <<'PY' && pass batch_receipts || fail batch_receipts "$(head -c 600 "$T/batch.out")"
import base64, hashlib, json, sys

def h(b):
    return hashlib.sha256(b).digest()

def root_from(leaf, index, size, proof):	# RFC 9162 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1; sn >>= 1
    return r if sn == 0 else None

replies = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert len(replies) == 24, len(replies)
sizes = {}
for r in replies:
    rc = r["result"]["receipt"]
    note = rc["checkpoint"].split("\n")
    size, root = int(note[1]), base64.b64decode(note[2])
    assert size == rc["size"]
    proof = [base64.b64decode(p) for p in rc["proof"]]
    leaf = base64.b64decode(rc["leaf_hash"])
    assert root_from(leaf, rc["index"], size, proof) == root, rc["index"]
    sizes[size] = sizes.get(size, 0) + 1
assert max(sizes.values()) >= 2, sizes	# at least two in one commit
PY
stop_vmsd
