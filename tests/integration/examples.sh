#!/bin/sh
# examples.sh — drive every examples/*.lua through vmsctl against a real
# vmsd, assert the results, then audit each one clean.
. "$TOP/tests/tools/daemon.sh"

T=$(mktemp -d /tmp/vms-examples.XXXXXX)
cleanup() { daemon_stop; [ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
EX="$TOP/examples"

if [ ! -f "$EX/guestlist.lua" ]; then
	echo "SKIP examples: examples/ not present in this tree"; exit 0
fi
if ! daemon_usable; then
	echo "SKIP examples: vmsd cannot deploy yet (daemon not functional in this build)"
	exit 0
fi
daemon_start "$T/d" "debug_auth = yes" || exit 1

# is NAME WANT CMD...: the command's stdout must be exactly WANT (exit 0)
is() {
	n=$1 w=$2; shift 2
	o=$("$@" 2>"$T/err"); r=$?
	if [ $r -ne 0 ]; then echo "FAIL $n: exit $r: $(cat "$T/err")"
	elif [ "$o" != "$w" ]; then echo "FAIL $n: got $o, want $w"
	else echo "PASS $n"; fi
}
# fails NAME PATTERN CMD...: exit 1 with PATTERN on stderr
fails() {
	n=$1 p=$2; shift 2
	"$@" >/dev/null 2>"$T/err"; r=$?
	if [ $r -ne 1 ]; then echo "FAIL $n: exit $r, want 1"
	elif ! grep -q -- "$p" "$T/err"; then echo "FAIL $n: stderr lacks $p: $(cat "$T/err")"
	else echo "PASS $n"; fi
}
deploy() {
	$V deploy "$EX/$1.lua" >/dev/null 2>"$T/err" && echo "PASS deploy-$1" ||
	    echo "FAIL deploy-$1: $(cat "$T/err")"
}

for e in hello-world counter persisted-counter files-archive userauth \
    keyserver guestlist package-manager secure-counter; do
	deploy $e
done

is hello '"Hello, world!"' $V call hello-world hello

is counter-0 0 $V call counter get
is counter-1 1 $V call counter increment
is counter-2 2 $V call counter increment
is counter-get 2 $V call counter get

is pcounter-init 0 $V call persisted-counter get
is pcounter-by 5 $V call persisted-counter increment 5
is pcounter-one 6 $V call persisted-counter increment
fails pcounter-bad "positive integer" $V call persisted-counter increment -3

is archive-write null $V call files-archive write notes.txt "hello files"
is archive-read '"hello files"' $V call files-archive read notes.txt
is archive-list '["notes.txt"]' $V call files-archive list
fails archive-bad-name "name must be" $V call files-archive write ../x y
is archive-raw "hello files" $V read files-archive /files/notes.txt

is whoami-debug '{"auth":"debug","id":"alice"}' $V --user alice call userauth whoami
o=$($V call userauth whoami)
printf '%s' "$o" | grep -q '"auth":"peercred","id":"unix:' && echo "PASS whoami-peercred" ||
    echo "FAIL whoami-peercred: $o"

me=$($V call userauth whoami | sed 's/.*"id":"\([^"]*\)".*/\1/')
is ks-admins "[\"$me\"]" $V call keyserver listAdmins
is ks-setkey null $V call keyserver setKey bob ssh-ed25519-AAAA
is ks-getkey '"ssh-ed25519-AAAA"' $V call keyserver getKey bob
fails ks-not-admin "not an admin" $V --user mallory call keyserver setKey bob evil
is ks-add-admin null $V call keyserver addAdmin carol
is ks-carol-sets null $V --user carol call keyserver setKey dave k2
is ks-users '["bob","dave"]' $V call keyserver listUsers

is gl-rsvp null $V --user bob call guestlist RSVP bob false "Washing my hair, sorry!"
is gl-rsvp2 null $V --user alice call guestlist RSVP alice true
o=$($V call guestlist listRSVPs)
printf '%s' "$o" | grep -q '"name":"bob"' && printf '%s' "$o" | grep -q '"isAttending":true' &&
    echo "PASS gl-list" || echo "FAIL gl-list: $o"
fails gl-bad "isAttending must be" $V --user bob call guestlist RSVP bob maybe

is pm-publish null $V --user alice call package-manager publish left-pad 1.0.0 "module.exports=1"
is pm-publish2 null $V --user alice call package-manager publish left-pad 1.1.0 "module.exports=2"
fails pm-not-owner "owned by someone else" $V --user bob call package-manager publish left-pad 2.0.0 x
fails pm-immutable "already exists" $V --user alice call package-manager publish left-pad 1.0.0 y
is pm-versions '["1.0.0","1.1.0"]' $V call package-manager versions left-pad
is pm-fetch '"module.exports=2"' $V call package-manager fetch left-pad 1.1.0

is sc-claim null $V --user alice call secure-counter claimOwnership
fails sc-steal "already owned by alice" $V --user bob call secure-counter claimOwnership
fails sc-not-owner "only the owner" $V --user bob call secure-counter increment
is sc-inc 1 $V --user alice call secure-counter increment
is sc-get 1 $V call secure-counter get

# Every example audits clean, through the daemon and offline.
out=$($V audit 2>&1); rc=$?
n=$(printf '%s\n' "$out" | grep -c ": OK — ")
[ $rc -eq 0 ] && [ "$n" -eq 9 ] && echo "PASS audit-all" || echo "FAIL audit-all: $out"
for e in guestlist keyserver package-manager; do
	out=$($VMSCTL audit --dir "$T/d/state/contracts/$e" 2>&1) &&
	    echo "PASS audit-dir-$e" || echo "FAIL audit-dir-$e: $out"
done
exit 0
