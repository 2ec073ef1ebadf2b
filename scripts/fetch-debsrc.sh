#!/bin/sh
# scripts/fetch-debsrc.sh PACKAGE VERSION SHA256 CHECKFILE DEST
#
# Put Debian's source package PACKAGE, unpacked with Debian's patches
# applied, in DEST. vmsd compiles two pieces of it into the contract
# runtime, because replay must compute bit for bit what the host computed:
#   lua5.4 5.4.4  Lua itself, configured through lua-sandbox/vms_luauser.h
#   musl   1.2.3  the double-precision functions of its libm (sin, exp, pow,
#                 ...), built without fused multiply-add, so math.sin or x^y
#                 give the same bits on every machine (see lua-sandbox/libm/)
# The upstream tarball inside the source package must have SHA256: another
# release could execute the same contract differently, so it is refused.
# CHECKFILE (relative to the tree) must exist after unpacking.
#
# Offline: set SRC_DIR to an already unpacked tree of that same release
# (e.g. from `apt-get source PACKAGE` elsewhere); it is copied, unchecked
# but for CHECKFILE.
set -eu

pkg=${1:?usage: fetch-debsrc.sh PACKAGE VERSION SHA256 CHECKFILE DEST}
ver=${2:?}
sha=${3:?}
check=${4:?}
dest=${5:?}

if [ -n "${SRC_DIR:-}" ]; then
	[ -f "$SRC_DIR/$check" ] || {
		echo "fetch-debsrc: $SRC_DIR has no $check: not a $pkg $ver tree" >&2
		exit 1
	}
	rm -rf "$dest"
	mkdir -p "$(dirname "$dest")"
	cp -R "$SRC_DIR" "$dest"
	echo "fetch-debsrc: $pkg from $SRC_DIR (given; not verified)"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
	echo "fetch-debsrc: apt-get not found: set SRC_DIR to a $pkg $ver source tree" >&2
	exit 1
}
command -v dpkg-source >/dev/null 2>&1 || {
	echo "fetch-debsrc: dpkg-source not found: run 'make deps' (installs dpkg-dev)" >&2
	exit 1
}

work="$dest.fetch.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT INT TERM
if ! (cd "$work" && apt-get source -q "$pkg" >apt-source.log 2>&1); then
	cat "$work/apt-source.log" >&2
	echo "fetch-debsrc: 'apt-get source $pkg' failed: Debian source entries" \
	    "(deb-src) are needed; run 'make deps' as root, which adds them," \
	    "or set SRC_DIR" >&2
	exit 1
fi
orig=$(ls "$work/${pkg}_$ver".orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1)
[ -n "$orig" ] || {
	echo "fetch-debsrc: Debian's $pkg is not upstream $ver:" \
	    "$(ls "$work" | tr '\n' ' ')" >&2
	exit 1
}
sum=$(sha256sum "$orig" | cut -d ' ' -f 1)
if [ "$sum" != "$sha" ]; then
	echo "fetch-debsrc: $(basename "$orig") has SHA-256 $sum; expected $sha" >&2
	exit 1
fi
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n 1)
[ -n "$tree" ] && [ -f "$tree/$check" ] || {
	echo "fetch-debsrc: the $pkg source package did not unpack ($check missing)" >&2
	exit 1
}
dsc=$(ls "$work"/*.dsc | head -n 1)
sed -n 's/^Version: //p' "$dsc" >"$tree/DEBIAN-VERSION"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tree" "$dest"
echo "fetch-debsrc: Debian $pkg $(cat "$dest/DEBIAN-VERSION") (upstream $ver, SHA-256 verified) in $dest"
