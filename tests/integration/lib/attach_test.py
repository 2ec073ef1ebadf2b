"""attach_test.py SOCK CASE... — the cases of tests/integration/attach.sh
that need a raw connection: attach, calls and hostile input on the
attached connection. Prints PASS/FAIL lines as the tests do."""
import json
import os
import socket
import sys
import time

from rawconn import (SOCK, Conn, attach, call, info, req, run_cases, say,
                     wait_attached)


def case_basic():
    c = Conn()
    r = attach(c)
    res = r.get("result", {})
    say(r.get("id") == "att" and res.get("attached") is True and
        res.get("contract") == "c" and isinstance(res.get("size"), int),
        "attach_reply", r)
    start = c.rpc(call(1, "get"))["result"]["value"]
    # 50 calls pipelined: answered in order, each once durable, with its
    # entry's index and receipt
    for i in range(50):
        c.send(call(100 + i, "inc"))
    ok, why, last_index = True, "", None
    for i in range(50):
        r = c.line()
        res = r.get("result") or {}
        if r.get("id") != 100 + i or res.get("value") != start + i + 1 or \
           "receipt" not in res:
            ok, why = False, r
            break
        if last_index is not None and res["index"] != last_index + 1:
            ok, why = False, "index %s after %s" % (res["index"], last_index)
            break
        last_index = res["index"]
    say(ok, "pipelined_calls_in_order", why)
    # every kind of id comes back as sent (the worker writes it itself;
    # ids with a fraction are refused as before)
    ids = ["a\"b\\c\n\u0001\u00e9\u2014", -7, 2 ** 53, -2 ** 63, "", None]
    got = [c.rpc(call(i, "get")) for i in ids]
    say(all(r.get("id") == i and "result" in r for r, i in zip(got, ids)),
        "ids_echoed", got)
    r = c.rpc(call(1.5, "get"))
    say(r.get("id") is None and r.get("error", {}).get("code") == -32600 and
        "id must be an integer, a string or null" in r["error"]["message"],
        "fractional_id_refused", r)
    # the caller is the peer, as on any connection
    r = c.rpc(call(2, "whoami"))
    say(r.get("result", {}).get("value") == "unix:" +
        __import__("pwd").getpwuid(os.getuid()).pw_name, "caller_is_peer", r)
    r = c.rpc(call(3, "whoami", user="carol"))
    say(r.get("result", {}).get("value") == "carol", "debug_user", r)
    # a contract error is a reply like any other
    r = c.rpc(call(4, "boom"))
    say("error" in r and "boom" in r["error"]["message"] and r["id"] == 4,
        "contract_error", r)
    # hostile and wrong lines get errors, and the connection goes on
    c.send("this is not json\n")
    r = c.line()
    say(r.get("id") is None and r.get("error", {}).get("code") == -32700,
        "parse_error", r)
    r = c.rpc(req(5, "info", {"contract": "c"}))
    say(r.get("error", {}).get("code") == -32601 and r["id"] == 5,
        "calls_only", r)
    r = c.rpc(call(6, "inc") | {"params": {"contract": "other",
                                           "method": "inc", "args": []}})
    say(r.get("error", {}).get("code") == -32002, "other_contract", r)
    r = c.rpc(req(7, "call", {"contract": "c"}))
    say(r.get("error", {}).get("code") == -32602, "params_checked", r)
    c.send('[{"jsonrpc":"2.0","id":8,"method":"call","params":{}}]\n')
    r = c.line()
    say(r.get("error", {}).get("code") == -32600, "no_batches", r)
    # a notification runs and gets no reply: the next reply is the next id
    c.send({"jsonrpc": "2.0", "method": "call",
            "params": {"contract": "c", "method": "inc", "args": []}})
    r = c.rpc(call(9, "get"))
    say(r.get("id") == 9 and r["result"]["value"] == start + 51,
        "notification_runs_unanswered", r)
    # info counts it
    n = info().get("attached")
    say(n == 1, "info_counts_attached", n)
    out = __import__("subprocess").run(
        [os.environ.get("VMSCTL", "vmsctl"), "-s", SOCK, "info", "c"],
        capture_output=True, text=True).stdout
    say("\nattached: 1\n" in out, "vmsctl_info_shows_attached", out)
    c.close()
    n = wait_attached(0, 5)
    say(n == 0, "info_counts_detached", n)


def case_carryover():
    # the attach and three calls in one write: the calls sent before the
    # attach's reply go to the worker with the connection
    c = Conn()
    start = None
    c.send(json.dumps(req("a", "attach", {"contract": "c"})) + "\n" +
           "".join(json.dumps(call(i, "inc")) + "\n" for i in (1, 2, 3)))
    r = c.line()
    ok = r.get("result", {}).get("attached") is True
    vals = []
    for i in (1, 2, 3):
        r = c.line()
        ok = ok and r.get("id") == i
        vals.append(r.get("result", {}).get("value"))
    ok = ok and vals == [vals[0], vals[0] + 1, vals[0] + 2]
    say(ok, "input_after_attach_carried_over", vals)
    c.close()


