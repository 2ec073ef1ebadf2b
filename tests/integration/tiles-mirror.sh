#!/bin/sh
# tiles-mirror.sh — a mirror that is nginx: `vmsctl export` writes a
# contract's ledger as tlog-tiles files, Debian's nginx (our own instance:
# a private config and prefix on a loopback port, never the machine's
# service) serves them, and `vmsctl audit --remote` gives the same verdict
# from nginx as from vmsd's own /c/NAME/. Then: more calls and a second
# export write only what changed (full tiles untouched, superseded partial
# tiles removed) while `audit --follow --remote` on the mirror follows; a
# bit flipped in a served hash tile or entry bundle is caught; an export
# over a rewritten ledger is refused.
. "$TOP/tests/integration/lib/daemon.sh"
. "$TOP/tests/tools/forge.sh"

VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
VMSCTL_KNOWN="$T/known_contracts"
export VMSCTL_KNOWN
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	fail nginx "nginx is missing (make deps installs it)"
	exit 1
fi
forge_build || exit 1
PORT=$(free_port 13) && NPORT=$(free_port 14 "$PORT") ||
    { echo "FAIL port: no free port"; exit 1; }
URL=http://127.0.0.1:$PORT/c/guestlist
MURL=http://127.0.0.1:$NPORT/guestlist
WWW="$T/www"
NPID=
stop_nginx() {
	[ -n "$NPID" ] || return 0
	kill -TERM "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	NPID=
}
trap 'stop_nginx; cleanup' EXIT INT TERM

if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null
calls() {	# calls N
	$RPC -s "$T/s.sock" load --clients 1 --calls "$1" --contract guestlist \
	    --method RSVP --args '["bob", true, "see you"]' --pipeline 16 \
	    >"$T/load.out" 2>&1 || fail "calls_$1" "$(cat "$T/load.out")"
}
export_() {
	"$VMSCTL" export --state-dir "$T/state" --json guestlist \
	    "$WWW/guestlist" >"$T/export.json" 2>"$T/export.err"
}
calls 300
mkdir -p "$WWW" "$T/nginx"
if export_; then pass export_first; else fail export_first "$(cat "$T/export.err")"; fi
n=$($JGET written <"$T/export.json")
# 2 bundles + 2 level-0 tiles + 1 level-1 tile + vkey + checkpoint
check export_first_files "wrote $n files" [ "$n" = 7 ]

cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NPORT;
		root $WWW;
		location ~ /checkpoint\$ {
			default_type "text/plain; charset=utf-8";
			add_header Cache-Control "public, max-age=2";
		}
		location ~ \.p/ {
			add_header Cache-Control "public, max-age=10";
		}
		location / {
			add_header Cache-Control "public, max-age=31536000, immutable";
		}
	}
}
EOF
"$NGINX" -c "$T/nginx/nginx.conf" -p "$T/nginx/" -e "$T/nginx/error.log" \
    >"$T/nginx/out" 2>&1 &
NPID=$!
i=0
while [ $i -lt 50 ] && ! curl -sf "$MURL/checkpoint" >/dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
done
if ! curl -sf "$MURL/checkpoint" >/dev/null; then
	fail nginx_start "$(cat "$T/nginx/out" "$T/nginx/error.log" 2>/dev/null)"
	exit 1
fi
pass nginx_start
VK=$(curl -s "$URL/vkey")
mvk=$(curl -s "$MURL/vkey")
check mirror_vkey "vmsd $VK, mirror $mvk" [ "$VK" = "$mvk" ]

# The same verdict from vmsd and from nginx: trust on first use through
# vmsd, then the mirror under the remembered key; --json without timings.
"$VMSCTL" audit --remote "$URL" --json >"$T/a1" 2>"$T/a1.err"
"$VMSCTL" audit --remote "$MURL" --json >"$T/a2" 2>"$T/a2.err"
if python3 - "$T/a1" "$T/a2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r.pop("replay_seconds", None); r.pop("first_use", None)
sys.exit(0 if a == b and a["ok"] and a["entries"] == 301 else 1)
PY
then pass audit_same_verdict; else fail audit_same_verdict "vmsd $(cat "$T/a1"), nginx $(cat "$T/a2")"; fi
out=$("$VMSCTL" audit --remote "$MURL" --key "$VK" 2>&1)
check audit_mirror_key "got $out" sh -c "echo '$out' | grep -q '^guestlist: OK — 301 entries'"

