#!/usr/bin/python3
"""Run sk3_validate.py's checks on every dossier and envelope case of
spec-kitty-events' conformance manifest and compare with the manifest's
expected verdict.

Usage: sk3_conformance_tally.py FIXTURES_DIR [SCHEMA_DIR]
  FIXTURES_DIR: src/spec_kitty_events/conformance/fixtures of a
  spec-kitty-events checkout (its manifest.json is read; nothing is copied).

Prints one line per case (AGREE/DISAGREE, id, expected, ours, first problem),
then the cases left out and why, then the tally. Exit 0 when every in-scope
case agrees, 1 otherwise, 2 on unreadable input.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sk3_validate as v  # noqa: E402

# Class-taxonomy classes whose verdict depends only on envelope rules.
ENVELOPE_CLASSES = {"envelope_valid_canonical", "envelope_valid_historical_synthesized",
                    "envelope_invalid_forbidden_key", "envelope_invalid_shape", "historical_row_raw"}


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    fx = sys.argv[1]
    sd = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "spec-kitty-3")
    try:
        manifest = json.load(open(os.path.join(fx, "manifest.json"), encoding="utf-8"))
        store = v.load_schemas(sd)
    except (OSError, ValueError) as e:
        print(f"sk3_conformance_tally.py: {e}", file=sys.stderr)
        return 2
    vals = {n: v.make_validator(store, n) for n in ["envelope"] + list(v.DOSSIER_TYPES.values())}

    def one(text, payload_type=None):
        obj, dups = v._parse(text)
        probs = [(".", f"duplicate key {k!r}") for k in dups]
        if payload_type:
            return probs + v.check(vals[v.DOSSIER_TYPES[payload_type]], obj)
        return probs + v.check_envelope(vals, obj)

    cases, skipped = [], []
    for e in manifest["fixtures"]:
        path, et, ft = e["path"], e.get("event_type"), e.get("fixture_type")
        text = open(os.path.join(fx, path), encoding="utf-8").read()
        if ft == "replay_stream" and path.startswith("dossier/"):
            probs = []
            for n, line in enumerate(text.split("\n"), 1):
                if line.strip():
                    probs += [(f"line {n}: {f}", m) for f, m in one(line)]
            cases.append((e["id"], e["expected_result"], probs))
        elif ft:
            skipped.append((e["id"], f"{ft} fixture" + ("" if path.startswith("dossier/") else ", not dossier")))
        elif path.startswith("dossier/"):
            cases.append((e["id"], e["expected_result"], one(text, et)))
        elif et == "Event":
            cases.append((e["id"], e["expected_result"], one(text)))
    for e in manifest["classes"]["entries"]:
        if e["class"] in ENVELOPE_CLASSES:
            doc = json.load(open(os.path.join(fx, e["path"]), encoding="utf-8"))
            cases.append((e["id"], e["expected"], one(json.dumps(doc["input"]))))
        else:
            skipped.append((e["id"], f"class {e['class']}: verdict rests on a non-dossier payload schema or lane table"))

    agree = 0
    for cid, expected, probs in cases:
        ours = "invalid" if probs else "valid"
        ok = ours == expected
        agree += ok
        first = f"{probs[0][0]}: {probs[0][1]}" if probs else ""
        print(f"{'AGREE   ' if ok else 'DISAGREE'} {cid}  expected={expected} ours={ours}  {first}")
    print(f"\nleft out ({len(skipped)}), each with its reason:")
    for cid, why in skipped:
        print(f"  {cid}: {why}")
    print(f"\ntally: {agree}/{len(cases)} in-scope cases agree with the manifest's expected verdict")
    return 0 if agree == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
