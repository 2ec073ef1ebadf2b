#!/bin/sh
# notify.sh — the exact sd_notify messages vmsd sends, checked against a
# fake NOTIFY_SOCKET this test owns (an AF_UNIX datagram socket): READY=1
# with STATUS= once the control socket accepts connections, WATCHDOG=1 at
# half of WATCHDOG_USEC, RELOADING=1 + MONOTONIC_USEC= on SIGHUP followed by
# READY=1, STOPPING=1 on SIGTERM and exit status 0.

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
VMSD=${VMSD:-$TOP/build/san/vmsd}
NAME=notify

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP $NAME: python3 not installed"; exit 0
fi
if [ ! -x "$VMSD" ]; then
	echo "FAIL $NAME: no vmsd binary at $VMSD"; exit 1
fi
D=$(mktemp -d /tmp/vmsd-notify.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT INT TERM HUP
: >"$D/vmsd.conf"

python3 - "$VMSD" "$D" <<'EOF'
import json, os, signal, socket, subprocess, sys, time

vmsd, d = sys.argv[1], sys.argv[2]
name = "notify"
failed = False

def ok(what):
    print("PASS %s: %s" % (name, what), flush=True)

def bad(what):
    global failed
    failed = True
    print("FAIL %s: %s" % (name, what), flush=True)

nsock = os.path.join(d, "notify")
ctl = os.path.join(d, "vmsd.sock")
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(nsock)
msgs = []          # (monotonic time, {key: value}, raw)

def recv(timeout):
    ns.settimeout(max(timeout, 0.001))
    try:
        data = ns.recv(65536)
    except socket.timeout:
        return None
    kv = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k] = v
    m = (time.monotonic(), kv, data)
    msgs.append(m)
    return m

def wait_for(key, value, timeout):
    """Next message carrying key (=value if given); None on timeout."""
    end = time.monotonic() + timeout
    while True:
        m = recv(end - time.monotonic())
        if m is None:
            return None
        if key in m[1] and (value is None or m[1][key] == value):
            return m

def ping():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(ctl)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(4096)
            if not c:
                break
            buf += c
        return json.loads(buf).get("result") is not None
    except (OSError, ValueError):
        return False
    finally:
        s.close()

env = dict(os.environ)
env.update({"NOTIFY_SOCKET": nsock, "WATCHDOG_USEC": "1000000"})
env.pop("WATCHDOG_PID", None)
env.pop("LISTEN_FDS", None)
env.pop("LISTEN_PID", None)
log = open(os.path.join(d, "vmsd.log"), "w")
p = subprocess.Popen([vmsd, "-F", "-f", os.path.join(d, "vmsd.conf"),
                      "--state-dir", os.path.join(d, "var"),
                      "--socket", ctl], env=env, stdout=log, stderr=log)

def tail():
    log.flush()
    with open(os.path.join(d, "vmsd.log")) as f:
        return " | ".join(f.read().strip().split("\n")[-3:])

def finish(code):
    if p.poll() is None:
        p.kill()
        p.wait()
    sys.exit(code)

# 1. READY=1 + STATUS= at startup, and only once the socket accepts.
m = wait_for("READY", "1", 15)
if m is None:
    bad("no READY=1 within 15 s (got %s; vmsd: %s)" %
        ([x[2] for x in msgs], tail()))
    finish(1)
accepts = ping()
if accepts:
    ok("READY=1 sent once the control socket answers ping")
else:
    bad("READY=1 sent but the control socket does not answer ping yet")
if "STATUS" in m[1] and m[1]["STATUS"]:
    ok("READY=1 carries STATUS=%s" % m[1]["STATUS"])
else:
    st = [x[1]["STATUS"] for x in msgs if "STATUS" in x[1]]
    bad("READY=1 datagram has no STATUS= (STATUS seen: %s)" % st)
early = [x[2] for x in msgs[:-1] if "READY" in x[1] or "STOPPING" in x[1]]
if early:
    bad("unexpected messages before READY=1: %s" % early)

# 2. WATCHDOG=1 at half of WATCHDOG_USEC=1 s.
t0 = time.monotonic()
w = []
while time.monotonic() - t0 < 2.2:
    x = recv(2.2 - (time.monotonic() - t0))
    if x and x[1].get("WATCHDOG") == "1":
        w.append(x[0])
if len(w) >= 3:
    gaps = [b - a for a, b in zip(w, w[1:])]
    if max(gaps) <= 0.8:
        ok("WATCHDOG=1 every %.2f s with WATCHDOG_USEC=1000000 (%d in 2.2 s)"
           % (sum(gaps) / len(gaps), len(w)))
    else:
        bad("WATCHDOG=1 gaps up to %.2f s (want ~0.5 s)" % max(gaps))
else:
    bad("%d WATCHDOG=1 in 2.2 s with WATCHDOG_USEC=1000000 (want >= 3)"
        % len(w))

# 3. SIGHUP: RELOADING=1 with MONOTONIC_USEC in the same datagram, then READY=1.
p.send_signal(signal.SIGHUP)
m = wait_for("RELOADING", "1", 10)
if m is None:
    bad("no RELOADING=1 within 10 s of SIGHUP (vmsd: %s)" % tail())
else:
    mono = m[1].get("MONOTONIC_USEC", "")
    now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
    if mono.isdigit() and abs(now - int(mono)) < 5e6:
        ok("SIGHUP: RELOADING=1 with MONOTONIC_USEC=%s (CLOCK_MONOTONIC)" % mono)
    else:
        bad("SIGHUP: RELOADING=1 without a current MONOTONIC_USEC "
            "(got '%s', now %d)" % (mono, now))
    r = wait_for("READY", "1", 10)
    if r is not None and ping():
        ok("READY=1 after the reload, control socket still answers")
    else:
        bad("no READY=1 after RELOADING=1 (vmsd: %s)" % tail())
if p.poll() is not None:
    bad("vmsd exited on SIGHUP with status %s" % p.returncode)
    finish(1)

# 4. SIGTERM: STOPPING=1, exit 0.
p.send_signal(signal.SIGTERM)
m = wait_for("STOPPING", "1", 10)
if m is not None:
    ok("SIGTERM: STOPPING=1")
else:
    bad("no STOPPING=1 within 10 s of SIGTERM")
try:
    rc = p.wait(15)
except subprocess.TimeoutExpired:
    bad("vmsd still running 15 s after SIGTERM")
    finish(1)
if rc == 0:
    ok("vmsd exits 0 after SIGTERM")
else:
    bad("vmsd exited %d after SIGTERM (vmsd: %s)" % (rc, tail()))
finish(1 if failed else 0)
EOF
