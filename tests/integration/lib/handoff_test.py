"""handoff_test.py SOCK CASE... — the cases of tests/integration/handoff.sh:
vmsd's own hand-over of a control connection that calls a contract to the
contract's worker (vmsd.conf(5) "handoff"), seen from the client, which
must see nothing of it but the counts in info. Prints PASS/FAIL lines."""
import json
import os
import socket
import time

from rawconn import Conn, call, info, req, run_cases, say, wait_attached


def inc_values(rs):
    return [r.get("result", {}).get("value") for r in rs]


def case_one_call_stays():
    """A client that has made one call is still vmsd's: handing over a
    connection that may make no other call would cost more than it saves.
    The second call hands it over."""
    c = Conn()
    r1 = c.rpc(call(1, "get"))
    n1 = info()["attached"]
    r2 = c.rpc(call(2, "get"))
    n2 = wait_attached(1, 5)
    say("result" in r1 and "result" in r2 and n1 == 0 and n2 == 1,
        "second_call_hands_over", (r1, r2, n1, n2))
    c.close()
    say(wait_attached(0, 5) == 0, "closed_is_counted_out")


def case_in_order():
    """Calls pipelined on a handed-over connection: every reply, in
    request order, each call run once (the counter counts them)."""
    c = Conn()
    start = c.rpc(call(1, "get"))["result"]["value"]
    c.rpc(call(2, "get"))               # handed over from here
    c.send("".join(json.dumps(call(10 + i, "inc")) + "\n"
                   for i in range(20)))
    rs = [c.line() for _ in range(20)]
    say([r.get("id") for r in rs] == list(range(10, 30)) and
        inc_values(rs) == list(range(start + 1, start + 21)),
        "pipelined_calls_in_order", rs[:3])
    c.close()


