#!/bin/sh
# audit-large-state.sh — a contract whose state is larger than vmsd's
# memory_budget is still audited through the daemon: the whole state in one
# `state` reply passes the budget (vmsd closes that connection), so
# `state` answers in pages (limit, after, next) and `vmsctl audit` reads
# it page by page, all at one index, comparing each with the replay's
# state as it comes (it holds neither whole).
. "$TOP/tests/integration/lib/daemon.sh"

export VMSCTL_KNOWN="$T/known"
cat >"$T/many.lua" <<'LUA'
local M = {}
function M.init() System.files.mkdir('/f') end
function M.fill(from, n)
  for i = from, from + n - 1 do
    System.files.writeFile(string.format('/f/%08d-a-name-long-enough', i), 'x')
  end
  return from + n - 1
end
return M
LUA
printf 'memory_budget = 1M\nidle_timeout = 60\n' >"$T/vmsd.conf"
if ! start_vmsd; then fail start "vmsd did not start"; exit 1; fi
deploy many "$T/many.lua" >/dev/null
# 12,000 files: their dump is about 1.6 MB, a page of 5,000 about 0.7 MB
i=1
while [ $i -le 12000 ]; do
	rpc call "{\"contract\":\"many\",\"method\":\"fill\",\"args\":[$i,400]}" \
	    >/dev/null || { fail fill "call fill($i) failed"; break; }
	i=$((i + 400))
done

# The premise: the whole state in one reply does not fit the budget.
out=$(rpc state '{"contract":"many"}' 2>/dev/null)
if printf '%s' "$out" | python3 -c 'import json, sys
json.loads(sys.stdin.read())["result"]["files"]' 2>/dev/null; then
	fail whole_state_over_budget "the whole state came back in one reply"
else
	pass whole_state_over_budget
fi
grep -q 'memory_budget (1048576 bytes) exhausted' "$T/log" &&
    pass whole_state_reply_closed_by_budget ||
    fail whole_state_reply_closed_by_budget "no memory_budget line in the log"

# Pages: at most limit files, after `after`, next = the page's last path;
# no next on the last page.
python3 - "$T/s.sock" >"$T/pages.out" 2>&1 <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rb")
n = 0
def state(**p):
    global n
    n += 1
    p["contract"] = "many"
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": n, "method": "state",
                           "params": p}) + "\n").encode())
    r = json.loads(f.readline())
    if "result" not in r:
        print("error", r); sys.exit(0)
    return r["result"]
a = state(limit=3)
paths = [x["path"] for x in a["files"]]
ok = len(paths) == 3 and a.get("next") == paths[-1] and paths == sorted(paths)
b = state(limit=3, after=a["next"])
pb = [x["path"] for x in b["files"]]
ok = ok and len(pb) == 3 and pb[0] > a["next"] and b["index"] == a["index"] \
    and b["root"] == a["root"]
# the whole state in pages of 5000: every file once, in order
allp, after, pages = [], None, 0
while True:
    p = state(limit=5000, after=after) if after else state(limit=5000)
    pages += 1
    allp += [x["path"] for x in p["files"]]
    after = p.get("next")
    if after is None:
        break
ok = ok and pages == 3 and len(allp) == 12001 and allp == sorted(allp) \
    and len(set(allp)) == len(allp) and "next" not in p
last = state(limit=5, after=allp[-2])
ok = ok and [x["path"] for x in last["files"]] == [allp[-1]] and \
    "next" not in last
# max_bytes: fewer files once their text passes it (about 140 bytes each
# here), one at least, next = the page's last path
c = state(limit=5000, max_bytes=1000)
pc = [x["path"] for x in c["files"]]
ok = ok and 2 <= len(pc) <= 12 and c.get("next") == pc[-1] and \
    pc == allp[:len(pc)]
d = state(limit=5000, max_bytes=1, after=allp[5])
ok = ok and [x["path"] for x in d["files"]] == [allp[6]] and \
    d.get("next") == allp[6]
