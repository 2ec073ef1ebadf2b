#!/bin/sh
# ctl-options.sh — vmsctl's options (#13 item 6): an argument that looks
# like an option is one anywhere on the line, up to a literal "--"; after
# it everything is a contract argument. Nothing like "--json" reaches a
# contract by mistake: what each call recorded is read back from the ledger.
. "$TOP/tests/integration/lib/daemon.sh"

VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
if ! start_vmsd; then
	fail start "vmsd did not start"
	exit 1
fi
write_counter
deploy counter "$T/counter.lua" >/dev/null
S="$T/s.sock"
size() { "$VMSCTL" -s "$S" info counter | sed -n 's/^size: *//p'; }
# the args recorded by the last entry
last_args() {
	n=$(size)
	"$VMSCTL" -s "$S" log counter --from $((n - 1)) | python3 -c '
import json, sys
print(json.dumps(json.loads(sys.stdin.readline())["args"], separators=(",", ":")))'
}

out=$("$VMSCTL" -s "$S" call counter echo -- --json)
check dashdash_passes_option_like_arg "got $out, recorded $(last_args)" \
    sh -c "[ '$out' = '[\"--json\"]' ] && [ '$(last_args)' = '[\"--json\"]' ]"
out=$("$VMSCTL" call counter echo a --json -s "$S")
check global_options_after_the_command "got $out, recorded $(last_args)" \
    sh -c "echo '$out' | grep -q '\"index\"' && [ '$(last_args)' = '[\"a\"]' ]"
out=$("$VMSCTL" call -s "$S" counter echo -- -s x --)
check everything_after_dashdash "got $out" [ "$out" = '["-s","x","--"]' ]
out=$("$VMSCTL" -s "$S" call counter echo -5 -1.5 - 2>&1)
check negative_numbers_and_dash_are_args "got $out" [ "$out" = '[-5,-1.5,"-"]' ]
before=$(size)
out=$("$VMSCTL" -s "$S" call counter echo a --jsn 2>&1); rc=$?
after=$(size)
check unknown_option_refused "rc=$rc got $out; size $before -> $after" \
    sh -c "[ $rc = 2 ] && echo '$out' | grep -q 'unknown option \"--jsn\"' && [ '$before' = '$after' ]"
out=$("$VMSCTL" --bogus -s "$S" ping 2>&1); rc=$?
check unknown_global_option "rc=$rc got $out" sh -c "[ $rc = 2 ] && echo '$out' | grep -q 'unknown option'"
out=$("$VMSCTL" -s "$S" log counter --json --count 1 | head -1)
check command_options_anywhere "got $(echo "$out" | cut -c1-60)" sh -c "echo '$out' | grep -q '\"type\":\"deploy\"'"
out=$("$VMSCTL" ping --help)
check help_anywhere "got $out" sh -c "echo '$out' | grep -q '^usage: vmsctl ping'"
out=$("$VMSCTL" -s "$S" --timeout=5 --user=nobody call counter whoami 2>&1); rc=$?
check option_equals_value "rc=$rc got $out" sh -c "[ $rc = 1 ] && echo '$out' | grep -q debug_auth"
stop_vmsd
exit 0