def case_mixed():
    """What the worker cannot run goes back to vmsd with the connection,
    from that line on: other methods, another contract's calls, a line
    that does not parse, a batch, a notification; every one is answered as
    vmsd answers it, all in request order, and nothing is run twice."""
    c = Conn()
    v0 = c.rpc(call(1, "get"))["result"]["value"]
    c.rpc(call(2, "get"))               # handed over
    lines = [call(3, "inc"), call(4, "inc"),
             req(5, "info", {"contract": "c"}),
             call(6, "inc"),
             req(7, "call", {"contract": "d", "method": "inc", "args": []}),
             "{not json", {"jsonrpc": "2.0", "method": "ping"},
             [call(8, "inc"), req(9, "ping", {})],
             call(10, "inc"), req(11, "ping", {})]
    c.send("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                   for x in lines))
    rs = [c.line() for _ in range(9)]
    ids = [r[0]["id"] if isinstance(r, list) else r.get("id") for r in rs]
    say(ids == [3, 4, 5, 6, 7, None, 8, 10, 11], "replies_in_order", ids)
    batch = rs[6] if isinstance(rs[6], list) else []
    ok = (inc_values(rs[0:2]) == [v0 + 1, v0 + 2] and
          rs[2].get("result", {}).get("name") == "c" and
          inc_values([rs[3]]) == [v0 + 3] and
          "result" in rs[4] and
          rs[5].get("error", {}).get("code") == -32700 and
          [b.get("id") for b in batch] == [8, 9] and
          inc_values(batch[:1]) == [v0 + 4] and
          inc_values([rs[7]]) == [v0 + 5] and
          rs[8].get("result") is not None)
    say(ok, "each_answered_as_vmsd_does", rs)
    final = c.rpc(call(12, "get"))["result"]["value"]
    say(final == v0 + 5, "nothing_run_twice", (v0, final))
    c.close()


def case_back_stays():
    """A connection a worker gave back is never handed over again: a
    client that mixes methods and contracts keeps its pipelining."""
    c = Conn()
    c.rpc(call(1, "get"))
    c.rpc(call(2, "get"))
    n1 = wait_attached(1, 5)
    c.rpc(req(3, "ping", {}))           # back to vmsd
    n2 = wait_attached(0, 5)
    for i in range(5):
        c.rpc(call(4 + i, "get"))
    time.sleep(0.3)
    n3 = info()["attached"]
    say(n1 == 1 and n2 == 0 and n3 == 0, "given_back_stays_with_vmsd",
        (n1, n2, n3))
    c.close()


def case_half_close():
    """A client that sends its last lines and shuts its side down: the
    worker answers the call, gives back the rest with the connection, and
    vmsd answers that, then closes once it reads the client's end; one
    that hangs up altogether is closed, and vmsd goes on."""
    c = Conn()
    c.rpc(call(1, "get"))
    c.rpc(call(2, "get"))
    c.send(json.dumps(call(3, "inc")) + "\n" +
           json.dumps(req(4, "ping", {})) + "\n")
    c.s.shutdown(socket.SHUT_WR)
    rs = [c.line(), c.line()]
    say([r.get("id") for r in rs] == [3, 4] and "result" in rs[0] and
        "result" in rs[1] and c.eof(), "half_closed_answered_then_closed",
        rs)
    c.close()
    c = Conn()
    c.rpc(call(1, "get"))
    c.rpc(call(2, "get"))
    c.send(json.dumps(call(3, "inc")) + "\n" +
           json.dumps(req(4, "ping", {})) + "\n")
    c.close()
    d = Conn()
    r = d.rpc(call(5, "get"))
    say("result" in r, "hung_up_then_served", r)
    d.close()


def case_long_line():
    """A line longer than a worker takes with a connection (64 KiB) goes
    back unfinished: vmsd reads the rest and runs it."""
    c = Conn()
    c.rpc(call(1, "get"))
    c.rpc(call(2, "get"))
    line = json.dumps(call(3, "echo", ["x"]))
    c.send(line[:1] + " " * 200000 + line[1:] + "\n")
    r = c.line()
    say(r.get("result", {}).get("value") == ["x"] and r.get("id") == 3,
        "long_line_answered", str(r)[:200])
    r = c.rpc(call(4, "get"))
    say("result" in r, "goes_on_after_it", r)
    c.close()


def case_stop():
    """The worker stopping (vmsctl stop) gives its handed-over connections
    back, every reply written: the client's next request is answered by
    vmsd, not met with a closed connection."""
    c = Conn()
    c.rpc(call(1, "get"))
    r = c.rpc(call(2, "inc"))
    wait_attached(1, 5)
    adm = Conn()
    s = adm.rpc(req(3, "stop", {"contract": "c"}))
    after = c.rpc(call(4, "get"))
    started = adm.rpc(req(5, "start", {"contract": "c"}))
    again = c.rpc(call(6, "get"))
    adm.close()
    say("result" in r and "result" in s and
        after.get("error", {}).get("code") is not None and
        "stopped" in after.get("error", {}).get("message", "") and
        "result" in started and
        again.get("result", {}).get("value") == r["result"]["value"],
        "given_back_when_stopped", (r, s, after, started, again))
    c.close()


def case_over_limit():
    """Over max_connections_per_uid (3 here) in the worker, a connection
    goes back at once and vmsd answers its call: the client sees a reply,
    not a refusal."""
    cs = []
    rs = []
    for i in range(4):
        c = Conn()      # (vmsd counts only those it serves itself)
        cs.append(c)
        c.rpc(call(1, "get"))
        rs.append(c.rpc(call(2, "inc")))
        if i == 2:
            wait_attached(3, 5)
    r = cs[3].rpc(call(3, "get"))
    n = info()["attached"]
    say(all("result" in x for x in rs) and "result" in r and n == 3,
        "over_limit_stays_with_vmsd", (rs, r, n))
    for c in cs:
        c.close()


def case_crash():
    """The worker killed (SIGKILL) while a handed-over connection has calls
    in flight: the connection closes (as an attached one does), every call
    it had answered is in the ledger, and the restarted worker serves new
    connections."""
    c = Conn()
    v0 = c.rpc(call(1, "get"))["result"]["value"]
    c.rpc(call(2, "get"))
    pid = info()["pid"]
    c.send("".join(json.dumps(call(10 + i, "inc")) + "\n"
                   for i in range(300)))
    got = [c.line()]                    # under way
    os.kill(pid, 9)
    try:
        while True:
            got.append(c.line())
    except (EOFError, ConnectionResetError):
        closed = True
    except OSError:                     # (socket.timeout: never closed)
        closed = False
    ok = [r for r in got if "result" in r]
    c.close()
    d = Conn()
    end = time.time() + 20
    while True:
        r = d.rpc(call(3, "get"))
        if "result" in r or time.time() > end:
            break
        time.sleep(0.2)
    v1 = r.get("result", {}).get("value")
    say(closed and len(ok) == len(got) and v1 is not None and
        v1 >= v0 + len(ok) and info()["pid"] != pid,
        "crash_closes_loses_nothing_answered",
        (closed, len(ok), len(got), v0, v1))
    d.close()


def case_off():
    """handoff = no: every call is relayed."""
    c = Conn()
    for i in range(4):
        c.rpc(call(1 + i, "get"))
    time.sleep(0.3)
    say(info()["attached"] == 0, "off_relays")
    c.close()


run_cases(globals())
