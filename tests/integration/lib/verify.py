#!/usr/bin/env python3
"""verify.py LOG_JSON CHECKPOINT_JSON VKEY — independent check of what vmsd
serves: recompute the RFC 6962 root of the leaves in LOG_JSON (a `log`
result with every entry), compare it with the checkpoint note's size and
root, and verify the note's Ed25519 signature against VKEY when the
`cryptography` module is available. Prints "ok" (or "ok sig-unchecked"),
else one line naming the problem and exits 1.
"""
import base64
import hashlib
import json
import sys


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def mth_prefixes(leaves, sizes):
    """{k: MTH(leaves[:k])} for each k of sizes (0 <= k <= len(leaves)),
    in one pass: the perfect subtrees over the first k leaves, folded from
    the right as MTH splits them (RFC 6962 2.1), not one mth() per size.
    Checked against mth() on its first leaves by every caller's use."""
    want = set(k for k in sizes if 0 <= k <= len(leaves))
    out = {}
    if 0 in want:
        out[0] = hashlib.sha256(b"").digest()
    frontier = []       # (height, hash) of perfect subtrees, left to right
    for i, leaf in enumerate(leaves):
        h, ht = hashlib.sha256(b"\x00" + leaf).digest(), 0
        while frontier and frontier[-1][0] == ht:
            h = hashlib.sha256(b"\x01" + frontier.pop()[1] + h).digest()
            ht += 1
        frontier.append((ht, h))
        if i + 1 in want:
            r = frontier[-1][1]
            for _, left in reversed(frontier[:-1]):
                r = hashlib.sha256(b"\x01" + left + r).digest()
            out[i + 1] = r
    return out


def main():
    log = json.load(open(sys.argv[1]))
    cp = json.load(open(sys.argv[2]))
    vkey = sys.argv[3]
    leaves = [base64.b64decode(e["leaf"]) for e in log["entries"]]
    if [e["index"] for e in log["entries"]] != list(range(len(leaves))):
        print("log indexes are not 0..n-1")
        return 1
    note = cp["note"]
    text, _, sigs = note.partition("\n\n")
    text += "\n"
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if size != len(leaves):
        print("checkpoint size %d but %d leaves" % (size, len(leaves)))
        return 1
    if mth(leaves) != root:
        print("root mismatch")
        return 1
    name, keyid_hex, keyb64 = vkey.split("+", 2)
    if name != origin:
        print("vkey name %s differs from origin %s" % (name, origin))
        return 1
    key = base64.b64decode(keyb64)
    kid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if kid.hex() != keyid_hex:
        print("vkey key id mismatch")
        return 1
    found = None
    for line in sigs.split("\n"):
        if line.startswith("\u2014 " + name + " "):
            raw = base64.b64decode(line.split(" ")[2])
            if raw[:4] == kid:
                found = raw[4:]
    if found is None:
        print("no signature by the vkey")
        return 1
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import \
            Ed25519PublicKey
    except ImportError:
        print("ok sig-unchecked")
        return 0
    try:
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(found,
                                                           text.encode())
    except Exception:
        print("bad signature")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
