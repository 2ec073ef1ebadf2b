#!/bin/sh
# tests/tools/mkgolden.sh — write the golden ledgers of tests/data/golden/:
# contracts run by a real vmsd, their ledger directories copied as they
# are. tests/integration/golden.sh audits them with the current build, so
# a change to the engine, the sandbox, the canonical encoding or the ledger
# format that would make an auditor of this version reject (or replay
# differently) a ledger an earlier vmsd wrote fails `make check`.
#
# Regenerate only when the format changes on purpose (say why in the
# commit, and bump what the change bumps: the entry "v", the runtime
# string, the ledger's file format):
#   make all && sh tests/tools/mkgolden.sh
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)
VMSD="${VMSD:-$TOP/daemon/vmsd}"
VMSCTL="${VMSCTL:-$TOP/ctl/vmsctl}"
OUT="$TOP/tests/data/golden"
T=$(mktemp -d /tmp/mkgolden.XXXXXX)
trap 'kill -TERM $VPID 2>/dev/null; wait $VPID 2>/dev/null; rm -rf "$T"' EXIT INT TERM

cat >"$T/vmsd.conf" <<CONF
debug_auth = yes
origin_prefix = golden.vmsd.test
CONF
"$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state" --socket "$T/s.sock" \
    >"$T/log" 2>&1 </dev/null &
VPID=$!
i=0
until "$VMSCTL" -s "$T/s.sock" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/log"; exit 1; }
	sleep 0.1
done
V() { "$VMSCTL" -s "$T/s.sock" "$@"; }

# 1. the guest list: local callers, a signed caller, a refused call
V deploy "$TOP/examples/guestlist.lua" >/dev/null
for u in alice bob carol dave; do
	V --user "$u" call guestlist RSVP "$u" true "" >/dev/null
done
V --user bob call guestlist RSVP bob false "Sorry, can't make it" >/dev/null
XDG_CONFIG_HOME="$T/xdg" V keygen >/dev/null
XDG_CONFIG_HOME="$T/xdg" V --sign call guestlist RSVP erin true "" >/dev/null
V call guestlist listRSVPs >/dev/null
V call guestlist RSVP nobody true "" >/dev/null 2>&1 || true

# 2. the sandbox's determinism: math (musl's libm), string formatting of
# floats, sorting, utf8, pairs order, JSON, errors, time and random
cat >"$T/mixed.lua" <<'LUA'
local M = {}
function M.init() System.files.mkdir('/r') end
function M.math(x)
  local r = {
    sin = math.sin(x), cos = math.cos(x), exp = math.exp(x / 3),
    log = math.log(math.abs(x) + 2), pow = (math.abs(x) + 0.5) ^ 1.7, sqrt = math.sqrt(math.abs(x) + 1),
    atan = math.atan(x, 3), fmt = string.format('%.17g %g %5.2f', x / 7, x * 1e300, -x),
    floor = math.floor(x * 1.5), fmod = math.fmod(x * 7.3, 2.1),
    int = 7 // 2 + ((math.tointeger(x) or 0) | 1),
  }
  System.files.writeFile('/r/math' .. x, System.json.encode(r))
  return r
end
function M.tables(n)
  local t, keys = {}, {}
  for i = 1, n do t['k' .. (i * 7919 % 97)] = i end
  for k, v in pairs(t) do keys[#keys + 1] = k .. '=' .. v end
  local s = {}
  for i = 1, n do s[i] = (i * 37) % 101 end
  table.sort(s, function(a, b) return a > b end)
  local u = utf8.char(72, 233, 8364, 128512) .. tostring(utf8.len('h\u{e9}\u{20ac}'))
  System.files.writeFile('/r/t' .. n, table.concat(keys, ',') .. '|' .. table.concat(s, ' ') .. '|' .. u)
  return { n = #keys, first = s[1], u = u, gsub = (string.gsub('a-b-c', '-', '+')) }
end
function M.chance()
  local r = { System.random(1, 1000000), System.random(), System.time() }
  System.files.writeFile('/r/chance', System.json.encode(r))
  return r
end
function M.fail(why) error('refused: ' .. tostring(why)) end
return M
LUA
V deploy -n mixed "$T/mixed.lua" >/dev/null
for x in 0 1 2.5 -3 40; do V call mixed math "$x" >/dev/null; done
for n in 1 5 30; do V call mixed tables "$n" >/dev/null; done
V call mixed chance >/dev/null
V call mixed fail '{"a":[1,2]}' >/dev/null 2>&1 || true

# 3. a factory and its children
V deploy "$TOP/examples/counter-factory.lua" --limit children=10 >/dev/null
V --user alice call counter-factory create alice >/dev/null
V --user bob call counter-factory create bob >/dev/null
V --user alice call counter-factory.alice increment >/dev/null
V --user alice call counter-factory.alice increment >/dev/null
V --user bob call counter-factory.bob increment >/dev/null
V --user bob call counter-factory.alice increment >/dev/null 2>&1 || true

kill -TERM $VPID
wait $VPID || true
rm -rf "$OUT"
mkdir -p "$OUT"
for c in guestlist mixed counter-factory counter-factory.alice counter-factory.bob; do
	mkdir "$OUT/$c"
	for f in entries index hashes checkpoint checkpoints vkey; do
		cp "$T/state/contracts/$c/$f" "$OUT/$c/"
	done
done
echo "mkgolden: wrote $(ls "$OUT" | wc -l) ledgers in $OUT"
