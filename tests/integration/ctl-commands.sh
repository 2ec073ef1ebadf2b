#!/bin/sh
# ctl-commands.sh — vmsctl against a real vmsd: every command, its output,
# --json, and the exit codes (0 ok, 1 failed, 2 usage, 3 unreachable).
. "$TOP/tests/tools/daemon.sh"

T=$(mktemp -d /tmp/vms-ctl.XXXXXX)
cleanup() { daemon_stop; [ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"; }
trap cleanup EXIT INT TERM

# check NAME COND-COMMAND... : PASS if the command succeeds
check() { n=$1; shift; if "$@"; then echo "PASS $n"; else echo "FAIL $n: $*"; fi; }
# rc_is WANT CMD...: run, compare the exit code, keep output in $out
rc_is() { w=$1; shift; out=$("$@" 2>"$T/err"); r=$?; [ "$r" -eq "$w" ]; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }

# --- no daemon needed ---------------------------------------------------
check usage-none rc_is 2 "$VMSCTL"
check usage-unknown rc_is 2 "$VMSCTL" frobnicate
check usage-bad-args rc_is 2 "$VMSCTL" -s "$T/none" info
check help rc_is 0 "$VMSCTL" help
has "$out" "audit" && echo "PASS help-lists-commands" || echo "FAIL help-lists-commands: $out"
check command-help rc_is 0 "$VMSCTL" deploy --help
has "$out" "usage: vmsctl deploy FILE.lua" && echo "PASS command-help-text" ||
    echo "FAIL command-help-text: $out"
check help-command rc_is 0 "$VMSCTL" help log
check version rc_is 0 "$VMSCTL" -V
check unreachable rc_is 3 "$VMSCTL" -s "$T/no.sock" list
grep -q "^vmsctl: cannot connect to $T/no.sock" "$T/err" &&
    [ "$(wc -l <"$T/err")" -eq 1 ] && echo "PASS unreachable-one-line" ||
    echo "FAIL unreachable-one-line: $(cat "$T/err")"
check unreachable-env env VMSD_SOCKET="$T/env.sock" sh -c \
    '"$VMSCTL" list 2>&1 | grep -q "env.sock"; [ $? -eq 0 ]'
check unreachable-audit rc_is 3 "$VMSCTL" -s "$T/no.sock" audit x

if ! daemon_usable; then
	echo "SKIP ctl-daemon: vmsd cannot deploy yet (daemon not functional in this build)"
	exit 0
fi

# --- against a real daemon ------------------------------------------------
daemon_start "$T/d" "debug_auth = yes" || exit 1
cat >"$T/guestlist.lua" <<'LUA'
local M = {}
function M.init() System.files.mkdir('/rsvps') end
function M.RSVP(name, coming, reason)
  if type(name) ~= 'string' then error('name must be a string') end
  local id = System.caller.id or 'anonymous'
  System.files.writeFile('/rsvps/' .. id .. '.json',
    System.json.encode({ name = name, coming = coming, reason = reason }))
  return { ok = true, who = id }
end
function M.count()
  return #System.files.readdir('/rsvps')
end
return M
LUA

check deploy rc_is 0 $V deploy "$T/guestlist.lua"
has "$out" "^name: guestlist$" && has "$out" "^vkey: .*/guestlist+[0-9a-f]\{8\}+" &&
    has "$out" "^size: 1$" && echo "PASS deploy-output" || echo "FAIL deploy-output: $out"
vkey=$(printf '%s\n' "$out" | sed -n 's/^vkey: //p')
check deploy-exists rc_is 1 $V deploy "$T/guestlist.lua"
check deploy-name rc_is 0 $V deploy "$T/guestlist.lua" --name gl2 --limit memory=16M
check deploy-bad-limit rc_is 2 $V deploy "$T/guestlist.lua" --name gl3 --limit memory=lots
check deploy-missing-file rc_is 1 $V deploy "$T/nope.lua"

check call rc_is 0 $V call guestlist RSVP bob false "Washing my hair, sorry!"
has "$out" '"ok":true' && echo "PASS call-result-json" || echo "FAIL call-result-json: $out"
check call-json rc_is 0 $V --json call guestlist RSVP carol true
has "$out" '"index":2' && echo "PASS call-index" || echo "FAIL call-index: $out"
check call-contract-error rc_is 1 $V call guestlist RSVP 42
grep -q "name must be a string" "$T/err" && echo "PASS contract-error-message" ||
    echo "FAIL contract-error-message: $(cat "$T/err")"
check call-unknown-method rc_is 1 $V call guestlist nosuch
check call-private-init rc_is 1 $V call guestlist init
check call-no-contract rc_is 1 $V call nosuch RSVP a
check call-user rc_is 0 $V --user dave call guestlist RSVP dave true
has "$out" '"who":"dave"' && echo "PASS debug-user" || echo "FAIL debug-user: $out"

check list rc_is 0 $V list
has "$out" "^guestlist " && echo "PASS list-output" || echo "FAIL list-output: $out"
check list-json rc_is 0 $V --json list
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(c["name"]=="guestlist" for c in d["contracts"])' &&
    echo "PASS list-json-parses" || echo "FAIL list-json-parses: $out"
check info rc_is 0 $V info guestlist
has "$out" "^vkey: *$vkey" && has "$out" "^methods: *RSVP count" &&
    echo "PASS info-output" || echo "FAIL info-output: $out"
check methods rc_is 0 $V methods guestlist
[ "$out" = "RSVP
count" ] && echo "PASS methods-output" || echo "FAIL methods-output: $out"

check log rc_is 0 $V log guestlist
[ "$(printf '%s\n' "$out" | wc -l)" -eq 5 ] && has "$out" '"type":"deploy"' &&
    echo "PASS log-output" || echo "FAIL log-output: $out"
check log-range rc_is 0 $V log guestlist --from 1 --count 1
has "$out" '"method":"RSVP"' && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
    echo "PASS log-range-output" || echo "FAIL log-range-output: $out"
check log-raw rc_is 0 $V log guestlist --raw --count 2
first=$(printf '%s\n' "$out" | head -1 | base64 -d 2>/dev/null)
[ "$first" = "$($V log guestlist --count 1)" ] && echo "PASS log-raw-bytes" ||
    echo "FAIL log-raw-bytes: $first"

check checkpoint rc_is 0 $V checkpoint guestlist
[ "$(printf '%s\n' "$out" | sed -n 2p)" = 5 ] &&
    printf '%s\n' "$out" | head -1 | grep -q "/guestlist$" &&
    printf '%s\n' "$out" | grep -q "^— " && echo "PASS checkpoint-note" ||
    echo "FAIL checkpoint-note: $out"

check read rc_is 0 $V read guestlist /rsvps/dave.json
has "$out" '"name":"dave"' && echo "PASS read-bytes" || echo "FAIL read-bytes: $out"
check read-missing rc_is 1 $V read guestlist /nope
check ls rc_is 0 $V ls guestlist /rsvps
has "$out" "dave.json" && echo "PASS ls-output" || echo "FAIL ls-output: $out"
check ls-recursive rc_is 0 $V ls guestlist -R
has "$out" "dave.json" && echo "PASS ls-recursive-output" || echo "FAIL ls-recursive-output: $out"

check stop rc_is 0 $V stop guestlist
check call-stopped rc_is 1 $V call guestlist count
check start rc_is 0 $V start guestlist
check call-started rc_is 0 $V call guestlist count
[ "$out" = 2 ] && echo "PASS state-kept" || echo "FAIL state-kept: $out"

check remove rc_is 0 $V remove gl2
check remove-gone rc_is 1 $V info gl2
check remove-purge rc_is 0 $V remove guestlist --purge
check list-empty rc_is 0 $V --json list
has "$out" '"contracts":\[\]' && echo "PASS list-empty-json" || echo "FAIL list-empty-json: $out"
exit 0
