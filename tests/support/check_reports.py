#!/usr/bin/python3
"""Validate `dossier CMD --json` output against schemas/reports/ with Debian's
python3-jsonschema (draft 2020-12).

Usage: check_reports.py SCHEMA_DIR --check
       check_reports.py SCHEMA_DIR [--ndjson] REPORT FILE [[--ndjson] REPORT FILE]...

--check: every *.schema.json of SCHEMA_DIR is a valid draft 2020-12 schema
whose $id is urn:dossier:report:1:<file name>, and every $ref resolves.
REPORT FILE: FILE holds one JSON document (or, with --ndjson, one per
non-empty line, at least one) valid against REPORT.schema.json; the shared
definitions come from common.schema.json through the $id store.  Several
pairs are checked in one run (loading jsonschema takes most of a second);
every invalid file is named.

Exit status: 0 valid, 1 invalid (each error printed with its JSON path),
2 usage or unreadable input, 77 python3-jsonschema missing.
"""
import json
import os
import sys

try:
    from jsonschema import Draft202012Validator, RefResolver
except ImportError:  # pragma: no cover - reported, not hidden
    print("check_reports.py: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(77)

ID_PREFIX = "urn:dossier:report:1:"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def load(schema_dir):
    """{name: schema} for every *.schema.json; problems listed."""
    schemas, problems = {}, []
    for fname in sorted(os.listdir(schema_dir)):
        if not fname.endswith(".schema.json"):
            continue
        name = fname[: -len(".schema.json")]
        try:
            with open(os.path.join(schema_dir, fname), encoding="utf-8") as f:
                s = json.load(f)
        except (OSError, ValueError) as e:
            problems.append("%s: %s" % (fname, e))
            continue
        if s.get("$schema") != DRAFT:
            problems.append("%s: $schema is not draft 2020-12" % fname)
        if s.get("$id") != ID_PREFIX + name:
            problems.append("%s: $id is not %s%s" % (fname, ID_PREFIX, name))
        try:
            Draft202012Validator.check_schema(s)
        except Exception as e:  # SchemaError
            problems.append("%s: not a valid schema: %s" % (fname, e))
        schemas[name] = s
    return schemas, problems


def validator(schemas, name):
    store = {s["$id"]: s for s in schemas.values() if "$id" in s}
    s = schemas[name]
    return Draft202012Validator(s, resolver=RefResolver.from_schema(s, store=store))


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def check_all(schemas):
    problems = []
    for name, s in schemas.items():
        v = validator(schemas, name)
        for ref in refs(s):
            try:
                with v.resolver.resolving(ref):
                    pass
            except Exception as e:  # RefResolutionError
                problems.append("%s.schema.json: $ref %s does not resolve: %s" % (name, ref, e))
    return problems


def main(argv):
    if len(argv) == 3 and argv[2] == "--check":
        schemas, problems = load(argv[1])
        if "common" not in schemas:
            problems.append("common.schema.json is missing")
        problems += check_all(schemas)
        for p in problems:
            print(p)
        return 1 if problems else 0
    pairs, i = [], 2
    while i < len(argv):
        nd = argv[i] == "--ndjson"
        i += nd
        if i + 1 >= len(argv):
            print(__doc__, file=sys.stderr)
            return 2
        pairs.append((argv[i], argv[i + 1], nd))
        i += 2
    if not pairs:
        print(__doc__, file=sys.stderr)
        return 2
    schemas, problems = load(argv[1])
    if problems:
        for p in problems:
            print(p)
        return 1
    worst = 0
    for name, path, nd in pairs:
        worst = max(worst, check_file(schemas, argv[1], name, path, nd))
    return worst


def check_file(schemas, schema_dir, name, path, ndjson):
    """0 valid, 1 invalid (printed), 2 unusable arguments."""
    if name not in schemas:
        print("no schema %s.schema.json in %s" % (name, schema_dir), file=sys.stderr)
        return 2
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        return 2
    try:
        if ndjson:
            docs = [(i + 1, json.loads(l)) for i, l in enumerate(text.splitlines()) if l.strip()]
        else:
            docs = [(1, json.loads(text))]
    except ValueError as e:
        print("%s: not JSON: %s" % (path, e))
        return 1
    if not docs:
        print("%s: no JSON document" % path)
        return 1
    v = validator(schemas, name)
    bad = 0
    for line, doc in docs:
        try:
            errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
        except Exception as e:  # RefResolutionError: a broken schema, not bad output
            print("%s: a $ref does not resolve: %s" % (name, e))
            return 1
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print("%s:%d: %s: %s: %s" % (os.path.basename(path), line, name, where, e.message))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
