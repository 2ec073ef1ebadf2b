#!/bin/sh
# daemon-config.sh — vmsd's configuration and startup: errors name the file
# and line, flags win over the file, a missing -f file is an error, a stale
# socket is replaced and a live one refused, --help/--version, -t and -T (check and
# print the configuration), SIGHUP reload.
. "$TOP/tests/integration/lib/daemon.sh"

# Unknown key: error names FILE:LINE and the key, exit status non-zero.
printf '# comment\nqueue_limit = 10\nbogus_key = 1\n' >"$T/bad.conf"
out=$("$VMSD" -f "$T/bad.conf" --state-dir "$T/state" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "$T/bad.conf:3: unknown key 'bogus_key'"; then
	pass config_unknown_key
else
	fail config_unknown_key "rc=$rc out=$out"
fi

printf 'queue_limit = lots\n' >"$T/bad2.conf"
out=$("$VMSD" -f "$T/bad2.conf" --state-dir "$T/state" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "bad2.conf:1: bad value 'lots' for queue_limit"; then
	pass config_bad_value
else
	fail config_bad_value "rc=$rc out=$out"
fi

printf 'limit.memory = 12Q\n' >"$T/bad3.conf"
out=$("$VMSD" -f "$T/bad3.conf" --state-dir "$T/state" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "bad3.conf:1: bad setting 'limit.memory'"; then
	pass config_bad_limit
else
	fail config_bad_limit "rc=$rc out=$out"
fi

printf 'listen = nowhere\n' >"$T/bad4.conf"
out=$("$VMSD" -f "$T/bad4.conf" --state-dir "$T/state" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "bad4.conf:1: bad value 'nowhere' for listen"; then
	pass config_bad_listen
else
	fail config_bad_listen "rc=$rc out=$out"
fi

out=$("$VMSD" -f "$T/does-not-exist.conf" --state-dir "$T/state" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "does-not-exist.conf: No such file"; then
	pass config_missing_f_file
else
	fail config_missing_f_file "rc=$rc out=$out"
fi

# vmsd -T: the configuration it would start with, every key with its
# value; read back with -f it gives the same; flags win; a bad file is
# refused as at start (FILE:LINE, status 1) and nothing is started.
printf 'queue_limit = 10\nhandoff = no\nsocket_mode = 0600\nlimit.memory = 32M\n' >"$T/print.conf"
out=$("$VMSD" -T -f "$T/print.conf" --listen 127.0.0.1:1 2>&1)
rc=$?
printf '%s\n' "$out" >"$T/printed.conf"
if [ $rc -eq 0 ] && echo "$out" | grep -qx 'queue_limit = 10' &&
    echo "$out" | grep -qx 'handoff = no' &&
    echo "$out" | grep -qx 'socket_mode = 0600' &&
    echo "$out" | grep -qx 'limit.memory = 33554432' &&
    echo "$out" | grep -qx 'listen = "127.0.0.1:1"' &&
    echo "$out" | grep -qx 'call_timeout = 10' &&
    [ "$(echo "$out" | grep -c ' = ')" -ge 50 ]; then
	pass print_config
else
	fail print_config "rc=$rc out=$out"
fi
again=$("$VMSD" -T -f "$T/printed.conf" 2>&1)
check print_config_reads_back "rc=$? diff: $(printf '%s\n' "$again" | diff "$T/printed.conf" - | head -5)" \
    [ "$again" = "$out" ]
printf 'queue_limit = 10\ncall_timeout = 86401\n' >"$T/print-bad.conf"
out=$("$VMSD" -T -f "$T/print-bad.conf" --socket "$T/never.sock" 2>&1)
rc=$?
if [ $rc -eq 1 ] && echo "$out" | grep -q "print-bad.conf:2: bad value '86401' for call_timeout (a whole number from 0 to 86400)" &&
    [ ! -e "$T/never.sock" ]; then
	pass print_config_refuses_bad_file
else
	fail print_config_refuses_bad_file "rc=$rc out=$out"
fi

# vmsd -t: the same check without the listing: nothing on stdout and 0
# for a good file, the error and 1 for a bad one.
out=$("$VMSD" -t -f "$T/print.conf" 2>"$T/check.err")
rc=$?
check check_config_good "rc=$rc out=$out err=$(cat "$T/check.err")" \
    sh -c '[ "$1" -eq 0 ] && [ -z "$2" ] && [ ! -s "$3" ]' _ "$rc" "$out" \
    "$T/check.err"
out=$("$VMSD" -t -f "$T/print-bad.conf" 2>&1)
rc=$?
check check_config_bad "rc=$rc out=$out" sh -c '[ "$1" -eq 1 ] &&
    echo "$2" | grep -q "print-bad.conf:2: bad value .86401. for call_timeout"' _ "$rc" "$out"

out=$("$VMSD" --bogus-flag 2>&1)
rc=$?
check cli_bad_flag "rc=$rc out=$out" [ $rc -eq 2 ]
out=$("$VMSD" --help 2>&1)
check cli_help "out=$out" sh -c "echo \"\$1\" | grep -q 'usage: vmsd'" _ "$out"
out=$("$VMSD" -V 2>&1)
check cli_version "out=$out" sh -c "echo \"\$1\" | grep -q '^vmsd [0-9]'" _ "$out"

# Flags win over the file: the file names another socket and state dir.
cat >"$T/vmsd.conf" <<CONF
# the documented format
socket = $T/other.sock   # overridden by --socket
state_dir = $T/other-state
queue_limit = 7
idle_timeout = 1
debug_auth = no
log_level = info
CONF
if start_vmsd; then
	if [ -S "$T/s.sock" ] && [ ! -e "$T/other.sock" ] && [ -d "$T/state/contracts" ] && [ ! -e "$T/other-state" ]; then
		pass config_flags_win
	else
		fail config_flags_win "socket/state not where the flags said"
	fi
else
	fail config_flags_win "vmsd did not start"
fi

# A live socket is refused.
out=$("$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state2" --socket "$T/s.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "another vmsd is already running"; then
	pass live_socket_refused
else
	fail live_socket_refused "rc=$rc out=$out"
fi

# A second daemon on the same state directory is refused.
out=$("$VMSD" -f "$T/vmsd.conf" --state-dir "$T/state" --socket "$T/s2.sock" 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "is in use by another vmsd"; then
	pass state_dir_locked
else
	fail state_dir_locked "rc=$rc out=$out"
fi

# SIGHUP: a reload with a bad file keeps serving, a good one applies.
printf 'nonsense here\n' >>"$T/vmsd.conf"
kill -HUP "$VPID"
sleep 0.3
if rpc ping >/dev/null && grep -q "reload failed" "$T/log"; then
	pass reload_bad_config_keeps_serving
else
	fail reload_bad_config_keeps_serving "no 'reload failed' or not serving"
fi
sed -i '/nonsense here/d' "$T/vmsd.conf"
echo "listen = 127.0.0.1:1" >>"$T/vmsd.conf"
kill -HUP "$VPID"
sleep 0.3
if rpc ping >/dev/null && grep -q "configuration reloaded" "$T/log" &&
    grep -q "listen changed: takes effect after a restart" "$T/log"; then
	pass reload_applies_and_names_restart_keys
else
	fail reload_applies_and_names_restart_keys "log does not show the reload"
fi

# SIGTERM: exit 0, socket removed.
stop_vmsd
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$T/s.sock" ]; then
	pass sigterm_exit_0
else
	fail sigterm_exit_0 "rc=$rc"
fi

# A stale socket (nobody listening) is replaced.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/s.sock"
if [ -S "$T/s.sock" ] && start_vmsd; then
	pass stale_socket_replaced
else
	fail stale_socket_replaced "vmsd did not start over a stale socket"
fi
stop_vmsd

# The documented default config, every setting uncommented, is valid.
sed 's/^#\([a-z]\)/\1/' "$TOP/etc/vmsd.conf" | grep -v '^socket\|^state_dir' >"$T/vmsd.conf"
if start_vmsd; then pass default_config_all_settings_valid; else fail default_config_all_settings_valid "vmsd refused etc/vmsd.conf uncommented"; fi
stop_vmsd

# The default origin prefix is the fully qualified host name; without a
# dot, a warning at start says how to set origin_prefix; with one set,
# no warning.
VMSCTL="${VMSCTL:-$TOP/build/san/vmsctl}"
fqdn=$(python3 -c '
import socket
h = socket.gethostname()
if "." not in h:
    try:
        c = socket.getaddrinfo(h, None, flags=socket.AI_CANONNAME)[0][3]
        if "." in c:
            h = c
    except OSError:
        pass
print(h)')
: >"$T/vmsd.conf"
: >"$T/log"
start_vmsd
write_counter
deploy o1 "$T/counter.lua" >"$T/out"
origin=$("$VMSCTL" -s "$T/s.sock" info o1 2>/dev/null | sed -n 's/^vkey: *\([^+]*\)+.*/\1/p')
stop_vmsd
case $fqdn in
*.*)	check origin_default_fqdn "origin $origin, fqdn $fqdn" \
	    sh -c "[ '$origin' = '$fqdn/vmsd/o1' ] && ! grep -q 'not fully qualified' '$T/log'" ;;
*)	check origin_default_unqualified_warns "origin $origin, host $fqdn" \
	    sh -c "[ '$origin' = '$fqdn/vmsd/o1' ] && grep -q 'origin_prefix is \"$fqdn/vmsd\", made of a host name that is not fully qualified.*set origin_prefix' '$T/log'" ;;
esac
printf 'origin_prefix = vms.example.org\n' >"$T/vmsd.conf"
: >"$T/log"
start_vmsd
check origin_prefix_set_no_warning "log: $(grep -i qualified "$T/log")" sh -c "! grep -q 'not fully qualified' '$T/log'"
stop_vmsd

# socket_mode is applied to the socket file.
printf 'socket_mode = 0600\n' >"$T/vmsd.conf"
start_vmsd
mode=$(stat -c %a "$T/s.sock" 2>/dev/null)
check socket_mode "mode is $mode" [ "$mode" = 600 ]
stop_vmsd
exit 0
