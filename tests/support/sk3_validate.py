#!/usr/bin/python3
"""Validate spec-kitty-events 3.0.0 events (the spec-kitty-3 profile) with
schemas/spec-kitty-3/ and Debian's python3-jsonschema (Draft 2020-12).

Usage:
  sk3_validate.py [--schemas DIR] [--strict-types] [FILE|-]
      FILE is NDJSON: one envelope per line; blank lines are skipped.
  sk3_validate.py [--schemas DIR] --payload TYPE [--whole] [FILE|-]
      every line (or, with --whole, the whole file as one JSON value) is a
      bare payload of the dossier event type TYPE (PascalCase name).
  sk3_validate.py [--schemas DIR] --whole [FILE|-]
      the whole file is one envelope (pretty-printed JSON).

Every problem of a line is reported, one per output line on stdout:
  FILE:LINE: FIELD.PATH: message
FIELD.PATH is "." for the line as a whole, otherwise dotted keys with [i] for
array elements (payload.artifact_ids_changed[0].path).

Rules beyond the schemas (see docs/interop.md for each and its source):
- a JSON object with the same key twice is a problem (upstream keeps the last);
- NaN/Infinity and bytes that are not UTF-8 are not JSON;
- regex "$" means end of text, as in JSON Schema (ECMA-262), never "before a
  final newline" as in Python's re;
- the date-time and uuid formats are checked (upstream checks them through
  pydantic);
- an event_type that is a snake_case dossier name or one of dossier's own
  internal types is reported, since spec-kitty-3 has no such type; with
  --strict-types any event_type other than the four dossier types is.

Exit status: 0 no problem, 1 at least one problem, 2 usage or unreadable input,
77 python3-jsonschema missing.
"""
import argparse
import datetime
import json
import os
import re
import sys

try:
    from jsonschema import Draft202012Validator, FormatChecker, RefResolver, validators
    from jsonschema.exceptions import ValidationError
except ImportError:  # pragma: no cover - reported, not hidden
    print("sk3_validate.py: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)

DOSSIER_TYPES = {
    "MissionDossierArtifactIndexed": "mission_dossier_artifact_indexed",
    "MissionDossierArtifactMissing": "mission_dossier_artifact_missing",
    "MissionDossierSnapshotComputed": "mission_dossier_snapshot_computed",
    "MissionDossierParityDriftDetected": "mission_dossier_parity_drift_detected",
}
SNAKE = {v: k for k, v in DOSSIER_TYPES.items()}
# dossier's own internal event types (docs/events.md) with no spec-kitty-3 type.
INTERNAL = {"dossier_scan_completed", "dossier_baseline_accepted", "dossier_artifact_removed"}
LEGACY_KEYS = {"feature_slug", "feature_number", "mission_key", "legacy_aggregate_id"}
SCHEMA_PREFIX = "urn:dossier:schema:spec-kitty-3:"

# ---- formats ---------------------------------------------------------------
_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})"
                 r"(?:[Tt _](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
                 r"(?:[Zz]|[+-](\d{2}):?(\d{2}))?)?\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
                   r"|[0-9a-fA-F]{32}\Z")

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_timestamp(text):
    if not isinstance(text, str):
        return True
    m = _TS.match(text)
    if not m:
        return False
    y, mo, d, hh, mi, ss, _frac, oh, om = m.groups()
    try:
        datetime.date(int(y), int(mo), int(d))
        if hh is not None:
            datetime.time(int(hh), int(mi), int(ss or 0))
        if oh is not None:
            datetime.time(int(oh), int(om))
    except ValueError:
        return False
    return True


@FORMATS.checks("uuid")
def _is_uuid(text):
    if not isinstance(text, str):
        return True
    t = text[9:] if text.lower().startswith("urn:uuid:") else text
    if t.startswith("{") and t.endswith("}"):
        t = t[1:-1]
    return bool(_UUID.match(t))


