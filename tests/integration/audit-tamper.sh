#!/bin/sh
# audit-tamper.sh — `vmsctl audit --dir` on a real ledger (built with the
# engine and ledger libraries by tests/tools/ledger-forge) and on tampered
# copies: every tamper must be caught, with the entry named.
. "$TOP/tests/tools/forge.sh"
forge_build || exit 0

T=$(mktemp -d /tmp/vms-audit-tamper.XXXXXX)
[ -n "$VMS_TEST_KEEP" ] || trap 'rm -rf "$T"' EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
ORIGIN=test.example/vmsd/guestlist

write_guestlist "$T/guestlist.lua"
write_calls "$T/calls" 20
"$FORGE" keygen "$T/key" && "$FORGE" keygen "$T/otherkey" &&
"$FORGE" build "$T/led" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls" ||
    { echo "FAIL setup: cannot build the ledger"; exit 1; }

# fresh COPY: a copy of the honest ledger in $T/c, trust store emptied
fresh() { rm -rf "$T/c" "$VMSCTL_KNOWN"; cp -r "$T/led" "$T/c"; }

# expect NAME RC PATTERN: run audit --dir on $T/c
expect() {
	name=$1 want=$2 pat=$3
	out=$("$VMSCTL" audit --dir "${DIR:-$T/c}" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want: $out"
	elif ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "FAIL $name: output lacks \"$pat\": $out"
	else
		echo "PASS $name"
	fi
}

fresh
expect honest 0 "guestlist: OK — 21 entries, checkpoint 21 verified"
grep -q "^$ORIGIN $ORIGIN+[^ ]* 21 [^ ]* -$" "$VMSCTL_KNOWN" && echo "PASS tofu-remembered" ||
    echo "FAIL tofu-remembered: nothing in $VMSCTL_KNOWN"
out=$("$VMSCTL" audit --dir "$T/c" --json); rc=$?
printf '%s' "$out" | grep -q '"ok":true' && [ $rc -eq 0 ] &&
    printf '%s' "$out" | grep -q '"entries":21' &&
    echo "PASS json-ok" || echo "FAIL json-ok: $out"

fresh; "$FORGE" raw "$T/c" --flip 7 200
expect flip-bit 1 "FAIL at entry 7 "

fresh; "$FORGE" raw "$T/c" --truncate 15
expect truncate 1 "FAIL at entry 15"

fresh; "$FORGE" raw "$T/c" --delete 9
expect delete-middle 1 "FAIL at entry 9 "

fresh; "$FORGE" raw "$T/c" --swap 5 6
expect reorder 1 "FAIL at entry 5 "

# The host lies and re-signs with the contract's real key.
rm -rf "$T/c" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/led" "$T/c" "$T/key" --set-result 12 '"hacked"'
expect lie-resigned 1 "FAIL at entry 12 (call RSVP by unix:user2): result differs: recorded \"hacked\""

# The materialised state (state.snap) holds content no entry wrote.
fresh; "$FORGE" badsnap "$T/c" RSVP '["guest3",false,"forged"]'
expect state-snap 1 "FAIL at entry 20 .*state differs at /guests/guest3"

# A checkpoint signed by some other key under the same name.
fresh; "$FORGE" resign "$T/c" "$T/otherkey"
expect forged-signature 1 "FAIL: checkpoint signature does not verify"

# Fork: a different history, re-signed with the real key at a size this
# auditor already verified: caught by the remembered checkpoint (TOFU).
fresh
"$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1 || echo "FAIL fork: first audit failed"
write_calls "$T/calls2" 25
sed -i 's/note /other /' "$T/calls2"
head -20 "$T/calls2" >"$T/calls3"
rm -rf "$T/c"
"$FORGE" build "$T/c" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls3"
expect fork 1 "FAIL.*fork: the ledger's first 21 entries are not the history verified before at checkpoint 21"

# Rollback: an older, shorter history re-signed after a longer one was seen.
fresh
"$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1
head -10 "$T/calls" >"$T/calls4"
rm -rf "$T/c"
"$FORGE" build "$T/c" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls4"
expect rollback 1 "FAIL at entry 11: checkpoint size 11 is smaller than the checkpoint of size 21"

# Key swap: the same history re-signed by a new key.
fresh
"$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1
rm -rf "$T/c"
"$FORGE" rewrite "$T/led" "$T/c" "$T/otherkey"
expect key-swap 1 "key changed for .* (was test.example/vmsd/guestlist+.*, now test.example/vmsd/guestlist+.*): refusing; use --key"
# ... and accepted only explicitly with --key, after which it is remembered.
newkey=$(cat "$T/c/vkey")
out=$("$VMSCTL" audit --dir "$T/c" --key "$newkey" 2>&1) &&
    "$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1 &&
    echo "PASS key-accepted-explicitly" ||
    echo "FAIL key-accepted-explicitly: $out"

# A wrong pinned key fails even on first use.
fresh
out=$("$VMSCTL" audit --dir "$T/c" --key "$newkey" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "does not verify" &&
    echo "PASS pinned-wrong-key" || echo "FAIL pinned-wrong-key: $rc $out"

# Trust is keyed by the checkpoint's origin, not by the directory: a fresh
# copy somewhere else is no first use (fork, other key, rollback).
rm -rf "$VMSCTL_KNOWN" "$T/c"; cp -r "$T/led" "$T/c"
"$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1 || echo "FAIL origin-tofu: first audit failed"
write_calls "$T/calls5" 20; sed "s/note 5\"/forked\"/" "$T/calls5" >"$T/calls6"; head -9 "$T/calls5" >"$T/calls7"
"$FORGE" build "$T/o-fork" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls6" &&
"$FORGE" build "$T/o-evil" "$T/otherkey" "$ORIGIN" "$T/guestlist.lua" "$T/calls6" &&
"$FORGE" build "$T/o-rb" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls7" ||
    echo "FAIL origin-tofu: cannot build the forks"
DIR="$T/o-fork" expect fork-new-path 1 "FAIL.*fork: the ledger's first 21 entries are not the history verified before"
DIR="$T/o-evil" expect other-key-new-path 1 "^guestlist: FAIL: key changed for guestlist (was $ORIGIN+"
DIR="$T/o-rb" expect rollback-new-path 1 "FAIL at entry 10: checkpoint size 10 is smaller than the checkpoint of size 21"
# An older record keyed "dir:PATH" still binds its origin (read by vkey).
sed -i "s|^$ORIGIN |dir:/some/old/path |; s| -\$||" "$VMSCTL_KNOWN"
DIR="$T/o-rb" expect old-record-read 1 "checkpoint size 10 is smaller than the checkpoint of size 21"
"$VMSCTL" audit --dir "$T/c" >/dev/null 2>&1
grep -q "^$ORIGIN " "$VMSCTL_KNOWN" && ! grep -q "^dir:" "$VMSCTL_KNOWN" &&
    echo "PASS old-record-migrated" || echo "FAIL old-record-migrated: $(cat "$VMSCTL_KNOWN")"
# First use names the origin that is now trusted.
rm -f "$VMSCTL_KNOWN"
DIR="$T/o-evil" expect first-use-names-origin 0 "guestlist: OK — .*; first use: key of origin $ORIGIN now trusted"

# Signed evidence the host left in the directory: a note in `checkpoints`
# or a commit record in `entries` signing another tree at a size the
# entries cover; a note in `checkpoints` with a bad signature.
# rec FILE HIBYTE: FILE as a length-prefixed record (HIBYTE 0 or 128).
rec() { l=$(wc -c <"$1"); printf "$(printf '\\%03o\\%03o\\%03o\\%03o' "$2" 0 $((l >> 8 & 255)) $((l & 255)))"; cat "$1"; }
fresh; cp "$T/o-fork/checkpoints" "$T/c/checkpoints"
expect equivocation-checkpoints 1 "FAIL: two different trees signed at size "
fresh; rec "$T/o-fork/checkpoint" 128 >>"$T/c/entries"
expect equivocation-commit-record 1 "FAIL: two different trees signed at size 21"
fresh; rm -rf "$T/x"; cp -r "$T/led" "$T/x"; "$FORGE" resign "$T/x" "$T/otherkey"
rec "$T/x/checkpoint" 0 >>"$T/c/checkpoints"
expect bad-note-in-history 1 "FAIL: a checkpoint in the ledger's history does not verify under"

# A history of 601 notes is checked on two threads (audit-history.c),
# each note where sorting puts it: "10" near the start, "701" near the
# end. A bad note in the second half is found; with one in each half, the
# first in order is the one reported, as on one thread.
write_calls "$T/calls600" 600; write_calls "$T/calls700" 700; write_calls "$T/calls9" 9
"$FORGE" build "$T/h600" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls600" &&
"$FORGE" build "$T/h700" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls700" &&
"$FORGE" build "$T/h10" "$T/key" "$ORIGIN" "$T/guestlist.lua" "$T/calls9" &&
"$FORGE" resign "$T/h10" "$T/otherkey" || echo "FAIL setup: the 601-note ledgers"
rm -rf "$T/c" "$VMSCTL_KNOWN"; cp -r "$T/h600" "$T/c"
expect history-601-honest 0 "guestlist: OK — 601 entries"
rm -rf "$T/c" "$VMSCTL_KNOWN"; cp -r "$T/h600" "$T/c"; rec "$T/h700/checkpoint" 0 >>"$T/c/checkpoints"
expect history-second-half 1 "FAIL: the host signed a checkpoint of size 701, beyond its newest checkpoint 601"
rec "$T/h10/checkpoint" 0 >>"$T/c/checkpoints"; rm -f "$VMSCTL_KNOWN"
expect history-first-in-order 1 "FAIL: a checkpoint in the ledger's history does not verify under"
out=$("$VMSCTL" audit --dir "$T/c" --threads 1 2>&1)
printf '%s\n' "$out" | grep -q "FAIL: a checkpoint in the ledger's history does not verify under" &&
    echo "PASS history-one-thread-same" || echo "FAIL history-one-thread-same: $out"

# Entry 0 must deploy the contract its signed origin names.
rm -rf "$T/c" "$VMSCTL_KNOWN"
"$FORGE" rewrite "$T/led" "$T/c" "$T/key" --set=contract 0 '"bank"'
expect deploy-names-origin 1 "FAIL at entry 0 (deploy): entry 0 deploys contract \"bank\", not \"guestlist\""

# A leaf larger than the entry_size limit of the deploy entry is refused
# before it is hashed or replayed.
rm -rf "$T/c" "$VMSCTL_KNOWN"
big=$(head -c 3000 /dev/zero | tr '\0' x)
"$FORGE" rewrite "$T/led" "$T/c" "$T/key" --set=limits 0 \
    '{"args_size":16384,"depth":200,"entry_size":2048,"file_size":32768,"history":1000,"instructions":10000000,"memory":67108864,"result_size":16384,"state_size":268435456}' \
    --set=args 5 "[\"guest5\",true,\"$big\"]"
expect oversized-entry 1 "FAIL at entry 5: entry 5 is [0-9]* bytes, larger than the entry_size limit 2048"

# Usage errors exit 2.
"$VMSCTL" audit --dir "$T/c" extra >/dev/null 2>&1
[ $? -eq 2 ] && echo "PASS usage" || echo "FAIL usage: want exit 2"
exit 0
