#!/usr/bin/env python3
"""Validate NDJSON envelopes (stdin or a file) against schemas/ with an
independent validator (Debian's python3-jsonschema, Draft 7).

Usage: validate_events.py SCHEMAS_DIR [FILE]
Prints one line per invalid event and a count per event_type; exits 1 when
any event is invalid or an event_type has no schema.
"""
import json
import os
import sys
from collections import Counter

import jsonschema


def main():
    schemas_dir = sys.argv[1]
    stream = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
    validators = {}
    envelope = json.load(open(os.path.join(schemas_dir, "envelope.schema.json")))
    env_validator = jsonschema.Draft7Validator(envelope)
    counts = Counter()
    bad = 0
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        event = json.loads(line)
        etype = event.get("event_type")
        if etype not in validators:
            path = os.path.join(schemas_dir, f"{etype}.schema.json")
            if not os.path.exists(path):
                print(f"line {lineno}: no schema for event_type {etype!r}")
                bad += 1
                continue
            validators[etype] = jsonschema.Draft7Validator(json.load(open(path)))
        errors = [e.message for e in validators[etype].iter_errors(event)]
        errors += [e.message for e in env_validator.iter_errors(event)]
        if errors:
            bad += 1
            print(f"line {lineno}: {etype}: {'; '.join(errors)}")
        counts[etype] += 1
    for etype, n in sorted(counts.items()):
        print(f"{etype} {n}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
