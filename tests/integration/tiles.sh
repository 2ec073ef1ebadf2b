#!/bin/sh
# tiles.sh — each contract's ledger as C2SP tlog-tiles on vmsd's HTTP port
# (daemon/tiles.c), read by an independent reader written from the specs
# (lib/tlogread.py: python3 and python3-cryptography, none of our code)
# that fetches only the checkpoint and tiles and recomputes the root three
# ways and the Ed25519 signature: at tree sizes 1, 255, 256, 257 (live
# calls) and 65,536, 65,537 (a forged ledger installed as a contract, then
# one live call), so partial tiles appear at every level. Also the HTTP
# contract: content types, caching, 404s for what does not exist (yet),
# HEAD, and that the tiles follow the ledger as calls commit.
. "$TOP/tests/integration/lib/daemon.sh"
. "$TOP/tests/tools/forge.sh"

VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
READ="python3 $LIB/tlogread.py"
PORT=$(free_port 11) || { echo "FAIL port: no free port"; exit 1; }
URL=http://127.0.0.1:$PORT
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
	fail reader "python3-cryptography is missing (make deps installs it)"
	exit 1
fi
forge_build || exit 1
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail start "vmsd did not start"
	exit 1
fi
write_counter
deploy t "$T/counter.lua" >/dev/null
VK=$(curl -s "$URL/c/t/vkey")

reader() {	# reader NAME SIZE [--headers]: a PASS line reader_NAME_SIZE
	n=$1; s=$2; shift 2
	if $READ "$URL/c/$n" "$VK" --size "$s" "$@" >"$T/read.out" 2>&1; then
		pass "reader_${n}_$s"
	else
		fail "reader_${n}_$s" "$(grep -m3 FAIL "$T/read.out" | tr '\n' ' ')"
	fi
}
calls() {	# calls N: N more entries
	$RPC -s "$T/s.sock" load --clients 1 --calls "$1" --contract t \
	    --method inc --pipeline 16 >"$T/load.out" 2>&1 ||
	    fail "calls_$1" "$(cat "$T/load.out")"
}
status() {	# status PATH [HEAD]: the HTTP status code
	curl -s -o /dev/null -w '%{http_code}' ${2:+-I} "$URL/c/$1"
}

reader t 1 --headers
code=$(status t/tile/0/000)
check tile_404_full_not_yet "a full tile at size 1: $code" [ "$code" = 404 ]
code=$(status t/tile/0/000.p/2)
check tile_404_wider "a partial tile wider than the tree: $code" [ "$code" = 404 ]
code=$(status t/tile/1/000.p/1)
check tile_404_level "a level-1 tile at size 1: $code" [ "$code" = 404 ]
code=$(status nope/checkpoint)
check tile_404_contract "unknown contract: $code" [ "$code" = 404 ]
for p in t/tile/0/0000 t/tile/0/x000/000 t/tile/00/000 t/tile/0/000.p/0 \
    t/tile/0/000.p/256 t/tile/entries/000.p/01 t/nothing t/ t/tile/0/000/; do
	code=$(status "$p")
	[ "$code" = 404 ] || { fail tile_404_malformed "$p: $code"; break; }
done
[ "$code" = 404 ] && pass tile_404_malformed
code=$(status t/checkpoint HEAD)
check tile_head "HEAD checkpoint: $code" [ "$code" = 200 ]
# HEAD says the length GET sends, and sends no body
for p in t/checkpoint t/tile/0/000.p/1 t/tile/entries/000.p/1; do
	get=$(curl -s "$URL/c/$p" | wc -c)
	hl=$(curl -sI "$URL/c/$p" | tr -d '\r' | sed -n 's/^Content-Length: //ip')
	hb=$(curl -s -X HEAD --max-time 2 -o /dev/null -w '%{size_download}' "$URL/c/$p")
	check "head_length_$(echo $p | tr / _)" "GET $get bytes, HEAD says '$hl', HEAD body $hb" \
	    sh -c "[ '$get' -gt 0 ] && [ '$hl' = '$get' ] && [ '$hb' = 0 ]"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/c/t/checkpoint")
check tile_post_refused "POST: $code" [ "$code" = 405 ]

calls 254
reader t 255 --headers
calls 1
reader t 256 --headers
cc=$(curl -s -D - -o /dev/null "$URL/c/t/tile/0/000" | tr -d '\r' | grep -i '^cache-control:')
check tile_full_immutable "$cc" sh -c "echo '$cc' | grep -q 'immutable' && echo '$cc' | grep -q 'max-age=31536000'"
code=$(status t/tile/0/000.p/255)
check tile_old_partial_served "an older partial tile inside the tree: $code" [ "$code" = 200 ]
calls 1
reader t 257 --headers

# 65,536 and 65,537 entries: a ledger built by ledger-forge (a deploy and
# 65,535 calls of a trivial contract, batches of 4096), installed as
# contract "big" while vmsd is stopped; then one call through vmsd.
stop_vmsd
cat >"$T/big.lua" <<'LUA'
local M = {}
function M.init() end
function M.n(i) return i end
return M
LUA
echo '{"method":"n","args":[1],"repeat":65535}' >"$T/calls.jsonl"
mkdir -p "$T/state/keys" "$T/state/contracts"
if ! "$FORGE" keygen "$T/state/keys/big.key" ||
    ! "$FORGE" build "$T/state/contracts/big" "$T/state/keys/big.key" \
    test.example/vmsd/big "$T/big.lua" "$T/calls.jsonl" \
    --commit-every 4096 >"$T/forge.out" 2>&1; then
	fail forge_big "$(cat "$T/forge.out")"
	exit 1
fi
if ! start_vmsd --listen 127.0.0.1:$PORT; then
	fail restart "vmsd did not start"
	exit 1
fi
VK=$(curl -s "$URL/c/big/vkey")
reader big 65536
out=$("$VMSCTL" -s "$T/s.sock" call big n 7 2>&1)
check big_call "got $out" [ "$out" = 7 ]
reader big 65537 --headers
grep -q 'level 2: 1 hashes' "$T/read.out" && pass reader_level2_partial ||
    fail reader_level2_partial "$(grep level "$T/read.out")"
# the small contract is still served after the restart
VK=$(curl -s "$URL/c/t/vkey")
$READ "$URL/c/t" "$VK" --size 257 >"$T/read.out" 2>&1 &&
    pass reader_t_after_restart ||
    fail reader_t_after_restart "$(grep -m3 FAIL "$T/read.out")"

if kill -0 "$VPID" && rpc ping >/dev/null; then pass tiles_still_serving; else fail tiles_still_serving "daemon gone"; fi
stop_vmsd
