#!/bin/sh
# tests/integration/build.sh — the build itself: it needs nothing from the
# machine but what `make deps` installs, it keeps the contract runtime's
# floating-point flags whatever CFLAGS says (at the link too: LTO), it
# is optimised at link time, it honours CPPFLAGS/CFLAGS/
# LDFLAGS (hardening), and `make install PREFIX=/usr` after a plain `make`
# installs binaries with /usr's paths compiled in.
# Needs a release build in the tree (make check builds `all` first).

cd "$TOP" || exit 1
T=$(mktemp -d /tmp/vmsd-build.XXXXXX)
trap '[ -n "$VMS_TEST_KEEP" ] || rm -rf "$T"' EXIT INT TERM
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# 1. Lua's luaconf.h includes lua5.4-deb-multiarch.h: the build must use
#    the one it generates (build/gen), never one from /usr/include (which
#    only liblua5.4-dev, a package make deps does not install, provides),
#    and no object may include any header from a Lua package.
deps=$(cat build/lua/*.d build/obj/*/*.d 2>/dev/null)
if [ -z "$deps" ]; then
	fail build-own-headers "no dependency files under build/ (built without -MMD?)"
elif ! echo "$deps" | grep -q 'build/gen/lua5.4-deb-multiarch.h'; then
	fail build-own-headers "Lua's objects do not use build/gen/lua5.4-deb-multiarch.h"
elif echo "$deps" | grep -Eq '/usr/(local/)?include/(lua|[^ ]*/lua5)'; then
	fail build-own-headers "an object includes a system Lua header: $(echo "$deps" |
	    grep -Eo '/usr/(local/)?include/[^ ]*lua[^ ]*' | sort -u | head -3)"
else
	pass build-own-headers
fi

# 2. User flags are honoured, and FP_FLAGS come after them on every
#    compile of Lua and of our code; musl's libm takes no user flag.
out=$(make -n -B CFLAGS='-O2 -ffast-math -ffp-contract=fast' \
    CPPFLAGS='-DVMS_TEST_CPP' LDFLAGS='-Wl,-z,vmstestld' \
    build/lua/lvm.o build/obj/lua-sandbox/sb_determ.o build/libm/pow.o \
    daemon/vmsd 2>&1)
lvm=$(echo "$out" | grep -- '-o build/lua/lvm.o')
own=$(echo "$out" | grep -- '-o build/obj/lua-sandbox/sb_determ.o')
libm=$(echo "$out" | grep -- '-o build/libm/pow.o')
link=$(echo "$out" | grep -- '-o daemon/vmsd ')
after() {	# after LINE: the flags that follow the user's -ffast-math
	echo "$1" | sed 's/.*-ffp-contract=fast//'
}
if [ -z "$lvm" ] || [ -z "$own" ] || [ -z "$libm" ] || [ -z "$link" ]; then
	fail build-user-flags "make -n printed no compile or link line: $out"
elif ! echo "$lvm $own" | grep -q VMS_TEST_CPP; then
	fail build-user-flags "CPPFLAGS not passed: $lvm"
elif ! after "$lvm" | grep -q -- '-ffp-contract=off -fno-fast-math' ||
    ! after "$own" | grep -q -- '-ffp-contract=off -fno-fast-math'; then
	fail build-user-flags "the runtime's FP flags do not follow CFLAGS: $lvm"
elif ! after "$link" | grep -q -- '-ffp-contract=off -fno-fast-math'; then
	# (with -flto the link compiles the code again, and GCC lets the
	# link's flags override the objects')
	fail build-user-flags "the runtime's FP flags do not follow CFLAGS at the link: $link"
elif echo "$libm" | grep -q -- '-ffast-math'; then
	fail build-user-flags "musl's libm took the user's CFLAGS: $libm"
elif ! echo "$link" | grep -q -- '-Wl,-z,vmstestld'; then
	fail build-user-flags "LDFLAGS not passed to the link: $link"
else
	pass build-user-flags
fi

# 3. The default release build is hardened (FORTIFY, full RELRO).
if [ ! -x daemon/vmsd ]; then
	fail build-hardened "daemon/vmsd not built"
