#!/bin/sh
# scripts/fetch-lua.sh DEST — put Debian's lua5.4 source package, unpacked
# with Debian's patches applied, in DEST (DEST/src/lstate.c ...).
#
# vmsd builds Lua 5.4 itself from this source, with one configuration
# change made through Lua's own LUA_USER_H hook (lua-sandbox/vms_luauser.h):
# the string-hash seed of every lua_State comes from the ledger instead of
# the clock and ASLR addresses, so replay is exact on any machine.
#
# The upstream tarball inside the source package is checked against the
# SHA-256 of the Lua release the ledger format is defined with (LUA_PIN
# below): a different Lua release is refused, since it could execute the
# same contract differently. Set LUA_SRC_DIR to an already unpacked source
# tree (e.g. from `apt-get source lua5.4`) to build without the network.
set -eu

LUA_PIN_VERSION=5.4.4
LUA_PIN_SHA256=164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61

dest=${1:?usage: fetch-lua.sh DEST}

check_tree() {
	[ -f "$1/src/lstate.c" ] && [ -f "$1/src/lua.h" ] || {
		echo "fetch-lua: $1 is not a Lua source tree (no src/lstate.c)" >&2
		exit 1
	}
	rel=$(sed -n 's/^#define LUA_VERSION_RELEASE[ \t]*"\([0-9]*\)".*/\1/p' "$1/src/lua.h")
	maj=$(sed -n 's/^#define LUA_VERSION_MAJOR[ \t]*"\([0-9]*\)".*/\1/p' "$1/src/lua.h")
	min=$(sed -n 's/^#define LUA_VERSION_MINOR[ \t]*"\([0-9]*\)".*/\1/p' "$1/src/lua.h")
	if [ "$maj.$min.$rel" != "$LUA_PIN_VERSION" ]; then
		echo "fetch-lua: $1 holds Lua $maj.$min.$rel; vmsd is pinned to Lua $LUA_PIN_VERSION" >&2
		exit 1
	fi
}

if [ -n "${LUA_SRC_DIR:-}" ]; then
	check_tree "$LUA_SRC_DIR"
	rm -rf "$dest"
	mkdir -p "$(dirname "$dest")"
	cp -R "$LUA_SRC_DIR" "$dest"
	echo "fetch-lua: using Lua $LUA_PIN_VERSION from $LUA_SRC_DIR"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
	echo "fetch-lua: apt-get not found: set LUA_SRC_DIR to a Lua $LUA_PIN_VERSION source tree" >&2
	exit 1
}
command -v dpkg-source >/dev/null 2>&1 || {
	echo "fetch-lua: dpkg-source not found: run 'make deps' (installs dpkg-dev)" >&2
	exit 1
}

work="$dest.fetch.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT INT TERM
if ! (cd "$work" && apt-get source -q lua5.4 >apt-source.log 2>&1); then
	cat "$work/apt-source.log" >&2
	echo "fetch-lua: 'apt-get source lua5.4' failed: Debian source entries" \
	    "(deb-src) are needed; run 'make deps' as root, which adds them," \
	    "or set LUA_SRC_DIR" >&2
	exit 1
fi
orig=$(ls "$work"/lua5.4_*.orig.tar.* 2>/dev/null | head -n 1)
[ -n "$orig" ] || { echo "fetch-lua: no upstream tarball in the source package" >&2; exit 1; }
sum=$(sha256sum "$orig" | cut -d ' ' -f 1)
if [ "$sum" != "$LUA_PIN_SHA256" ]; then
	echo "fetch-lua: $(basename "$orig") has SHA-256 $sum;" \
	    "expected Lua $LUA_PIN_VERSION ($LUA_PIN_SHA256)" >&2
	exit 1
fi
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'lua5.4-*' | head -n 1)
[ -n "$tree" ] || { echo "fetch-lua: the source package did not unpack" >&2; exit 1; }
check_tree "$tree"
dsc=$(ls "$work"/*.dsc | head -n 1)
sed -n 's/^Version: //p' "$dsc" >"$tree/DEBIAN-VERSION"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tree" "$dest"
echo "fetch-lua: Debian lua5.4 $(cat "$dest/DEBIAN-VERSION") (Lua $LUA_PIN_VERSION, upstream SHA-256 verified) in $dest"