def case_refusals():
    c = Conn()
    r = c.rpc(req(1, "attach", {"contract": "nosuch"}))
    say(r.get("error", {}).get("code") == -32002, "unknown_contract", r)
    # the connection is still vmsd's
    r = c.rpc(req(2, "ping", {}))
    say("result" in r, "refused_connection_goes_on", r)
    c.send('[{"jsonrpc":"2.0","id":3,"method":"attach",'
           '"params":{"contract":"c"}}]\n')
    r = c.line()
    say(isinstance(r, list) and r[0].get("error", {}).get("code") == -32600,
        "not_in_a_batch", r)
    c.close()


def case_too_large():
    # a line over max_message: -32008, closed; another attached client
    # does not notice
    other = Conn()
    attach(other)
    c = Conn()
    attach(c)
    c.send(call(1, "inc"))
    try:
        c.send(b'{"jsonrpc":"2.0","id":2,"method":"call","params":' +
               b'"' + b"x" * 300000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = []
    try:
        while True:
            got.append(c.line())
    except (EOFError, ConnectionResetError, socket.timeout):
        pass
    ok = len(got) == 2 and got[0].get("id") == 1 and "result" in got[0] and \
        got[1].get("error", {}).get("code") == -32008
    say(ok, "too_large_answered_then_closed", got)
    r = other.rpc(call(5, "get"))
    say("result" in r, "others_unaffected_by_too_large", r)
    other.close()


def case_slow_line():
    # a partial line for longer than client_request_timeout: closed,
    # while a client that behaves is served
    c = Conn()
    attach(c)
    c.send('{"jsonrpc":"2.0","id":1,')
    other = Conn()
    attach(other)
    r = other.rpc(call(2, "get"))
    say("result" in r, "served_beside_a_slow_client", r)
    say(c.eof(timeout=8), "partial_line_times_out")
    other.close()


def case_idle_worker():
    # idle_timeout does not stop a worker that serves an attached client
    c = Conn()
    attach(c)
    pid = info().get("pid")
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 2.5)
    r = c.rpc(call(1, "get"))
    say("result" in r and info().get("pid") == pid,
        "attached_worker_not_idle_stopped", (r, pid, info().get("pid")))
    c.close()


def case_limit():
    # max_connections_per_uid attached to one worker (the test's: 4); the
    # attached are vmsd's no more, so they connect one after another
    wait_attached(0, 5)
    cs, rs = [], []
    for _ in range(5):
        cs.append(Conn())
        rs.append(attach(cs[-1]))
    ok = all(r.get("result", {}).get("attached") for r in rs[:4]) and \
        rs[4].get("error", {}).get("code") == -32001
    say(ok, "attached_per_uid_limit", rs[4])
    say(cs[4].eof(), "over_limit_closed")
    r = cs[0].rpc(call(1, "get"))
    say("result" in r, "within_limit_served", r)
    for c in cs:
        c.close()


def case_flood():
    # a client sends 3,000 calls at once and reads nothing: another
    # attached client is still served at once, and once the first reads,
    # every one of its calls is answered, in order (nothing lost)
    c = Conn()
    attach(c)
    c.send("".join(json.dumps(call(1000 + i, "get")) + "\n"
                   for i in range(3000)))
    other = Conn()
    attach(other)
    t0 = time.time()
    r = other.rpc(call(1, "get"))
    say("result" in r and time.time() - t0 < 5, "served_beside_a_flood",
        (r, time.time() - t0))
    other.close()
    ok, why = True, ""
    for i in range(3000):
        r = c.line()
        if r.get("id") != 1000 + i or "result" not in r:
            ok, why = False, r
            break
    say(ok, "flood_answered_in_order", why)
    c.close()


def case_stuck_reader():
    # a client that sends calls and reads none of the replies: once its
    # socket is full and nothing of them is read for client_idle_timeout
    # (the test's: 4 s), the worker closes it; its calls ran
    c = Conn()
    attach(c)
    before = info()["size"]
    c.send("".join(json.dumps(call(i, "inc")) + "\n" for i in range(2000)))
    # (the count of attached connections, read while this one still
    # reads nothing: reading would let the replies flow)
    n = wait_attached(0, 10)
    say(n == 0, "not_reading_replies_closed", n)
    c.close()
    say(info()["size"] >= before + 2000, "its_calls_ran", info()["size"])