# More calls, a second export, and a follower on the mirror.
stat -c '%i %Y' "$WWW/guestlist/tile/0/000" "$WWW/guestlist/tile/entries/000" >"$T/before"
"$VMSCTL" audit --follow --remote "$MURL" --interval 0.2 --count 1 --timeout 60 \
    >"$T/follow.out" 2>&1 &
FPID=$!
sleep 1
calls 300
sleep 1	# let the follower see the old checkpoint once more
if export_; then pass export_second; else fail export_second "$(cat "$T/export.err")"; fi
n=$($JGET written <"$T/export.json")
kept=$($JGET kept <"$T/export.json")
removed=$($JGET removed <"$T/export.json")
# tiles 0/001 and entries/001 became full, 0/002 and entries/002 are new,
# level 1 is wider (p/2), and the checkpoint: 5 + checkpoint = 6
check export_incremental "wrote $n, kept $kept, removed $removed" \
    sh -c "[ $n = 6 ] && [ $kept -ge 3 ] && [ $removed = 2 ]"
stat -c '%i %Y' "$WWW/guestlist/tile/0/000" "$WWW/guestlist/tile/entries/000" >"$T/after"
check export_full_untouched "$(cat "$T/before" "$T/after")" cmp -s "$T/before" "$T/after"
check export_partial_removed "$(ls "$WWW/guestlist/tile/0")" \
    sh -c "[ ! -e '$WWW/guestlist/tile/0/001.p' ] && [ -f '$WWW/guestlist/tile/0/001' ] && [ -f '$WWW/guestlist/tile/0/002.p/89' ]"
wait $FPID
rc=$?
check audit_follow_mirror "rc=$rc $(cat "$T/follow.out")" \
    sh -c "[ $rc = 0 ] && grep -q 'checkpoint 601 verified' '$T/follow.out'"
out=$("$VMSCTL" export --state-dir "$T/state" guestlist "$WWW/guestlist" 2>&1)
check export_nothing_new "got $out" sh -c "echo '$out' | grep -q ': 0 files written'"
out=$("$VMSCTL" audit --remote "$MURL" 2>&1)
check audit_mirror_again "got $out" sh -c "echo '$out' | grep -q '^guestlist: OK — 601 entries'"

# A bit flipped in a served hash tile, then in an entry bundle: caught.
flip() {	# flip FILE OFFSET
	python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x10
open(p, "wb").write(b)
PY
}
f="$WWW/guestlist/tile/0/001"
cp "$f" "$T/saved"
flip "$f" $((32 * 77 + 5))
"$VMSCTL" audit --remote "$MURL" --key "$VK" >"$T/out" 2>&1; rc=$?
check audit_flip_hash_tile "rc=$rc got $(cat "$T/out")" \
    sh -c "[ $rc = 1 ] && grep -q 'FAIL at entry 333' '$T/out' && grep -q 'tile/0/001, hash 77' '$T/out'"
cp "$T/saved" "$f"
f="$WWW/guestlist/tile/entries/001"
cp "$f" "$T/saved"
flip "$f" 3000
"$VMSCTL" audit --remote "$MURL" --key "$VK" >"$T/out" 2>&1; rc=$?
check audit_flip_bundle "rc=$rc got $(cat "$T/out")" \
    sh -c "[ $rc = 1 ] && grep -q 'FAIL at entry 263' '$T/out' && grep -q 'tile/entries/001) is not the signed entry' '$T/out' && grep -q 'not a fork' '$T/out'"
cp "$T/saved" "$f"
out=$("$VMSCTL" audit --remote "$MURL" --key "$VK" 2>&1)
check audit_restored "got $out" sh -c "echo '$out' | grep -q 'OK — 601 entries'"

# An export over a rewritten ledger (entry 5's result changed, re-signed
# with the host's key) is refused, and the mirror is left as it was.
stop_vmsd
"$FORGE" rewrite "$T/state/contracts/guestlist" "$T/forged" \
    "$T/state/keys/guestlist.key" --set-result 5 '"forged"' >"$T/forge.out" 2>&1 ||
    fail forge_rewrite "$(cat "$T/forge.out")"
cp "$WWW/guestlist/checkpoint" "$T/cp.before"
"$VMSCTL" export --ledger "$T/forged" guestlist "$WWW/guestlist" >"$T/out" 2>&1; rc=$?
check export_refuses_rewrite "rc=$rc got $(cat "$T/out")" \
    sh -c "[ $rc = 1 ] && grep -q 'rewritten' '$T/out' && cmp -s '$T/cp.before' '$WWW/guestlist/checkpoint'"
stop_nginx
