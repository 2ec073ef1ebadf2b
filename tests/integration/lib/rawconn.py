"""rawconn.py — raw JSON-RPC connections to the control socket for the
cases of attach_test.py and handoff_test.py (SOCK is their first
argument), and the PASS/FAIL lines the tests print."""
import json
import socket
import sys
import time

SOCK = sys.argv[1]


def say(ok, name, why=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
    sys.stdout.flush()


class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(SOCK)
        self.buf = b""

    def send(self, data):
        if isinstance(data, (dict, list)):
            data = json.dumps(data) + "\n"
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ln)

    def rpc(self, obj):
        self.send(obj)
        return self.line()

    def eof(self, timeout=10):
        """True once the other end closes (what comes first is read)."""
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.s.close()


def req(i, method, params):
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": params}


def call(i, m, args=None, **kw):
    p = {"contract": "c", "method": m, "args": args or []}
    p.update(kw)
    return req(i, "call", p)


def attach(c, contract="c", i="att"):
    return c.rpc(req(i, "attach", {"contract": contract}))


def info():
    c = Conn()
    r = c.rpc(req(1, "info", {"contract": "c"}))
    c.close()
    return r["result"]


def wait_attached(n, seconds):
    """The count of attached connections once it is n, or the last one
    read when seconds ran out (asked over a connection of its own)."""
    end = time.time() + seconds
    while True:
        got = info().get("attached")
        if got == n or time.time() >= end:
            return got
        time.sleep(0.1)


def run_cases(cases):
    """Run the cases named in argv[2] (comma-separated), cases the
    caller's globals(): case_NAME for each; exit 1 if one could not go
    on (its FAIL line printed)."""
    rc = 0
    for name in sys.argv[2].split(","):
        try:
            cases["case_" + name]()
        except Exception as e:  # a case that cannot go on is a failure
            say(False, name, "%s: %s" % (type(e).__name__, e))
            rc = 1
    sys.exit(rc)
