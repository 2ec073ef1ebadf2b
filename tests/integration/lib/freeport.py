"""freeport.py SEED [EXCLUDE...]: print a TCP port on 127.0.0.1 that no
socket holds now (a bind without SO_REUSEADDR succeeds: nothing listens
on it, no connection, not even one in TIME_WAIT, has it as its local
port), below the kernel's ephemeral range when there is room (so that no
client connection made later is given it), starting from a number derived
from the caller's PID and SEED and going up. Exit 1 if none is free.

The tests' listening ports used to be 20000 + (PID + SEED) % 20000, half
of them inside the ephemeral range (32768-60999 here): a CI run failed
twice on "Address already in use" (tiles.sh, tiles-mirror.sh)."""
import os
import socket
import sys


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def main():
    seed = int(sys.argv[1])
    exclude = {int(x) for x in sys.argv[2:]}
    lo = 20000
    hi = ephemeral_low()
    if hi - lo < 2000:          # no room below it: any unprivileged port
        lo, hi = 10000, 65536
    n = hi - lo
    start = (os.getppid() + seed) % n
    for i in range(n):
        port = lo + (start + i) % n
        if port in exclude:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        print(port)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
