#!/bin/sh
# daemon-protocol.sh — the control socket's robustness: malformed JSON,
# oversize lines, unknown methods, wrong parameter types, pipelining with
# replies in request order, the HTTP port's restrictions; the daemon keeps
# serving.
. "$TOP/tests/integration/lib/daemon.sh"

printf 'max_message = 64K\n' >"$T/vmsd.conf"
PORT=$(free_port 0) || { echo "FAIL port: no free port"; exit 1; }
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi

raw() { $RPC -s "$T/s.sock" raw --wait "${1:-2}"; }

# Malformed JSON: -32700 with id null, and the connection stays usable.
out=$(printf 'this is not json\n{"jsonrpc":"2.0","id":5,"method":"ping"}\n' | raw 1)
l1=$(echo "$out" | sed -n 1p); l2=$(echo "$out" | sed -n 2p)
if [ "$(echo "$l1" | field error.code)" = -32700 ] && [ "$(echo "$l1" | field id)" = null ] &&
    [ "$(echo "$l2" | field id)" = 5 ] && echo "$l2" | field result.version >/dev/null; then
	pass malformed_json_connection_survives
else
	fail malformed_json_connection_survives "got: $out"
fi

# Not an object / no jsonrpc / params not an object.
out=$(printf '1\n{"id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"list","params":[1]}\n' | raw 1)
c1=$(echo "$out" | sed -n 1p | field error.code); c2=$(echo "$out" | sed -n 2p | field error.code)
c3=$(echo "$out" | sed -n 3p | field error.code)
check invalid_requests "codes $c1 $c2 $c3" [ "$c1" = -32600 -a "$c2" = -32600 -a "$c3" = -32602 ]

# Unknown method.
out=$(rpc frobnicate)
check unknown_method "got $out" [ "$(echo "$out" | field error.code)" = -32601 ]

# Wrong parameter types name the parameter.
out=$(rpc call '{"contract":"x","method":5}')
if [ "$(echo "$out" | field error.code)" = -32602 ] && echo "$out" | grep -q 'method'; then
	pass bad_param_type_named
else
	fail bad_param_type_named "got $out"
fi
out=$(rpc call '{"contract":"x","method":"m","args":"notarray"}')
if [ "$(echo "$out" | field error.code)" = -32602 ] && echo "$out" | grep -q 'args'; then
	pass bad_args_type_named
else
	fail bad_args_type_named "got $out"
fi
out=$(rpc log '{"contract":"x","count":-1}')
check bad_uint_param "got $out" [ "$(echo "$out" | field error.code)" = -32602 ]
out=$(rpc info '{}')
if [ "$(echo "$out" | field error.code)" = -32602 ] && echo "$out" | grep -q 'contract'; then
	pass missing_param_named
else
	fail missing_param_named "got $out"
fi
out=$(rpc info '{"contract":"nope"}')
check no_contract "got $out" [ "$(echo "$out" | field error.code)" = -32002 ]
out=$(rpc call '{"contract":"x","method":"m","user":"mallory"}')
check user_needs_debug_auth "got $out" [ "$(echo "$out" | field error.code)" = -32602 ]

# Oversize line: RPC_TOO_LARGE then the connection is closed.
out=$(python3 -c 'import sys; sys.stdout.write("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"" + "x"*100000 + "\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n")' | raw 3)
l1=$(echo "$out" | sed -n 1p)
if [ "$(echo "$l1" | field error.code)" = -32008 ] && echo "$out" | grep -q '^EOF$' &&
    ! echo "$out" | grep -q '"id":2'; then
	pass oversize_line_rejected_and_closed
else
	fail oversize_line_rejected_and_closed "got: $(echo "$out" | cut -c1-200)"
fi
# Oversize without any newline at all (a client that never ends its line).
out=$(python3 -c 'import sys; sys.stdout.write("x"*200000)' | raw 3)
check oversize_no_newline "got $(echo "$out" | cut -c1-200)" sh -c "echo '$out' | grep -q -- -32008"

# Pipelining: many requests in one write, answered in order with their ids.
python3 -c '
import json
for i in range(200):
    m = "ping" if i % 3 else "list"
    print(json.dumps({"jsonrpc":"2.0","id":"r%d" % i,"method":m}))
' >"$T/pipe.txt"
out=$(raw 3 <"$T/pipe.txt")
ids=$(echo "$out" | grep -v '^EOF$' | python3 -c '
import json, sys
print(",".join(json.loads(l)["id"] for l in sys.stdin if l.strip()))')
want=$(python3 -c 'print(",".join("r%d" % i for i in range(200)))')
check pipelined_replies_in_order "ids: $(echo "$ids" | cut -c1-80)..." [ "$ids" = "$want" ]

# Batches (JSON-RPC 2.0): one line, the array of the replies to the
# requests that are not notifications, in order; pipelined with single
# requests, every reply still leaves in request order.
out=$(printf '%s\n' \
    '{"jsonrpc":"2.0","id":"a","method":"ping"}' \
    '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"ping"},1,{"jsonrpc":"2.0","id":"x","method":"nope"},{"jsonrpc":"2.0","id":3,"method":"list"}]' \
    '[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"list"}]' \
    '[]' \
    '[1,2]' \
    '{"jsonrpc":"2.0","id":"z","method":"ping"}' | raw 2)
if echo "$out" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip() and l.strip() != "EOF"]
assert len(lines) == 5, lines
assert lines[0]["id"] == "a"
b = lines[1]
assert [x["id"] for x in b] == [1, None, "x", 3], b
assert "result" in b[0] and b[1]["error"]["code"] == -32600
assert b[2]["error"]["code"] == -32601 and "contracts" in b[3]["result"]
assert lines[2]["error"]["code"] == -32600 and lines[2]["id"] is None
assert [x["error"]["code"] for x in lines[3]] == [-32600, -32600]
assert lines[4]["id"] == "z"
'; then
	pass batches_on_the_socket
else
	fail batches_on_the_socket "got: $(echo "$out" | head -c 600)"
fi

# Notifications (no id) get no reply; the next request does.
out=$(printf '{"jsonrpc":"2.0","method":"ping"}\n{"jsonrpc":"2.0","id":9,"method":"ping"}\n' | raw 1)
check notification_no_reply "got $out" [ "$(echo "$out" | grep -c jsonrpc)" = 1 -a "$(echo "$out" | sed -n 1p | field id)" = 9 ]

# A silent half-open client does not block others.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"jsonrpc\":\"2.0\",")
time.sleep(3)' "$T/s.sock" &
SLOW=$!
sleep 0.3
if rpc ping >/dev/null; then pass slow_client_does_not_block; else fail slow_client_does_not_block "no answer"; fi
kill $SLOW 2>/dev/null; wait $SLOW 2>/dev/null

# The HTTP port: anonymous, no admin methods, reads allowed.
out=$($RPC -t 127.0.0.1:$PORT call deploy '{"name":"x","code":"return {}"}')
check tcp_no_admin "got $out" [ "$(echo "$out" | field error.code)" = -32003 ]
out=$($RPC -t 127.0.0.1:$PORT call list)
check tcp_read_ok "got $out" sh -c "echo '$out' | grep -q contracts"

# Still serving after all of that, and no sanitizer report.
if rpc ping >/dev/null && kill -0 "$VPID"; then pass still_serving; else fail still_serving "daemon gone"; fi
stop_vmsd
rc=$?
check clean_exit_after_abuse "rc=$rc" [ $rc -eq 0 ]
check_sanitizer_log
exit 0
