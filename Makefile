# vmsd — top-level build.
#
#   make            build daemon/vmsd and ctl/vmsctl (optimised)
#   make check      install deps if missing, build with ASan+UBSan, run every test
#   make fuzz       build the libFuzzer targets (clang) and run each for
#                   FUZZ_SECONDS (tests/fuzz/README.md)
#   make run        build and run vmsd in the foreground under ./var/
#   make bench      benchmarks (release build), beside Redis (installed by
#                   make bench-deps)
#   make install    PREFIX=/usr/local DESTDIR= (binaries, units, config, man pages)
#   make deps       apt-get the Debian packages the build and tests need
#
# The contract runtime is built here from Debian source packages, fetched
# by scripts/fetch-debsrc.sh (upstream tarball SHA-256 pinned): Lua 5.4.4
# (lua5.4, into build/lua-src), configured through lua-sandbox/vms_luauser.h
# (string hashing seeded from the ledger, metered string comparison, one NaN
# spelling), and musl 1.2.3's libm functions (musl, into build/musl-src), so
# that math gives the same bits on every machine (lua-sandbox/vms_libm.h).
#
# Folders are layers, and calls only go down (ARCHITECTURE.md):
#   libvms/       build/libvms.a     util, log, merkle, note, ledger, canonical
#                                    JSON, protocol, client; no Lua
#   lua-sandbox/  build/libsandbox.a the sandbox and the engine (+ liblua.a,
#                                    the runtime built from Debian's sources)
#   audit/        build/libaudit.a   the audit core and its sources
#   daemon/       vmsd               all but main() also in build/libdaemon.a
#   ctl/          vmsctl             and build/libctl.a, for the unit tests
# Each object is compiled with the include paths of its own layer and those
# below, so an upward #include does not compile; tests/integration/layers.sh
# checks the symbols (nm) too. Sources are picked up by wildcard;
# tests/unit/test-*.c are one unit-test binary each, bench/bench-*.c one
# benchmark each.

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
LOCALSTATEDIR ?= /var
RUNSTATEDIR ?= /run
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
SYSUSERSDIR ?= $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
TMPFILESDIR ?= $(shell pkg-config --variable=tmpfilesdir systemd 2>/dev/null || echo /usr/lib/tmpfiles.d)

CC      ?= cc
PKGS     = libsodium libevent libevent_openssl openssl jansson libsystemd
DEBS     = build-essential dpkg-dev pkg-config libsodium-dev libevent-dev libssl-dev \
           libsystemd-dev libjansson-dev mandoc systemd util-linux iproute2 \
           procps psmisc python3 valgrind curl libedit-dev tmux nodejs nginx \
           openssl python3-cryptography strace
BENCH_DEBS = redis-server redis-tools

WARN     = -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wno-unused-parameter -Werror
DEFS     = -D_GNU_SOURCE
LUA_DIR  = build/lua-src
LUA_HDR  = $(LUA_DIR)/src/lua.h
LUA_PIN  = 5.4.4 164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61
MUSL_DIR = build/musl-src
MUSL_HDR = $(MUSL_DIR)/src/internal/libm.h
MUSL_PIN = 1.2.3 7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4
GEN      = build/gen
INC_LIBVMS  = -Ilibvms -I$(GEN)
INC_SANDBOX = $(INC_LIBVMS) -Ilua-sandbox -I$(LUA_DIR)/src
INC_AUDIT   = $(INC_SANDBOX) -Iaudit
INCS        = $(INC_AUDIT)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# The release build honours the environment's CPPFLAGS, CFLAGS and LDFLAGS
# (Debian's dpkg-buildflags); these defaults harden it when they are unset.
# FP_FLAGS come last on every compile line, after the user's flags, so no
# CFLAGS (-ffast-math, -ffp-contract=fast) changes how contract arithmetic
# rounds. The sanitizer build (make check) takes none of the three.
# -O3 (as Redis builds): the warm RSVP and the replay take 7-8% less CPU
# than at -O2, with the same ledgers (bench/README.md, round 6).
CPPFLAGS ?= -D_FORTIFY_SOURCE=2
CFLAGS   ?= -O3 -g -fstack-protector-strong
LDFLAGS  ?= -Wl,-z,relro -Wl,-z,now
FP_FLAGS   = -ffp-contract=off -fno-fast-math
# Link-time optimisation of the release build (Redis builds with -O3 -flto
# too): GCC optimises each program whole at its link, inlining across our
# files and Lua's; the warm RSVP takes ~5 % less CPU and the worker ~3 %
# less a call (bench/README.md, round 26). The objects then hold GCC's
# intermediate code, so their archives are made with gcc-ar, and the link
# takes FP_FLAGS last as every compile does: GCC lets flags given at the
# link override the objects' own. `make LTO=` builds without it.
LTO      ?= -flto=auto
REL_AR    = $(if $(strip $(LTO)),gcc-ar,ar)
DEPFLAGS   = -MMD -MP
OPT_CFLAGS = -std=c11 -O2 -g $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS)
SANITIZE   = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# VMS_FAULTS: the crash tests' fault points (libvms/util.h), never in a
# release build.
SAN_CFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer $(FP_FLAGS) \
             $(SANITIZE) $(WARN) $(DEFS) -DVMS_FAULTS $(INCS) $(PKG_CFLAGS)
