#!/usr/bin/env python3
"""tlogread.py — an independent reader of a C2SP tlog-tiles log, written
from the specifications (tlog-tiles, tlog-checkpoint, signed-note, RFC
6962) without any of the project's code: it fetches only the log's static
resources over HTTP (checkpoint, hash tiles, entry bundles), verifies the
checkpoint's Ed25519 signature with python3-cryptography, and recomputes
the root three ways: from the entries of the bundles, from every level-0
tile, and from the highest-level tiles that cover the tree (the way a
client proving inclusion uses them), checking that every tile hash of
level L >= 1 is the hash of the 256 below it. Prints one line per check
and exits 0 only if all pass.

    tlogread.py URL VKEY [--size N] [--headers]

--size N: expect the checkpoint to sign N entries. --headers: check the
Content-Type and Cache-Control of what vmsd serves (not of a mirror).
"""
import base64
import hashlib
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

FAILS = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILS.append(what)
    return ok


class Log:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.fetches = 0
        self.headers = {}

    def get(self, path):
        self.fetches += 1
        with urllib.request.urlopen(self.url + "/" + path, timeout=60) as r:
            self.headers[path] = (r.headers.get("Content-Type"),
                                  r.headers.get("Cache-Control"))
            return r.read()


def tile_path(level, n, width):
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts = ["x%03d" % g for g in reversed(groups[1:])] + ["%03d" % groups[0]]
    p = "tile/%s/%s" % (level, "/".join(parts))
    if width < 256:
        p += ".p/%d" % width
    return p


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(hashes):
    """RFC 6962 MTH over leaf hashes (split at the largest power of 2 < n)."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def verify_note(note, vkey):
    """C2SP signed-note with an Ed25519 verifier key name+hexid+b64."""
    name, hexid, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    check(raw[0] == 1 and len(raw) == 33, "vkey is an Ed25519 key")
    pk = raw[1:]
    keyid = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pk).digest()[:4]
    check(keyid.hex() == hexid, "vkey key id is SHA-256(name\\n 0x01 pk)[:4]")
    text, sep, sigs = note.partition("\n\n")
    check(sep != "", "note has a blank line before its signatures")
    text += "\n"
    good = False
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            check(False, "signature line starts with an em dash")
            continue
        sname, sig64 = line[2:].split(" ")
        blob = base64.b64decode(sig64)
        if sname != name or blob[:4] != keyid:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(blob[4:],
                                                          text.encode())
            good = True
        except InvalidSignature:
            check(False, "a signature by the key does not verify")
    check(good, "checkpoint signature verifies (Ed25519, python3-cryptography)")
    return text


def main():
    args = sys.argv[1:]
    url, vkey = args[0], args[1]
    want = int(args[args.index("--size") + 1]) if "--size" in args else None
    headers = "--headers" in args
    log = Log(url)
    note = log.get("checkpoint").decode("utf-8")
    text = verify_note(note, vkey)
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    check(origin == vkey.split("+", 1)[0], "origin is the key's name")
    if want is not None:
        check(size == want, "checkpoint size %d (want %d)" % (size, want))

    # level-0 tiles and the entry bundles: every leaf, twice
    leaves = []
    nfull, part = size // 256, size % 256
    for t in range(nfull + (1 if part else 0)):
        w = 256 if t < nfull else part
        b = log.get(tile_path(0, t, w))
        check(len(b) == 32 * w, "%s is %d hashes" % (tile_path(0, t, w), w))
        tl = [b[i:i + 32] for i in range(0, len(b), 32)]
        bundle = log.get(tile_path("entries", t, w))
        off, ents = 0, []
        while off < len(bundle):
            n = int.from_bytes(bundle[off:off + 2], "big")
            ents.append(bundle[off + 2:off + 2 + n])
            off += 2 + n
        check(off == len(bundle) and len(ents) == w,
              "%s holds %d length-prefixed entries" %
              (tile_path("entries", t, w), w))
        check([leaf_hash(e) for e in ents] == tl,
              "entries of bundle %d hash to level-0 tile %d" % (t, t))
        leaves += tl
    check(len(leaves) == size, "%d leaves" % size)
    check(mth(leaves) == root, "root from every leaf = the signed root")

    # higher levels: each hash is MTH of the 256 below; the root from the
    # highest tiles (partial tiles at every level)
    levels = [leaves]
    level = 1
    while size >> (8 * level):
        n = size >> (8 * level)
        hs = []
        for t in range((n + 255) // 256):
            w = min(256, n - t * 256)
            b = log.get(tile_path(level, t, w))
            hs += [b[i:i + 32] for i in range(0, len(b), 32)]
        below = levels[-1]
        check(len(hs) == n and all(hs[i] == mth(below[i * 256:(i + 1) * 256])
                                   for i in range(n)),
              "level %d: %d hashes, each the MTH of 256 of level %d" %
              (level, n, level - 1))
        levels.append(hs)
        level += 1

    def subtree(start, k):
        """MTH of leaves [start, start + 2^k) from the highest tile level."""
        L = k // 8
        idx, cnt = start >> (8 * L), 1 << (k % 8)
        return mth(levels[L][idx:idx + cnt])

    def range_hash(start, end):
        peaks = []
        while start < end:
            k = 0
            while start % (2 << k) == 0 and start + (2 << k) <= end:
                k += 1
            peaks.append(subtree(start, k))
            start += 1 << k
        r = peaks[-1]
        for p in reversed(peaks[:-1]):
            r = node_hash(p, r)
        return r

    check(range_hash(0, size) == root,
          "root from the highest tiles = the signed root")

    if headers:
        ct, cc = log.headers["checkpoint"]
        check(ct == "text/plain; charset=utf-8", "checkpoint Content-Type")
        check(cc is not None and "max-age" in cc and "immutable" not in cc,
              "checkpoint short caching (%s)" % cc)
        for path, (ct, cc) in log.headers.items():
            if path == "checkpoint":
                continue
            full = ".p/" not in path
            ok = ct == "application/octet-stream" and cc is not None and \
                (("immutable" in cc and "max-age=31536000" in cc) if full
                 else ("immutable" not in cc and "max-age" in cc))
            check(ok, "%s: %s, %s" % (path, ct, cc))
    print("%d fetches" % log.fetches)
    return 1 if FAILS else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (urllib.error.URLError, ValueError, IndexError) as e:
        print("FAIL fetch or parse: %s" % e)
        sys.exit(1)
