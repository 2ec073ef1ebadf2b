#!/usr/bin/env python3
"""abuse.py — hostile clients for vmsd's limits tests (limits.sh), each
bounded in time, printing one JSON summary line.

  abuse.py slowloris ADDR --conns N --seconds S
      N connections each sending one byte a second of a request that never
      ends; reports how many the daemon closed, and when.
  abuse.py flood ADDR --conns N --seconds S [--probe ADDR]
      N connections at once, held S seconds, while a well-behaved client
      pings through --probe (default ADDR) every 0.1 s; reports how many
      were accepted, refused (closed, or told why) and the probe's worst
      latency.
  abuse.py membomb ADDR --conns N --size BYTES --seconds S --pid PID
      N connections each sending BYTES of a request that never ends (a
      line without its newline, or an HTTP body short of its length);
      samples PID's RSS every 0.05 s; reports the peak, how many
      connections the daemon closed, and the probe's worst latency.
  abuse.py unread ADDR --conns N --requests M --params JSON --seconds S
         --pid PID
      N connections each sending M requests whose replies are never read.

  abuse.py probe ADDR --seconds S [--from IP]
      the well-behaved client alone: a ping on a fresh connection every
      0.1 s; reports how many were answered and the worst latency.

ADDR is unix:PATH or http://HOST:PORT. The probe of the other commands is
--probe ADDR (default: ADDR), run as a process of its own, from source
address --probe-from IP (HTTP: another address than the attackers') and
as user --probe-uid UID (control socket: another uid).
"""
import json
import os
import resource
import select
import socket
import struct
import sys
import threading
import time


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def connect(addr, timeout=10, source=None, wait=False):
    """wait: a Unix connect waits for room in a full listen backlog, as a
    blocking client (vmsctl, libvms/client.c) does, for up to timeout;
    else it fails at once (EAGAIN), as the attackers' do."""
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if wait:
            tv = struct.pack("ll", int(timeout), 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
            s.connect(addr[5:])	# blocking: waits in the backlog
        s.settimeout(timeout)
        if not wait:
            s.connect(addr[5:])
        return s
    hp = addr.split("://", 1)[1].rstrip("/")
    host, port = hp.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout,
                                 source_address=(source, 0) if source
                                 else None)
    return s


def is_http(addr):
    return addr.startswith("http://")


PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def http_request(body):
    return (b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def probe_once(addr, timeout=10, source=None):
    """One ping on a fresh connection: its latency in seconds, or None."""
    t0 = time.monotonic()
    try:
        s = connect(addr, timeout, source, wait=True)
        body = json.dumps(PING).encode()
        if is_http(addr):
            s.sendall(http_request(body))
        else:
            s.sendall(body + b"\n")
        buf = b""
        while b'"version"' not in buf:
            d = s.recv(65536)
            if not d:
                s.close()
                return None
            buf += d
        s.close()
    except OSError:
        return None
    return time.monotonic() - t0


class Prober:
    """The well-behaved client, in a process of its own (abuse.py probe),
    so that it can run as another user."""

    def __init__(self, addr, o):
        import subprocess
        self.o = o
        py = sys.executable
        if o.get("--probe-uid") and os.path.exists("/usr/bin/python3"):
            py = "/usr/bin/python3"	# one every user may run
        # As another user, the script is passed as text: its own path may
        # sit in a directory that user cannot enter (CI clones into a
        # 0700 mktemp directory).
        with open(os.path.abspath(__file__)) as f:
            args = [py, "-c", f.read(), "probe", addr, "--seconds", "600"]
        if o.get("--probe-from"):
            args += ["--from", o["--probe-from"]]
        kw = {}
        if o.get("--probe-uid"):
            kw["user"] = int(o["--probe-uid"])
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                  stdin=subprocess.PIPE, **kw)
        self.ok, self.failed, self.worst = 0, 0, 0.0

    def finish(self):
        out, _ = self.p.communicate(b"stop\n", timeout=30)
        r = json.loads(out.decode().strip().splitlines()[-1])
        self.ok, self.failed, self.worst = r["ok"], r["failed"], r["worst"]


def cmd_probe(addr, o):
    secs, source = float(o.get("--seconds", 5)), o.get("--from")
    ok, failed, worst = 0, 0, 0.0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        lat = probe_once(addr, 10, source)
        if lat is None:
            failed += 1
        else:
            ok += 1
            worst = max(worst, lat)
        r, _, _ = select.select([sys.stdin], [], [], 0.1)
        if r:
            break
    print(json.dumps({"ok": ok, "failed": failed, "worst": round(worst, 3)}))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def closed(s):
    """Has the daemon closed s (EOF or reset)? Reads all that is there."""
    s.setblocking(False)
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def cmd_slowloris(addr, o):
    n, secs = int(o.get("--conns", 5)), float(o.get("--seconds", 5))
    raise_nofile()
    socks = []
    for _ in range(n):
        s = connect(addr)
        s.setblocking(False)
        socks.append([s, time.monotonic(), None])
    head = (b'POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json'
            b'\r\nContent-Length: 40\r\n\r\n{"jsonrpc":"2.0","id":1,'
            if is_http(addr) else b'{"jsonrpc":"2.0","id":1,"method":')
    end = time.monotonic() + secs
    i = 0
    while time.monotonic() < end and any(c[2] is None for c in socks):
        for c in socks:
            if c[2] is not None:
                continue
            try:
                if i < len(head):
                    c[0].send(head[i:i + 1])
                else:
                    c[0].send(b" ")
            except OSError:
                c[2] = time.monotonic() - c[1]
                continue
            if closed(c[0]):
                c[2] = time.monotonic() - c[1]
        i += 1
        time.sleep(1.0 if is_http(addr) or i > 4 else 0.2)
    dropped = [c[2] for c in socks if c[2] is not None]
    print(json.dumps({"conns": n, "dropped": len(dropped),
                      "after": round(max(dropped), 2) if dropped else None}))