SAN_LDFLAGS = -fsanitize=address,undefined
REL_CC     = $(CC) $(CPPFLAGS) $(OPT_CFLAGS) $(CFLAGS) $(LTO) $(FP_FLAGS)
REL_LD     = $(CC) $(CFLAGS) $(LTO) $(FP_FLAGS) $(LDFLAGS)

# Lua's core and the libraries the sandbox opens; io, os, package, debug
# and linit are not even compiled. Same macros as Debian's build, plus the
# LUA_USER_H hook. -ffp-contract=off: no fused multiply-add, so floats
# round the same on every architecture.
LUA_CORE = lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject \
           lopcodes lparser lstate lstring ltable ltm lundump lvm lzio \
           lauxlib lbaselib lcorolib lmathlib lstrlib ltablib lutf8lib
# Debian's luaconf.h includes lua5.4-deb-multiarch.h, which Debian's own
# build generates at configure time (debian/rules); we generate the same
# header into build/gen (never /usr/include's, which only liblua5.4-dev has).
LUA_CFLAGS = -std=gnu99 -Wall -Wextra -DLUA_COMPAT_5_3 \
             -DLUA_USE_LINUX -DLUA_USER_H='"vms_luauser.h"' -Ilua-sandbox \
             -I$(GEN) -I$(LUA_DIR)/src
LUA_OBJ  = $(LUA_CORE:%=build/lua/%.o)
SLUA_OBJ = $(LUA_CORE:%=build/san/lua/%.o)

# musl's double-precision functions behind Lua's math library and ^, and
# what they call. Never sanitized or optimised differently: the same
# objects go into both builds' liblua.a.
LIBM_SRC = sin cos tan __sin __cos __tan __rem_pio2 __rem_pio2_large asin \
           acos atan atan2 exp exp_data log log_data log2 log2_data log10 \
           pow pow_data sinh cosh tanh __expo2 expm1 log1p __math_oflow \
           __math_uflow __math_xflow __math_invalid __math_divzero
LIBM_CFLAGS = -std=c99 -O2 -g -ffp-contract=off -U__FP_FAST_FMA -fno-builtin \
              -Wall -Wno-unused-but-set-variable -Wno-parentheses \
              -Wno-maybe-uninitialized -Werror=implicit-function-declaration \
              -DVMS_LIBM_BUILD \
              -include lua-sandbox/vms_libm.h \
              -D'hidden=__attribute__((__visibility__("hidden")))' \
              -I$(MUSL_DIR)/src/internal -I$(MUSL_DIR)/arch/generic \
              -I$(MUSL_DIR)/src/math
LIBM_OBJ = $(LIBM_SRC:%=build/libm/%.o)
# Archives, highest layer first. The one link group is where Lua and the
# sandbox meet: Lua calls the sandbox's LUA_USER_H hooks (sb_luaconf.c).
LIBS_A     = build/libaudit.a build/libsandbox.a build/liblua.a build/libvms.a
SLIBS_A    = $(LIBS_A:build/%=build/san/%)
LINK_LIBS  = build/libaudit.a -Wl,--start-group build/libsandbox.a \
             build/liblua.a -Wl,--end-group build/libvms.a $(PKG_LIBS)
SLINK_LIBS = build/san/libaudit.a -Wl,--start-group build/san/libsandbox.a \
             build/san/liblua.a -Wl,--end-group build/san/libvms.a $(PKG_LIBS)

