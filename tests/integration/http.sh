#!/bin/sh
# http.sh — vmsd's HTTP port (daemon/http.c, httpconn.c) through curl,
# python and vmsctl: POST /rpc with a request, a batch, notifications
# (204), malformed JSON, an oversize body (413), a wrong content type (415),
# other methods (405) and paths (404), GET /health; CORS preflights and
# headers; anonymous calls refused by default; rate limits per address and
# per identity, signed callers' too (429, Retry-After, nothing in the
# ledger); requests per connection; header size; connections per address;
# slow-loris; vmsctl -s http://... calling and reading; admin methods
# refused.
. "$TOP/tests/integration/lib/daemon.sh"

cat >"$T/vmsd.conf" <<'EOF'
max_message = 64K
debug_auth = yes
call_rate_per_address = 1
call_burst_per_address = 3
call_rate_per_identity = 1
call_burst_per_identity = 2
cors_origins = https://app.example https://other.example
max_requests_per_connection = 3
max_header_size = 4K
max_connections_per_address = 6
client_request_timeout = 2
EOF
PORT=$(free_port 7) || { echo "FAIL port: no free port"; exit 1; }
URL=http://127.0.0.1:$PORT
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null
size() { "$VMSCTL" -s "$T/s.sock" info guestlist | sed -n 's/^size: *//p'; }

post() {	# post BODY [CURL ARGS...]: prints "STATUS BODY" ($CT: content type)
	b=$1; shift
	curl -s -o "$T/body" -w '%{http_code}' -H "Content-Type: ${CT:-application/json}" \
	    --data-binary "$b" "$@" "$URL/rpc"
	printf ' %s\n' "$(cat "$T/body")"
}
# jq-less checks of JSON: py EXPR < JSON, the JSON as `r`
py() { python3 -c "import json,sys; r=json.loads(sys.stdin.read()); sys.exit(0 if ($1) else 1)"; }
# checkpy NAME "STATUS BODY" [STATUS] EXPR: the status, and EXPR on the body
checkpy() {
	n=$1; o=$2; st=$3; e=$4
	if [ "${o%% *}" = "$st" ] && printf '%s' "${o#* }" | py "$e" 2>/dev/null; then
		pass "$n"
	else
		fail "$n" "got $(printf '%s' "$o" | cut -c1-300)"
	fi
}

# ---- one request, and what is not one ----
out=$(post '{"jsonrpc":"2.0","id":7,"method":"ping"}')
check http_ping "got $out" sh -c "echo '$out' | grep -q '^200 .*\"id\":7.*\"version\"'"
out=$(CT=text/plain post '{"jsonrpc":"2.0","id":1,"method":"ping"}')
check http_content_type "got $out" sh -c "echo '$out' | grep -q '^415 .*-32600'"
out=$(post '{"jsonrpc":"2.0","method":"ping"}')
check http_notification "got $out" [ "$out" = "204 " ]
out=$(post 'not json')
check http_parse_error "got $out" sh -c "echo '$out' | grep -q '^200 .*-32700'"
checkpy http_not_an_object "$(post '1')" 200 'r["error"]["code"] == -32600 and r["id"] is None'
out=$(post '{"jsonrpc":"2.0","id":2,"method":"deploy","params":{"name":"x","code":"return {}"}}')
check http_no_admin "got $out" sh -c "echo '$out' | grep -q '^200 .*-32003'"
big=$(python3 -c 'print("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"x\":\"" + "a" * 70000 + "\"}")')
out=$(post "$big")
check http_too_large "got $(echo "$out" | cut -c1-80)" sh -c "echo '$out' | grep -q '^413'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/rpc")
check http_get_rpc "got $code" [ "$code" = 405 ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nowhere")
check http_not_found "got $code" [ "$code" = 404 ]
out=$(curl -s -w '%{http_code}' "$URL/health" | tr -d '\n')
check http_health "got $out" [ "$out" = '{"status":"ok"}200' ]
# HEAD: GET's headers and length, no body (a kept-alive client would read
# a body as the next reply: the GET after it on the same connection)
out=$(python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}\n"):
    d = s.recv(4096)
    if not d:
        break
    data += d
head, rest = data.split(b"\r\n\r\n", 1)
print("length=%s next=%s" % ([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1].strip().decode(), rest[:12].decode()))
PY
)
check http_head_no_body "got $out" [ "$out" = "length=16 next=HTTP/1.1 200" ]

