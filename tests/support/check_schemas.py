#!/usr/bin/python3
"""Independent check of schemas/ with Debian's python3-jsonschema (Draft 7).

Usage: check_schemas.py SCHEMA_DIR CASES_JSON

Checks that every schema is a valid draft-07 schema, that there is one per
event type (plus envelope.schema.json) and no other, and that the schemas
give the verdicts tests/data/payload_cases.json expects -- the verdicts the
C validator gives (tests/unit/codec/test_event_validate.c reads the same table).
Payload cases are wrapped in a valid envelope of their type.

Exit status: 0 all agree, 1 a disagreement, 2 usage or unreadable input,
77 python3-jsonschema missing.
"""
import json
import os
import sys

try:
    from jsonschema import Draft7Validator
except ImportError:  # pragma: no cover - reported, not hidden
    print("check_schemas.py: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)

EVENT_TYPES = [
    "mission_dossier_artifact_indexed",
    "mission_dossier_artifact_missing",
    "mission_dossier_snapshot_computed",
    "mission_dossier_parity_drift_detected",
    "dossier_baseline_accepted",
    "dossier_scan_completed",
    "dossier_artifact_removed",
]


def alias(name):
    return "".join(part.capitalize() for part in name.split("_"))


ALIASES = {alias(t): t for t in EVENT_TYPES}


def load_schemas(schema_dir):
    """Load and check every schema; returns (envelope validator, {type: validator})."""
    problems = []
    validators = {}
    expected = {t + ".schema.json" for t in EVENT_TYPES} | {"envelope.schema.json"}
    present = {f for f in os.listdir(schema_dir) if f.endswith(".schema.json")}
    for missing in sorted(expected - present):
        problems.append("missing schema file %s" % missing)
    for extra in sorted(present - expected):
        problems.append("unexpected schema file %s (no such event type)" % extra)
    for fname in sorted(expected & present):
        with open(os.path.join(schema_dir, fname), encoding="utf-8") as f:
            schema = json.load(f)
        if schema.get("$schema") != "http://json-schema.org/draft-07/schema#":
            problems.append("%s: $schema is not draft-07" % fname)
        try:
            Draft7Validator.check_schema(schema)
        except Exception as e:  # SchemaError
            problems.append("%s: not a valid draft-07 schema: %s" % (fname, e))
            continue
        name = fname[: -len(".schema.json")]
        if name != "envelope":
            const = schema.get("properties", {}).get("event_type", {}).get("const")
            if const != name:
                problems.append("%s: event_type const is %r" % (fname, const))
        validators[name] = Draft7Validator(schema)
    return validators.pop("envelope", None), validators, problems


def verdict(validator, instance):
    return next(iter(validator.iter_errors(instance)), None) is None


def wrap(event_type, payload):
    slug = payload.get("feature_slug") if isinstance(payload, dict) else None
    if not isinstance(slug, str) or not slug:
        slug = "x"
    return {
        "event_id": "01JD3Q8Z5M6W7X8Y9A0BCDEFGH",
        "event_type": event_type,
        "aggregate_id": "feature/" + slug,
        "timestamp": "2026-01-31T12:00:00.000Z",
        "node_id": "01JCZZZZZZZZZZZZZZZZZZZZZZ",
        "lamport_clock": 1,
        "project_uuid": "550e8400-e29b-41d4-a716-446655440000",
        "correlation_id": None,
        "causation_id": None,
        "schema_version": "1.0.0",
        "payload": payload,
    }


def type_verdict(types, event):
    """Verdict of the per-type schema; for an unknown type, whether any
    per-type schema accepts it (none should)."""
    name = event.get("event_type") if isinstance(event, dict) else None
    name = ALIASES.get(name, name)
    if name not in types:
        return any(verdict(v, event) for v in types.values())
    return verdict(types[name], event)


def agreement(schema_dir, cases_path):
    envelope, types, problems = load_schemas(schema_dir)
    with open(cases_path, encoding="utf-8") as f:
        table = json.load(f)
    n = 0
    for c in table["payload_cases"]:
        n += 1
        t = c["event_type"]
        if t not in types:
            problems.append("payload case %r: no schema for %s" % (c["name"], t))
            continue
        event = wrap(t, c["payload"])
        got = verdict(types[t], event)
        if got != c["valid"]:
            problems.append("payload case %s / %r: schema says %s, table (and C) say %s" % (
                t, c["name"], "valid" if got else "invalid", "valid" if c["valid"] else "invalid"))
        if envelope is not None:
            # The envelope schema leaves the payload to the per-type schema.
            if not verdict(envelope, event) and isinstance(c["payload"], dict):
                problems.append("payload case %r: envelope.schema.json refuses a valid envelope" % c["name"])
    for c in table["envelope_cases"]:
        n += 1
        e = c["envelope"]
        got = type_verdict(types, e)
        if got != c["type_schema"]:
            problems.append("envelope case %r: per-type schema says %s, table says %s" % (
                c["name"], got, c["type_schema"]))
        if envelope is not None:
            got = verdict(envelope, e)
            if got != c["envelope_schema"]:
                problems.append("envelope case %r: envelope.schema.json says %s, table says %s" % (
                    c["name"], got, c["envelope_schema"]))
    for p in problems:
        print("check_schemas.py: " + p, file=sys.stderr)
    print("check_schemas.py: %d schemas, %d cases, %d disagreements" % (
        len(types) + (envelope is not None), n, len(problems)))
    return 1 if problems else 0


def main(argv):
    if len(argv) == 3:
        return agreement(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OSError as e:
        print("check_schemas.py: %s" % e, file=sys.stderr)
        sys.exit(2)
