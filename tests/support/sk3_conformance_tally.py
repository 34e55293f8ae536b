#!/usr/bin/python3
"""Run sk3_validate.py's checks on every dossier and envelope case of
spec-kitty-events' conformance manifest and compare with the manifest's
expected verdict.

Usage: sk3_conformance_tally.py FIXTURES_DIR [SCHEMA_DIR] [--dossier BIN]
  FIXTURES_DIR: src/spec_kitty_events/conformance/fixtures of a
  spec-kitty-events checkout (its manifest.json is read; nothing is copied).
  --dossier BIN: also run `BIN validate --profile spec-kitty-3` on every
  case (a payload-only case wrapped in a valid envelope of its type, taken
  from tests/data/interop/events/valid.ndjson) and tally its verdicts too.

Prints one line per case (AGREE/DISAGREE, id, expected, ours, first problem),
then the cases left out and why, then the tally. Exit 0 when every in-scope
case agrees, 1 otherwise, 2 on unreadable input.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sk3_validate as v  # noqa: E402

# Class-taxonomy classes whose verdict depends only on envelope rules.
ENVELOPE_CLASSES = {"envelope_valid_canonical", "envelope_valid_historical_synthesized",
                    "envelope_invalid_forbidden_key", "envelope_invalid_shape", "historical_row_raw"}


HERE = os.path.dirname(os.path.abspath(__file__))


def wrap(payload_text, event_type):
    """A payload-only case as one envelope line: a valid envelope of its type
    from our own stream with the case's payload in place (the text as it is
    when it is not JSON)."""
    path = os.path.join(HERE, "..", "data", "interop", "events", "valid.ndjson")
    for line in open(path, encoding="utf-8"):
        env = json.loads(line)
        if env["event_type"] == event_type:
            try:
                env["payload"] = json.loads(payload_text)
            except ValueError:
                return payload_text.replace("\n", " ")
            return json.dumps(env)
    raise SystemExit(f"no {event_type} envelope in {path}")


def dossier_verdict(binary, text):
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
        f.write(text if text.endswith("\n") else text + "\n")
    try:
        r = subprocess.run([binary, "validate", "--profile", "spec-kitty-3", f.name],
                           capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return "valid" if r.returncode == 0 else "invalid"


def main():
    args = sys.argv[1:]
    binary = None
    if "--dossier" in args:
        i = args.index("--dossier")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        binary = args[i + 1]
        del args[i:i + 2]
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    fx = args[0]
    sd = args[1] if len(args) == 2 else os.path.join(
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
            cases.append((e["id"], e["expected_result"], probs, text))
        elif ft:
            skipped.append((e["id"], f"{ft} fixture" + ("" if path.startswith("dossier/") else ", not dossier")))
        elif path.startswith("dossier/"):
            cases.append((e["id"], e["expected_result"], one(text, et), wrap(text, et)))
        elif et == "Event":
            cases.append((e["id"], e["expected_result"], one(text), text.replace("\n", " ")))
    for e in manifest["classes"]["entries"]:
        if e["class"] in ENVELOPE_CLASSES:
            doc = json.load(open(os.path.join(fx, e["path"]), encoding="utf-8"))
            line = json.dumps(doc["input"])
            cases.append((e["id"], e["expected"], one(line), line))
        else:
            skipped.append((e["id"], f"class {e['class']}: verdict rests on a non-dossier payload schema or lane table"))

    agree = bin_agree = 0
    for cid, expected, probs, line in cases:
        ours = "invalid" if probs else "valid"
        ok = ours == expected
        agree += ok
        first = f"{probs[0][0]}: {probs[0][1]}" if probs else ""
        print(f"{'AGREE   ' if ok else 'DISAGREE'} {cid}  expected={expected} ours={ours}  {first}")
        if binary:
            verdict = dossier_verdict(binary, line)
            bin_agree += verdict == expected
            print(f"  {'AGREE   ' if verdict == expected else 'DISAGREE'} dossier validate: {verdict}")
    print(f"\nleft out ({len(skipped)}), each with its reason:")
    for cid, why in skipped:
        print(f"  {cid}: {why}")
    print(f"\ntally: {agree}/{len(cases)} in-scope cases agree with the manifest's expected verdict")
    if binary:
        print(f"dossier validate --profile spec-kitty-3: {bin_agree}/{len(cases)} agree")
    return 0 if agree == len(cases) and (not binary or bin_agree == len(cases)) else 1


if __name__ == "__main__":
    sys.exit(main())