LIBVMS_SRC  = $(wildcard libvms/*.c)
SANDBOX_SRC = $(wildcard lua-sandbox/*.c)
AUDIT_SRC   = $(wildcard audit/*.c)
DLIB_SRC    = $(filter-out daemon/vmsd.c,$(wildcard daemon/*.c))
CLIB_SRC    = $(filter-out ctl/vmsctl.c,$(wildcard ctl/*.c))
CTL_LIBS   := $(shell pkg-config --libs libedit 2>/dev/null || echo -ledit)
UNIT_SRC   = $(wildcard tests/unit/test-*.c)
BENCH_SRC  = $(wildcard bench/bench-*.c)

OBJ     = build/obj
SOBJ    = build/san/obj

UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=build/san/tests/%)
BENCH_BIN  = $(BENCH_SRC:bench/%.c=build/bench/%)

.PHONY: FORCE all check test run bench bench-deps fuzz install uninstall deps clean distclean lint-man
all: daemon/vmsd ctl/vmsctl

$(LUA_HDR): scripts/fetch-debsrc.sh
	SRC_DIR=$(LUA_SRC_DIR) scripts/fetch-debsrc.sh lua5.4 $(LUA_PIN) src/lua.h $(LUA_DIR)
	@touch $@
$(MUSL_HDR): scripts/fetch-debsrc.sh
	SRC_DIR=$(MUSL_SRC_DIR) scripts/fetch-debsrc.sh musl $(MUSL_PIN) src/internal/libm.h $(MUSL_DIR)
	@touch $@

# Generated headers. Each is rewritten only when its text changes, so what
# includes it (found by -MMD) is rebuilt exactly when it must be:
# vmsd_paths.h holds the paths compiled in from PREFIX & co, so
# `make install PREFIX=/usr` after a plain `make` rebuilds what uses them.
# The multiarch triplet only feeds package.cpath, which the sandbox never
# compiles; it is generated as Debian does so luaconf.h stays unedited.
GEN_HDRS = $(GEN)/vmsd_paths.h $(GEN)/lua5.4-deb-multiarch.h
$(GEN)/vmsd_paths.h: FORCE
	@mkdir -p $(GEN)
	@{ echo '/* generated by the Makefile from PREFIX, SYSCONFDIR, ... */'; \
	  echo '#define VMSD_SOCKET "$(RUNSTATEDIR)/vmsd/vmsd.sock"'; \
	  echo '#define VMSD_STATEDIR "$(LOCALSTATEDIR)/lib/vmsd"'; \
	  echo '#define VMSD_CONFIG "$(SYSCONFDIR)/vmsd/vmsd.conf"'; } >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; \
	  else mv -f $@.tmp $@; echo "paths: $$(grep -c define $@) in $@"; fi
$(GEN)/lua5.4-deb-multiarch.h:
	@mkdir -p $(GEN)
	@t=$$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || \
	    $(CC) -print-multiarch); [ -n "$$t" ] || t=unknown; \
	  { echo '#ifndef _LUA_DEB_MULTIARCH_'; echo '#define _LUA_DEB_MULTIARCH_'; \
	    echo "#define DEB_HOST_MULTIARCH \"$$t\""; echo '#endif'; } >$@.tmp && \
	  mv -f $@.tmp $@
FORCE:

build/lua/%.o: $(LUA_HDR) $(GEN)/lua5.4-deb-multiarch.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LUA_CFLAGS) -O2 -g $(CFLAGS) $(LTO) $(FP_FLAGS) $(DEPFLAGS) -c -o $@ $(LUA_DIR)/src/$*.c
build/san/lua/%.o: $(LUA_HDR) $(GEN)/lua5.4-deb-multiarch.h
	@mkdir -p $(dir $@)
	$(CC) $(LUA_CFLAGS) -O1 -g -fno-omit-frame-pointer $(SANITIZE) $(FP_FLAGS) $(DEPFLAGS) -c -o $@ $(LUA_DIR)/src/$*.c
