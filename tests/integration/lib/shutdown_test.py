#!/usr/bin/env python3
"""shutdown_test.py VMSD TMPDIR COUNTER_LUA — vmsd's SIGTERM drain, without
systemd. The control socket is passed by socket activation (LISTEN_FDS=1,
LISTEN_FDNAMES=control) as systemd's vmsd.socket does, so it outlives the
daemon and a second instance takes it over, as `systemctl restart` would.

With shutdown_grace = 1, after SIGTERM to the first instance:
  A  an already-open connection sends a call 0.1 s later: executed and
     answered with success, then in the ledger of the next instance;
  B  an open connection that stays idle is closed (EOF, no error reply)
     after the idle grace, well before the deadline;
  C  a connection made after SIGTERM is not accepted by the old instance:
     it waits in the backlog and the next instance answers it;
  D  a connection holding half a request at SIGTERM completes it after the
     deadline: it gets the "shutting down" error, then is closed;
and the first instance exits with status 0. Prints PASS/FAIL lines.
"""
import json
import os
import signal
import socket
import sys
import threading
import time

vmsd, tmp, counter = sys.argv[1], sys.argv[2], sys.argv[3]
children = []


def check(name, cond, why=""):
    print(("PASS %s" % name) if cond else ("FAIL %s: %s" % (name, why)))
    sys.stdout.flush()