def case_budget():
    # memory_budget (the test's: 1M) over what attached connections hold:
    # the largest holder (a client that reads none of 3,000 replies) is
    # closed at once, not after client_idle_timeout; a small one is served
    small = Conn()
    attach(small)
    c = Conn()
    attach(c)
    t0 = time.time()
    c.send("".join(json.dumps(call(i, "inc")) + "\n" for i in range(3000)))
    n = wait_attached(1, 4)
    say(n == 1 and time.time() - t0 < 3.5, "largest_holder_closed_over_budget",
        (n, time.time() - t0))
    r = small.rpc(call(1, "get"))
    say("result" in r, "small_holder_served", r)
    small.close()
    c.close()


def case_epoll_clean():
    # vmsd forgets the sockets it hands over: none stays in its epoll set
    # (a socket left there, under a number vmsd closed, is reported ready
    # for as long as the worker holds it: vmsd spins)
    pid = os.environ["VMSD_PID"]
    cs = []
    for _ in range(3):
        cs.append(Conn())
        attach(cs[-1])
        cs[-1].rpc(call(1, "get"))
    time.sleep(0.3)
    stale = []
    for fd in os.listdir("/proc/%s/fd" % pid):
        if "eventpoll" not in os.readlink("/proc/%s/fd/%s" % (pid, fd)):
            continue
        for ln in open("/proc/%s/fdinfo/%s" % (pid, fd)):
            if not ln.startswith("tfd:"):
                continue
            f = ln.split()
            tfd = f[1]
            ino = int([x for x in f if x.startswith("ino:")][0][4:], 16)
            try:
                st = os.stat("/proc/%s/fd/%s" % (pid, tfd))
                if st.st_ino != ino:
                    stale.append(tfd)
            except FileNotFoundError:
                stale.append(tfd)
    say(not stale, "handed_over_sockets_leave_vmsd_epoll", stale)
    for c in cs:
        c.close()


def strace_counts(path):
    """{syscall: (calls, errors)} from strace -c's table."""
    out = {}
    for ln in open(path):
        f = ln.split()
        if len(f) < 5 or not f[-2].isdigit() and not f[-3].isdigit():
            continue
        try:
            float(f[0])
        except ValueError:
            continue
        nums = [int(x) for x in f[3:-1] if x.isdigit()]
        if nums:
            out[f[-1]] = (nums[0], nums[1] if len(nums) > 1 else 0)
    return out


def case_one_wait_per_call():
    # One attached client's calls, one after another, under strace -c -f
    # on the worker: one epoll set holds vmsd's socket beside the
    # connections (worker_poll.c), so the worker never reads vmsd's
    # socket to find it empty (it did twice per call) and never poll()s.
    import subprocess
    n = 200
    c = Conn()
    attach(c)
    c.rpc(call(1, "get"))
    pid = str(info()["pid"])
    out = os.environ["T"] + "/worker-strace.out"
    err = os.environ["T"] + "/worker-strace.err"
    st = subprocess.Popen(["strace", "-c", "-f", "-p", pid, "-o", out],
                          stderr=open(err, "w"))
    end = time.time() + 10
    while time.time() < end and "attached" not in open(err).read():
        time.sleep(0.1)
    for i in range(n):
        c.rpc(call(2 + i, "inc"))
    st.send_signal(2)
    st.wait()
    c.close()
    k = strace_counts(out)
    recv_err = k.get("recvfrom", (0, 0))[1]
    polls = k.get("poll", (0, 0))[0]
    say(recv_err <= n // 10 and polls <= n // 10, "one_wait_per_call",
        "%d calls: recvfrom errors %d, poll %d; %s" %
        (n, recv_err, polls, sorted(k.items())))
    # Per call: index, hashes and entries, the head's slot; the history's
    # records of several batches go in one write (a write each made 5
    # per call).
    pw = k.get("pwrite64", (0, 0))[0]
    say(pw <= n * 9 // 2, "history_records_written_together",
        "%d calls: pwrite64 %d; %s" % (n, pw, sorted(k.items())))
    # Per call: the wait for it, and one look for more before its flush
    # (the group commit's); none right after the wait that took it
    # (worker_poll.c's w->fresh; 3 per call before).
    ew = k.get("epoll_wait", (0, 0))[0]
    say(ew <= n * 5 // 2, "no_look_after_a_wait",
        "%d calls: epoll_wait %d; %s" % (n, ew, sorted(k.items())))
    print("     (%d calls: epoll_wait %d, recvfrom %d of which failed %d, "
          "poll %d, pwrite64 %d)" % (n, k.get("epoll_wait", (0, 0))[0],
                                     k.get("recvfrom", (0, 0))[0], recv_err,
                                     polls, pw))


def case_stop():
    # the worker stops (vmsctl stop): the client's calls are answered,
    # then the connection closes
    c = Conn()
    attach(c)
    c.send(call(1, "inc"))
    r = c.line()
    adm = Conn()
    s = adm.rpc(req(2, "stop", {"contract": "c"}))
    adm.close()
    say("result" in r and "result" in s and c.eof(), "closed_when_stopped",
        (r, s))
    c.close()


run_cases(globals())
