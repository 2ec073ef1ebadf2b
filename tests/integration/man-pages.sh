#!/bin/sh
# man-pages.sh — the manual pages are lint-clean and cannot drift from the
# code: `mandoc -Tlint -Wwarning` on every man/*.[1-8]; every vmsctl command
# and option in `vmsctl --help` is in vmsctl.1; every `vmsd --help` option is
# in vmsd.8; every configuration key `vmsd -T` prints is in
# vmsd.conf.5 and in etc/vmsd.conf (the installed default config), and the
# defaults both give are the ones `vmsd -T` prints.

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
VMSD=${VMSD:-$TOP/build/san/vmsd}
VMSCTL=${VMSCTL:-$TOP/build/san/vmsctl}
NAME=man-pages
FAILED=0

pass() { echo "PASS $NAME: $1"; }
fail() { echo "FAIL $NAME: $1"; FAILED=1; }

if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP $NAME: mandoc not installed (make deps)"; exit 0
fi
D=$(mktemp -d /tmp/vmsd-man.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT INT TERM HUP

# ---- lint ----
n=0
for p in "$TOP"/man/*.[1-8]; do
	[ -f "$p" ] || continue
	n=$((n + 1))
	if out=$(mandoc -Tlint -Wwarning "$p" 2>&1) && [ -z "$out" ]; then
		pass "mandoc -Tlint -Wwarning $(basename "$p")"
	else
		fail "mandoc -Tlint -Wwarning $(basename "$p"): $(echo "$out" | head -3 | sed "s|$TOP/||g" | tr '\n' ' ')"
	fi
done
for p in vmsd.8 vmsctl.1 vmsd.conf.5 vmsd-protocol.7 vms-contract.7 vms-ledger.5; do
	[ -f "$TOP/man/$p" ] || fail "man/$p is missing"
done

# The rendered text of a page, one line per output line, without
# overstrike, so it can be searched for words.
render() {
	[ -f "$TOP/man/$1" ] || { : >"$D/$1.txt"; return 1; }
	MANWIDTH=200 mandoc -Tascii -O width=200 "$TOP/man/$1" 2>/dev/null |
	    col -b >"$D/$1.txt"
}

# has PAGE WORD: WORD occurs in the page as a whole word (options and
# commands are bounded by anything but letters, digits, '-' and '_').
has() {
	grep -Eq -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$2" |
	    sed 's/[.[\*^$]/\\&/g')([^A-Za-z0-9_-]|$)" "$D/$1.txt"
}

# Options in a --help text: every -x and --long-word token.
options() {
	grep -Eo -- '(^|[][ ,|(])--?[A-Za-z][A-Za-z0-9-]*' "$1" |
	    sed 's/^[][ ,|(]*//' | sort -u
}

