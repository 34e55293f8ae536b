#!/usr/bin/env bash
# `validate --profile spec-kitty-3` and `import --profile spec-kitty-3`
# (issue 19 item 4) on our own streams (tests/data/interop/events/):
#   - validate gives the verdict of tests/support/sk3_validate.py on every
#     line and reports every problem of a line: the (line, field) pairs are
#     exactly those of invalid.expected.txt;
#   - import refuses a file with any invalid line (each problem named
#     FILE:LINE: FIELD, nothing appended), and what has no canonical form
#     (a sha512 content hash, a non-dossier type);
#   - import of the valid stream maps UUID and lower-case ids to ULIDs
#     deterministically (a UUID's 16 bytes; the same UUID in its two
#     spellings is one event), re-import adds nothing;
#   - status, snapshot and drift work on a log fed only by imports of
#     upstream-style events (no context_diagnostics, UUID ids, no scan marker).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

data="$SRC/tests/data/interop/events"
cp "$data/valid.ndjson" "$data/invalid.ndjson" "$WORK/"
cd "$WORK"

# 1. validate: verdicts and every (line, field) pair
expect_exit 0 "$BIN" validate --profile spec-kitty-3 valid.ndjson
expect_exit 2 "$BIN" validate --profile nope valid.ndjson
"$BIN" validate --profile spec-kitty-3 invalid.ndjson > got.txt 2>/dev/null && fail "invalid.ndjson passed"
"$PY" - got.txt "$data/invalid.expected.txt" <<'PYEOF' || fail "validate's problems differ from invalid.expected.txt"
import re, sys
got = set()
for l in open(sys.argv[1]):
    m = re.match(r"invalid\.ndjson:(\d+): (\S+): ", l)
    assert m, l
    got.add((int(m.group(1)), m.group(2)))
want = set()
for l in open(sys.argv[2]):
    m = re.match(r"(\d+): (\S+): ", l)
    if m:
        want.add((int(m.group(1)), m.group(2)))
assert got == want, ("missing", sorted(want - got), "extra", sorted(got - want))
assert {n for n, _ in got} == set(range(1, 28)), "every line is invalid"
PYEOF
# every problem of a line, not only the first: line 18 has four
[ "$(grep -c '^invalid.ndjson:18: ' got.txt)" -eq 4 ] || fail "line 18: expected 4 problems"
"$BIN" validate --profile spec-kitty-3 --json invalid.ndjson > got.json || true
"$PY" - got.json <<'PYEOF' || fail "validate --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[-1] == {"file": "invalid.ndjson", "events": 27, "invalid": 27}, rows[-1]
assert {"file": "invalid.ndjson", "line": 1, "field": "build_id",
        "error": "required field is missing"} in rows, rows[:3]
PYEOF
# the independent validator agrees on both files
"$PY" "$SRC/tests/support/sk3_validate.py" -q valid.ndjson 2>/dev/null \
  || "$PY" "$SRC/tests/support/sk3_validate.py" valid.ndjson || fail "sk3_validate.py on valid.ndjson"

# 2. import refuses invalid input, names line and field, appends nothing
log="$WORK/log"
expect_exit 1 "$BIN" import --profile spec-kitty-3 --log "$log" invalid.ndjson 2> err.txt
grep -q '^dossier import: invalid.ndjson:1: build_id: required field is missing$' err.txt || fail "import: line 1 not named: $(head -3 err.txt)"
grep -q '^dossier import: invalid.ndjson:5: payload.namespace.feature_slug: forbidden legacy key$' err.txt || fail "import: legacy key"
grep -q 'nothing was imported' err.txt || fail "import: no summary"
[ ! -e "$log" ] || [ "$("$BIN" events --log "$log" | wc -l)" -eq 0 ] || fail "import of an invalid file appended"
# valid upstream, but no canonical form: a sha512 content hash, another type
"$PY" - valid.ndjson > nocanon.ndjson <<'PYEOF'
import json, sys
e = json.loads(open(sys.argv[1]).readline())
e["payload"]["content_ref"]["algorithm"] = "sha512"
print(json.dumps(e))
e = json.loads(open(sys.argv[1]).readline())
e["event_type"] = "WPStatusChanged"; e["event_id"] = "01KA0ABCDEFGH00000000000ZZ"; e["payload"] = {}
print(json.dumps(e))
PYEOF
expect_exit 0 "$BIN" validate --profile spec-kitty-3 nocanon.ndjson
expect_exit 1 "$BIN" import --profile spec-kitty-3 --log "$log" nocanon.ndjson 2> err.txt
grep -q 'nocanon.ndjson:1: payload.content_ref.algorithm: .sha512.: only sha256' err.txt || fail "sha512: $(cat err.txt)"
grep -q "nocanon.ndjson:2: event_type: 'WPStatusChanged' has no dossier counterpart" err.txt || fail "other type: $(cat err.txt)"