def cmd_flood(addr, o):
    n, secs = int(o.get("--conns", 1000)), float(o.get("--seconds", 3))
    probe = o.get("--probe", addr)
    raise_nofile()
    pr = Prober(probe, o)
    socks, failed = [], 0
    t0 = time.monotonic()
    for _ in range(n):
        try:
            s = connect(addr, 5)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            failed += 1
    opened = time.monotonic() - t0
    time.sleep(max(0.0, secs - opened))
    refused = 0
    for s in socks:
        try:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                d = s.recv(65536)
                if not d or b"error" in d or b" 503 " in d:
                    refused += 1
        except OSError:
            refused += 1
    pr.finish()
    for s in socks:
        s.close()
    print(json.dumps({"conns": n, "connect_failed": failed,
                      "refused": refused,
                      "held": len(socks) - refused,
                      "probe_ok": pr.ok, "probe_failed": pr.failed,
                      "probe_worst": round(pr.worst, 3)}))


class RSS:
    """vmsd's RSS, sampled every 50 ms on a thread: base, then peak."""

    def __init__(self, pid):
        self.pid = pid
        self.base = self.peak = rss_kb(pid)
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.th.join()


def cmd_membomb(addr, o):
    n, size = int(o.get("--conns", 100)), int(o.get("--size", 1 << 20))
    secs, pid = float(o.get("--seconds", 4)), int(o["--pid"])
    raise_nofile()
    rss = RSS(pid)
    pr = Prober(o.get("--probe", addr), o)
    chunk = b"x" * 65536
    socks = []
    for _ in range(n):
        try:
            s = connect(addr, 5)
        except OSError:
            continue
        if is_http(addr):
            s.sendall(b"POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n"
                      % (size + 100))
        else:
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":'
                      b'{"pad":"')
        s.setblocking(False)
        socks.append([s, 0, False])
    end = time.monotonic() + secs
    while time.monotonic() < end:
        busy = False
        for c in socks:
            if c[2] or c[1] >= size:
                continue
            busy = True
            try:
                k = c[0].send(chunk[:min(len(chunk), size - c[1])])
                c[1] += k
            except BlockingIOError:
                pass
            except OSError:
                c[2] = True
        if not busy:
            time.sleep(0.05)
    for c in socks:
        if not c[2] and closed(c[0]):
            c[2] = True
    rss.finish()
    pr.finish()
    sent = sum(c[1] for c in socks)
    print(json.dumps({"conns": len(socks), "closed": sum(c[2] for c in socks),
                      "sent_mb": round(sent / 1048576, 1),
                      "rss_base_mb": round(rss.base / 1024, 1),
                      "rss_peak_mb": round(rss.peak / 1024, 1),
                      "probe_ok": pr.ok, "probe_failed": pr.failed,
                      "probe_worst": round(pr.worst, 3)}))
    for c in socks:
        c[0].close()


def cmd_unread(addr, o):
    n, m = int(o.get("--conns", 10)), int(o.get("--requests", 100))
    params = json.loads(o.get("--params", "{}"))
    method = o.get("--method", "log")
    secs, pid = float(o.get("--seconds", 4)), int(o["--pid"])
    raise_nofile()
    rss = RSS(pid)
    pr = Prober(o.get("--probe", addr), o)
    line = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": params}).encode() + b"\n"
    socks = []
    for _ in range(n):
        s = connect(addr, 5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        socks.append([s, line * m, False])
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for c in socks:
            if c[2] or not c[1]:
                continue
            try:
                k = c[0].send(c[1])
                c[1] = c[1][k:]
            except BlockingIOError:
                pass
            except OSError:
                c[2] = True
        time.sleep(0.05)
    for c in socks:
        if not c[2] and closed(c[0]):
            c[2] = True
    rss.finish()
    pr.finish()
    print(json.dumps({"conns": n, "closed": sum(c[2] for c in socks),
                      "rss_base_mb": round(rss.base / 1024, 1),
                      "rss_peak_mb": round(rss.peak / 1024, 1),
                      "probe_ok": pr.ok, "probe_failed": pr.failed,
                      "probe_worst": round(pr.worst, 3)}))
    for c in socks:
        c[0].close()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, addr = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    o = dict(zip(rest[::2], rest[1::2]))
    return {"slowloris": cmd_slowloris, "flood": cmd_flood,
            "membomb": cmd_membomb, "unread": cmd_unread,
            "probe": cmd_probe}[cmd](addr, o) or 0


if __name__ == "__main__":
    sys.exit(main())