def spawn(ls):
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(ls.fileno(), 3)
            os.set_inheritable(3, True)
            log = os.open(os.path.join(tmp, "log"),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            env = dict(os.environ)
            env.update({"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "1",
                        "LISTEN_FDNAMES": "control"})
            env.pop("NOTIFY_SOCKET", None)
            os.execve(vmsd, [vmsd, "-f", os.path.join(tmp, "vmsd.conf"),
                             "--state-dir", os.path.join(tmp, "state"),
                             "--socket", os.path.join(tmp, "unused.sock")],
                      env)
        finally:
            os._exit(127)
    children.append(pid)
    return pid


def wait_exit(pid, timeout):
    end = time.time() + timeout
    while time.time() < end:
        p, status = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            children.remove(pid)
            return status
        time.sleep(0.02)
    return None


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    return s


def readline(s):
    """One reply line; None at EOF; the exception's name on an error."""
    buf = b""
    while not buf.endswith(b"\n"):
        try:
            d = s.recv(65536)
        except OSError as e:
            return type(e).__name__
        if not d:
            return None if not buf else buf
        buf += d
    return json.loads(buf)


def send(s, data):
    """None, or the name of the error that stopped the write."""
    try:
        s.sendall(data)
        return None
    except OSError as e:
        return type(e).__name__


def req(rid, method, params=None):
    m = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        m["params"] = params
    return (json.dumps(m) + "\n").encode()


def rpc(path, method, params=None):
    s = connect(path)
    s.sendall(req(1, method, params))
    r = readline(s)
    s.close()
    return r


def wait_ready(path, pid):
    for _ in range(150):
        try:
            r = rpc(path, "ping")
            if isinstance(r, dict) and "result" in r:
                return True
        except OSError:
            pass
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            children.remove(pid)
            return False
        time.sleep(0.1)
    return False


def main():
    with open(os.path.join(tmp, "vmsd.conf"), "w") as f:
        f.write("shutdown_grace = 1\n")
    path = os.path.join(tmp, "act.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)

    pid1 = spawn(ls)
    if not wait_ready(path, pid1):
        check("first_instance_starts", False, "vmsd did not answer ping")
        return
    r = rpc(path, "deploy", {"name": "counter",
                             "code": open(counter).read()})
    if not (isinstance(r, dict) and "result" in r):
        check("deploy_counter", False, repr(r))
        return
    r = rpc(path, "call", {"contract": "counter", "method": "inc",
                           "args": []})
    base = r.get("result", {}).get("index") if isinstance(r, dict) else None

    a = connect(path)
    b = connect(path)
    d = connect(path)
    d.sendall(b'{"jsonrpc":"2.0","id":4,')
    # Make sure the daemon has accepted all three before the signal.
    a.sendall(req(0, "ping"))
    ra0 = readline(a)
    b.sendall(req(0, "ping"))
    rb0 = readline(b)
    check("connections_open_before_sigterm",
          isinstance(ra0, dict) and isinstance(rb0, dict) and
          "result" in ra0 and "result" in rb0, repr((ra0, rb0)))

    t0 = time.time()
    os.kill(pid1, signal.SIGTERM)
    res = {}

    def idle_b():
        res["b"] = readline(b)
        res["bt"] = time.time() - t0

    tb = threading.Thread(target=idle_b)
    tb.start()

    time.sleep(0.1)
    ea = send(a, req(1, "call", {"contract": "counter", "method": "inc",
                                 "args": []}))
    ra = readline(a) if ea is None else "write failed: " + ea
    ta = time.time() - t0
    idx = ra.get("result", {}).get("index") if isinstance(ra, dict) else None
    check("call_on_open_connection_after_sigterm_succeeds",
          isinstance(ra, dict) and "result" in ra and idx is not None and
          base is not None and idx == base + 1,
          "reply %r %.2f s after SIGTERM (index before: %r)" % (ra, ta, base))
    ra2 = readline(a)
    ta2 = time.time() - t0
    check("answered_connection_closed_when_idle",
          ra2 is None and ta2 < 0.9,
          "%r %.2f s after SIGTERM" % (ra2, ta2))

    # C: connects after the stop began; the old instance must not take it.
    time.sleep(0.1)
    c = connect(path)
    send(c, req(3, "ping"))
    res["c"] = None

    def queued_c():
        res["c"] = readline(c)
        res["ct"] = time.time()

    tc = threading.Thread(target=queued_c)
    tc.start()

    tb.join(5)
    check("idle_connection_closed_without_error",
          res.get("b") is None and "bt" in res and res["bt"] < 0.9,
          "got %r %.2f s after SIGTERM (idle grace 0.25 s, deadline 1 s)" %
          (res.get("b"), res.get("bt", -1)))

    time.sleep(max(0.0, 1.4 - (time.time() - t0)))
    ed = send(d, b'"method":"ping"}\n')
    rd = readline(d) if ed is None else "write failed: " + ed
    check("request_after_deadline_gets_shutting_down_error",
          isinstance(rd, dict) and rd.get("id") == 4 and
          rd.get("error", {}).get("code") == -32005 and
          "shutting down" in rd.get("error", {}).get("message", ""),
          repr(rd))
    rd2 = readline(d)
    check("connection_closed_after_deadline_error", rd2 is None, repr(rd2))

    status = wait_exit(pid1, 15)
    texit = time.time()
    check("exit_0_after_drain", status is not None and
          os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "status %r" % status)
    check("activated_socket_kept", os.path.exists(path),
          "vmsd removed the socket systemd owns")
    check("queued_client_not_served_by_old_instance", res["c"] is None and
          tc.is_alive(), "old instance answered %r" % (res["c"],))

    # The next instance takes the same listening socket over.
    pid2 = spawn(ls)
    tc.join(30)
    rc = res["c"]
    check("queued_client_served_by_next_instance",
          isinstance(rc, dict) and rc.get("id") == 3 and "result" in rc and
          res.get("ct", 0) > texit, repr(rc))
    if not wait_ready(path, pid2):
        check("next_instance_starts", False, "no answer")
        return
    r = rpc(path, "log", {"contract": "counter", "from": idx or 0,
                          "count": 1})
    ents = r.get("result", {}).get("entries", []) if isinstance(r, dict) \
        else []
    ok = False
    if idx is not None and ents and ents[0].get("index") == idx:
        import base64
        e = json.loads(base64.b64decode(ents[0]["leaf"]))
        ok = e.get("method") == "inc"
    check("call_after_sigterm_in_ledger_after_restart", ok, repr(r)[:300])
    r = rpc(path, "call", {"contract": "counter", "method": "get",
                           "args": []})
    v = r.get("result", {}).get("value") if isinstance(r, dict) else None
    check("state_after_restart", v == 2, repr(r))
    for s in (a, b, c, d):
        s.close()
    os.kill(pid2, signal.SIGTERM)
    status = wait_exit(pid2, 15)
    check("next_instance_exit_0", status is not None and
          os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "status %r" % status)


try:
    main()
except Exception as e:
    check("shutdown_test_ran", False, repr(e))
finally:
    for p in list(children):
        try:
            os.kill(p, signal.SIGKILL)
            os.waitpid(p, 0)
        except OSError:
            pass