# 3. import the valid stream: ids mapped, re-import adds nothing
"$BIN" import --profile spec-kitty-3 --log "$log" --json valid.ndjson > imp1.json || fail "import valid.ndjson"
"$BIN" import --profile spec-kitty-3 --log "$log" --json valid.ndjson > imp2.json || fail "re-import valid.ndjson"
"$BIN" events --log "$log" > back.ndjson
"$PY" - imp1.json imp2.json back.ndjson <<'PYEOF' || fail "ids or idempotence"
import json, sys, uuid
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
# 9 lines, one run completion; line 3 is line 2's UUID spelled as 32 hex
assert a["events"] == 10 and a["added"] == 9 and a["duplicates"] == 1, a
assert b["added"] == 0, b
ev = {json.loads(l)["event_id"]: json.loads(l) for l in open(sys.argv[3])}
def ulid(u):
    n = uuid.UUID(u).int
    alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alpha[(n >> (5 * (25 - i))) & 31] for i in range(26))
assert ulid("0f7d2c9e-4b1a-4e8f-9c3d-2a1b0c9d8e7f") in ev, "UUID id not mapped to its bytes"
assert "01KA0ABCDEFGH0000000000004" in ev, "lower-case ULID not upper-cased"
assert all(e["schema_version"] == "1.0.0" for e in ev.values())
assert any(e["event_type"] == "dossier_scan_completed" for e in ev.values())
PYEOF

# 4. an import-only log of upstream-style events: status, snapshot, drift
"$PY" - up1.ndjson up2.ndjson <<'PYEOF'
import json, sys, uuid
def ev(run, n, path, h, ts):
    return {"event_id": str(uuid.UUID(int=n)), "event_type": "MissionDossierArtifactIndexed",
            "aggregate_id": "m9:" + path, "timestamp": ts, "build_id": "wt-1", "node_id": "sk-node",
            "lamport_clock": n, "project_uuid": "5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d",
            "correlation_id": str(uuid.UUID(int=run)), "causation_id": None, "schema_version": "3.0.0",
            "payload": {"namespace": {"project_uuid": "5f0c6d3e-9a41-4c2b-8d77-1e2f3a4b5c6d",
                                      "mission_slug": "m9", "target_branch": "main",
                                      "mission_type": "software-dev", "manifest_version": "1"},
                        "artifact_id": {"mission_type": "software-dev", "path": path, "artifact_class": "input"},
                        "content_ref": {"hash": h * 64, "algorithm": "sha256", "size_bytes": 10},
                        "indexed_at": ts}}
with open(sys.argv[1], "w") as f:
    f.write(json.dumps(ev(1000, 1, "spec.md", "a", "2026-08-01T10:00:00Z")) + "\n")
    f.write(json.dumps(ev(1000, 2, "plan.md", "b", "2026-08-01T10:00:00Z")) + "\n")
with open(sys.argv[2], "w") as f:
    f.write(json.dumps(ev(2000, 3, "spec.md", "a", "2026-08-02T10:00:00Z")) + "\n")
    f.write(json.dumps(ev(2000, 4, "plan.md", "c", "2026-08-02T10:00:00Z")) + "\n")
PYEOF
up="$WORK/uplog"
"$BIN" import --profile spec-kitty-3 --log "$up" -q up1.ndjson || fail "import up1"
"$BIN" status --log "$up" --feature m9 > st1.txt || true
grep -q "2 total" st1.txt || fail "status on an import-only log: $(cat st1.txt)"
"$BIN" snapshot --log "$up" --feature m9 > /dev/null || fail "snapshot on an import-only log"
expect_exit 0 "$BIN" baseline accept --log "$up" --feature m9 > /dev/null
expect_exit 0 "$BIN" drift --log "$up" --feature m9 > /dev/null
"$BIN" import --profile spec-kitty-3 --log "$up" -q up2.ndjson || fail "import up2"
expect_exit 4 "$BIN" drift --log "$up" --feature m9 > /dev/null
"$BIN" events --log "$up" --type mission_dossier_parity_drift_detected | grepq '"severity":"warning"' \
  || fail "no drift event on the import-only log"
echo "ok"
