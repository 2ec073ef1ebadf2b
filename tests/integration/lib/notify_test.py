#!/usr/bin/env python3
"""notify_test.py VMSD TMPDIR — vmsd under a fake systemd: a NOTIFY_SOCKET
that records every message, WATCHDOG_USEC, and a control socket passed by
socket activation (LISTEN_FDS/LISTEN_FDNAMES=control). Prints PASS/FAIL
lines for the exact notify messages and the passed socket's behaviour.
"""
import json
import os
import re
import signal
import socket
import sys
import time

vmsd, tmp = sys.argv[1], sys.argv[2]
results = []


def check(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    sys.stdout.flush()


def ping(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    data = b""
    while b"\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    return json.loads(data)


notify_path = os.path.join(tmp, "notify.sock")
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(notify_path)
ns.settimeout(0.1)
msgs = []


def drain(seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            msgs.append(ns.recv(4096).decode())
        except socket.timeout:
            pass


ctl_path = os.path.join(tmp, "act.sock")
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(ctl_path)
ls.listen(16)

log = open(os.path.join(tmp, "log"), "ab")
pid = os.fork()
if pid == 0:
    os.dup2(ls.fileno(), 3)
    env = dict(os.environ)
    env.update({"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "400000",
                "LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "1",
                "LISTEN_FDNAMES": "control"})
    os.dup2(log.fileno(), 2)
    os.dup2(log.fileno(), 1)
    os.execve(vmsd, [vmsd, "--state-dir", os.path.join(tmp, "state"),
                     "--socket", os.path.join(tmp, "unused.sock")], env)
ls.close()

drain(1.5)
ready = [m for m in msgs if "READY=1" in m]
check("notify_ready_with_status", len(ready) == 1 and
      re.search(r"^READY=1\nSTATUS=serving 0 contracts$", ready[0]) is not None,
      repr(msgs[:5]))
wd = [m for m in msgs if m == "WATCHDOG=1"]
check("notify_watchdog_half_interval", 4 <= len(wd) <= 12,
      "%d WATCHDOG=1 in 1.5 s with WATCHDOG_USEC=400000" % len(wd))

try:
    r = ping(ctl_path)
    ok = r.get("result", {}).get("version") is not None
except OSError as e:
    ok, r = False, str(e)
check("socket_activation_control_fd", ok and
      not os.path.exists(os.path.join(tmp, "unused.sock")), repr(r))

msgs.clear()
os.kill(pid, signal.SIGHUP)
drain(0.8)
rel = [m for m in msgs if m.startswith("RELOADING=1")]
okrel = len(rel) == 1 and re.match(r"^RELOADING=1\nMONOTONIC_USEC=\d+$", rel[0])
after = msgs[msgs.index(rel[0]) + 1:] if rel else []
check("notify_reloading_then_ready", bool(okrel) and
      any(m.startswith("READY=1") for m in after), repr(msgs))
if rel:
    usec = int(rel[0].split("MONOTONIC_USEC=")[1])
    now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
    check("notify_monotonic_usec_is_now", abs(now - usec) < 5e6,
          "MONOTONIC_USEC %d, now %d" % (usec, now))

msgs.clear()
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
drain(0.3)
check("notify_stopping", any(m.startswith("STOPPING=1") for m in msgs),
      repr(msgs))
check("exit_0_under_activation", os.WIFEXITED(status) and
      os.WEXITSTATUS(status) == 0, "status %d" % status)
check("passed_socket_not_unlinked", os.path.exists(ctl_path),
      "vmsd removed a socket it did not create")
