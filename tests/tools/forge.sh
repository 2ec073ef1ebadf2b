# tests/tools/forge.sh — sourced by the audit tests: builds the test-only
# ledger-forge tool (tests/tools/ledger-forge.c; the Makefile's
# build/san/tests/ledger-forge target) and defines FORGE.
# Also provides the guest-list contract the tests share.

forge_build() {
	FORGE="$TOP/build/san/tests/ledger-forge"
	mkdir -p "$TOP/build/san/tests"
	# built by `make check`; rebuilt here only when a source is newer
	make -s -C "$TOP" build/san/tests/ledger-forge \
	    >"$TOP/build/san/tests/ledger-forge.log" 2>&1 ||
	    { echo "FAIL forge: cannot build ledger-forge (see build/san/tests/ledger-forge.log)"; return 1; }
	export FORGE
	return 0
}

# write_guestlist FILE: the guest list used by the audit tests.
write_guestlist() {
	cat >"$1" <<'LUA'
-- guestlist: RSVPs kept as files, one per guest
local M = {}

function M.init()
  System.files.mkdir("/guests")
  System.files.writeFile("/owner", System.caller.id or "nobody")
end

function M.RSVP(name, coming, note)
  if type(name) ~= "string" or name == "" then
    error("name must be a non-empty string")
  end
  local rec = { coming = coming, note = note or "", at = System.time() }
  System.files.writeFile("/guests/" .. name, System.json.encode(rec))
  if coming then return "see you there, " .. name end
  return "sorry you cannot come, " .. name
end

function M.count()
  local n = 0
  for _, e in ipairs(System.files.readdir("/guests")) do n = n + 1 end
  return n
end

return M
LUA
}

# write_calls FILE N: N guest-list calls, alternating guests.
write_calls() {
	i=1; : >"$1"
	while [ "$i" -le "$2" ]; do
		if [ $((i % 3)) -eq 0 ]; then c=false; else c=true; fi
		printf '{"method":"RSVP","args":["guest%d",%s,"note %d"],"caller":"unix:user%d"}\n' \
		    "$((i % 7))" "$c" "$i" "$((i % 5))" >>"$1"
		i=$((i + 1))
	done
}
