#!/usr/bin/python3
"""Self-check of tests/data/interop/ with no spec-kitty code (Debian Python only).

Usage: sk3_check_data.py [INTEROP_DIR]     (default: tests/data/interop)

1. Every expected/*.json is internally consistent with the rules in
   docs/interop.md: each raw_sha256 is the SHA-256 of the file's bytes; a
   raw-hashed present artifact's hash equals it; a projection-hashed one's
   hash is the SHA-256 of wp_projection_json's UTF-8 bytes; snapshot_lines are
   the present (path, hash) pairs sorted by path; snapshot_hash is "sha256:" +
   hex SHA-256 of those lines joined by "\\n" with no trailing newline; and no
   hidden path (a component starting with ".") is listed.
2. events/valid.ndjson gives no problem and events/invalid.ndjson gives
   exactly the problems listed in events/invalid.expected.txt.
Exit 0 when all hold, 1 otherwise (each failure is printed), 2 on bad usage.
"""
import glob
import hashlib
import io
import json
import os
import sys
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sk3_validate  # noqa: E402


def check_expected(root, fails):
    for f in sorted(glob.glob(os.path.join(root, "expected", "*.json"))):
        d = json.load(open(f, encoding="utf-8"))
        mission = os.path.join(root, "missions", os.path.basename(f).split(".")[0])
        name = os.path.relpath(f, root)
        for a in d["artifacts"]:
            p = a["path"]
            if any(part.startswith(".") for part in p.split("/")):
                fails.append(f"{name}: hidden path {p} is listed")
            if a.get("ghost"):
                continue
            raw = hashlib.sha256(open(os.path.join(mission, p), "rb").read()).hexdigest()
            if raw != a["raw_sha256"]:
                fails.append(f"{name}: {p}: raw_sha256 is not the SHA-256 of the file")
            if a["present"] and a["hashed_as"] == "raw" and a["hash"] != raw:
                fails.append(f"{name}: {p}: raw-hashed but hash != raw_sha256")
            if a.get("hashed_as") == "wp_projection":
                h = hashlib.sha256(a["wp_projection_json"].encode("utf-8")).hexdigest()
                if h != a["hash"]:
                    fails.append(f"{name}: {p}: hash is not SHA-256(wp_projection_json)")
        present = sorted((a["path"], a["hash"]) for a in d["artifacts"] if a["present"] and a["hash"])
        lines = [f"{p}\t{h}" for p, h in present]
        if lines != d["snapshot_lines"] or dict(present) != d["present"]:
            fails.append(f"{name}: snapshot_lines/present disagree with the artifacts")
        snap = "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
        if snap != d["snapshot_hash"]:
            fails.append(f"{name}: snapshot_hash {d['snapshot_hash']} != {snap}")


def run_validator(path):
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = sk3_validate.main([path])
    return rc, buf.getvalue()


def check_events(root, fails):
    ev = os.path.join(root, "events")
    rc, out = run_validator(os.path.join(ev, "valid.ndjson"))
    if rc != 0 or out:
        fails.append(f"events/valid.ndjson: exit {rc}, expected 0 and no output:\n{out}")
    rc, out = run_validator(os.path.join(ev, "invalid.ndjson"))
    got = [l.split(":", 1)[1] for l in out.splitlines()]
    want = [l for l in open(os.path.join(ev, "invalid.expected.txt"), encoding="utf-8").read().splitlines()
            if l and not l.startswith("#")]
    if rc != 1 or got != want:
        fails.append(f"events/invalid.ndjson: exit {rc}; output differs from invalid.expected.txt:\n"
                     + "\n".join(f"  got  {g}" for g in got if g not in want)
                     + "\n" + "\n".join(f"  want {w}" for w in want if w not in got))
    nlines = sum(1 for l in open(os.path.join(ev, "invalid.ndjson"), encoding="utf-8", errors="replace") if l.strip())
    flagged = {int(l.split(":", 1)[0]) for l in want}
    if flagged != set(range(1, nlines + 1)):
        fails.append("events/invalid.expected.txt: not every line of invalid.ndjson has a problem")


def main():
    if len(sys.argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1] if len(sys.argv) == 2 else os.path.join(HERE, "..", "data", "interop")
    fails = []
    check_expected(root, fails)
    check_events(root, fails)
    for f in fails:
        print(f"sk3_check_data: {f}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
