#!/bin/sh
# scripts/deb-src.sh — make Debian's source packages reachable to apt, so
# scripts/fetch-debsrc.sh can `apt-get source lua5.4 musl`. Run by `make deps` (as
# root, or through sudo). Adds /etc/apt/sources.list.d/vmsd-deb-src.sources
# mirroring the machine's own Debian "deb" entries as "deb-src", then
# refreshes the package lists. Does nothing when the source is reachable.
set -eu

# not needed when the source is already here or given
if { [ -f build/lua-src/src/lua.h ] || [ -n "${LUA_SRC_DIR:-}" ]; } &&
    { [ -f build/musl-src/src/internal/libm.h ] || [ -n "${MUSL_SRC_DIR:-}" ]; }; then
	exit 0
fi
if apt-cache showsrc lua5.4 >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
out=/etc/apt/sources.list.d/vmsd-deb-src.sources
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && [ "$f" != "$out" ] || continue
	# deb822 stanzas of Debian's own archive, with Types: deb -> deb-src
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
	    /URIs:[^\n]*debian/ && /Types:[^\n]*deb/ {
		gsub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$tmp"
done
if [ -f /etc/apt/sources.list ]; then
	sed -n 's/^deb \(.*debian.*\)$/deb-src \1/p' /etc/apt/sources.list |
	    while read -r line; do
		set -- $line
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n\n' \
		    "$2" "$3" "$(shift 3; echo "$*")"
	    done >>"$tmp"
fi
if [ ! -s "$tmp" ]; then
	echo "deb-src: no Debian archive found in /etc/apt/sources.list{,.d}:" \
	    "add a deb-src entry for the archive by hand" >&2
	exit 1
fi
echo "deb-src: adding $out"
$SUDO install -m 0644 "$tmp" "$out"
$SUDO apt-get update -q
apt-cache showsrc lua5.4 >/dev/null 2>&1 || {
	echo "deb-src: lua5.4 source package still not found after apt-get update" >&2
	exit 1
}
