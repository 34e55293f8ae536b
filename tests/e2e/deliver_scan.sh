#!/usr/bin/env bash
# deliver_scan: every event of a scan with a baseline and a drift reaches a
# webhook receiver, signed: the set of received webhook-ids equals the set of
# event_ids in the log, all four canonical event types arrive, a second run
# sends nothing, and `dossier deliveries` / `endpoint list` agree.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

M=$(sample_copy m)
LOG="$M/.dossier"
"$BIN" scan --mission-type software-dev "$M" > /dev/null || fail "first scan"
"$BIN" baseline accept --log "$LOG" > /dev/null || fail "baseline accept"
# Removing the required spec gives an artifact_missing event and, against the
# baseline, a parity drift.
rm "$M/spec.md"
rc=0; "$BIN" scan --mission-type software-dev "$M" > /dev/null || rc=$?
[ "$rc" -eq 1 ] || [ "$rc" -eq 4 ] || fail "second scan exited $rc (want 1 or 4)"
# Projections catch up inside scan; replay is a no-op then, and derives the
# snapshot and drift events otherwise.
"$BIN" replay --log "$LOG" > /dev/null || fail "replay"
log_ids "$LOG" | sort > "$WORK/ids"
[ "$(wc -l < "$WORK/ids")" -gt 10 ] || fail "too few events in the log"

make_secret
start_receiver recv --secret-file "$SECRET" --deadline 120
URL="http://127.0.0.1:$RECV_PORT/hooks/dossier"

"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" --concurrency 4 \
  --json > "$WORK/summary.json" || fail "deliver exited non-zero"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "receiver check"

"$PY" - "$WORK/recv.ndjson" "$WORK/summary.json" "$WORK/ids" <<'EOF' || fail "types/summary"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
types = {r["event_type"] for r in recs if r["accepted"]}
need = {"mission_dossier_artifact_indexed", "mission_dossier_snapshot_computed",
        "mission_dossier_parity_drift_detected", "mission_dossier_artifact_missing"}
ids = [l.strip() for l in open(sys.argv[3])]
s = json.load(open(sys.argv[2]))
assert s["delivered"] == len(ids), s
assert s["pending"] == 0 and s["dead"] == 0 and s["disabled"] is False, s
if need - types:
    sys.exit("types never delivered: %s" % sorted(need - types))
print("types delivered:", sorted(types))
EOF

# Each body is byte for byte the envelope line `dossier events` prints.
"$BIN" events --log "$LOG" > "$WORK/events.ndjson"
"$PY" - "$WORK/recv.ndjson" "$WORK/events.ndjson" <<'EOF' || fail "bodies differ from the log"
import hashlib, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
lines = {}
for l in open(sys.argv[2], "rb"):
    l = l.rstrip(b"\n")
    lines[json.loads(l)["event_id"]] = hashlib.sha256(l).hexdigest()
for r in recs:
    if r["body_sha256"] != lines[r["id"]]:
        sys.exit("body of %s differs from dossier events" % r["id"])
EOF

# A second run has nothing to send.
before=$(wc -l < "$WORK/recv.ndjson")
"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" -q || fail "second deliver"
after=$(wc -l < "$WORK/recv.ndjson")
[ "$before" -eq "$after" ] || fail "second deliver sent $((after - before)) request(s)"

"$BIN" deliveries --log "$LOG" --json > "$WORK/deliveries.json" || fail "deliveries"
"$PY" - "$WORK/deliveries.json" "$WORK/ids" <<'EOF' || fail "deliveries counts"
import json, sys
d = json.load(open(sys.argv[1]))
n = sum(1 for l in open(sys.argv[2]) if l.strip())
assert len(d) == 1, d
e = d[0]
assert e["endpoint"].startswith("url-"), e
assert (e["pending"], e["delivered"], e["dead"], e["retrying"]) == (0, n, 0, 0), e
assert e["cursor"] == n, e
EOF

# New events after a delivery are pending, then delivered by the next run.
echo "another change" >> "$M/plan.md"
rc=0; "$BIN" scan --mission-type software-dev "$M" > /dev/null || rc=$?
[ "$rc" -le 1 ] || [ "$rc" -eq 4 ] || fail "third scan exited $rc"
"$BIN" replay --log "$LOG" > /dev/null || fail "replay"
pending=$("$BIN" deliveries --log "$LOG" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["pending"])')
[ "$pending" -gt 0 ] || fail "no pending events after a new scan"
"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" -q || fail "third deliver"
log_ids "$LOG" | sort > "$WORK/ids"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "receiver check after new scan"

# The secret never shows up in any output or in the delivery state.
"$BIN" endpoint list --log "$LOG" --json > "$WORK/list.json"
"$BIN" deliveries --log "$LOG" > "$WORK/deliveries.txt"
if grep -rq "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" "$WORK/list.json" "$WORK/deliveries.txt" \
     "$WORK/summary.json" "$LOG/delivery"; then
  fail "the secret leaked into output or state"
fi
echo "deliver_scan: ok"
