#!/bin/sh
# js-client.sh — clients/js/vmsd.js with node against a real vmsd over HTTP
# (tests/integration/lib/js_client_test.mjs prints the PASS/FAIL lines):
# the manual page's example, canonical JSON, a signed RSVP writing
# /rsvps/<caller id>.json and confirmed in the signed tree, a refused
# replay and other refusals. Skipped, saying so, without node.
. "$TOP/tests/integration/lib/daemon.sh"

if ! command -v node >/dev/null 2>&1; then
	skip js_client "node is not installed (make deps installs Debian's nodejs)"
	exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
if [ "${major:-0}" -lt 18 ]; then
	skip js_client "node $(node --version) is older than 18 (no WebCrypto Ed25519)"
	exit 0
fi
PORT=$(free_port 13) || { echo "FAIL port: no free port"; exit 1; }
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
cat >"$T/echo.lua" <<'LUA'
local M = {}
function M.echo(...) return {...} end
return M
LUA
"$VMSCTL" -s "$T/s.sock" deploy "$TOP/examples/guestlist.lua" >/dev/null &&
"$VMSCTL" -s "$T/s.sock" deploy --name party "$TOP/examples/guestlist.lua" >/dev/null &&
"$VMSCTL" -s "$T/s.sock" deploy "$T/echo.lua" >/dev/null ||
    { fail deploy "cannot deploy"; exit 1; }
VKEY=$("$VMSCTL" -s "$T/s.sock" info guestlist | sed -n 's/^vkey: *//p')
export XDG_CONFIG_HOME="$T/cfg" VMSCTL_KNOWN="$T/known"
"$VMSCTL" keygen >/dev/null && ID=$("$VMSCTL" whoami) ||
    { fail keygen "vmsctl keygen failed"; exit 1; }
node "$TOP/tests/integration/lib/js_client_test.mjs" "$TOP" "http://127.0.0.1:$PORT" \
    "$VKEY" "$T/cfg/vmsctl/identity" "$ID" >"$T/node.out" 2>"$T/node.err"
rc=$?
cat "$T/node.out"
[ -s "$T/node.err" ] && sed 's/^/     node: /' "$T/node.err" | head -10
if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$T/node.out"; then
	fail js_client "node exited $rc without a FAIL line"
fi
# what node did is in the ledger, and audits
out=$("$VMSCTL" -s "$T/s.sock" audit guestlist echo 2>&1)
check js_ledgers_audit "$out" sh -c "[ \$(echo '$out' | grep -c ': OK') = 2 ]"
