#!/usr/bin/env python3
"""jget.py PATH — print a field of the JSON on stdin: PATH is dot-separated
keys and array indexes ("result.entries.0.index"); strings print raw, other
values as compact JSON, a missing field prints nothing and exits 1.
"""
import json
import sys

v = json.load(sys.stdin)
for k in (sys.argv[1].split(".") if len(sys.argv) > 1 and sys.argv[1] else []):
    try:
        v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        sys.exit(1)
try:
    print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
except BrokenPipeError:
    pass
