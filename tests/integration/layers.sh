#!/bin/sh
# tests/integration/layers.sh — the layering of the code, read from the
# built objects with nm (tests/tools/layers.py): no call from a lower
# folder into a higher one, no dependency cycle of more than three daemon
# files, and library code that does not log. Needs the release objects
# (make check builds `all` first).
cd "$TOP" || exit 1
if [ ! -d build/obj ] || [ ! -d build/lua ]; then
	echo "FAIL layers: no release objects under build/ (run make all)"
	exit 1
fi
if out=$(python3 tests/tools/layers.py build/obj build/lua 2>&1); then
	echo "PASS layers: $out"
else
	echo "$out" | sed 's/^/     /'
	echo "FAIL layers: $(echo "$out" | grep -c '^layers:') violation(s)"
fi
