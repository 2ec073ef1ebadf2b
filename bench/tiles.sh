#!/bin/sh
# bench/tiles.sh — tlog-tiles: how many tiles a release vmsd serves per
# second from a 100k-entry ledger (GET /c/NAME/..., one keep-alive
# connection, closed loop: build/bench/bench-tiles --get), how long
# `vmsctl export` takes, and the time of `vmsctl audit --remote` of that
# ledger through a private nginx serving the export (the issue's figure),
# next to the same audit through vmsd's tiles and `audit --dir` (on one
# thread, as --remote replays, and on every core, its default).
#
#   make all build/bench/bench-tiles && sh bench/tiles.sh
#
# Knobs: VMS_BENCH_TILES_ENTRIES (default 100000), VMS_BENCH_SECONDS (per
# GET run, default 3).
cd "$(dirname "$0")/.." || exit 2
. bench/lib/vmsd.sh
BT="$TOP/build/bench/bench-tiles"
N="${VMS_BENCH_TILES_ENTRIES:-100000}"
SECS="${VMS_BENCH_SECONDS:-3}"
W="$BENCH_DIR/tiles"
PID= NPID=

bench_need tiles.sh "all build/bench/bench-tiles" "$VMSD" "$VMSCTL" "$BT"
stop() {
	for p in $PID $NPID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PID= NPID=
}
trap stop EXIT
trap 'exit 1' INT TERM
VMSCTL_KNOWN="$W/known_contracts"
export VMSCTL_KNOWN
now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }

rm -rf "$W"
mkdir -p "$W/state/contracts" "$W/state/keys" "$W/www" "$W/nginx" || exit 1
"$BT" --build "$W/state/contracts/guestlist" "$W/state/keys/guestlist.key" "$N" || exit 1
: >"$W/vmsd.conf"
tries=0
while :; do
	PORT=$(( 20000 + ($$ + tries * 7919) % 30000 ))
	"$VMSD" -f "$W/vmsd.conf" --state-dir "$W/state" --socket "$W/vmsd.sock" \
	    --listen "127.0.0.1:$PORT" 2>"$W/vmsd.log" &
	PID=$!
	i=0
	while [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do
		curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$PID" 2>/dev/null && break
	tries=$((tries + 1))
	[ $tries -lt 5 ] || { echo "tiles.sh: vmsd did not start"; tail -3 "$W/vmsd.log"; exit 1; }
done
URL="http://127.0.0.1:$PORT/c/guestlist"
VK=$(curl -s "$URL/vkey")
echo "ledger: $N guest-list entries; vmsd $URL"
echo "GET from vmsd (release build), 1 connection, best effort for $SECS s each:"
for k in tiles bundles checkpoint; do
	"$BT" --get "$URL" "$N" "$k" --seconds "$SECS" | sed 's/^/  /' || exit 1
done
t0=$(now)
"$VMSCTL" export --state-dir "$W/state" guestlist "$W/www/guestlist" >"$W/export.out" || exit 1
t1=$(now)
echo "vmsctl export: $(secs "$t0" "$t1") s, $(du -sh "$W/www/guestlist" | cut -f1) ($(sed 's/.*: //' "$W/export.out"))"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
MURL=
if [ -x "$NGINX" ]; then
	NPORT=$((PORT + 1))
	cat >"$W/nginx/nginx.conf" <<NG
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	default_type application/octet-stream;
	server { listen 127.0.0.1:$NPORT; root $W/www; }
}
NG
	"$NGINX" -c "$W/nginx/nginx.conf" -p "$W/nginx/" -e "$W/nginx/error.log" &
	NPID=$!
	i=0
	while [ $i -lt 50 ] && ! curl -sf "http://127.0.0.1:$NPORT/guestlist/checkpoint" >/dev/null 2>&1; do
		sleep 0.1; i=$((i + 1))
	done
	MURL="http://127.0.0.1:$NPORT/guestlist"
	echo "GET from nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') (1 worker), same client:"
	for k in tiles bundles; do
		"$BT" --get "$MURL" "$N" "$k" --seconds "$SECS" | sed 's/^/  /'
	done
else
	echo "nginx: skipped (apt-get install nginx)"
fi

audit() {	# audit LABEL ARGS...
	label=$1; shift
	t0=$(now)
	"$VMSCTL" audit "$@" --key "$VK" >"$W/audit.out" 2>&1
	rc=$?
	t1=$(now)
	s=$(secs "$t0" "$t1")
	printf '  %-28s %6s s = %6.0f entries/s  %s\n' "$label" "$s" \
	    "$(echo "$N $s" | awk '{ print $1 / $2 }')" "$(cut -c1-70 "$W/audit.out")"
	[ $rc = 0 ]
}
echo "vmsctl audit of the $N entries (fetch, signature, tree, tiles, replay):"
[ -n "$MURL" ] && audit "--remote via nginx" --remote "$MURL"
audit "--remote via vmsd's tiles" --remote "$URL"
audit "--dir (offline, one thread)" --dir "$W/state/contracts/guestlist" --threads 1
audit "--dir (every core)" --dir "$W/state/contracts/guestlist"
stop
rm -rf "$W"