build/libm/%.o: $(MUSL_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(LIBM_CFLAGS) $(DEPFLAGS) -c -o $@ $(MUSL_DIR)/src/math/$*.c
build/liblua.a: $(LUA_OBJ) $(LIBM_OBJ)
	rm -f $@ && $(REL_AR) rcs $@ $^
build/san/liblua.a: $(SLUA_OBJ) $(LIBM_OBJ)
	rm -f $@ && ar rcs $@ $^

# Every object of ours may include Lua's, musl's or a generated header: the
# order-only prerequisites make them exist before the first compile, and
# the .d files (-MMD) name what each object really includes after that.
$(OBJ)/libvms/%.o $(SOBJ)/libvms/%.o: INCS = $(INC_LIBVMS)
$(OBJ)/lua-sandbox/%.o $(SOBJ)/lua-sandbox/%.o: INCS = $(INC_SANDBOX)
$(OBJ)/audit/%.o $(SOBJ)/audit/%.o: INCS = $(INC_AUDIT)
$(OBJ)/%.o: %.c | $(LUA_HDR) $(MUSL_HDR) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(REL_CC) $(DEPFLAGS) -c -o $@ $<
$(SOBJ)/%.o: %.c | $(LUA_HDR) $(MUSL_HDR) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(DEPFLAGS) -c -o $@ $<

build/libvms.a: $(LIBVMS_SRC:%.c=$(OBJ)/%.o)
build/libsandbox.a: $(SANDBOX_SRC:%.c=$(OBJ)/%.o)
build/libaudit.a: $(AUDIT_SRC:%.c=$(OBJ)/%.o)
build/san/libvms.a: $(LIBVMS_SRC:%.c=$(SOBJ)/%.o)
build/san/libsandbox.a: $(SANDBOX_SRC:%.c=$(SOBJ)/%.o)
build/san/libaudit.a: $(AUDIT_SRC:%.c=$(SOBJ)/%.o)
build/libdaemon.a: $(DLIB_SRC:%.c=$(OBJ)/%.o)
build/san/libdaemon.a: $(DLIB_SRC:%.c=$(SOBJ)/%.o)
build/libctl.a: $(CLIB_SRC:%.c=$(OBJ)/%.o)
build/san/libctl.a: $(CLIB_SRC:%.c=$(SOBJ)/%.o)
build/libvms.a build/libsandbox.a build/libaudit.a build/libdaemon.a \
build/libctl.a:
	@mkdir -p $(dir $@)
	rm -f $@ && $(REL_AR) rcs $@ $^
build/san/libvms.a build/san/libsandbox.a build/san/libaudit.a \
build/san/libdaemon.a build/san/libctl.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

daemon/vmsd: $(OBJ)/daemon/vmsd.o build/libdaemon.a $(LIBS_A)
	$(REL_LD) -o $@ $(OBJ)/daemon/vmsd.o build/libdaemon.a $(LINK_LIBS)
ctl/vmsctl: $(OBJ)/ctl/vmsctl.o build/libctl.a $(LIBS_A)
	$(REL_LD) -o $@ $(OBJ)/ctl/vmsctl.o build/libctl.a $(LINK_LIBS) $(CTL_LIBS)
build/san/vmsd: $(SOBJ)/daemon/vmsd.o build/san/libdaemon.a $(SLIBS_A)
	$(CC) $(SAN_LDFLAGS) -o $@ $(SOBJ)/daemon/vmsd.o build/san/libdaemon.a $(SLINK_LIBS)
build/san/vmsctl: $(SOBJ)/ctl/vmsctl.o build/san/libctl.a $(SLIBS_A)
	$(CC) $(SAN_LDFLAGS) -o $@ $(SOBJ)/ctl/vmsctl.o build/san/libctl.a $(SLINK_LIBS) $(CTL_LIBS)
# Unit tests link every daemon and vmsctl object but the main()s
# (build/libdaemon.a, build/libctl.a).
build/san/tests/%: tests/unit/%.c build/san/libdaemon.a build/san/libctl.a $(SLIBS_A) | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(DEPFLAGS) -Itests/unit -Idaemon -Ictl -o $@ $< \
	    build/san/libdaemon.a build/san/libctl.a $(SLINK_LIBS) \
	    $(CTL_LIBS) $(SAN_LDFLAGS)
# The test-only ledger forge (tests/tools/forge.sh): its commands
# (ledger-forge.c) and `serve`, its lying vmsd (forge-serve.c).
FORGE_OBJ  = $(SOBJ)/tests/tools/ledger-forge.o $(SOBJ)/tests/tools/forge-serve.o
build/san/tests/ledger-forge: $(FORGE_OBJ) $(SLIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_LDFLAGS) -o $@ $(FORGE_OBJ) $(SLINK_LIBS)
# A test oracle (tests/integration/oracle.sh), built without sanitizers:
# oracles run under an address-space limit no sanitizer fits in.
build/tests/oracle-sign: tests/tools/oracle-sign.c build/libvms.a | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(REL_CC) $(DEPFLAGS) $(INC_LIBVMS) $(LDFLAGS) -o $@ $< build/libvms.a $(PKG_LIBS)
# A test-only LD_PRELOAD library: fdatasync of a set length
# (tests/integration/daemon-pipeline.sh).
build/tests/flushdelay.so: tests/tools/flushdelay.c
	@mkdir -p $(dir $@)
	$(REL_CC) $(DEPFLAGS) -shared -fPIC $(LDFLAGS) -o $@ $< -ldl
build/bench/benchlib.o: bench/benchlib.c | $(LUA_HDR) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(REL_CC) $(DEPFLAGS) -c -o $@ $<
build/bench/%: bench/%.c build/bench/benchlib.o $(LIBS_A) | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(REL_CC) $(DEPFLAGS) $(LDFLAGS) -o $@ $< build/bench/benchlib.o \
	    $(LINK_LIBS)
# bench-worker speaks the worker wire with vmsd's own code (daemon/wire.c).
build/bench/bench-worker: build/libdaemon.a
build/bench/bench-worker: INCS = $(INC_AUDIT) -Idaemon
build/bench/bench-worker: LINK_LIBS := build/libdaemon.a $(LINK_LIBS)

# Fuzzing (tests/fuzz/README.md). Each tests/fuzz/fuzz-NAME.c is a target
# (LLVMFuzzerTestOneInput, helpers in fuzzlib.c) seeded from
# tests/fuzz/corpus/NAME/. `make fuzz` builds them with clang and libFuzzer
# in an object tree of their own (build/fuzz/: our code and Lua, with
# ASan+UBSan and coverage; musl's libm objects are shared) and runs each
# for FUZZ_SECONDS under nice, one at a time (FUZZ_TARGETS picks some).
# `make check` replays every corpus file through every target built with
# gcc's sanitizers and a plain main() (replay.c): build/san/fuzz/.
FUZZ_SRC     = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_NAMES   = $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SECONDS ?= 60
FUZZ_CC     ?= clang
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer $(FP_FLAGS) \
              -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(WARN) -Wno-error $(DEFS) $(INCS) \
              $(PKG_CFLAGS)
INC_FUZZ    = $(INC_AUDIT) -Idaemon -Itests/fuzz
FOBJ        = build/fuzz/obj
FUZZ_LIB_OBJ = $(LIBVMS_SRC:%.c=$(FOBJ)/%.o) $(SANDBOX_SRC:%.c=$(FOBJ)/%.o) \
              $(AUDIT_SRC:%.c=$(FOBJ)/%.o) $(FOBJ)/daemon/config.o \
              $(FOBJ)/tests/fuzz/fuzzlib.o $(LUA_CORE:%=build/fuzz/lua/%.o) \
              $(LIBM_OBJ)
RPL_OBJ     = build/san/fuzz/obj
REPLAY_OBJ  = $(RPL_OBJ)/fuzzlib.o $(RPL_OBJ)/replay.o $(SOBJ)/daemon/config.o
REPLAY_BIN  = $(FUZZ_NAMES:%=build/san/fuzz/fuzz-%)

$(FOBJ)/libvms/%.o: INCS = $(INC_LIBVMS)
$(FOBJ)/lua-sandbox/%.o: INCS = $(INC_SANDBOX)
$(FOBJ)/tests/fuzz/%.o: INCS = $(INC_FUZZ)
$(FOBJ)/%.o: %.c | $(LUA_HDR) $(MUSL_HDR) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<
build/fuzz/lua/%.o: $(LUA_HDR) $(GEN)/lua5.4-deb-multiarch.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LUA_CFLAGS) -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FP_FLAGS) $(DEPFLAGS) \
	    -c -o $@ $(LUA_DIR)/src/$*.c
