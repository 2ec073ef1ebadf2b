#!/bin/sh
# tests/fuzz/run.sh NAME [SECONDS] — run one libFuzzer target (built by
# `make fuzz` as build/fuzz/fuzz-NAME) for SECONDS (default 60): under
# nice -n 19, one process on one core (no -jobs, no -fork), inputs that
# take over 10 s or allocate over 1 GiB at once count as findings. New
# inputs go to build/fuzz/corpus/NAME (tests/fuzz/corpus/NAME is read,
# never written); findings to build/fuzz/artifacts/NAME/. The log is
# build/fuzz/NAME.log; one summary line is printed with the executions.
# Extra libFuzzer flags: FUZZ_FLAGS. Exit 1 on a finding.

cd "$(dirname "$0")/../.." || exit 2
name=$1
secs=${2:-60}
bin=build/fuzz/fuzz-$name
[ -x "$bin" ] || { echo "run.sh: $bin is not built (make fuzz)"; exit 2; }
work=build/fuzz/corpus/$name
art=build/fuzz/artifacts/$name
log=build/fuzz/$name.log
mkdir -p "$work" "$art" tests/fuzz/corpus/"$name"
dict=
[ -f tests/fuzz/"$name".dict ] && dict=-dict=tests/fuzz/$name.dict
start=$(date +%s)
# shellcheck disable=SC2086
nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$art/" \
    $dict $FUZZ_FLAGS "$work" tests/fuzz/corpus/"$name" >"$log" 2>&1
rc=$?
el=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
corp=$(ls "$work" | wc -l)
printf 'fuzz-%-8s %10s execs in %5ss (%s/s), %s, corpus %s\n' "$name" \
    "${execs:-?}" "$el" "${rate:-?}" "${cov:-cov: ?}" "$corp"
if [ $rc -ne 0 ]; then
	echo "fuzz-$name: FINDING (exit $rc), see $log:"
	grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ INVARIANT)|runtime error|Test unit written' \
	    "$log" | head -10 | sed 's/^/    /'
	exit 1
fi
