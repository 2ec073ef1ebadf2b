#!/bin/sh
# tests/integration/free-port.sh — lib/freeport.py, which gives the tests
# their listening ports: a port below the kernel's ephemeral range, that
# nothing holds when it is given: not a listener, not a client
# connection's own port, not an excluded one.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/integration/lib/daemon.sh"

low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
p=$(free_port 5)
check below_ephemeral "port $p, ephemeral from $low" \
    test -n "$p" -a "$p" -ge 20000 -a \( "$low" -lt 22000 -o "$p" -lt "$low" \)

# Held by a listener, by a connection's local end, or excluded: skipped.
python3 - "$LIB/freeport.py" >"$T/held" <<'PY' &
import socket, subprocess, sys, time
fp = sys.argv[1]
seed = 5
def ask(*excl):
    return int(subprocess.check_output([sys.executable, fp, str(seed)] +
        [str(x) for x in excl], text=True))
# python's child sees this process as its parent: the same start
first = ask()
ls = socket.socket(); ls.bind(("127.0.0.1", first)); ls.listen(1)
second = ask()
# a connection whose local end is the next one (as an ephemeral port
# would be): bind the client side to it, connect to the listener
cs = socket.socket(); cs.bind(("127.0.0.1", second)); cs.connect(("127.0.0.1", first))
third = ask()
fourth = ask(third)
print(first, second, third, fourth)
PY
wait $!
read first second third fourth <"$T/held"
check skips_a_listener "$first then $second" test -n "$second" -a "$second" != "$first"
check skips_a_connection "$second then $third" \
    test -n "$third" -a "$third" != "$second" -a "$third" != "$first"
check skips_excluded "$third excluded, then $fourth" \
    test -n "$fourth" -a "$fourth" != "$third" -a "$fourth" != "$second" -a "$fourth" != "$first"
