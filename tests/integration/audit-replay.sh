#!/bin/sh
# audit-replay.sh — contracts whose honest ledgers must audit clean: one
# using System.time, System.random and pairs() over string keys (whose
# order differs between Lua states/processes unless the sandbox pins it),
# and one with init (NodeVMS replayed init twice). Ledgers are written by
# the engine in one process (tests/tools/ledger-forge) and replayed by
# vmsctl in another.
. "$TOP/tests/tools/forge.sh"
forge_build || exit 0

T=$(mktemp -d /tmp/vms-audit-replay.XXXXXX)
[ -n "$VMS_TEST_KEEP" ] || trap 'rm -rf "$T"' EXIT INT TERM
export VMSCTL_KNOWN="$T/known"
"$FORGE" keygen "$T/key" || { echo "FAIL setup: keygen"; exit 1; }

cat >"$T/dice.lua" <<'LUA'
local M = {}
function M.init()
  System.files.mkdir('/rolls')
  System.files.writeFile('/born', tostring(System.time()))
end
function M.roll(who)
  local t = { alpha = 1, beta = 2, gamma = 3, delta = 4, [who] = System.random(1, 6) }
  local keys = {}
  for k, v in pairs(t) do keys[#keys + 1] = k .. '=' .. v end
  local r = System.random(1, 1000000)
  System.files.writeFile('/rolls/' .. who, table.concat(keys, ',') .. ' ' .. r ..
    ' at ' .. System.time())
  return { roll = t[who], r = r, keys = keys }
end
return M
LUA
cat >"$T/initc.lua" <<'LUA'
local M = {}
function M.init()
  System.files.writeFile('/log', 'init;')
end
function M.add(s)
  local old = System.files.readFile('/log')
  System.files.writeFile('/log', old .. s .. ';')
  return old .. s .. ';'
end
return M
LUA
i=1; : >"$T/dice.calls"
while [ $i -le 30 ]; do
	printf '{"method":"roll","args":["player%d"]}\n' $i >>"$T/dice.calls"; i=$((i + 1))
done
printf '{"method":"add","args":["x"]}\n{"method":"add","args":["y"]}\n{"method":"add","args":[7]}\n' >"$T/initc.calls"

"$FORGE" build "$T/dice" "$T/key" test.example/vmsd/dice "$T/dice.lua" "$T/dice.calls" &&
"$FORGE" build "$T/initc" "$T/key" test.example/vmsd/initc "$T/initc.lua" "$T/initc.calls" ||
    { echo "FAIL setup: cannot build the ledgers"; exit 1; }

out=$("$VMSCTL" audit --dir "$T/dice" 2>&1) &&
    printf '%s' "$out" | grep -q "^dice: OK — 31 entries, checkpoint 31 verified, replayed in .* s, state matches; first use: key of origin test.example/vmsd/dice now trusted$" &&
    echo "PASS time-random-iteration" || echo "FAIL time-random-iteration: $out"
# replay twice more in fresh processes: the same verdict each time
for n in 2 3; do
	out=$("$VMSCTL" audit --dir "$T/dice" 2>&1) && echo "PASS replay-again-$n" ||
	    echo "FAIL replay-again-$n: $out"
done
out=$("$VMSCTL" audit --dir "$T/initc" 2>&1) &&
    printf '%s' "$out" | grep -q "^initc: OK — 4 entries" &&
    echo "PASS init-replayed-once" || echo "FAIL init-replayed-once: $out"
# and a flipped bit in it is still named
"$FORGE" raw "$T/initc" --flip 2 100
out=$("$VMSCTL" audit --dir "$T/initc" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "FAIL at entry 2 " &&
    echo "PASS initc-tamper-named" || echo "FAIL initc-tamper-named: $out"

# --threads: 4,400 rolls replayed on 2 threads (segments of >= 2,048
# entries each), the same verdict; a lie re-signed past the segment
# boundary is named at its entry, as one thread names it.
i=1; : >"$T/many.calls"
while [ $i -le 4400 ]; do
	printf '{"method":"roll","args":["p%d"]}\n' $((i % 50)) >>"$T/many.calls"; i=$((i + 1))
done
if "$FORGE" build "$T/many" "$T/key" test.example/vmsd/many "$T/dice.lua" "$T/many.calls"; then
	out=$("$VMSCTL" audit --dir "$T/many" --threads 2 2>&1) &&
	    printf '%s' "$out" | grep -q "^many: OK — 4401 entries, checkpoint 4401 verified, .* state matches" &&
	    echo "PASS threads-ok" || echo "FAIL threads-ok: $out"
	"$FORGE" rewrite "$T/many" "$T/many2" "$T/key" --set-result 3900 '"hacked"' >/dev/null
	one=$(VMSCTL_KNOWN="$T/known2" "$VMSCTL" audit --dir "$T/many2" --threads 1 2>&1)
	two=$(VMSCTL_KNOWN="$T/known3" "$VMSCTL" audit --dir "$T/many2" --threads 2 2>&1); rc=$?
	[ $rc -eq 1 ] && printf '%s' "$two" | grep -q "FAIL at entry 3900 " &&
	    [ "$(printf '%s' "$one" | sed 's/replayed in [0-9.]* s//')" = "$(printf '%s' "$two" | sed 's/replayed in [0-9.]* s//')" ] &&
	    echo "PASS threads-name-the-entry" || echo "FAIL threads-name-the-entry: rc=$rc one: $one two: $two"
else
	echo "FAIL threads-setup: cannot build the ledger"
fi
# By default --dir replays on the CPUs vmsctl may run on, one per 2,048
# entries at most: 2 threads for these 4,400 with two CPUs or more (64
# asked for, 2 used), 1 when pinned to one CPU.
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	out=$("$VMSCTL" audit --dir "$T/many" 2>&1)
	printf '%s' "$out" | grep -q "^many: OK — 4401 entries, checkpoint 4401 verified, replayed in [0-9.]* s on 2 threads, state matches" &&
	    echo "PASS threads-default-cores" || echo "FAIL threads-default-cores: $out"
	out=$("$VMSCTL" audit --dir "$T/many" --threads 64 --json 2>&1)
	printf '%s' "$out" | grep -q '"replay_threads": *2' &&
	    echo "PASS threads-one-per-2048" || echo "FAIL threads-one-per-2048: $out"
	out=$(taskset -c 0 "$VMSCTL" audit --dir "$T/many" 2>&1)
	printf '%s' "$out" | grep -q "^many: OK — 4401 entries, checkpoint 4401 verified, replayed in [0-9.]* s, state matches" &&
	    echo "PASS threads-default-pinned" || echo "FAIL threads-default-pinned: $out"
else
	echo "SKIP threads-default: needs taskset and two CPUs"
fi
for bad in 0 65 x; do
	out=$("$VMSCTL" audit --dir "$T/many" --threads $bad 2>&1); rc=$?
	[ $rc -eq 2 ] && printf '%s' "$out" | grep -q "bad --threads" &&
	    echo "PASS threads-refused-$bad" || echo "FAIL threads-refused-$bad: rc=$rc $out"
done
out=$("$VMSCTL" audit many --threads 2 2>&1); rc=$?
[ $rc -eq 2 ] && printf '%s' "$out" | grep -q "goes with --dir" &&
    echo "PASS threads-needs-dir" || echo "FAIL threads-needs-dir: rc=$rc $out"
exit 0
