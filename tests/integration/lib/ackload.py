#!/usr/bin/env python3
"""ackload.py — load that survives crashes, for the kill -9 tests.

  ackload.py SOCK CONTRACT METHOD SECONDS ACKFILE [--clients N] [--depth K]

N clients (default 8), each keeping K calls in flight (default 4), call
METHOD with one argument, a tag unique to the attempt ("c3-117"), for
SECONDS. A call is acknowledged when its result comes back: "INDEX TAG" is
appended to ACKFILE. A client whose connection breaks (vmsd killed)
reconnects, retrying for up to 20 s, and goes on with new tags; a call is
never retried. Prints a JSON summary: acked, errors (by code), lost
(sent, connection broke before the reply), reconnects.
"""
import json
import socket
import sys
import threading
import time


def main(argv):
    sock, contract, method, seconds, ackfile = argv[:5]
    opt = {"--clients": "8", "--depth": "4"}
    rest = argv[5:]
    for i in range(0, len(rest) - 1, 2):
        opt[rest[i]] = rest[i + 1]
    nclients, depth = int(opt["--clients"]), int(opt["--depth"])
    end = time.time() + float(seconds)
    lock = threading.Lock()
    acks = open(ackfile, "a")
    summary = {"acked": 0, "errors": {}, "lost": 0, "reconnects": 0,
               "gave_up": 0}

    def connect():
        t0 = time.time()
        while time.time() - t0 < 20:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(30)
                s.connect(sock)
                return s
            except OSError:
                s.close()
                time.sleep(0.05)
        return None

    def client(n):
        seq = 0
        first = True
        while time.time() < end:
            s = connect()
            if s is None:
                with lock:
                    summary["gave_up"] += 1
                return
            if not first:
                with lock:
                    summary["reconnects"] += 1
            first = False
            f = s.makefile("rwb")
            inflight = {}
            try:
                while time.time() < end or inflight:
                    while time.time() < end and len(inflight) < depth:
                        tag = "c%d-%d" % (n, seq)
                        req = {"jsonrpc": "2.0", "id": seq, "method": "call",
                               "params": {"contract": contract,
                                          "method": method, "args": [tag]}}
                        f.write((json.dumps(req) + "\n").encode())
                        inflight[seq] = tag
                        seq += 1
                    f.flush()
                    line = f.readline()
                    if not line:
                        raise OSError("closed")
                    m = json.loads(line)
                    tag = inflight.pop(m["id"])
                    with lock:
                        if "result" in m:
                            summary["acked"] += 1
                            acks.write("%d %s\n" % (m["result"]["index"], tag))
                            acks.flush()
                        else:
                            c = str(m["error"]["code"])
                            summary["errors"][c] = summary["errors"].get(c, 0) + 1
            except (OSError, ValueError):
                with lock:
                    summary["lost"] += len(inflight)
            finally:
                try:
                    s.close()
                except OSError:
                    pass

    ts = [threading.Thread(target=client, args=(n,)) for n in range(nclients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