elif ! readelf -d daemon/vmsd | grep -q 'BIND_NOW\|FLAGS.*NOW'; then
	fail build-hardened "daemon/vmsd is not linked with -z now"
elif ! readelf -lW daemon/vmsd | grep -q GNU_RELRO; then
	fail build-hardened "daemon/vmsd has no RELRO segment"
elif ! nm -D daemon/vmsd | grep -q '__[a-z_]*_chk'; then
	fail build-hardened "daemon/vmsd calls no _chk function (no _FORTIFY_SOURCE)"
else
	pass build-hardened
fi

# 3b. The release build is optimised at link time (Makefile: LTO), and
#     the link's code generation kept the runtime's FP flags: the debug
#     info names each unit the link compiled ("GNU GIMPLE", with its
#     flags). `make LTO=` builds without it, with plain ar.
units=$(readelf --debug-dump=info daemon/vmsd 2>/dev/null |
    grep 'DW_AT_producer' | grep 'GNU GIMPLE')
nolto=$(make -n -B LTO= build/libvms.a build/obj/libvms/util.o daemon/vmsd 2>&1)
if [ -z "$units" ]; then
	fail build-lto "daemon/vmsd has no unit compiled at the link (built without -flto?)"
elif echo "$units" | grep -v -- '-ffp-contract=off -fno-fast-math' | grep -q .; then
	fail build-lto "a unit compiled at the link lacks the FP flags: $(echo "$units" |
	    grep -v -- '-ffp-contract=off' | head -1)"
elif echo "$nolto" | grep -q -- '-flto\|gcc-ar'; then
	fail build-lto "make LTO= still builds with LTO: $(echo "$nolto" | grep -- '-flto\|gcc-ar' | head -1)"
else
	pass build-lto
fi

# 4. make install PREFIX=/usr after a plain make: the compiled-in paths
#    follow PREFIX. Done in a copy of the tree and its release build, so
#    this tree's binaries keep theirs.
mkdir -p "$T/tree"
tar cf - --exclude=./build --exclude=./var --exclude=./.git . |
    tar xf - -C "$T/tree"
mkdir -p "$T/tree/build"
for d in lua-src musl-src gen obj lua libm liblua.a libvms.a; do
	[ -e "build/$d" ] && cp -a "build/$d" "$T/tree/build/"
done
cp -a daemon/vmsd "$T/tree/daemon/" 2>/dev/null
cp -a ctl/vmsctl "$T/tree/ctl/" 2>/dev/null
(
	cd "$T/tree" && make -s all >"$T/make1.log" 2>&1 &&
	    daemon/vmsd --help >"$T/help1" 2>&1 &&
	    make -s install PREFIX=/usr DESTDIR="$T/dest" >"$T/make2.log" 2>&1
) || true
if ! grep -q 'Default config: /usr/local/etc/vmsd/vmsd.conf' "$T/help1" 2>/dev/null; then
	fail build-install-prefix "plain make: $(cat "$T/make1.log" "$T/help1" 2>/dev/null | tail -3)"
elif [ ! -x "$T/dest/usr/sbin/vmsd" ]; then
	fail build-install-prefix "make install PREFIX=/usr: $(tail -3 "$T/make2.log")"
elif ! "$T/dest/usr/sbin/vmsd" --help 2>&1 | grep -q 'Default config: /etc/vmsd/vmsd.conf'; then
	fail build-install-prefix "installed vmsd names $("$T/dest/usr/sbin/vmsd" --help 2>&1 |
	    grep -o 'Default config: [^ ]*')"
elif ! "$T/dest/usr/bin/vmsctl" --help 2>&1 | grep -q '/run/vmsd/vmsd.sock'; then
	fail build-install-prefix "installed vmsctl has another socket path"
elif ! grep -q 'ExecStart=/usr/sbin/vmsd' "$T"/dest/lib/systemd/system/vmsd.service \
    "$T"/dest/usr/lib/systemd/system/vmsd.service 2>/dev/null; then
	fail build-install-prefix "vmsd.service does not start /usr/sbin/vmsd"
else
	pass build-install-prefix
fi
