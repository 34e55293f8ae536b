#!/usr/bin/env bash
# `events --profile spec-kitty-3` (issue 19 item 3): every event of a scan +
# baseline + drift run is rendered as a spec-kitty-events 3.0.0 envelope
# that the independent validator (tests/support/sk3_validate.py, Debian's
# python3-jsonschema, --strict-types) accepts, one per canonical event of the
# four dossier types, the internal types left out; the wp04 output is the
# canonical one, unchanged; and the rendering round-trips through
# `import --profile spec-kitty-3` into a fresh log to the same canonical
# events, byte for byte, where status, snapshot and drift then work.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
scan() { "$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true; }
scan
expect_exit 0 "$BIN" baseline accept --log "$log" > /dev/null
echo "one more line" >> "$m/plan.md"
echo "new evidence" > "$m/evidence/new-finding.md"
scan
rm "$m/spec.md"
scan
expect_exit 4 "$BIN" drift --log "$log" > /dev/null

"$BIN" events --log "$log" > "$WORK/canon.ndjson"
"$BIN" events --log "$log" --profile wp04 > "$WORK/canon-wp04.ndjson"
cmp -s "$WORK/canon.ndjson" "$WORK/canon-wp04.ndjson" || fail "--profile wp04 differs from the default output"
"$BIN" events --log "$log" --profile spec-kitty-3 > "$WORK/sk3.ndjson"
expect_exit 2 "$BIN" events --log "$log" --profile spec-kitty-4

# 1. every rendered event passes the validator written from upstream's rules
"$PY" "$SRC/tests/support/sk3_validate.py" --strict-types "$WORK/sk3.ndjson" \
  || fail "the spec-kitty-3 rendering fails sk3_validate.py"

# 2. one per canonical event of the four types, same ids and order; the
#    drift events map to their kinds; every type occurs
"$PY" - "$WORK/canon.ndjson" "$WORK/sk3.ndjson" <<'PYEOF' || fail "rendering does not match the canonical events"
import json, sys
canon = [json.loads(l) for l in open(sys.argv[1])]
sk3 = [json.loads(l) for l in open(sys.argv[2])]
names = {"mission_dossier_artifact_indexed": "MissionDossierArtifactIndexed",
         "mission_dossier_artifact_missing": "MissionDossierArtifactMissing",
         "mission_dossier_snapshot_computed": "MissionDossierSnapshotComputed",
         "mission_dossier_parity_drift_detected": "MissionDossierParityDriftDetected"}
four = [e for e in canon if e["event_type"] in names]
assert len(four) == len(sk3), (len(four), len(sk3))
assert len(canon) > len(four), "the run has internal events to leave out"
for c, s in zip(four, sk3):
    assert s["event_id"] == c["event_id"] and s["event_type"] == names[c["event_type"]], (c, s)
    assert s["schema_version"] == "3.0.0" and s["build_id"] and s["correlation_id"], s
    for k in ("feature_slug", "feature_number", "mission_key", "legacy_aggregate_id"):
        assert k not in json.dumps(s), (k, s)
    assert not s["aggregate_id"].startswith("feature/"), s
    ns = s["payload"]["namespace"]
    assert ns["mission_slug"] == c["payload"]["feature_slug"] and ns["mission_type"] == "software-dev", s
    if c["event_type"] == "mission_dossier_artifact_indexed":
        cr = s["payload"]["content_ref"]
        assert cr["hash"] == c["payload"]["content_hash_sha256"] and cr["algorithm"] == "sha256", s
        assert s["payload"]["artifact_id"]["path"] == c["payload"]["relative_path"], s
    if c["event_type"] == "mission_dossier_snapshot_computed":
        assert s["payload"]["snapshot_hash"] == "sha256:" + c["payload"]["parity_hash_sha256"], s
seen = {s["event_type"] for s in sk3}
assert seen == set(names.values()), seen
kinds = {s["payload"]["drift_kind"] for s in sk3 if s["event_type"] == "MissionDossierParityDriftDetected"}
assert "artifact_removed" in kinds, kinds
PYEOF

# 3. round trip: import into a fresh log gives the same canonical events
fresh="$WORK/fresh"
"$BIN" import --profile spec-kitty-3 --log "$fresh" --json "$WORK/sk3.ndjson" > "$WORK/imp1.json" \
  || fail "import --profile spec-kitty-3 of our own rendering"
"$BIN" events --log "$fresh" > "$WORK/back.ndjson"
"$PY" - "$WORK/canon.ndjson" "$WORK/back.ndjson" <<'PYEOF' || fail "round trip changed events"
import json, sys
four = ("mission_dossier_artifact_indexed", "mission_dossier_artifact_missing",
        "mission_dossier_snapshot_computed", "mission_dossier_parity_drift_detected")
canon = {json.loads(l)["event_id"]: l for l in open(sys.argv[1]) if json.loads(l)["event_type"] in four}
back = {json.loads(l)["event_id"]: l for l in open(sys.argv[2])}
for i, line in canon.items():
    assert back.get(i) == line, ("differs after the round trip", line, back.get(i))
PYEOF
# re-import adds nothing
"$BIN" import --profile spec-kitty-3 --log "$fresh" --json "$WORK/sk3.ndjson" > "$WORK/imp2.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["added"] == 0, d' "$WORK/imp2.json" \
  || fail "re-import added events"
# re-importing the rendering into the log it came from adds nothing either
"$BIN" import --profile spec-kitty-3 --log "$log" --json "$WORK/sk3.ndjson" > "$WORK/imp3.json" \
  || fail "re-import into the source log"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["added"] == 0, d' "$WORK/imp3.json" \
  || fail "re-import into the source log added events"

# 4. the import-only log: its snapshots are the source's (same parity hashes)
"$BIN" snapshot --log "$log" --json > "$WORK/snap-src.json" || true
expect_exit 1 "$BIN" snapshot --log "$fresh" --json > "$WORK/snap-fresh.json"   # 1: incomplete (spec.md removed)
"$PY" - "$WORK/snap-src.json" "$WORK/snap-fresh.json" <<'PYEOF' || fail "snapshot differs on the import-only log"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def pick(d):
    d = d[0] if isinstance(d, list) else d
    d = d.get("snapshot", d)
    return d["parity_hash_sha256"], d["completeness_status"]
assert pick(a) == pick(b), (pick(a), pick(b))
PYEOF
"$BIN" status --log "$fresh" > "$WORK/status.txt" || true
grep -q "incomplete" "$WORK/status.txt" || fail "status on the import-only log: $(cat "$WORK/status.txt")"

# 5. --follow: a scan made while following renders with its run's namespace
#    (its completion comes after its artifact events)
"$BIN" events --log "$log" --profile spec-kitty-3 --follow > "$WORK/follow.ndjson" &
fpid=$!
CLEANUP_PIDS+=("$fpid")
before=$(wc -l < "$WORK/sk3.ndjson")
sleep 0.5
echo "again" >> "$m/plan.md"
scan
for _ in $(seq 1 50); do
  [ "$(wc -l < "$WORK/follow.ndjson")" -gt "$before" ] && \
    grep -q MissionDossierSnapshotComputed <(tail -n +"$((before + 1))" "$WORK/follow.ndjson") && break
  sleep 0.1
done
sleep 0.5
kill -TERM "$fpid"; wait "$fpid" || fail "events --follow exit"
new=$(tail -n +"$((before + 1))" "$WORK/follow.ndjson")
[ -n "$new" ] || fail "--follow printed nothing for the new scan"
! grep -q '"unknown"' <<<"$new" || fail "--follow rendered a namespace as unknown"
"$PY" "$SRC/tests/support/sk3_validate.py" --strict-types "$WORK/follow.ndjson" || fail "--follow output"
echo "ok"
