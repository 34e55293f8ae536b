#!/usr/bin/env bash
# The JSON Schemas in schemas/ and the C validator agree: every schema is a
# valid draft-07 schema, one per event type, and python3-jsonschema gives the
# verdicts of tests/data/payload_cases.json (which test_event_validate holds
# the C validator to).  Also checks that a schema loosened on purpose is
# caught, so the check itself cannot silently pass.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

"$PY" -c 'import jsonschema' 2>/dev/null || { echo "python3-jsonschema missing: skip"; exit 77; }

"$PY" "$SRC/tests/support/check_schemas.py" "$SRC/schemas" "$SRC/tests/data/payload_cases.json" \
  || fail "schemas and the verdict table disagree"

# The check has teeth: drop the hash pattern from one schema -> disagreement.
cp -r "$SRC/schemas" "$WORK/schemas"
"$PY" - "$WORK/schemas/mission_dossier_artifact_indexed.schema.json" <<'PYEOF'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
del s["properties"]["payload"]["properties"]["content_hash_sha256"]["pattern"]
json.dump(s, open(p, "w"))
PYEOF
if "$PY" "$SRC/tests/support/check_schemas.py" "$WORK/schemas" "$SRC/tests/data/payload_cases.json" \
     > "$WORK/out" 2>&1; then
  fail "a loosened schema was not caught"
fi
grep -q "uppercase hash refused" "$WORK/out" || { cat "$WORK/out"; fail "disagreement not named"; }

# A stray or missing schema file is reported.
rm "$WORK/schemas/dossier_artifact_removed.schema.json"
"$PY" "$SRC/tests/support/check_schemas.py" "$WORK/schemas" "$SRC/tests/data/payload_cases.json" \
  > "$WORK/out2" 2>&1 && fail "missing schema file not reported"
grep -q "missing schema file dossier_artifact_removed.schema.json" "$WORK/out2" || fail "missing schema not named"
echo "schema agreement ok"