build/fuzz/fuzz-%: $(FOBJ)/tests/fuzz/fuzz-%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS)
$(RPL_OBJ)/%.o: tests/fuzz/%.c | $(LUA_HDR) $(MUSL_HDR) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -Idaemon -Itests/fuzz $(DEPFLAGS) -c -o $@ $<
build/san/fuzz/fuzz-%: $(RPL_OBJ)/fuzz-%.o $(REPLAY_OBJ) $(SLIBS_A)
	$(CC) $(SAN_LDFLAGS) -o $@ $< $(REPLAY_OBJ) $(SLINK_LIBS)
build/san/fuzz/mkseeds: $(RPL_OBJ)/mkseeds.o $(RPL_OBJ)/fuzzlib.o $(SLIBS_A)
	$(CC) $(SAN_LDFLAGS) -o $@ $< $(RPL_OBJ)/fuzzlib.o $(SLINK_LIBS)

fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs clang" \
	  "and libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)"; \
	  exit 1; }
	$(MAKE) $(FUZZ_TARGETS:%=build/fuzz/fuzz-%)
	@for t in $(FUZZ_TARGETS); do \
	  tests/fuzz/run.sh $$t $(FUZZ_SECONDS) || exit 1; done

# Dependency files are only ever written by the compiler: no rule remakes
# them (and no built-in rule tries to link one from a .o).
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
%.d: ;
-include $(shell find build -name '*.d' 2>/dev/null)