# ---- batches ----
out=$(post '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"ping"},1,{"jsonrpc":"2.0","id":"b","method":"nope"},{"jsonrpc":"2.0","id":3,"method":"list"}]')
checkpy http_batch "$out" 200 '[x["id"] for x in r] == [1, None, "b", 3] and "result" in r[0] and r[1]["error"]["code"] == -32600 and r[2]["error"]["code"] == -32601 and r[3]["result"]["contracts"][0]["name"] == "guestlist"'
out=$(post '[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"list"}]')
check http_batch_notifications_only "got $out" [ "$out" = "204 " ]
checkpy http_batch_empty "$(post '[]')" 200 'r["error"]["code"] == -32600 and r["id"] is None'
out=$(post "[$(python3 -c 'print(",".join(["{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"] * 101))')]")
checkpy http_batch_over_max_batch "$out" 200 'r["error"]["code"] == -32600 and "max_batch" in r["error"]["message"]'
out=$(post "[$(python3 -c 'print(",".join(["{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}" % i for i in range(100)]))')]")
checkpy http_batch_of_max_batch "$out" 200 '[x["id"] for x in r] == list(range(100))'

# ---- CORS ----
hdr() { tr -d '\r' <"$T/hdr" | grep -i "^$1:" | cut -d' ' -f2-; }
code=$(curl -s -o /dev/null -D "$T/hdr" -w '%{http_code}' -X OPTIONS -H 'Origin: https://app.example' \
    -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' "$URL/rpc")
if [ "$code" = 204 ] && [ "$(hdr access-control-allow-origin)" = https://app.example ] &&
    hdr access-control-allow-methods | grep -q POST && hdr access-control-allow-headers | grep -qi content-type; then
	pass cors_preflight_allowed
else
	fail cors_preflight_allowed "got $code: $(tr -d '\r' <"$T/hdr" | tr '\n' ' ')"
fi
code=$(curl -s -o /dev/null -D "$T/hdr" -w '%{http_code}' -X OPTIONS -H 'Origin: https://evil.example' \
    -H 'Access-Control-Request-Method: POST' "$URL/rpc")
check cors_preflight_other_origin "got $code $(hdr access-control-allow-origin)" \
    sh -c "[ '$code' = 403 ] && ! tr -d '\r' <'$T/hdr' | grep -qi '^access-control-allow-origin'"
post '{"jsonrpc":"2.0","id":1,"method":"ping"}' -H 'Origin: https://other.example' -D "$T/hdr" >/dev/null
check cors_header_on_reply "got $(hdr access-control-allow-origin)" \
    sh -c "[ '$(hdr access-control-allow-origin)' = https://other.example ] && [ '$(hdr vary)' = Origin ]"
post '{"jsonrpc":"2.0","id":1,"method":"ping"}' -H 'Origin: https://evil.example' -D "$T/hdr" >/dev/null
check cors_no_header_for_other_origin "got $(hdr access-control-allow-origin)" [ -z "$(hdr access-control-allow-origin)" ]

# ---- calls: anonymous refused, rate limits ----
before=$(size)
call='{"jsonrpc":"2.0","id":5,"method":"call","params":{"contract":"guestlist","method":"listRSVPs"}}'
out=$(post "$call")
check anonymous_call_refused "got $out" sh -c "echo '$out' | grep -q '^200 .*-32003.*anonymous_calls'"
as() { printf '{"jsonrpc":"2.0","id":5,"method":"call","params":{"contract":"guestlist","method":"listRSVPs","user":"%s"}}' "$1"; }
# one address: 3 (the burst) pass, whoever calls; the 4th gets 429
codes=""
for u in u1 u2 u3 u4; do
	codes="$codes $(post "$(as $u)" --interface 127.0.0.2 -D "$T/hdr" | cut -d' ' -f1)"
done
body=$(cat "$T/body")
if [ "$codes" = " 200 200 200 429" ] && hdr retry-after | grep -q '^[0-9]' &&
    echo "$body" | py 'r["error"]["code"] == -32009 and r["error"]["data"]["retry_after"] >= 1 and "address" in r["error"]["message"]'; then
	pass rate_limit_per_address
else
	fail rate_limit_per_address "codes$codes; $body"
fi
# one identity from three addresses: 2 (its burst) pass, the 3rd gets 429
codes=""
for a in 127.0.0.3 127.0.0.4 127.0.0.5; do
	codes="$codes $(post "$(as bob)" --interface $a | cut -d' ' -f1)"
done
body=$(cat "$T/body")
check rate_limit_per_identity "codes$codes; $body" sh -c "[ '$codes' = ' 200 200 429' ] && echo '$body' | grep -q identity"
# signed calls (vmsctl keygen): the identity's bucket is its caller id
export XDG_CONFIG_HOME="$T/xdg" VMSCTL_KNOWN="$T/known"
"$VMSCTL" keygen >/dev/null
rcs=""
for i in 1 2 3; do
	out=$("$VMSCTL" --remote "$URL" call guestlist RSVP "signed$i" true 2>&1)
	rcs="$rcs $?"
done
check rate_limit_signed_identity "rcs$rcs; $out" sh -c \
    "[ '$rcs' = ' 0 0 1' ] && echo '$out' | grep -q 'too many calls from this identity'"
after=$(size)
check refused_calls_not_in_ledger "size $before -> $after" [ "$after" = $((before + 7)) ]

# ---- connections ----
# max_requests_per_connection = 3: the third reply closes the connection.
out=$(python3 - "$PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
seen = []
for i in range(3):
    c.request("POST", "/rpc", '{"jsonrpc":"2.0","id":%d,"method":"ping"}' % i,
              {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    seen.append("%d:%s" % (r.status, r.getheader("Connection", "-")))
print(" ".join(seen))
PY
)
check requests_per_connection "got $out" [ "$out" = "200:- 200:- 200:close" ]
# Headers over max_header_size: refused, the daemon keeps serving.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(python3 -c 'print("a"*5000)')" "$URL/health")
check header_too_large "got $code" sh -c "[ '$code' = 400 -o '$code' = 413 -o '$code' = 431 ]"
# max_connections_per_address = 6: the 7th from one address gets 503 and
# says why; another address is served meanwhile.
out=$(python3 - "$PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.9", 0)) for _ in range(6)]
time.sleep(0.2)
s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.9", 0), timeout=5)
s.sendall(b'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"ping"}')
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except OSError:
    pass
o = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.10", 0), timeout=5)
o.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
other = o.recv(4096)
print(data.split(b"\r\n")[0].decode(), "|", "max_connections_per_address" in data.decode(), "|", other.split(b"\r\n")[0].decode())
PY
)
check connections_per_address "got $out" [ "$out" = "HTTP/1.1 503 Service Unavailable | True | HTTP/1.1 200 OK" ]
# A client sending one byte a second is dropped after client_request_timeout.
checkpy slowloris_dropped "x $(python3 "$LIB/abuse.py" slowloris "$URL" --conns 3 --seconds 6)" x \
    'r["dropped"] == 3 and 1.5 <= r["after"] <= 4.5'

# ---- vmsctl over HTTP ----
out=$("$VMSCTL" -s "$URL" ping 2>&1)
check vmsctl_http_ping "got $out" sh -c "echo '$out' | grep -q 0.1.0"
out=$("$VMSCTL" --remote "$URL" --no-sign call guestlist listRSVPs 2>&1); rc=$?
check vmsctl_http_call_anonymous_refused "rc=$rc got $out" sh -c "[ $rc = 1 ] && echo '$out' | grep -q anonymous_calls"
out=$("$VMSCTL" -s "$URL" info guestlist 2>&1)
check vmsctl_http_info "got $out" sh -c "echo '$out' | grep -q 'status: *running'"
out=$("$VMSCTL" -s "$URL" stop guestlist 2>&1); rc=$?
check vmsctl_http_no_admin "rc=$rc got $out" sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'not allowed'"
out=$("$VMSCTL" -s "http://127.0.0.1:1" ping 2>&1); rc=$?
check vmsctl_http_unreachable "rc=$rc got $out" [ $rc = 3 ]

if kill -0 "$VPID" && rpc ping >/dev/null; then pass http_still_serving; else fail http_still_serving "daemon gone"; fi
stop_vmsd
rc=$?
check clean_exit "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
