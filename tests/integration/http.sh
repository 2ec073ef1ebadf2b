#!/bin/sh
# http.sh — vmsd's HTTP port (daemon/http.c) through curl and vmsctl:
# POST /rpc with JSON-RPC, notifications (204), the content type (415),
# other methods (405) and paths (404), an oversize body (413), GET /health,
# and vmsctl -s http://... calling and reading; admin methods refused.
. "$TOP/tests/integration/lib/daemon.sh"

printf 'max_message = 64K\n' >"$T/vmsd.conf"
PORT=$((20000 + ($$ + 7) % 20000))
URL=http://127.0.0.1:$PORT
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null

post() {	# post BODY [CONTENT-TYPE]: prints "STATUS BODY"
	curl -s -o "$T/body" -w '%{http_code}' -H "Content-Type: ${2:-application/json}" \
	    --data-binary "$1" "$URL/rpc"
	printf ' %s\n' "$(cat "$T/body")"
}

out=$(post '{"jsonrpc":"2.0","id":7,"method":"ping"}')
check http_ping "got $out" sh -c "echo '$out' | grep -q '^200 .*\"id\":7.*\"version\"'"
out=$(post '{"jsonrpc":"2.0","id":1,"method":"ping"}' text/plain)
check http_content_type "got $out" sh -c "echo '$out' | grep -q '^415 .*-32600'"
out=$(post '{"jsonrpc":"2.0","method":"ping"}')
check http_notification "got $out" [ "$out" = "204 " ]
out=$(post 'not json')
check http_parse_error "got $out" sh -c "echo '$out' | grep -q '^200 .*-32700'"
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

out=$("$VMSCTL" -s "$URL" call guestlist listRSVPs 2>&1)
check vmsctl_http_call "got $out" [ "$out" = "{}" ]
out=$("$VMSCTL" -s "$URL" info guestlist 2>&1)
check vmsctl_http_info "got $out" sh -c "echo '$out' | grep -q 'status: *running'"
out=$("$VMSCTL" -s "$URL" stop guestlist 2>&1); rc=$?
check vmsctl_http_no_admin "rc=$rc got $out" sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'not allowed'"
out=$("$VMSCTL" -s "http://127.0.0.1:1" ping 2>&1); rc=$?
check vmsctl_http_unreachable "rc=$rc got $out" [ $rc = 3 ]

if kill -0 "$VPID" && rpc ping >/dev/null; then pass http_still_serving; else fail http_still_serving "daemon gone"; fi
stop_vmsd
