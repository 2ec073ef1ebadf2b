#!/usr/bin/env python3
"""layers.py OBJDIR LUADIR — check the layering of the built objects with nm.

Every object's undefined symbols are resolved to the object that defines
them; that gives the "calls" graph between source files. Two rules
(ARCHITECTURE.md):
  1. calls only go down the layers: libvms < lua-sandbox (with Lua itself)
     < audit < daemon, ctl; daemon and ctl never call each other;
  2. no dependency cycle among daemon files is larger than MAX_CYCLE files;
  3. library code does not log: no object of libvms/, lua-sandbox/ or
     audit/ but libvms/log calls log_warn, log_warnx, log_info or log_debug
     (it returns errors with their message; the caller logs once).
Prints one line per violation and "layers: ok ..." when there is none;
exits 1 on a violation, 2 when it cannot run.
Options: --max-cycle N (default 3), --dot (print the daemon graph).
"""
import os
import subprocess
import sys

RANK = {"libvms": 0, "lua": 1, "lua-sandbox": 1, "libm": 1, "audit": 2,
        "daemon": 3, "ctl": 3}


def objects(objdir, luadir):
    out = []
    for root, _, files in os.walk(objdir):
        for f in files:
            o = os.path.join(root, f)
            # only objects whose source still exists (not stale ones)
            if f.endswith(".o") and os.path.exists(
                    os.path.relpath(o, objdir)[:-2] + ".c"):
                out.append(o)
    for d in (luadir, os.path.join(os.path.dirname(luadir), "libm")):
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".o")]
    return sorted(out)


def layer_of(path, objdir):
    rel = os.path.relpath(path, objdir)
    top = rel.split(os.sep)[0]
    if top == "..":
        return os.path.basename(os.path.dirname(path))  # lua or libm
    return top


def nm(path):
    r = subprocess.run(["nm", "-P", path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("layers: nm %s: %s" % (path, r.stderr.strip()))
    defined, undefined = set(), set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCVWGS":
            defined.add(name)
    return defined, undefined


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    args = sys.argv[1:]
    max_cycle, dot = 3, False
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--max-cycle":
            max_cycle = int(args.pop(0))
        elif a == "--dot":
            dot = True
        else:
            sys.exit("layers: unknown option " + a)
    if len(args) != 2:
        sys.exit(__doc__)
    objdir, luadir = args
    objs = objects(objdir, luadir)
    if not objs:
        sys.exit("layers: no objects under %s" % objdir)
    owner, und = {}, {}
    for o in objs:
        d, u = nm(o)
        und[o] = u
        for s in d:
            owner.setdefault(s, o)
    name = {o: os.path.relpath(o, objdir)[:-2] if layer_of(o, objdir) in
            ("libvms", "lua-sandbox", "audit", "daemon", "ctl")
            else layer_of(o, objdir) + "/" + os.path.basename(o)[:-2]
            for o in objs}
    bad = 0
    edges = {}
    for o in objs:
        lo = layer_of(o, objdir)
        for s in sorted(und[o]):
            t = owner.get(s)
            if t is None or t == o:
                continue
            lt = layer_of(t, objdir)
            edges.setdefault(name[o], set()).add(name[t])
            if lo not in RANK or lt not in RANK:
                continue
            if RANK[lt] > RANK[lo] or (RANK[lo] == RANK[lt] == 3 and
                                       lo != lt):
                print("layers: %s (%s) calls %s in %s (%s): upward" %
                      (name[o], lo, s, name[t], lt))
                bad += 1
    logging = {"log_warn", "log_warnx", "log_info", "log_debug"}
    for o in objs:
        if layer_of(o, objdir) in ("libvms", "lua-sandbox", "audit") and \
                name[o] != "libvms/log":
            for sym in sorted(und[o] & logging):
                print("layers: %s logs (%s): library code reports errors "
                      "to its caller instead" % (name[o], sym))
                bad += 1
    dnodes = {name[o] for o in objs if layer_of(o, objdir) == "daemon"}
    dedges = {v: {w for w in edges.get(v, ()) if w in dnodes} for v in dnodes}
    worst = 0
    for comp in sccs(dnodes, dedges):
        worst = max(worst, len(comp))
        if len(comp) > max_cycle:
            print("layers: a dependency cycle of %d daemon files (max %d): %s"
                  % (len(comp), max_cycle, " ".join(comp)))
            bad += 1
    if dot:
        for v in sorted(dedges):
            for w in sorted(dedges[v]):
                print("  %s -> %s" % (v, w))
    if bad:
        return 1
    print("layers: ok: %d objects, no upward call, no library logging, "
          "largest daemon cycle %d file(s)" % (len(objs), worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
