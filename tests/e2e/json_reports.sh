#!/usr/bin/env bash
# --json reports are valid JSON with the documented fields: scan, status,
# snapshot, drift, verify, deliveries, import, validate, replay.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
log="$WORK/log"
export DOSSIER_LOG="$log"

# keys FILE KEY...: FILE is one JSON document, or NDJSON whose last object
# holds every KEY
keys() {
  local f=$1; shift
  "$PY" - "$f" "$@" <<'PYEOF' || fail "$(basename "$f"): not the expected JSON: $(cat "$f")"
import json, sys
text = open(sys.argv[1]).read()
try:
    obj = json.loads(text)                       # one (possibly indented) document
except json.JSONDecodeError:
    lines = [json.loads(l) for l in text.splitlines() if l.strip()]   # NDJSON
    obj = lines[-1]
missing = [k for k in sys.argv[2:] if k not in obj]
sys.exit(f"missing keys {missing}" if missing else 0)
PYEOF
}

"$BIN" scan "$m" --mission-type software-dev --json > "$WORK/scan.json"
keys "$WORK/scan.json" feature_slug run_id completed completeness_status snapshot_id parity_hash_sha256
"$BIN" status --json > "$WORK/status.json";         keys "$WORK/status.json"
"$BIN" snapshot --json > "$WORK/snapshot.json";     keys "$WORK/snapshot.json"
"$BIN" drift --json > "$WORK/drift.json" || true;   keys "$WORK/drift.json"
"$BIN" verify --json > "$WORK/verify.json";         keys "$WORK/verify.json"
"$BIN" deliveries --json > "$WORK/deliveries.json"; keys "$WORK/deliveries.json"

"$BIN" events > "$WORK/events.ndjson"
"$BIN" import --json "$WORK/events.ndjson" > "$WORK/import.json"
keys "$WORK/import.json" file envelopes added duplicates
grep -q '"added":0' "$WORK/import.json" || fail "re-import added events"

"$BIN" validate --json "$WORK/events.ndjson" > "$WORK/validate.json"
keys "$WORK/validate.json" file events invalid
echo '{"event_id": 1}' >> "$WORK/events.ndjson"
expect_exit 1 "$BIN" validate --json "$WORK/events.ndjson" > "$WORK/validate2.json"
keys "$WORK/validate2.json" file events invalid
grep -q '"line":' "$WORK/validate2.json" || fail "validate --json names no line"

"$BIN" replay --json > "$WORK/replay.json"
keys "$WORK/replay.json" replay events_read derived_new head
"$BIN" replay --verify --json > "$WORK/rverify.json"
keys "$WORK/rverify.json" verify differences
grep -q '"differences":0' "$WORK/rverify.json" || fail "replay --verify found differences"
echo "json_reports: ok"
