#!/bin/sh
# systemd.sh — vmsd under a real systemd, booted as PID 1 of a private PID,
# mount, cgroup, UTS, IPC and network namespace and driven through nsenter.
#
# SAFETY. A naively booted systemd shares the machine's filesystem: it
# empties /tmp, starts every enabled service, applies sysctls. So before
# exec'ing systemd, inside the new mount namespace, this test mounts private
# tmpfs on /tmp, /var/tmp, /run and /etc/systemd/system, puts copy-on-write
# overlays (tmpfs upper dirs) on /etc and /var, a read-only overlay on /usr
# that adds `make install` output, a private /dev, a cgroup2 hierarchy of
# its own (cgroup namespace) and makes /sys and /proc/sys read-only, and
# masks the units that would touch the machine. Nothing outside
# $TOP/build/systemd-test and a cgroup it removes again is written. It shuts
# systemd down with `systemctl poweroff` (SIGTERM is ignored by PID 1),
# SIGKILL to the namespace's init only as a last resort.
#
# Runs as root only; otherwise SKIP (never PASS).

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$TOP/build/systemd-test
NAME=systemd
# Inside the namespace /tmp, /var/tmp and /run get private tmpfs mounts and
# /var an overlay, which would hide a checkout living there (CI may clone
# into /tmp): then the namespace sees the checkout bind-mounted on /mnt.
case "$TOP" in
/tmp/*|/var/*|/run/*) NSTOP=/mnt ;;
*) NSTOP=$TOP ;;
esac
NSW=$NSTOP/build/systemd-test

if [ "$(id -u)" != 0 ]; then
	echo "SKIP $NAME: not root"; exit 0
fi
for t in unshare nsenter mount python3 make; do
	command -v $t >/dev/null 2>&1 ||
	    { echo "SKIP $NAME: $t not installed"; exit 0; }
done
[ -x /lib/systemd/systemd ] ||
    { echo "SKIP $NAME: /lib/systemd/systemd not installed"; exit 0; }
[ -d /sys/fs/cgroup ] || { echo "SKIP $NAME: no /sys/fs/cgroup"; exit 0; }
[ -d "$NSTOP" ] || { echo "SKIP $NAME: no $NSTOP to bind the checkout on"; exit 0; }

T0=$(date +%s)
UPID=""; SDPID=""; CG=""

pass() { echo "PASS $NAME: $1"; }
fail() { echo "FAIL $NAME: $1"; FAILED=1; }
FAILED=0

# Run a command inside the booted system (all of its namespaces), with a
# HOME on the namespace's private /tmp (vmsctl audit keeps its pinned keys
# under $XDG_STATE_HOME: never in the machine's /root).
ns() {
	nsenter -t "$SDPID" -m -p -n -u -i -C -- env HOME=/tmp/home \
	    XDG_STATE_HOME=/tmp/home/.local/state \
	    XDG_CONFIG_HOME=/tmp/home/.config XDG_CACHE_HOME=/tmp/home/.cache \
	    "$@"
}

# Wait (bounded) until "$@" succeeds; 1 on timeout. WAIT_TENTHS=n.
waitfor() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge "${WAIT_TENTHS:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

cleanup() {
	trap - EXIT INT TERM HUP
	if alive "$SDPID"; then
		ns systemctl poweroff --no-block >/dev/null 2>&1
		WAIT_TENTHS=300 waitfor sh -c "! kill -0 $SDPID 2>/dev/null" ||
		    { echo "# systemd did not power off in 30 s: SIGKILL"; \
		      kill -KILL "$SDPID" 2>/dev/null; }
	fi
	if alive "$UPID"; then
		WAIT_TENTHS=50 waitfor sh -c "! kill -0 $UPID 2>/dev/null" ||
		    kill -KILL "$UPID" 2>/dev/null
	fi
	[ -n "$UPID" ] && wait "$UPID" 2>/dev/null
	# Remove the cgroup the namespace lived in, deepest first.
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	if [ -z "$VMS_TEST_KEEP" ]; then
		rm -rf "$W/root" "$W/mnt"
	fi
	echo "# systemd test took $(( $(date +%s) - T0 )) s"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

rm -rf "$W"
mkdir -p "$W/root" "$W/mnt" || { fail "cannot create $W"; exit 1; }
# The unit dir is /lib/systemd/system and /lib is /usr/lib: make the staging
# tree merged-/usr too, so everything lands under root/usr.
for d in lib sbin bin; do
	mkdir -p "$W/root/usr/$d" && ln -s "usr/$d" "$W/root/$d"
done
if ! make -s -C "$TOP" install PREFIX=/usr DESTDIR="$W/root" \
    >"$W/install.log" 2>&1; then
	fail "make install PREFIX=/usr DESTDIR=$W/root failed: $(tail -3 "$W/install.log" | tr '\n' ' ')"
	exit 1
fi
for f in usr/sbin/vmsd usr/bin/vmsctl lib/systemd/system/vmsd.service \
    lib/systemd/system/vmsd.socket usr/lib/sysusers.d/vmsd.conf \
    etc/vmsd/vmsd.conf; do
	[ -e "$W/root/$f" ] || fail "make install did not install /$f"
done
[ $FAILED = 0 ] && pass "make install PREFIX=/usr DESTDIR=... installs binaries, units, sysusers, config"

# Units that would touch the machine (kernel tunables, modules, device
# nodes, clock, disks) or are pointless here; masked in the private
# /etc/systemd/system.
MASK="systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
systemd-modules-load.service kmod-static-nodes.service systemd-tmpfiles-setup-dev.service
systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer systemd-remount-fs.service
systemd-timesyncd.service systemd-random-seed.service systemd-firstboot.service
systemd-machine-id-commit.service systemd-repart.service systemd-pcrphase.service
systemd-pcrphase-sysinit.service systemd-hwdb-update.service systemd-update-done.service
ldconfig.service getty.target console-getty.service systemd-logind.service
dbus.service dbus.socket sys-kernel-debug.mount sys-kernel-tracing.mount
sys-kernel-config.mount sys-fs-fuse-connections.mount dev-hugepages.mount
systemd-ask-password-wall.path systemd-ask-password-console.path
cryptsetup.target veritysetup.target integritysetup.target apt-daily.timer
apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer logrotate.timer"

# Boot script: runs as PID 1 of the new namespaces, sets up the private
# mounts, then becomes systemd. Any failure exits before systemd starts.
cat >"$W/boot.sh" <<EOF
set -e
[ '$NSTOP' = '$TOP' ] || mount --bind '$TOP' '$NSTOP'
W='$NSW'
M=\$W/mnt
mount -t tmpfs -o mode=0755 vmsdtest \$M
mkdir -p \$M/etc.u \$M/etc.w \$M/var.u \$M/var.w \$M/dev
mount -t overlay overlay -o lowerdir=\$W/root/etc:/etc,upperdir=\$M/etc.u,workdir=\$M/etc.w /etc
mount -t overlay overlay -o lowerdir=\$W/root/usr:/usr /usr
mount -t overlay overlay -o lowerdir=/var,upperdir=\$M/var.u,workdir=\$M/var.w /var
mount -t tmpfs -o mode=1777 vmsdtest /tmp
mount -t tmpfs -o mode=1777 vmsdtest /var/tmp
mkdir -m 0700 /tmp/home
mount -t tmpfs -o mode=0755 vmsdtest /run
mount -t tmpfs -o mode=0755 vmsdtest /etc/systemd/system
: >/etc/fstab
for u in $(echo $MASK); do ln -s /dev/null /etc/systemd/system/\$u; done
mkdir -p /etc/systemd/system/vmsd.service.d
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\n' \
    >/etc/systemd/system/vmsd.service.d/test.conf
# A private /dev with the usual nodes bound in.
mount -t tmpfs -o mode=0755,nosuid vmsdtest \$M/dev
for n in null zero full random urandom tty; do
	: >\$M/dev/\$n; mount --bind /dev/\$n \$M/dev/\$n
done
mkdir -p \$M/dev/pts \$M/dev/shm \$M/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts \$M/dev/pts
ln -s pts/ptmx \$M/dev/ptmx
ln -s /proc/self/fd \$M/dev/fd
mount -t tmpfs -o mode=1777,nosuid,nodev vmsdtest \$M/dev/shm
mount --move \$M/dev /dev
# Our own cgroup2 tree (we are at the root of a fresh cgroup namespace).
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Read-only /sys and /proc/sys, as in a container: no kernel tunables.
mount -o remount,bind,ro /sys
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
exec env -i container=vmsdtest PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /lib/systemd/systemd --system --show-status=no --log-target=journal \
    --log-level=info
EOF

# A cgroup of our own in the cgroup2 hierarchy, so the namespaced systemd
# sees a clean tree and leaves the machine's cgroups alone.
if [ -f /sys/fs/cgroup/cgroup.procs ] && [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	CGROOT=/sys/fs/cgroup
elif [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then
	CGROOT=/sys/fs/cgroup/unified
else
	echo "SKIP $NAME: no cgroup2 hierarchy"; exit 0
fi
CG=$CGROOT$(sed -n 's/^0:://p' /proc/self/cgroup)
CG=${CG%/}/vmsdtest.$$
mkdir "$CG" || { CG=""; echo "SKIP $NAME: cannot create a cgroup"; exit 0; }

sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare --fork --pid --mount \
    --mount-proc --propagation private --cgroup --uts --ipc --net \
    sh "$2"' sh "$CG" "$W/boot.sh" >"$W/systemd.log" 2>&1 &
UPID=$!

# The namespace's PID 1 is unshare's only child.
WAIT_TENTHS=50 waitfor sh -c "[ -n \"\$(cat /proc/$UPID/task/$UPID/children 2>/dev/null)\" ]"
SDPID=$(cat /proc/$UPID/task/$UPID/children 2>/dev/null | tr -d ' ')
if [ -z "$SDPID" ]; then
	echo "SKIP $NAME: systemd namespace did not start: $(tail -3 "$W/systemd.log" | tr '\n' ' ')"
	exit 0
fi

booted() {
	s=$(ns systemctl is-system-running 2>/dev/null)
	[ "$s" = running ] || [ "$s" = degraded ]
}
if ! WAIT_TENTHS=300 waitfor booted; then
	state=$(ns systemctl is-system-running 2>&1)
	echo "SKIP $NAME: systemd did not boot in 30 s (state '$state'): $(grep -v '^$' "$W/systemd.log" | tail -3 | tr '\n' ' ')"
	exit 0
fi
pass "systemd $(ns systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') booted as PID 1 of a private namespace ($(ns systemctl is-system-running))"

# ---- static checks on the installed units ----
# verify also checks that the Documentation= pages exist, with man(1).
manopt=""; mannote=", Documentation= pages found by man"
if ! ns sh -c 'command -v man' >/dev/null 2>&1; then
	manopt="--man=no"; mannote=" (man not installed: pages not checked)"
fi
out=$(ns systemd-analyze verify $manopt vmsd.socket vmsd.service 2>&1)
if [ -z "$out" ]; then
	pass "systemd-analyze verify vmsd.socket vmsd.service is clean$mannote"
else
	fail "systemd-analyze verify: $(echo "$out" | head -5 | tr '\n' ' ')"
fi
exposure=$(ns systemd-analyze security vmsd.service 2>&1 |
    sed -n 's/.*Overall exposure level for vmsd.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] &&
    awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	pass "systemd-analyze security vmsd: exposure $exposure (<= 2.0)"
else
	fail "systemd-analyze security vmsd: exposure '$exposure' (want <= 2.0)"
fi

# ---- enable: the [Install] sections ----
if out=$(ns systemctl enable vmsd.socket vmsd.service 2>&1) &&
    [ "$(ns systemctl is-enabled vmsd.socket)" = enabled ] &&
    [ "$(ns systemctl is-enabled vmsd.service)" = enabled ]; then
	pass "systemctl enable vmsd.socket vmsd.service"
else
	fail "systemctl enable vmsd.socket vmsd.service: $out"
fi

# ---- start ----
show() { ns systemctl show -P "$1" vmsd.service 2>/dev/null; }
if ! ns getent passwd vmsd >/dev/null; then
	fail "user vmsd was not created by systemd-sysusers at boot"
fi
if ns systemctl start vmsd.service >"$W/start.log" 2>&1 &&
    [ "$(show ActiveState)/$(show SubState)" = active/running ]; then
	pass "systemctl start vmsd: active (running), MainPID $(show MainPID), status '$(show StatusText)'"
else
	fail "systemctl start vmsd: $(show ActiveState)/$(show SubState): $(cat "$W/start.log") $(ns journalctl -u vmsd --no-pager -n 5 -o cat | tr '\n' ' ')"
	exit 1
fi
if [ "$(ns stat -c %U:%a /var/lib/vmsd 2>/dev/null)" = vmsd:750 ] &&
    [ "$(ns stat -c %G:%a /run/vmsd/vmsd.sock 2>/dev/null)" = vmsd:666 ]; then
	pass "state dir /var/lib/vmsd is vmsd:750, control socket is group vmsd, 0666"
else
	fail "state dir $(ns stat -c %U:%a /var/lib/vmsd 2>&1), socket $(ns stat -c %G:%a /run/vmsd/vmsd.sock 2>&1)"
fi

# ---- deploy, call, audit with the installed vmsctl and its default socket ----
if out=$(ns vmsctl deploy "$NSTOP/examples/guestlist.lua" 2>&1); then
	pass "vmsctl deploy examples/guestlist.lua (default socket)"
else
	fail "vmsctl deploy examples/guestlist.lua: $out"
fi
if out=$(ns vmsctl call guestlist RSVP bob false "Washing my hair, sorry!" 2>&1); then
	pass "vmsctl call guestlist RSVP bob false ...: $(echo "$out" | head -1)"
else
	fail "vmsctl call guestlist RSVP: $out"
fi
if out=$(ns vmsctl audit guestlist 2>&1); then
	pass "vmsctl audit guestlist: $(echo "$out" | tail -1)"
else
	fail "vmsctl audit guestlist: $out"
fi

# ---- who may do what on the 0666 socket ----
# alice: any local user (calls as unix:alice, no deploy); bob: in group vmsd.
if ns systemd-sysusers --inline 'u alice - "vmsd test user"' 'u bob - "vmsd test admin"' \
    'm bob vmsd' >"$W/users.log" 2>&1; then
	as() { u=$1; shift; ns setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
	if out=$(as alice vmsctl call guestlist RSVP alice true "as alice" 2>&1) &&
	    ns vmsctl log guestlist | tail -1 | grep -q '"caller":"unix:alice"'; then
		pass "an ordinary user can call; the ledger records caller unix:alice"
	else
		fail "call as alice: $out"
	fi
	if out=$(as alice vmsctl deploy --name g2 "$NSTOP/examples/guestlist.lua" 2>&1); then
		fail "an ordinary user could deploy: $out"
	elif echo "$out" | grep -qi 'permission'; then
		pass "an ordinary user cannot deploy ($out)"
	else
		fail "deploy as alice failed, but not with a permission error: $out"
	fi
	if out=$(as bob vmsctl deploy --name g2 "$NSTOP/examples/guestlist.lua" 2>&1); then
		pass "a member of group vmsd can deploy"
	else
		fail "deploy as bob (group vmsd): $out"
	fi
else
	fail "systemd-sysusers --inline could not create test users: $(cat "$W/users.log")"
fi

# ---- reload ----
pid=$(show MainPID)
since=$(ns date '+%Y-%m-%d %H:%M:%S')
sleep 1
reload_logged() {
	ns journalctl -u vmsd --since "$since" --no-pager -o cat _COMM=vmsd |
	    grep -qi reload
}
if ns systemctl reload vmsd.service >"$W/reload.log" 2>&1 &&
    WAIT_TENTHS=50 waitfor reload_logged &&
    [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" = "$pid" ]; then
	pass "systemctl reload vmsd: still active, same MainPID, daemon logged the reload"
else
	fail "systemctl reload vmsd: $(show ActiveState), MainPID $pid -> $(show MainPID): $(cat "$W/reload.log") $(ns journalctl -u vmsd --since "$since" --no-pager -o cat | tail -5 | tr '\n' ' ')"
fi

# A reload with an error in the file: the unit's ExecReload= runs vmsd -t
# first, so `systemctl reload` fails, the journal has the error with its
# line, and the running vmsd is neither signalled nor stopped.
pid=$(show MainPID)
sleep 1		# (the reload above logged before this second)
since=$(ns date '+%Y-%m-%d %H:%M:%S')
ns sh -c 'cp /etc/vmsd/vmsd.conf /etc/vmsd/vmsd.conf.good &&
    echo "queue_limit = lots" >>/etc/vmsd/vmsd.conf'
bad_logged() {
	ns journalctl -u vmsd --since "$since" --no-pager -o cat |
	    grep -q "vmsd.conf:[0-9]*: bad value 'lots' for queue_limit"
}
signalled() {
	ns journalctl -u vmsd --since "$since" --no-pager -o cat _COMM=vmsd |
	    grep -qi reload
}
if ! ns systemctl reload vmsd.service >"$W/reload-bad.log" 2>&1 &&
    WAIT_TENTHS=50 waitfor bad_logged && ! signalled &&
    [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" = "$pid" ]; then
	pass "systemctl reload vmsd with an error in the file: refused with the error in the journal, vmsd not signalled, still active"
else
	fail "systemctl reload vmsd with a bad file: $(show ActiveState), MainPID $pid -> $(show MainPID): $(cat "$W/reload-bad.log") $(ns journalctl -u vmsd --since "$since" --no-pager -o cat | tail -5 | tr '\n' ' ')"
fi
ns mv /etc/vmsd/vmsd.conf.good /etc/vmsd/vmsd.conf

# ---- restart while a client keeps calling ----
# The clients open a fresh connection for every call, so this also tests that
# connections made while no vmsd runs are queued on the socket, not refused,
# and that calls in flight at SIGTERM are finished and acknowledged.
# Failures: a refused connection, a connection vmsd closes before the
# request could be sent ("dropped"), a request without a reply, an
# acknowledged index missing from the ledger. A JSON-RPC error (e.g.
# "unavailable: shutting down") is an answer: counted and shown, not failed.
cat >"$W/client.py" <<'EOF'
# Four concurrent callers, a fresh connection per call, until told to stop;
# then every acknowledged index is checked against the ledger.
import json, socket, sys, time, base64, os, threading
sock, stopfile, out, tfile = sys.argv[1:5]
lock = threading.Lock()
acked, sent, errors, why = [], [], {}, []
count = {"calls": 0, "refused": 0, "dropped": 0, "unanswered": 0}
deadline = time.time() + 60
class Dropped(Exception):
    pass
def rpc(method, params, rid=1):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect(sock)
        try:
            s.sendall((json.dumps({"jsonrpc": "2.0", "id": rid,
                "method": method, "params": params}) + "\n").encode())
        except OSError as e:
            raise Dropped(repr(e))
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    return json.loads(buf) if buf else None
def bump(key):
    with lock:
        count[key] += 1
def caller(t):
    k = 0
    while (not os.path.exists(stopfile) or k < 5) and time.time() < deadline:
        k += 1
        name = "loop-%d-%d" % (t, k)
        bump("calls")
        sent.append(time.time())
        try:
            r = rpc("call", {"contract": "guestlist", "method": "RSVP",
                             "args": [name, True, "call %d" % k]}, k)
        except (ConnectionRefusedError, FileNotFoundError):
            bump("refused"); time.sleep(0.05); continue
        except Dropped as e:
            bump("dropped"); why.append((sent[-1], "connection closed "
                "by vmsd before the request was sent: %s" % e)); continue
        except (OSError, ValueError) as e:
            bump("unanswered"); why.append((sent[-1], repr(e))); continue
        if r is None:
            bump("unanswered"); why.append((sent[-1], "closed without a reply"))
        elif "result" in r:
            acked.append((r["result"]["index"], name))
        else:
            with lock:
                c = r["error"]["code"]; errors[c] = errors.get(c, 0) + 1
threads = [threading.Thread(target=caller, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
missing = []
for idx, name in acked:
    r = rpc("log", {"contract": "guestlist", "from": idx, "count": 1})
    ents = r.get("result", {}).get("entries", [])
    ok = False
    if ents and ents[0]["index"] == idx:
        e = json.loads(base64.b64decode(ents[0]["leaf"]))
        ok = e.get("method") == "RSVP" and e.get("args", [None])[0] == name
    if not ok:
        missing.append(idx)
# Calls sent while `systemctl restart` ran (times written by the test).
t0, t1 = [float(x) for x in open(tfile).read().split()]
during = sum(1 for t in sent if t0 <= t <= t1)
json.dump({"calls": count["calls"], "during": during, "acked": len(acked),
           "refused": count["refused"], "unanswered": count["unanswered"],
           "dropped": count["dropped"],
           "errors": errors, "missing": missing,
           "why": ["%s at restart%+.3f s" % (w, t - t0) for t, w in why[:3]],
           "dups": len(acked) - len(set(i for i, _ in acked))}, open(out, "w"))
EOF
rm -f "$W/stop" "$W/client.json" "$W/restart.t"
ns python3 "$NSW/client.py" /run/vmsd/vmsd.sock "$NSW/stop" "$NSW/client.json" \
    "$NSW/restart.t" >"$W/client.log" 2>&1 &
CPID=$!
sleep 1
pid=$(show MainPID)
rt0=$(date +%s.%N)
ns systemctl restart vmsd.service >"$W/restart.log" 2>&1; rrc=$?
echo "$rt0 $(date +%s.%N)" >"$W/restart.t"
sleep 1
touch "$W/stop"
WAIT_TENTHS=600 waitfor sh -c "! kill -0 $CPID 2>/dev/null"
wait $CPID 2>/dev/null
res=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
bad = r["refused"] or r["dropped"] or r["unanswered"] or r["missing"] or r["dups"] or r["acked"] == 0 or r["during"] == 0
print(("BAD " if bad else "OK ") + "%d calls (%d sent during the restart), %d acknowledged, %d refused, %d dropped, %d unanswered, errors %s, missing from ledger %s" % (
    r["calls"], r["during"], r["acked"], r["refused"], r["dropped"], r["unanswered"], r["errors"] or "none",
    r["missing"][:10] or "none") + ("; why: %s" % r["why"] if r["why"] else ""))' "$W/client.json" 2>&1)
if [ $rrc = 0 ] && [ "$(show ActiveState)" = active ] &&
    [ "$(show MainPID)" != "$pid" ] && [ "${res%% *}" = OK ]; then
	pass "systemctl restart vmsd under 4 calling clients: ${res#OK }"
else
	fail "systemctl restart vmsd under 4 calling clients (rc $rrc, $(show ActiveState), MainPID $pid -> $(show MainPID)): $res $(cat "$W/restart.log" "$W/client.log" | tail -3 | tr '\n' ' ')"
fi

# ---- SIGKILL: Restart=on-failure ----
restarted() {
	p=$(show MainPID)
	[ "$(show ActiveState)/$(show SubState)" = active/running ] &&
	    [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ]
}
pid=$(show MainPID)
n0=$(show NRestarts)
ns systemctl kill --kill-who=main --signal=KILL vmsd.service
if WAIT_TENTHS=150 waitfor restarted "$pid" && [ "$(show NRestarts)" -gt "$n0" ]; then
	pass "SIGKILL to MainPID $pid: systemd restarted vmsd (MainPID $(show MainPID), NRestarts $(show NRestarts))"
else
	fail "SIGKILL to MainPID $pid: $(show ActiveState)/$(show SubState) MainPID $(show MainPID) NRestarts $(show NRestarts)"
fi
if out=$(ns vmsctl call guestlist RSVP carol true "after SIGKILL" 2>&1); then
	pass "calls work after the SIGKILL restart"
else
	fail "call after the SIGKILL restart: $out"
fi

# ---- SIGSTOP: the watchdog (3 s in the test drop-in) fires ----
pid=$(show MainPID)
since=$(ns date '+%Y-%m-%d %H:%M:%S')
ns systemctl kill --kill-who=main --signal=STOP vmsd.service
if WAIT_TENTHS=200 waitfor restarted "$pid" &&
    ns journalctl -u vmsd --since "$since" --no-pager -o cat | grep -qi 'watchdog timeout'; then
	pass "SIGSTOP to MainPID $pid: watchdog timeout, systemd restarted vmsd (MainPID $(show MainPID))"
else
	fail "SIGSTOP to MainPID $pid: $(show ActiveState)/$(show SubState) MainPID $(show MainPID): $(ns journalctl -u vmsd --since "$since" --no-pager -o cat | tail -4 | tr '\n' ' ')"
fi

# ---- the journal: the daemon's own lines with their priorities ----
# Provoke a warning: SIGKILL the guestlist worker (vmsd must log the
# crash at LOG_WARNING or worse and restart the worker on the next call).
cat >"$W/info.py" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/vmsd/vmsd.sock")
f = s.makefile("rwb")
def rpc(i, m, p):
    f.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": m,
                         "params": p}) + "\n").encode()); f.flush()
    return json.loads(f.readline())
rpc(1, "call", {"contract": "guestlist", "method": "RSVP",
                "args": ["erin", True, "warm up the worker"]})
print(rpc(2, "info", {"contract": "guestlist"})["result"]["pid"])
EOF
wpid=$(ns python3 "$NSW/info.py" 2>"$W/info.log")
case "$wpid" in
[1-9]*) ns kill -KILL "$wpid" ;;
*) fail "could not get the guestlist worker's pid from info: $wpid $(cat "$W/info.log")" ;;
esac
sleep 1
ns vmsctl call guestlist RSVP frank true "after the worker crash" >"$W/after.log" 2>&1 ||
    fail "call after killing the worker: $(cat "$W/after.log")"
ns journalctl -u vmsd --no-pager -o json _COMM=vmsd >"$W/journal.json" 2>&1
res=$(python3 -c '
import json, sys
pri = {}
bad = []
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    m = e.get("MESSAGE", "")
    if not isinstance(m, str): continue
    p = int(e.get("PRIORITY", -1))
    pri.setdefault(p, m)
    if m.startswith("<") and m[1:2].isdigit(): bad.append(m)
print(" ".join("%d" % p for p in sorted(pri)))
for p in sorted(pri): print("%d %s" % (p, pri[p]))
if bad: print("UNPARSED " + bad[0])' "$W/journal.json")
prios=$(echo "$res" | head -1)
case " $prios " in
*" 6 "*) pass "journalctl -u vmsd: daemon info lines at PRIORITY=6 ($(echo "$res" | sed -n 's/^6 //p' | head -1))" ;;
*) fail "journalctl -u vmsd -o json: no PRIORITY=6 line from vmsd (priorities seen: '$prios')" ;;
esac
case " $prios " in
*" 4 "*|*" 3 "*|*" 2 "*) pass "journalctl -u vmsd -p warning: daemon warnings at PRIORITY<=4 ($(ns journalctl -u vmsd -p warning -o cat --no-pager _COMM=vmsd | tail -1))" ;;
*) fail "journalctl -u vmsd -p warning: no warning from vmsd (priorities seen: '$prios')" ;;
esac
if echo "$res" | grep -q '^UNPARSED'; then
	fail "journal has raw '<N>' prefixes: $(echo "$res" | sed -n 's/^UNPARSED //p')"
else
	pass "journal: no raw syslog '<N>' prefixes left in vmsd's messages"
fi

# ---- stop ----
if ns systemctl stop vmsd.service >"$W/stop.log" 2>&1 &&
    [ "$(show ActiveState)" = inactive ] && [ "$(show Result)" = success ] &&
    [ "$(show ExecMainStatus)" = 0 ]; then
	pass "systemctl stop vmsd: inactive, Result=success, ExecMainStatus=0"
else
	fail "systemctl stop vmsd: $(show ActiveState) Result=$(show Result) ExecMainStatus=$(show ExecMainStatus) $(cat "$W/stop.log")"
fi
if [ "$(ns systemctl is-active vmsd.socket)" = active ] &&
    out=$(ns vmsctl call guestlist RSVP dave true "socket activation" 2>&1) &&
    [ "$(show ActiveState)" = active ]; then
	pass "vmsd.socket outlives the service: a call after stop socket-activates vmsd"
else
	fail "socket activation after stop: socket $(ns systemctl is-active vmsd.socket), service $(show ActiveState): $out"
fi

# ---- shut down ----
ns systemctl poweroff --no-block >/dev/null 2>&1
if WAIT_TENTHS=300 waitfor sh -c "! kill -0 $SDPID 2>/dev/null"; then
	pass "systemctl poweroff: the namespace's systemd exited"
else
	fail "systemctl poweroff: systemd still running after 30 s"
fi
exit $FAILED