check_list() {	# PAGE WHAT LIST...
	page=$1; what=$2; shift 2
	label=$page; [ "$page" = etc-vmsd.conf ] && label=etc/vmsd.conf
	missing=""
	for w in "$@"; do
		has "$page" "$w" || missing="$missing $w"
	done
	if [ $# -eq 0 ]; then
		fail "$label: found no $what to check"
	elif [ -z "$missing" ]; then
		pass "$label documents all $# $what"
	else
		fail "$label lacks $what:$missing"
	fi
}

# ---- vmsctl ----
render vmsctl.1
if [ -x "$VMSCTL" ] && "$VMSCTL" --help >"$D/vmsctl.help" 2>&1 &&
    [ -s "$D/vmsctl.help" ]; then
	# Commands: the first word of each line of the "commands:" block
	# (or, without one, of every indented line).
	if grep -q '^commands:' "$D/vmsctl.help"; then
		cmds=$(awk '/^commands:/ { on = 1; next } on && /^[[:space:]]*$/ { on = 0 }
		    on && $1 ~ /^[a-z][a-z-]*$/ { print $1 }' "$D/vmsctl.help" | sort -u)
	else
		cmds=$(sed -n 's/^[[:space:]]\{1,\}\([a-z][a-z-]*\)\([[:space:]].*\)\{0,1\}$/\1/p' \
		    "$D/vmsctl.help" | sort -u)
	fi
	check_list vmsctl.1 "vmsctl commands" $cmds
	# Options: the global ones and those of every command's own help.
	for c in $cmds; do
		"$VMSCTL" help "$c" >>"$D/vmsctl.cmdhelp" 2>&1
	done
	check_list vmsctl.1 "vmsctl --help options" $(options "$D/vmsctl.help")
	[ -s "$D/vmsctl.cmdhelp" ] &&
	    check_list vmsctl.1 "options of 'vmsctl help COMMAND'" \
	    $(options "$D/vmsctl.cmdhelp")
else
	fail "vmsctl --help failed or printed nothing: $(head -2 "$D/vmsctl.help" 2>/dev/null | tr '\n' ' ')"
fi

# ---- vmsd ----
render vmsd.8
if [ -x "$VMSD" ] && "$VMSD" --help >"$D/vmsd.help" 2>&1 &&
    [ -s "$D/vmsd.help" ]; then
	check_list vmsd.8 "vmsd --help options" $(options "$D/vmsd.help")
else
	fail "vmsd --help failed or printed nothing: $(head -2 "$D/vmsd.help" 2>/dev/null | tr '\n' ' ')"
fi

# ---- configuration keys ----
# The keys vmsd accepts, as `vmsd -T` prints them from config.c's table
# (every limit.NAME too), with an oracle and its key set so that their
# lines are printed as well.
printf 'oracle o = /bin/true\noracle_key o = %s\n' \
    9Ecbz_ZP9D4zJ0p3rGsTMZ1mTUpLQxyRGV4oUYe5JnQ >"$D/oracle.conf"
keys=""
if [ -x "$VMSD" ] && "$VMSD" -T -f "$D/oracle.conf" >"$D/keys.txt" 2>&1; then
	keys=$(awk '{ print $1 }' "$D/keys.txt" | sort -u)
else
	fail "vmsd -T failed: $(head -2 "$D/keys.txt" 2>/dev/null | tr '\n' ' ')"
fi
render vmsd.conf.5
check_list vmsd.conf.5 "config keys vmsd -T prints" $keys
if [ -f "$TOP/etc/vmsd.conf" ]; then
	cp "$TOP/etc/vmsd.conf" "$D/etc-vmsd.conf.txt"
	check_list etc-vmsd.conf "config keys vmsd -T prints" $keys
else
	fail "etc/vmsd.conf is missing"
fi

# The defaults etc/vmsd.conf shows ("#key = value", commented out) and
# those vmsd.conf(5) gives ("Default VALUE" in a key's entry, for the keys
# whose entry says it that way: most of them) are the ones vmsd runs with:
# each against `vmsd -T -f /dev/null`, sizes with K/M/G suffixes compared
# in bytes (origin_prefix's empty value stands for the host's name, which
# -T prints).
# defaults_differ FILE MIN 'AWK RULES': the rules call shown(KEY, VALUE)
# for each default FILE shows; prints what differs, or "only N found"
# for fewer than MIN.
defaults_differ() {
	awk -v min="$2" '
	function bytes(v,  n, u) {
		if (v !~ /^[0-9]+[KMG]$/)
			return v
		n = substr(v, 1, length(v) - 1); u = substr(v, length(v))
		return n * (u == "K" ? 1024 : u == "M" ? 1048576 : 1073741824) ""
	}
	function shown(k, v) {
		n++
		if (!(k in def))
			printf " %s (vmsd -T has no such key)", k
		else if (bytes(v) != bytes(def[k]))
			printf " %s = %s (vmsd: %s)", k, v, def[k]
	}
	FNR == NR { v = $0; sub(/^[^=]*= /, "", v); gsub(/^"|"$/, "", v)
		def[$1] = v; next }
	'"$3"'
	END { if (n < min) printf " only %d found", n }' "$D/defaults.txt" "$1"
}
if [ -x "$VMSD" ] && [ -f "$TOP/etc/vmsd.conf" ] &&
    "$VMSD" -T -f /dev/null >"$D/defaults.txt" 2>&1; then
	wrong=$(defaults_differ "$TOP/etc/vmsd.conf" 30 '
	/^#[a-z_.]+ =( |$)/ { k = substr($1, 2); v = $0; sub(/^[^=]*=[ ]?/, "", v)
		if (k != "origin_prefix") shown(k, v) }')
	if [ -z "$wrong" ]; then
		pass "etc/vmsd.conf shows the defaults vmsd -T prints"
	else
		fail "etc/vmsd.conf's defaults differ from vmsd -T:$wrong"
	fi
	wrong=$(defaults_differ "$TOP/man/vmsd.conf.5" 30 '
	/^\.It Ic / { key = $3; got = 0; next }
	/^\.It / { key = "" }
	key != "" && !got && /Default / { v = $0; sub(/.*Default /, "", v)
		sub(/[.,:].*$/, "", v); if (v == "empty") v = ""
		got = 1; shown(key, v) }')
	if [ -z "$wrong" ]; then
		pass "vmsd.conf.5 gives the defaults vmsd -T prints"
	else
		fail "vmsd.conf.5's defaults differ from vmsd -T:$wrong"
	fi
else
	fail "vmsd -T -f /dev/null failed: $(head -2 "$D/defaults.txt" 2>/dev/null | tr '\n' ' ')"
fi
exit $FAILED
