#!/usr/bin/env python3
"""ledgerfiles.py — read a ledger directory's files (vms-ledger(5)) for the
crash tests, independently of vmsd's code.

  ledgerfiles.py inconsistent REF DIR
        how many checkpoints signed in DIR (its `checkpoints` history and
        the commit records in its `entries`) are not the root of REF's
        first entries at that size: sizes signed twice with other roots
  ledgerfiles.py durable DIR
        the offset in DIR/entries where the commit record of the last
        checkpoint in its `checkpoints` history ends: `entries` is synced
        at least up to there (the history records a checkpoint once its
        batch is durable in `entries`); a power loss may lose the rest
  ledgerfiles.py committed DIR
        the offset in DIR/entries where its last commit record ends
  ledgerfiles.py acks DIR ACKS
        ACKS: one acknowledged call a line, "INDEX TAG" (TAG the call's
        first argument). Every one must be the entry at INDEX, each TAG
        once in the ledger; prints a JSON summary, exit 1 if any is not
"""
import hashlib
import json
import struct
import sys

from verify import mth, mth_prefixes  # RFC 6962 MTH, the independent reference


def records(path):
    """(is a commit record, bytes) of each record in `entries`, up to a
    length of 0 (the zeros a writer keeps ahead of its records) or a
    record cut short."""
    d = open(path, "rb").read()
    off = 0
    while off + 4 <= len(d):
        (l,) = struct.unpack(">I", d[off:off + 4])
        if l == 0:
            break
        off += 4
        n = l & 0x7fffffff
        if off + n > len(d):
            break
        yield bool(l & 0x80000000), d[off:off + n]
        off += n


def leaves(dirpath):
    return [r for note, r in records(dirpath + "/entries") if not note]


def note_size_root(note):
    import base64
    lines = note.decode().split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


def inconsistent(ref, d):
    rl = leaves(ref)
    signed = set()
    for _, n in records(d + "/checkpoints"):
        signed.add(note_size_root(n))
    for is_note, n in records(d + "/entries"):
        if is_note:
            signed.add(note_size_root(n))
    # every signed size's root in one pass over REF's leaves, after
    # checking that pass against mth() itself on the first leaves
    few = rl[:40]
    if mth_prefixes(few, range(len(few) + 1)) != \
            {k: mth(few[:k]) for k in range(len(few) + 1)}:
        raise SystemExit("mth_prefixes differs from mth")
    roots = mth_prefixes(rl, [size for size, _ in signed])
    bad = sum(1 for size, root in signed
              if size <= len(rl) and roots[size] != root)
    print(bad)
    return 0


def commit_ends(d):
    """(size, root, end offset) of each commit record in DIR/entries."""
    data = open(d + "/entries", "rb").read()
    off = 0
    while off + 4 <= len(data):
        (l,) = struct.unpack(">I", data[off:off + 4])
        if l == 0:
            break
        n = l & 0x7fffffff
        if off + 4 + n > len(data):
            break
        end = off + 4 + n
        if l & 0x80000000:
            yield note_size_root(data[off + 4:end]) + (end,)
        off = end


def durable(d):
    last = None
    for _, n in records(d + "/checkpoints"):
        last = note_size_root(n)
    for size, root, end in commit_ends(d):
        if (size, root) == last:
            print(end)
            return 0
    return 1


def committed(d):
    ends = [end for _, _, end in commit_ends(d)]
    print(ends[-1] if ends else 0)
    return 0


def acks(d, ackfile):
    ls = leaves(d)
    tags = {}
    for i, raw in enumerate(ls):
        e = json.loads(raw)
        a = e.get("args") or []
        if a and isinstance(a[0], str):
            tags.setdefault(a[0], []).append(i)
    n = missing = wrong = 0
    first = None
    for line in open(ackfile):
        if not line.strip():
            continue
        idx, tag = line.split()
        idx = int(idx)
        n += 1
        where = tags.get(tag, [])
        if not where:
            missing += 1
            first = first or "acknowledged %s at %d is not in the ledger" % (tag, idx)
        elif where != [idx]:
            wrong += 1
            first = first or "acknowledged %s at %d is at %s" % (tag, idx, where)
    dups = sum(1 for t in tags.values() if len(t) > 1)
    out = {"acked": n, "missing": missing, "misplaced": wrong,
           "duplicated": dups, "entries": len(ls), "first_problem": first}
    print(json.dumps(out, sort_keys=True))
    return 0 if missing == wrong == dups == 0 else 1


def main(argv):
    if len(argv) == 3 and argv[0] == "inconsistent":
        return inconsistent(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "durable":
        return durable(argv[1])
    if len(argv) == 2 and argv[0] == "committed":
        return committed(argv[1])
    if len(argv) == 3 and argv[0] == "acks":
        return acks(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
