#!/bin/sh
# daemon-hugepages.sh — workers run with their heap in transparent huge
# pages (proc.c workers_huge_pages): vmsd adds glibc.malloc.hugetlb=1 to
# the GLIBC_TUNABLES its workers inherit, after any other tunable, and
# leaves a GLIBC_TUNABLES that already sets it alone. With the release
# build (glibc's malloc; ASan's has its own) the worker's heap is advised
# (MADV_HUGEPAGE: "hg" in its smaps VmFlags), also when the operator set
# another tunable, and not when the operator said glibc.malloc.hugetlb=0.
# (The worker's /proc/PID/environ shows only a GLIBC_TUNABLES's first
# tunable: glibc's start-up parse ends each value in place.)
. "$TOP/tests/integration/lib/daemon.sh"

VMSD_RELEASE="${VMSD_RELEASE:-$TOP/daemon/vmsd}"
write_counter

# run NAME TUNABLES: vmsd started with GLIBC_TUNABLES=TUNABLES (unset if
# "-"), one call; sets $env (the worker's GLIBC_TUNABLES) and $flags (its
# heap's VmFlags)
run() {
	if [ "$2" = - ]; then
		env -u GLIBC_TUNABLES sh -c 'exec "$@"' vmsd "$VMSD" \
		    -f "$T/vmsd.conf" --state-dir "$T/state.$1" \
		    --socket "$T/s.sock" >>"$T/log" 2>&1 </dev/null &
	else
		GLIBC_TUNABLES=$2 "$VMSD" -f "$T/vmsd.conf" \
		    --state-dir "$T/state.$1" --socket "$T/s.sock" \
		    >>"$T/log" 2>&1 </dev/null &
	fi
	VPID=$!
	i=0
	while [ $i -lt 100 ] && ! rpc ping >/dev/null 2>&1; do
		sleep 0.1; i=$((i + 1))
	done
	deploy c "$T/counter.lua" >/dev/null
	rpc call '{"contract":"c","method":"inc","args":[]}' >/dev/null
	wpid=$(rpc info '{"contract":"c"}' | field result.pid)
	env=$(tr '\0' '\n' <"/proc/$wpid/environ" 2>/dev/null |
	    sed -n 's/^GLIBC_TUNABLES=//p')
	flags=$(awk '/\[heap\]/ { h = 1 } h && /^VmFlags:/ { print; exit }' \
	    "/proc/$wpid/smaps" 2>/dev/null)
	stop_vmsd
}

run plain -
check tunable_added "the worker's GLIBC_TUNABLES: '$env'" \
    [ "$env" = "glibc.malloc.hugetlb=1" ]
run off glibc.malloc.hugetlb=0
check operator_tunable_kept "the worker's GLIBC_TUNABLES: '$env'" \
    [ "$env" = "glibc.malloc.hugetlb=0" ]

if [ ! -x "$VMSD_RELEASE" ]; then
	skip heap_advised "no release build (daemon/vmsd)"
	exit 0
fi
VMSD=$VMSD_RELEASE
run rel -
case " $flags " in
*" hg "*) pass heap_advised ;;
*) fail heap_advised "the worker's heap: '$flags'" ;;
esac
run relother glibc.malloc.tcache_count=7
case " $flags " in
*" hg "*) pass heap_advised_after_other_tunable ;;
*) fail heap_advised_after_other_tunable "the worker's heap: '$flags'" ;;
esac
run reloff glibc.malloc.hugetlb=0
case " $flags " in
*" hg "*) fail heap_not_advised_when_off "the worker's heap: '$flags'" ;;
"  ") fail heap_not_advised_when_off "no [heap] VmFlags found" ;;
*) pass heap_not_advised_when_off ;;
esac
exit 0
