#!/bin/sh
# bench/profile.sh — where one guest-list RSVP spends its instructions:
# callgrind counts the instructions of engine_call over N RSVPs
# (bench-sandbox --profile N, 5000 callers, warm calls on; collected in
# its profiled_call, which link-time optimisation cannot inline away as it
# does engine_call itself, only rename) and prints the
# total per call and the top 10 functions by their own instructions, per
# call. Instruction counts are reproducible where wall-clock time on a
# shared machine is not. Valgrind does not run the SHA extensions, so
# SHA-256 shows as the portable compression (compress_c); natively
# sha256rnds2 does the same work about 4x faster (sha256.h).
#
#   sh bench/profile.sh [N]     (default 2000; needs valgrind)
cd "$(dirname "$0")/.." || exit 2
n=${1:-2000}
bin=build/bench/bench-sandbox
command -v valgrind >/dev/null 2>&1 || { echo "SKIP: no valgrind"; exit 0; }
[ -x "$bin" ] || { echo "$bin: not built (make build/bench/bench-sandbox)"; exit 1; }
out=$(mktemp "${TMPDIR:-/tmp}/vms-profile.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" \
    --toggle-collect='profiled_call*' "$bin" --profile "$n" >/dev/null 2>&1 || {
	echo "callgrind failed"; exit 1; }
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {
	gsub(",", "", $1); print $1; exit }')
echo "callgrind, engine_call of $n guest-list RSVPs (warm calls):" \
    "$((total / n)) instructions per call"
echo "top 10 functions by their own instructions, per call (SHA-256's"
echo "compression apart: portable here, sha256rnds2 natively):"
callgrind_annotate "$out" 2>/dev/null | awk -v n="$n" -v total="$total" '
	/^ *[0-9,]+ +\(/ && !/PROGRAM TOTALS/ && shown < 11 {
		c = $1; gsub(",", "", c)
		line = $0; sub(/^[^)]*\) +/, "", line); split(line, f, " ")
		fn = f[1]
		sub(/^.*:/, "", fn)
		if (f[1] ~ /^\?\?\?:/ && f[2] != "") {
			lib = f[2]; gsub(/[][]/, "", lib); sub(/^.*\//, "", lib)
			sub(/\.so.*$/, "", lib)
			fn = lib " " fn
		}
		mark = fn ~ /^compress_c($|\.)/ ? "  (SHA-256)" : ""
		printf "  %8d  %5.1f%%  %s%s\n", c / n, 100 * c / total, fn, mark
		shown++
	}'