# ---- "pattern" with JSON Schema's end-of-text "$" ----------------------------
def _ecma_dollar(pattern):
    """Rewrite every unescaped '$' outside a character class as '\\Z'."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return "".join(out)


def _pattern(validator, patrn, instance, schema):
    if validator.is_type(instance, "string") and not re.search(_ecma_dollar(patrn), instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


# ---- loading ---------------------------------------------------------------
def load_schemas(schema_dir):
    store = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(".schema.json"):
            with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
                s = json.load(f)
            Draft202012Validator.check_schema(s)
            store[s["$id"]] = s
    need = ["envelope", "common"] + list(DOSSIER_TYPES.values())
    missing = [n for n in need if SCHEMA_PREFIX + n not in store]
    if missing:
        raise ValueError(f"{schema_dir}: missing schemas {missing}")
    return store


def make_validator(store, name):
    schema = store[SCHEMA_PREFIX + name]
    resolver = RefResolver(schema["$id"], schema, store=store)
    return Validator(schema, resolver=resolver, format_checker=FORMATS)


def _path(parts):
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (("." if s else "") + str(p))
    return s


def _join(base, key):
    return f"{base}.{key}" if base else key


def _explain(err, out):
    """Turn one jsonschema error into (path, message) pairs, expanding the
    ones that cover several fields and descending into the failing branch of
    an 'optional' anyOf [X, null]."""
    where = _path(err.absolute_path)
    v = err.validator
    if v == "required":
        for name in err.validator_value:
            if isinstance(err.instance, dict) and name not in err.instance:
                out.append((_join(where, name), "required field is missing"))
        return
    if v == "additionalProperties" and err.validator_value is False:
        allowed = set(err.schema.get("properties", {}))
        for k in err.instance:
            if k not in allowed:
                out.append((_join(where, k), "unknown field (this object is closed)"))
        return
    if "propertyNames" in err.relative_schema_path:
        out.append((_join(where, err.instance), "forbidden legacy key"))
        return
    if v == "anyOf" and err.context:
        branch = [e for e in err.context if not (e.validator == "type" and e.validator_value == "null")]
        for e in branch:
            _explain(e, out)
        return
    if v == "not" and where == "aggregate_id":
        out.append((where, f"legacy aggregate name in {err.instance!r} (first segment 'feature' or 'feature_catalog')"))
        return
    if v == "not" and where == "event_type":
        out.append((where, f"forbidden legacy event name {err.instance!r}"))
        return
    if v == "const" and where == "schema_version":
        out.append((where, f"must be exactly \"3.0.0\", not {json.dumps(err.instance)}"))
        return
    if v == "pattern" and "{26}" in err.validator_value:
        out.append((where, f"{json.dumps(err.instance)} is not a 26-character ULID, 32 hex digits or a hyphenated UUID"))
        return
    if v == "type":
        kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
                int: "a number", float: "a number", type(None): "null"}.get(type(err.instance), "a value")
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        out.append((where or ".", f"is {kind}, expected {want}"))
        return
    if v == "format":
        out.append((where or ".", f"{json.dumps(err.instance)} is not a valid {err.validator_value}"))
        return
    out.append((where or ".", err.message))


def check(validator, obj):
    out = []
    for err in validator.iter_errors(obj):
        _explain(err, out)
    # one "required" error names the whole list, so the same field can come twice
    return list(dict.fromkeys(out))


def check_envelope(vals, obj, strict_types=False):
    problems = check(vals["envelope"], obj)
    if isinstance(obj, dict):
        et = obj.get("event_type")
        if isinstance(et, str):
            if et in SNAKE:
                problems.append(("event_type", f"snake_case dossier type; spec-kitty-3 spells it {SNAKE[et]}"))
            elif et in INTERNAL:
                problems.append(("event_type", f"dossier-internal type {et!r} has no spec-kitty-3 counterpart"))
            elif strict_types and et not in DOSSIER_TYPES:
                problems.append(("event_type", f"{et!r} is not one of the four dossier event types"))
    return problems


def _parse(text):
    dups = []

    def pairs(items):
        seen = {}
        for k, v in items:
            if k in seen:
                dups.append(k)
            seen[k] = v
        return seen

    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    obj = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    return obj, dups


def main(argv=None):
    ap = argparse.ArgumentParser(add_help=True, usage=__doc__.split("\n\n")[1])
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..", "schemas", "spec-kitty-3"))
    ap.add_argument("--payload", metavar="TYPE")
    ap.add_argument("--whole", action="store_true")
    ap.add_argument("--strict-types", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="print nothing; exit status only")
    ap.add_argument("file", nargs="?", default="-")
    a = ap.parse_args(argv)
    if a.payload and a.payload not in DOSSIER_TYPES:
        print(f"sk3_validate.py: --payload {a.payload!r}: not one of {sorted(DOSSIER_TYPES)}", file=sys.stderr)
        return 2
    try:
        store = load_schemas(a.schemas)
        data = sys.stdin.buffer.read() if a.file == "-" else open(a.file, "rb").read()
    except (OSError, ValueError) as e:
        print(f"sk3_validate.py: {e}", file=sys.stderr)
        return 2
    vals = {n: make_validator(store, n) for n in ["envelope"] + list(DOSSIER_TYPES.values())}
    name = "<stdin>" if a.file == "-" else a.file
    chunks = [(1, data)] if a.whole else [(i + 1, l) for i, l in enumerate(data.split(b"\n"))]
    bad = 0
    for lineno, raw in chunks:
        if not raw.strip():
            continue
        problems = []
        try:
            obj, dups = _parse(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            problems.append((".", f"not UTF-8 ({e.reason} at byte {e.start})"))
        except ValueError as e:
            problems.append((".", f"not JSON: {e}"))
        else:
            problems += [(".", f"duplicate key {k!r} in one object") for k in dups]
            if a.payload:
                problems += check(vals[DOSSIER_TYPES[a.payload]], obj)
            else:
                problems += check_envelope(vals, obj, a.strict_types)
        if problems:
            bad += 1
            if not a.quiet:
                for field, msg in problems:
                    print(f"{name}:{lineno}: {field}: {msg}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
