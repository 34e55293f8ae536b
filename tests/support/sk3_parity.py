#!/usr/bin/python3
"""Compare `dossier index --profile spec-kitty-3` output with spec-kitty's own
values for a mission (tests/data/interop/expected/*.json, docs/interop.md):
presence and per-file hash of every file, and the snapshot hash computed
from what dossier reports present.

usage: sk3_parity.py EXPECTED.json INDEX.ndjson [SNAPSHOT_HASH]
  SNAPSHOT_HASH: also compare this value (e.g. `dossier snapshot --json`'s
  snapshot_hash) with the expected one.
Prints every difference and exits 1 when there is one."""
import hashlib
import json
import sys


def main():
    exp = json.load(open(sys.argv[1], encoding="utf-8"))
    got = {}
    for line in open(sys.argv[2], encoding="utf-8"):
        a = json.loads(line)
        got[a["relative_path"]] = a
    bad = []
    files = [a for a in exp["artifacts"] if not a.get("ghost")]
    for a in files:
        g = got.get(a["path"])
        if g is None:
            bad.append(f"{a['path']}: not listed by dossier")
            continue
        if g["present"] != a["present"]:
            bad.append(f"{a['path']}: present {g['present']}, spec-kitty says {a['present']} "
                       f"({a.get('error_reason')}; dossier: {g['reason_detail']})")
        elif a["present"] and g["content_hash_sha256"] != a["hash"]:
            bad.append(f"{a['path']}: hash {g['content_hash_sha256']}, spec-kitty "
                       f"{a['hash']} ({a.get('hashed_as')})")
    listed = {a["path"] for a in files}
    for p, g in got.items():
        if p not in listed and not g["reason_code"] == "not_found":
            bad.append(f"{p}: listed by dossier, not by spec-kitty")
    present = sorted((p, g["content_hash_sha256"]) for p, g in got.items() if g["present"])
    text = "\n".join(p + "\t" + h for p, h in present)
    mine = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if mine != exp["snapshot_hash"]:
        bad.append(f"snapshot hash from dossier's present files {mine}, spec-kitty "
                   f"{exp['snapshot_hash']}")
    if len(sys.argv) > 3 and sys.argv[3] != exp["snapshot_hash"]:
        bad.append(f"dossier's snapshot hash {sys.argv[3]}, spec-kitty {exp['snapshot_hash']}")
    for b in bad:
        print(f"{sys.argv[1]}: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