# The README's test command. Builds the sanitizer binaries and runs every test.
check: deps
	$(MAKE) all build/san/vmsd build/san/vmsctl $(UNIT_BIN) \
	    build/san/tests/ledger-forge build/tests/oracle-sign \
	    build/tests/flushdelay.so $(REPLAY_BIN)
	tests/run

test: check

run: deps all
	scripts/run-local.sh

bench: bench-deps all $(BENCH_BIN)
	bench/run

# apt-get install those of the packages $(1) that are missing
define install_debs
@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || \
	  { $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; }; \
	fi
endef

deps:
	@scripts/deb-src.sh
	$(call install_debs,$(DEBS))

# The peer make bench measures vmsd against, in the same run (bench/redis.sh,
# bench/pairs.sh).
bench-deps: deps
	$(call install_debs,$(BENCH_DEBS))

lint-man:
	mandoc -Tlint -Wwarning man/*.[1-8]

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 daemon/vmsd $(DESTDIR)$(SBINDIR)/vmsd
	install -m 0755 ctl/vmsctl $(DESTDIR)$(BINDIR)/vmsctl
	for p in man/*.[1-8]; do [ -f $$p ] || continue; s=$${p##*.}; \
	  install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; done
	if [ -d units ] && ls units/*.service >/dev/null 2>&1; then \
	  install -d $(DESTDIR)$(SYSTEMDUNITDIR); \
	  for u in units/*.service units/*.socket; do [ -f $$u ] || continue; \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
	      > $(DESTDIR)$(SYSTEMDUNITDIR)/$$(basename $$u); done; fi
	if [ -f etc/vmsd.sysusers ]; then install -d $(DESTDIR)$(SYSUSERSDIR); \
	  install -m 0644 etc/vmsd.sysusers $(DESTDIR)$(SYSUSERSDIR)/vmsd.conf; fi
	if [ -f etc/vmsd.tmpfiles ]; then install -d $(DESTDIR)$(TMPFILESDIR); \
	  install -m 0644 etc/vmsd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/vmsd.conf; fi
	install -d $(DESTDIR)$(SYSCONFDIR)/vmsd
	[ -f $(DESTDIR)$(SYSCONFDIR)/vmsd/vmsd.conf ] || [ ! -f etc/vmsd.conf ] || \
	  install -m 0644 etc/vmsd.conf $(DESTDIR)$(SYSCONFDIR)/vmsd/vmsd.conf
	@# The nginx site for TLS (vmsd(8), REMOTE CLIENTS): an example to copy,
	@# never installed into nginx's own configuration.
	install -d $(DESTDIR)$(PREFIX)/share/vmsd
	install -m 0644 etc/nginx-vmsd.conf $(DESTDIR)$(PREFIX)/share/vmsd/nginx-vmsd.conf
	@# On a live system (no DESTDIR) create the vmsd user and group now, so
	@# vmsd.socket (SocketGroup=vmsd) can start before the next boot.
	if [ -z "$(DESTDIR)" ] && [ -f etc/vmsd.sysusers ] && \
	  command -v systemd-sysusers >/dev/null 2>&1; then \
	  systemd-sysusers $(SYSUSERSDIR)/vmsd.conf; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vmsd $(DESTDIR)$(BINDIR)/vmsctl
	for p in man/*.[1-8]; do s=$${p##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$p); done
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/vmsd.service $(DESTDIR)$(SYSTEMDUNITDIR)/vmsd.socket
	rm -f $(DESTDIR)$(SYSUSERSDIR)/vmsd.conf $(DESTDIR)$(TMPFILESDIR)/vmsd.conf
	rm -f $(DESTDIR)$(PREFIX)/share/vmsd/nginx-vmsd.conf

# clean keeps the fetched sources (build/*-src); distclean removes them.
clean:
	if [ -d build ]; then find build -mindepth 1 -maxdepth 1 ! -name '*-src' \
	  -exec rm -rf {} +; fi
	rm -f daemon/vmsd ctl/vmsctl
distclean: clean
	rm -rf build
