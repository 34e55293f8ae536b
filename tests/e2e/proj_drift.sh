#!/usr/bin/env bash
# Drift scenarios with the real binary, against an accepted baseline:
#   unchanged tree          -> no drift event, `dossier drift` exits 0
#   new file                -> info, its key in missing_in_baseline
#   file edited             -> warning, old -> new hash (checked with hashlib),
#                              in drift's output and in the event's optional
#                              content_changed (issue 20 item 4)
#   required file deleted   -> error, its key in missing_in_local
#   baseline of other branch-> not compared, no event, exit 5
# Every event the run leaves in the log validates ('dossier validate', and
# schemas/ through python3-jsonschema); a log whose drift events were written
# before content_changed existed still passes 'replay --verify'.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
scan() { "$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true; }
drift_json() { "$BIN" drift --log "$log" --json > "$WORK/drift.json" || true; }
field() { "$PY" -c "import json,sys; d=json.load(open('$WORK/drift.json')); print($1)"; }
n_drift_events() { "$BIN" events --log "$log" --type mission_dossier_parity_drift_detected | wc -l; }
sha() { "$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

scan
expect_exit 0 "$BIN" baseline accept --log "$log"
expect_exit 2 "$BIN" baseline show --log "$log" --snapshot x 2>/dev/null
expect_exit 0 "$BIN" baseline show --log "$log" > /dev/null

# 1. unchanged
scan
expect_exit 0 "$BIN" drift --log "$log"
drift_json
[ "$(field 'd["status"]')" = none ] || fail "unchanged tree: status $(field 'd["status"]')"
[ "$(n_drift_events)" -eq 0 ] || fail "unchanged tree emitted a drift event"

# 2. a new file
echo "new evidence" > "$m/evidence/new-finding.md"
scan
expect_exit 4 "$BIN" drift --log "$log"
drift_json
[ "$(field 'd["severity"]')" = info ] || fail "new file: severity $(field 'd["severity"]')"
[ "$(field 'len(d["missing_in_baseline"])')" = 1 ] || fail "new file: missing_in_baseline $(field 'd["missing_in_baseline"]')"
[ "$(field 'd["added"][0]["relative_path"]')" = evidence/new-finding.md ] || fail "new file not listed as added"
newkey=$(field 'd["missing_in_baseline"][0]')
[ "$(n_drift_events)" -eq 1 ] || fail "new file: expected 1 drift event"
"$BIN" events --log "$log" --type mission_dossier_parity_drift_detected | tail -1 > "$WORK/ev.json"
"$PY" - "$WORK/ev.json" "$newkey" <<'PYEOF' || fail "drift event payload"
import json, sys
e = json.load(open(sys.argv[1]))
p = e["payload"]
assert p["severity"] == "info", p
assert p["missing_in_baseline"] == [sys.argv[2]], p
assert p["missing_in_local"] == [], p
assert "content_changed" not in p, p     # only added: the payload as it always was
assert e["causation_id"] is not None
PYEOF

# 3. an edited file
expect_exit 0 "$BIN" baseline accept --log "$log"
old=$(sha "$m/plan.md")
echo "one more line" >> "$m/plan.md"
new=$(sha "$m/plan.md")
scan
expect_exit 4 "$BIN" drift --log "$log"
drift_json
[ "$(field 'd["severity"]')" = warning ] || fail "edit: severity $(field 'd["severity"]')"
[ "$(field 'd["changed"][0]["relative_path"]')" = plan.md ] || fail "edit: plan.md not in changed"
[ "$(field 'd["changed"][0]["old_sha256"]')" = "$old" ] || fail "edit: wrong old hash"
[ "$(field 'd["changed"][0]["new_sha256"]')" = "$new" ] || fail "edit: wrong new hash"
"$BIN" drift --log "$log" > "$WORK/drift.txt" || true
grep -q "$old -> $new" "$WORK/drift.txt" || fail "edit: text output lacks old -> new"
"$BIN" events --log "$log" --type mission_dossier_parity_drift_detected | tail -1 > "$WORK/ev.json"
"$PY" - "$WORK/ev.json" "$old" "$new" <<'PYEOF' || fail "edit: the drift event does not say what changed"
import json, sys
p = json.load(open(sys.argv[1]))["payload"]
assert p["missing_in_local"] == [] and p["missing_in_baseline"] == [], p
cc = p.get("content_changed")
assert cc is not None, "no content_changed in %r" % p
assert len(cc) == 1, cc
assert cc[0]["relative_path"] == "plan.md", cc
assert (cc[0]["old_sha256"], cc[0]["new_sha256"]) == (sys.argv[2], sys.argv[3]), cc
assert sorted(cc[0]) == ["artifact_key", "new_sha256", "old_sha256", "relative_path"], cc
PYEOF

# 4. a required file deleted
expect_exit 0 "$BIN" baseline accept --log "$log"
speckey=$("$BIN" snapshot --log "$log" --artifacts --json | "$PY" -c '
import json, sys
for a in json.load(sys.stdin)["artifacts"]:
    if a["relative_path"] == "spec.md":
        print(a["artifact_key"])')
[ -n "$speckey" ] || fail "spec.md not in the snapshot"
cp "$m/spec.md" "$WORK/spec.md.saved"
rm "$m/spec.md"
scan
expect_exit 4 "$BIN" drift --log "$log"
drift_json
[ "$(field 'd["severity"]')" = error ] || fail "delete: severity $(field 'd["severity"]')"
[ "$(field '" ".join(d["missing_in_local"])')" = "$speckey" ] || fail "delete: missing_in_local $(field 'd["missing_in_local"]')"
expect_exit 1 "$BIN" snapshot --log "$log" > /dev/null
[ "$(n_drift_events)" -eq 3 ] || fail "expected 3 drift events after the deletion"

# 5. restored, then a baseline for another branch: not compared
cp "$WORK/spec.md.saved" "$m/spec.md"
scan
expect_exit 0 "$BIN" drift --log "$log"
expect_exit 0 "$BIN" baseline accept --log "$log" --branch release
echo "changed again" >> "$m/plan.md"
scan
expect_exit 5 "$BIN" drift --log "$log"
expect_exit 5 "$BIN" drift --log "$log" --json
drift_json
[ "$(field 'd["status"]')" = not_compared ] || fail "other branch: status $(field 'd["status"]')"
[ "$(field 'd["key_mismatch"][0]["field"]')" = target_branch ] || fail "other branch: mismatch field"
"$BIN" drift --log "$log" > "$WORK/drift.txt" || true
grep -q "not compared" "$WORK/drift.txt" || fail "other branch: text does not say not compared"
[ "$(n_drift_events)" -eq 3 ] || fail "other-branch baseline produced a drift event"
"$BIN" status --log "$log" > "$WORK/status.txt"
grep -q "not compared" "$WORK/status.txt" || fail "status does not show the comparison state"

# 6. a rescan that leaves out --mission-type reuses the remembered one, so
#    its snapshot is compared; one made without a manifest (--reset-settings)
#    cannot be compared with the baseline (software-dev), and a drift gate
#    must not pass on that
expect_exit 0 "$BIN" baseline accept --log "$log"
"$BIN" scan "$m" --log "$log" -q > /dev/null || true
expect_exit 0 "$BIN" drift --log "$log"
"$BIN" scan "$m" --log "$log" -q --reset-settings > /dev/null 2>&1 || true
expect_exit 5 "$BIN" drift --log "$log"
drift_json
[ "$(field 'd["status"]')" = not_compared ] || fail "no mission type: status $(field 'd["status"]')"
field '[m["field"] for m in d["key_mismatch"]]' | grepq mission || fail "no mission type: mismatch $(field 'd["key_mismatch"]')"

"$BIN" events --log "$log" > "$WORK/all.ndjson"
expect_exit 0 "$BIN" validate "$WORK/all.ndjson"
if "$PY" -c 'import jsonschema' 2>/dev/null; then
  "$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/all.ndjson" > "$WORK/val.txt" \
    || fail "events do not validate against schemas/: $(cat "$WORK/val.txt")"
fi
expect_exit 0 "$BIN" verify --log "$log" > /dev/null

# A log whose drift events were written before content_changed existed (the
# same events without the field, imported as a replica) verifies clean.
"$PY" - "$WORK/all.ndjson" > "$WORK/old.ndjson" <<'PYEOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["payload"].pop("content_changed", None) is not None:
        n += 1
    print(json.dumps(e, separators=(",", ":")))
assert n >= 1, "no drift event with content_changed to strip"
PYEOF
"$BIN" import --log "$WORK/oldlog" --trust-internal "$WORK/old.ndjson" > /dev/null 2>&1 \
  || fail "import of the older events failed"
"$BIN" replay --verify --log "$WORK/oldlog" > "$WORK/verify.txt" 2>&1 \
  || fail "a log with drift events from before content_changed does not verify: $(cat "$WORK/verify.txt")"
"$BIN" replay --verify --log "$log" > "$WORK/verify.txt" 2>&1 \
  || fail "replay --verify: $(cat "$WORK/verify.txt")"
echo "drift scenarios ok"
