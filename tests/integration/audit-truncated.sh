#!/bin/sh
# audit-truncated.sh — `vmsctl audit --dir` on a ledger whose `entries`
# file is shorter than its signed checkpoint claims (cut mid-record, cut
# on a record boundary, cut inside a record header) and on a directory
# whose state.snap is ahead of its signed checkpoint: each is a FAIL that
# names the file and the offset where the records end, never a crash.
# (A file truncated while it is audited is tested through the source API
# in tests/unit/test-auditdir.c.)
. "$TOP/tests/tools/forge.sh"
forge_build || exit 0

T=$(mktemp -d /tmp/vms-audit-trunc.XXXXXX)
[ -n "$VMS_TEST_KEEP" ] || trap 'rm -rf "$T"' EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
ORIGIN=test.example/vmsd/guestlist

write_guestlist "$T/guestlist.lua"
write_calls "$T/calls" 20
head -10 "$T/calls" >"$T/calls10"
"$FORGE" keygen "$T/key" &&
"$FORGE" build "$T/led" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls" &&
"$FORGE" build "$T/short" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls10" ||
    { echo "FAIL setup: cannot build the ledgers"; exit 1; }

# The offset of entry record I (0-based) in FILE, counting commit records.
rec_off() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read(); want = int(sys.argv[2]); o = n = 0
while o + 4 <= len(b):
    l = struct.unpack('>I', b[o:o + 4])[0]
    if not l & 0x80000000:
        if n == want:
            print(o); break
        n += 1
    o += 4 + (l & 0x7fffffff)
PY
}
fresh() { rm -rf "$T/c" "$VMSCTL_KNOWN"; cp -r "$T/led" "$T/c"; }

# expect NAME RC TEXT: run audit --dir on $T/c, TEXT must be in the output
expect() {
	name=$1 want=$2 txt=$3
	out=$("$VMSCTL" audit --dir "$T/c" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want: $out"
	elif ! printf '%s\n' "$out" | grep -qF -- "$txt"; then
		echo "FAIL $name: output lacks \"$txt\": $out"
	else
		echo "PASS $name"
	fi
}

off20=$(rec_off "$T/led/entries" 20)
[ -n "$off20" ] || { echo "FAIL setup: no entry 20 in the ledger"; exit 1; }
len20=$(python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(); print(struct.unpack('>I', b[$off20:$off20+4])[0])" "$T/led/entries")

# Cut in the middle of entry 20: the checkpoint file still signs 21.
fresh; truncate -s $((off20 + 4 + 100)) "$T/c/entries"
expect cut-mid-record 1 "guestlist: FAIL at entry 20: entry 20 is missing (the ledger holds 20 entries, the checkpoint covers 21): $T/c/entries holds 20 entries: the record at offset $off20 claims $len20 bytes, the file ends at offset $((off20 + 104)) (truncated mid-record)"

# Cut exactly before entry 20: every record is whole, one is missing.
fresh; truncate -s "$off20" "$T/c/entries"
expect cut-on-boundary 1 "guestlist: FAIL at entry 20: entry 20 is missing (the ledger holds 20 entries, the checkpoint covers 21): $T/c/entries holds 20 entries: the file ends at offset $off20, after a complete record"

# Cut inside a record header.
fresh; truncate -s $((off20 + 2)) "$T/c/entries"
expect cut-in-header 1 "$T/c/entries holds 20 entries: a record header at offset $off20 is cut short (2 of 4 bytes; the file ends at offset $((off20 + 2)))"

# Cut inside the deploy entry: nothing is readable.
fresh; truncate -s 50 "$T/c/entries"
expect cut-deploy 1 "guestlist: FAIL at entry 0: entry 0 is missing: $T/c/entries holds 0 entries: the record at offset 0 claims"

# The same, in JSON: ok false, the reason carries the offset.
fresh; truncate -s $((off20 + 4 + 100)) "$T/c/entries"
out=$("$VMSCTL" audit --dir "$T/c" --json 2>/dev/null); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q '"ok":false' &&
    printf '%s' "$out" | grep -qF "the record at offset $off20 claims" &&
    echo "PASS cut-json" || echo "FAIL cut-json: exit $rc: $out"

# A torn tail past the signed checkpoint (a crash mid-append) is fine.
fresh; printf '\000\000\001\000{"partial' >>"$T/c/entries"
expect torn-tail-unsigned 0 "guestlist: OK — 21 entries, checkpoint 21 verified"

# state.snap ahead of the signed checkpoint: the host's state holds
# entries its ledger does not sign. A failure, as through the daemon.
rm -rf "$T/c" "$VMSCTL_KNOWN"; cp -r "$T/short" "$T/c"
expect snap-behind-ok 0 "guestlist: OK — 11 entries, checkpoint 11 verified"
rm -f "$VMSCTL_KNOWN"; cp "$T/led/state.snap" "$T/c/state.snap"
expect snap-ahead 1 "guestlist: FAIL: state.snap claims index 21 beyond the signed checkpoint 11: the host's state holds entries its ledger does not sign"
exit 0