print("max_bytes 1000:", len(pc), "files")
print("pages", pages, "files", len(allp))
print("ok" if ok else "bad")
PY
check state_pages "$(tr '\n' ' ' <"$T/pages.out")" grep -q '^ok$' "$T/pages.out"

# vmsctl audit through the daemon reads the state in pages: all checks pass.
out=$("$VMSCTL" -s "$T/s.sock" audit many 2>&1)
if printf '%s\n' "$out" | grep -q "^many: OK — .* state matches"; then
	pass audit_large_state_through_daemon
else
	fail audit_large_state_through_daemon "$out"
fi

# ... a page of each side at a time (check 5 compares the host's pages
# with the replay's as they come): from 12,001 to 36,001 files the release
# vmsctl's peak RSS grows by the replayed state's own memory (about 0.4
# KiB a file), not by two whole dumps besides (2.1 KiB a file when both
# were held: 133.8 MiB at 60,000 files, now 47.5).
if [ -x "$RELEASE_VMSCTL" ]; then
	rss1=$(audit_rss "$RELEASE_VMSCTL" many)
	while [ $i -le 36000 ]; do
		rpc call "{\"contract\":\"many\",\"method\":\"fill\",\"args\":[$i,400]}" \
		    >/dev/null || { fail fill "call fill($i) failed"; break; }
		i=$((i + 400))
	done
	rss2=$(audit_rss "$RELEASE_VMSCTL" many)
	check audit_state_memory_flat \
	    "peak RSS $rss1 KiB at 12,001 files, $rss2 KiB at 36,001" \
	    [ "$rss1" -gt 0 -a "$rss2" -gt 0 -a $((rss2 - rss1)) -lt 24000 ]
	grep -q '^many: OK — .* state matches' "$T/audit.out" &&
	    pass audit_36k_files || fail audit_36k_files "$(tail -3 "$T/audit.out")"
else
	skip audit_state_memory_flat "no release vmsctl at $RELEASE_VMSCTL"
fi

# Past 100,000 files and directories, one reply no longer lists them all
# (worker_call.c LIST_MAX): `state` without limit and `ls` of the
# directory, or of / recursively, are refused with -32602 and a clear
# error before the worker builds them; pages still read the state, and
# the audit through vmsd still passes.
while [ $i -le 100400 ]; do
	rpc call "{\"contract\":\"many\",\"method\":\"fill\",\"args\":[$i,400]}" \
	    >/dev/null || { fail fill "call fill($i) failed"; break; }
	i=$((i + 400))
done
o1=$(rpc state '{"contract":"many"}')
o2=$(rpc ls '{"contract":"many","path":"/f"}')
o3=$(rpc ls '{"contract":"many","recursive":true}')
o4=$(rpc ls '{"contract":"many"}')
if [ "$(printf '%s\n' "$o1" | field error.code)" = -32602 ] &&
    printf '%s\n' "$o1" | grep -q "the state holds 100401 files and directories, more than one reply lists (100000): read it in pages" &&
    [ "$(printf '%s\n' "$o2" | field error.code)" = -32602 ] &&
    printf '%s\n' "$o2" | grep -q "/f holds 100400 entries, more than one reply lists" &&
    [ "$(printf '%s\n' "$o3" | field error.code)" = -32602 ] &&
    [ "$(printf '%s\n' "$o4" | field result.entries.0.path)" = /f ]; then
	pass listing_past_list_max_refused
else
	fail listing_past_list_max_refused "state: $(printf '%s' "$o1" | cut -c1-200) ls /f: $(printf '%s' "$o2" | cut -c1-200) ls -r: $(printf '%s' "$o3" | cut -c1-200) ls /: $(printf '%s' "$o4" | cut -c1-200)"
fi
out=$("$VMSCTL" -s "$T/s.sock" audit many 2>&1)
check audit_100k_files "$out" sh -c "printf '%s\n' '$out' | grep -q '^many: OK — .* state matches'"
stop_vmsd
