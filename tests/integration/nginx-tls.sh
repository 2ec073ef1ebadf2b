#!/bin/sh
# nginx-tls.sh — TLS through a reverse proxy, for real: the shipped
# etc/nginx-vmsd.conf runs in a private nginx instance (its own prefix,
# config, pid and logs under $T; the machine's nginx is never touched) on
# loopback, with a certificate from a CA the test makes (openssl). curl and
# vmsctl --remote https://... (VMS_CAFILE) call vmsd through it; the host
# name and the CA are verified; the client's address reaches vmsd's rate
# limits through X-Real-IP (trusted_proxies).
. "$TOP/tests/integration/lib/daemon.sh"

for t in nginx openssl curl; do
	if ! command -v $t >/dev/null 2>&1 && [ ! -x /usr/sbin/$t ]; then
		skip nginx_tls "$t is not installed (make deps installs it)"
		exit 0
	fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
VPORT=$(free_port 11) && NPORT=$(free_port 13 "$VPORT") ||
    { echo "FAIL port: no free port"; exit 1; }
N=$T/nginx

# A CA, and a certificate it signs for "localhost" only (no IP address).
mkdir -p "$N/tmp"
if ! { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vmsd test CA" \
	-keyout "$T/ca.key" -out "$T/ca.pem" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
	-keyout "$T/server.key" -out "$T/server.csr" &&
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$T/ext" &&
    openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	-CAcreateserial -days 2 -extfile "$T/ext" -out "$T/server.pem"; } >"$T/openssl.log" 2>&1; then
	fail certificates "openssl: $(tail -2 "$T/openssl.log")"
	exit 1
fi

# The shipped site, with the test's port, names and files.
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	v6="listen [::1]:$NPORT ssl;"
else
	v6=""
fi
sed -e "s|listen 443 ssl;|listen 127.0.0.1:$NPORT ssl;|" \
    -e "s|listen \[::\]:443 ssl;|$v6|" \
    -e "s|server 127.0.0.1:5555;|server 127.0.0.1:$VPORT;|" \
    -e "s|server_name vms.example.org;|server_name localhost;|" \
    -e "s|/etc/ssl/certs/vms.example.org.pem|$T/server.pem|" \
    -e "s|/etc/ssl/private/vms.example.org.key|$T/server.key|" \
    -e '/^[[:space:]]*#/d' \
    "$TOP/etc/nginx-vmsd.conf" >"$N/site.conf"
if grep -q "127.0.0.1:$NPORT ssl" "$N/site.conf" && grep -q "server 127.0.0.1:$VPORT;" "$N/site.conf" &&
    grep -q "$T/server.pem" "$N/site.conf" && ! grep -q ':443\|5555\|example.org' "$N/site.conf"; then
	pass nginx_site_adapted
else
	fail nginx_site_adapted "etc/nginx-vmsd.conf no longer has the lines this test substitutes"
	exit 1
fi
user=
[ "$(id -u)" = 0 ] && user="user root root;"
cat >"$N/nginx.conf" <<EOF
$user
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $N/tmp/body;
	proxy_temp_path $N/tmp/proxy;
	fastcgi_temp_path $N/tmp/fastcgi;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	include $N/site.conf;
}
EOF

cat >"$T/vmsd.conf" <<EOF
anonymous_calls = yes
trusted_proxies = 127.0.0.1
call_rate_per_address = 1
call_burst_per_address = 3
cors_origins = https://app.example
EOF
if ! start_vmsd --listen 127.0.0.1:$VPORT; then
	fail start "vmsd did not start"
	exit 1
fi
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null

"$NGINX" -e "$N/error.log" -p "$N" -c "$N/nginx.conf" -g 'daemon off;' >"$N/stdout" 2>&1 &
NPID=$!
stop_nginx() { kill "$NPID" 2>/dev/null; wait "$NPID" 2>/dev/null; }
trap 'stop_nginx; cleanup' EXIT INT TERM
i=0
until curl -s -o /dev/null --cacert "$T/ca.pem" "https://localhost:$NPORT/health"; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$NPID" 2>/dev/null; then
		fail nginx_start "nginx did not start: $(tail -3 "$N/error.log" "$N/stdout" 2>/dev/null | tr '\n' ' ')"
		exit 1
	fi
	sleep 0.1
done
pass nginx_start
B=https://localhost:$NPORT

