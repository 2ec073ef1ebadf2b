#!/bin/sh
# tests/integration/fuzz-corpus.sh — replay every file of
# tests/fuzz/corpus/*/ through every fuzz target, built with gcc's
# ASan+UBSan and a plain main() (tests/fuzz/replay.c; `make check` builds
# build/san/fuzz/fuzz-*): the inputs fuzzing found stay fixed, and each
# target also takes the other targets' inputs. One PASS/FAIL line per
# target; an input slower than FUZZ_SLOW_MS (default 10000) fails it.

cd "$TOP" || exit 1
for src in tests/fuzz/fuzz-*.c; do
	name=$(basename "$src" .c)
	bin=build/san/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is not built (make check builds it)"
		continue
	fi
	err=$(mktemp /tmp/vmsd-fuzz-corpus.XXXXXX)
	out=$("$bin" tests/fuzz/corpus/*/ 2>"$err")
	rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "^PASS $name"; then
		echo "$out"
	elif echo "$out" | grep -q "^FAIL "; then
		echo "$out"
	else
		last=$(sed -n 's/^input: //p' "$err" | tail -1)
		echo "FAIL $name: exited $rc on $last"
		grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY|FUZZ INVARIANT' \
		    "$err" | head -5 | sed 's/^/     /'
	fi
	rm -f "$err"
done
