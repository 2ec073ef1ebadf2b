#!/bin/sh
# audit-pages.sh — `vmsctl audit NAME` through vmsd keeps a few pages of
# entries, not the whole ledger (audit/audit-rpc.c). A ledger whose
# every 1000th call reads entry 1 again (System.files.history) audits
# clean: entry 1's page, gone by then, is fetched again. And the release
# vmsctl's peak memory does not grow with the ledger's entries: from
# 4,500 entries to 9,000 it grows by less than half of what the 4,500
# added entries hold (round 18's vmsctl, keeping every entry, grew by more
# than all of it).
. "$TOP/tests/integration/lib/daemon.sh"

cat >"$T/hist.lua" <<'LUA'
local M = {}
function M.init() System.files.writeFile('/n', '0') end
function M.inc(pad)
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  -- now and then entry 1 again, from the start of the ledger
  local first
  if n == 2 or n % 1000 == 0 then
    local h = System.files.history({ start = 1, ['end'] = 2 })
    first = h[1] and h[1].path
  end
  return { n = n, first = first, pad = #pad }
end
return M
LUA
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy h "$T/hist.lua" >/dev/null
# (the first call finds no entry 1 yet: it is that call's own)
rpc call '{"contract":"h","method":"inc","args":["x"]}' >/dev/null
out=$(rpc call '{"contract":"h","method":"inc","args":["x"]}')
check history_reads_entry_1 "$out" \
    sh -c 'printf "%s" "$1" | grep -q "\"first\":\"/n\""' _ "$out"
PAD=$(python3 -c 'print("p" * 4000)')
# load: 4,500 more calls, from 8 clients
load() {
	$RPC -s "$T/s.sock" load --clients 8 --calls 563 --contract h \
	    --method inc --args "[\"$PAD\"]" >"$T/load.json"
	_ok=$($JGET ok <"$T/load.json")
	check "load_ok_$1" "ok=$_ok of 4504" [ "$_ok" = 4504 ]
}

REL=$RELEASE_VMSCTL
entries_kib() { echo $(( $(stat -c %s "$T/state/contracts/h/entries") / 1024 )); }

load 1
if [ -x "$REL" ]; then
	rss1=$(audit_rss "$REL" h)
	e1=$(entries_kib)
fi
load 2
rss=$(audit_rss "$VMSCTL" h)
if [ "$rss" -gt 0 ] && grep -q '^h: OK — 9011 entries' "$T/audit.out"; then
	pass audit_through_pages
else
	fail audit_through_pages "$(tail -3 "$T/audit.out")"
fi
if [ -x "$REL" ]; then
	rss2=$(audit_rss "$REL" h)
	e2=$(entries_kib)
	check audit_memory_flat \
	    "peak RSS $rss1 KiB at $e1 KiB of entries, $rss2 KiB at $e2 KiB" \
	    [ "$rss1" -gt 0 -a "$rss2" -gt 0 -a \
	    $((rss2 - rss1)) -lt $(((e2 - e1) / 2)) ]
else
	skip audit_memory_flat "no release vmsctl at $REL"
fi
stop_vmsd
check_sanitizer_log
exit 0
