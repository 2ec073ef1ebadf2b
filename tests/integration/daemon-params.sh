#!/bin/sh
# daemon-params.sh — a call's params reach the worker as the client wrote
# them when they are compact (rpcmsg.c keeps their text), and encoded
# again from jansson's value otherwise: either way the contract sees the
# same arguments and the ledger records the same entry. Escapes, reals,
# nested objects, "params" inside a string or an argument, an escaped
# "params" key, whitespace, and params vmsd changes ("args" null or
# missing, "signed": null) all give the same call.
. "$TOP/tests/integration/lib/daemon.sh"

write_counter
printf 'debug_auth = yes\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy c "$T/counter.lua" >/dev/null

# raw LINE: send one line as it is, print the reply's result.value (or
# the error) in canonical form
raw() {
	printf '%s\n' "$1" | $RPC -s "$T/s.sock" raw --lines 1 | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
if "error" in r:
    print("error %d" % r["error"]["code"])
else:
    print(json.dumps(r["result"]["value"], sort_keys=True))'
}

A='["\u00e9",1.50,1e2,-0,{"k":[true,false],"params":{"x":1}},"a\"b\\c","\"params\":{"]'
want=$(raw '{"jsonrpc":"2.0","id":1,"method":"call","params":{"contract":"c","method":"echo","args":'"$A"'}}')
check compact_params_reach_the_contract "got $want" \
    [ "$want" = '["\u00e9", 1.5, 100.0, 0, {"k": [true, false], "params": {"x": 1}}, "a\"b\\c", "\"params\":{"]' ]

same() {	# same NAME LINE: the call gives the same value as the first
	got=$(raw "$2")
	check "$1" "got $got, want $want" [ "$got" = "$want" ]
}
same params_first \
    '{"params":{"contract":"c","method":"echo","args":'"$A"'},"id":2,"method":"call","jsonrpc":"2.0"}'
same params_with_spaces \
    '{"jsonrpc":"2.0","id":3,"method":"call","params":{ "contract" : "c", "method":"echo","args": '"$A"' } }'
same params_key_escaped \
    '{"jsonrpc":"2.0","id":4,"method":"call","par\u0061ms":{"contract":"c","method":"echo","args":'"$A"'}}'
same string_id_and_user \
    '{"jsonrpc":"2.0","id":"x\"}","method":"call","params":{"contract":"c","method":"echo","user":"u \"1\"","args":'"$A"'}}'
same signed_null \
    '{"jsonrpc":"2.0","id":6,"method":"call","params":{"contract":"c","method":"echo","signed":null,"args":'"$A"'}}'

# What vmsd changes is sent as changed: no args and null args are [].
empty=$(raw '{"jsonrpc":"2.0","id":7,"method":"call","params":{"contract":"c","method":"echo","args":[]}}')
got=$(raw '{"jsonrpc":"2.0","id":8,"method":"call","params":{"contract":"c","method":"echo","args":null}}')
check args_null_is_empty "got $got, want $empty" [ "$got" = "$empty" ]
got=$(raw '{"jsonrpc":"2.0","id":9,"method":"call","params":{"contract":"c","method":"echo"}}')
check args_missing_is_empty "got $got, want $empty" [ "$got" = "$empty" ]
# A duplicate key anywhere is refused before anything runs.
got=$(raw '{"jsonrpc":"2.0","id":10,"method":"call","params":{"contract":"c","method":"echo","args":[{"a":1,"a":2}]}}')
check duplicate_key_refused "got $got" [ "$got" = "error -32700" ]

# A worker's reply carries the request's id as it was, at its limits too.
for id in 0 -1 9223372036854775807 -9223372036854775808 '"s"' null; do
	got=$(printf '{"jsonrpc":"2.0","id":%s,"method":"call","params":{"contract":"c","method":"get"}}\n' "$id" |
	    $RPC -s "$T/s.sock" raw --lines 1 | python3 -c '
import sys
print(sys.stdin.readline().split("\"id\":", 1)[1].split(",", 1)[0])')
	check "reply_id_$id" "got $got" [ "$got" = "$id" ]
done

# The ledger holds the same args for every one of the echo calls above
# (read while vmsd runs: the records, then the zeros kept ahead of them).
python3 - "$LIB" "$T/state/contracts/c/entries" >"$T/args.out" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from ledgerfiles import records
args = []
for note, rec in records(sys.argv[2]):
    if note:
        continue
    e = json.loads(rec)
    if e.get("method") == "echo" and e.get("args"):
        args.append(json.dumps(e["args"], sort_keys=True))
print(len(args), len(set(args)))
PY
check ledger_args_identical "$(cat "$T/args.out")" [ "$(cat "$T/args.out")" = "6 1" ]
stop_vmsd
exit 0