post() {	# post BODY [CURL ARGS...]: prints "STATUS BODY"
	b=$1; shift
	curl -s --cacert "$T/ca.pem" -o "$T/body" -w '%{http_code}' \
	    -H 'Content-Type: application/json' --data-binary "$b" "$@" "$B/rpc"
	printf ' %s\n' "$(cat "$T/body")"
}

out=$(post '{"jsonrpc":"2.0","id":1,"method":"ping"}')
check tls_curl_ping "got $out" sh -c "echo '$out' | grep -q '^200 .*\"version\"'"
out=$(post '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"list"}]')
check tls_curl_batch "got $out" sh -c "echo '$out' | grep -q '^200 \[.*\"id\":1.*\"id\":2.*guestlist'"
out=$(curl -s --cacert "$T/ca.pem" "$B/health")
check tls_health "got $out" [ "$out" = '{"status":"ok"}' ]
code=$(curl -s --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' "$B/elsewhere")
check tls_other_paths_404 "got $code" [ "$code" = 404 ]
out=$(curl -s --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' -X OPTIONS \
    -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' \
    -D "$T/hdr" "$B/rpc")
check tls_cors_preflight "got $out $(tr -d '\r' <"$T/hdr" | grep -i access-control-allow-origin)" \
    sh -c "[ '$out' = 204 ] && tr -d '\r' <'$T/hdr' | grep -qi '^access-control-allow-origin: https://app.example$'"

# vmsctl --remote over TLS: the CA from VMS_CAFILE, the host name checked.
out=$(VMS_CAFILE="$T/ca.pem" "$VMSCTL" --remote "$B" ping 2>&1)
check tls_vmsctl_ping "got $out" sh -c "echo '$out' | grep -q 0.1.0"
out=$(VMS_CAFILE="$T/ca.pem" "$VMSCTL" --remote "$B" call guestlist listRSVPs 2>&1)
check tls_vmsctl_call "got $out" [ "$out" = "{}" ]
out=$(VMS_CAFILE="$T/ca.pem" "$VMSCTL" info --remote "$B" guestlist 2>&1)
check tls_vmsctl_info "got $out" sh -c "echo '$out' | grep -q 'status: *running'"
out=$(VMS_CAFILE="$T/ca.pem" "$VMSCTL" --remote "$B" log guestlist 2>&1 | wc -l)
check tls_vmsctl_log "got $out lines" [ "$out" -ge 2 ]
out=$("$VMSCTL" --remote "$B" ping 2>&1); rc=$?
check tls_unknown_ca_refused "rc=$rc got $out" sh -c "[ $rc = 3 ] && echo '$out' | grep -qi 'certificate'"
out=$(VMS_CAFILE="$T/ca.pem" "$VMSCTL" --remote "https://127.0.0.1:$NPORT" ping 2>&1); rc=$?
check tls_wrong_host_refused "rc=$rc got $out" sh -c "[ $rc = 3 ] && echo '$out' | grep -qi 'certificate'"

# The client's own address reaches the rate limit through nginx: 127.0.0.2
# exhausts its bucket (3) and gets 429 with Retry-After, 127.0.0.3 is still
# served. Without trusted_proxies both would be nginx's 127.0.0.1.
call='{"jsonrpc":"2.0","id":5,"method":"call","params":{"contract":"guestlist","method":"listRSVPs"}}'
codes=""
for i in 1 2 3 4; do
	codes="$codes $(post "$call" --interface 127.0.0.2 -D "$T/hdr2" | cut -d' ' -f1)"
done
out3=$(post "$call" --interface 127.0.0.3)
if [ "$codes" = " 200 200 200 429" ] && tr -d '\r' <"$T/hdr2" | grep -qi '^retry-after: [0-9]' &&
    echo "$out3" | grep -q '^200 '; then
	pass tls_rate_limit_per_client_address
else
	fail tls_rate_limit_per_client_address "127.0.0.2: $codes; 127.0.0.3: $out3"
fi
n=$("$VMSCTL" -s "$T/s.sock" info guestlist | sed -n 's/^size: *//p')
check tls_refused_calls_not_in_ledger "size $n (deploy + 3 + 1 + 1 vmsctl call)" [ "$n" = 6 ]

if kill -0 "$VPID" && rpc ping >/dev/null; then pass tls_vmsd_still_serving; else fail tls_vmsd_still_serving "daemon gone"; fi
stop_nginx
stop_vmsd
exit 0
