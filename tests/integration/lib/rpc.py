#!/usr/bin/env python3
"""rpc.py — a tiny raw JSON-RPC client for vmsd's integration tests.

  rpc.py -s SOCK call METHOD [PARAMS_JSON]   one request; prints the reply
                                             line; exit 0 result, 1 error
  rpc.py -t HOST:PORT call ...               same over vmsd's HTTP port
                                             (POST http://HOST:PORT/rpc)
  rpc.py -s SOCK raw [--wait SECONDS] [--lines N]
                                             send stdin verbatim, print every
                                             reply line until EOF or quiet
                                             (or N lines)
  rpc.py -s SOCK load --clients N --calls M --contract C --method M
         [--args JSON] [--pipeline K]        N connections in parallel, M calls
                                             each, K in flight per connection;
                                             prints a JSON summary
Exit 3 when the daemon cannot be reached.
"""
import json
import socket
import sys
import threading
import time


def connect(args):
    try:
        if args.get("tcp"):
            host, port = args["tcp"].rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=60)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(60)
            s.connect(args["sock"])
        return s
    except OSError as e:
        print("rpc.py: cannot connect: %s" % e, file=sys.stderr)
        sys.exit(3)


class Lines:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(1 << 20)
            except ConnectionResetError:
                d = b""
            if not d:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line


def http_call(hostport, req):
    import urllib.error
    import urllib.request
    r = urllib.request.Request("http://%s/rpc" % hostport,
                               data=json.dumps(req).encode(),
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        return e.read()
    except OSError as e:
        print("rpc.py: cannot connect: %s" % e, file=sys.stderr)
        sys.exit(3)


def cmd_call(args, rest):
    method = rest[0]
    params = json.loads(rest[1]) if len(rest) > 1 else {}
    if args.get("tcp"):
        req = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        line = http_call(args["tcp"], req).strip()
        print(line.decode())
        return 1 if "error" in json.loads(line) else 0
    s = connect(args)
    req = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    s.sendall(json.dumps(req).encode() + b"\n")
    line = Lines(s).readline()
    s.close()
    if line is None:
        print("rpc.py: connection closed without a reply", file=sys.stderr)
        return 3
    print(line.decode())
    return 1 if "error" in json.loads(line) else 0


def cmd_raw(args, rest):
    wait, lines = 5.0, None
    while rest[:1] in (["--wait"], ["--lines"]):
        if rest[0] == "--wait":
            wait = float(rest[1])
        else:
            lines = int(rest[1])
        rest = rest[2:]
    s = connect(args)
    s.sendall(sys.stdin.buffer.read())
    s.settimeout(wait)
    r = Lines(s)
    try:
        while lines is None or lines > 0:
            line = r.readline()
            if line is None:
                print("EOF")
                break
            print(line.decode(errors="replace"))
            sys.stdout.flush()
            if lines is not None:
                lines -= 1
    except socket.timeout:
        pass
    s.close()
    return 0


def cmd_load(args, rest):
    opt = {"--clients": "1", "--calls": "1", "--contract": "", "--method": "",
           "--args": "[]", "--pipeline": "1"}
    i = 0
    while i < len(rest):
        opt[rest[i]] = rest[i + 1]
        i += 2
    nclients, ncalls = int(opt["--clients"]), int(opt["--calls"])
    depth = int(opt["--pipeline"])
    cargs = json.loads(opt["--args"])
    lock = threading.Lock()
    summary = {"ok": 0, "errors": {}, "indexes": [], "unanswered": 0}

    def client(n):
        try:
            s = connect(args)
        except SystemExit:
            with lock:
                summary["unanswered"] += ncalls
            return
        r = Lines(s)
        sent = got = 0
        try:
            while got < ncalls:
                while sent < ncalls and sent - got < depth:
                    a = [x.replace("@", "%d-%d" % (n, sent))
                         if isinstance(x, str) else x for x in cargs]
                    req = {"jsonrpc": "2.0", "id": sent, "method": "call",
                           "params": {"contract": opt["--contract"],
                                      "method": opt["--method"], "args": a}}
                    s.sendall(json.dumps(req).encode() + b"\n")
                    sent += 1
                line = r.readline()
                if line is None:
                    break
                m = json.loads(line)
                if m.get("id") != got:
                    raise RuntimeError("reply out of order: %r" % m)
                got += 1
                with lock:
                    if "result" in m:
                        summary["ok"] += 1
                        summary["indexes"].append(m["result"]["index"])
                    else:
                        c = str(m["error"]["code"])
                        summary["errors"][c] = summary["errors"].get(c, 0) + 1
        except (OSError, RuntimeError) as e:
            print("rpc.py: client %d: %s" % (n, e), file=sys.stderr)
        with lock:
            summary["unanswered"] += ncalls - got
        s.close()

    t0 = time.time()
    ts = [threading.Thread(target=client, args=(n,)) for n in range(nclients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    summary["elapsed"] = time.time() - t0
    summary["calls_per_s"] = summary["ok"] / summary["elapsed"] \
        if summary["elapsed"] > 0 else 0
    idx = summary.pop("indexes")
    summary["distinct_indexes"] = len(set(idx))
    summary["max_index"] = max(idx) if idx else None
    print(json.dumps(summary, sort_keys=True))
    return 0


def main(argv):
    args = {}
    while argv and argv[0] in ("-s", "-t"):
        args["sock" if argv[0] == "-s" else "tcp"] = argv[1]
        argv = argv[2:]
    if not argv or ("sock" not in args and "tcp" not in args):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "call":
        return cmd_call(args, rest)
    if cmd == "raw":
        return cmd_raw(args, rest)
    if cmd == "load":
        return cmd_load(args, rest)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
