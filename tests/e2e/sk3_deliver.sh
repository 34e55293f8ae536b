#!/usr/bin/env bash
# Webhook delivery with the spec-kitty-3 profile (issue 19 item 3):
#   - `endpoint add --profile spec-kitty-3` stores it; `endpoint list` shows
#     it (text and JSON); a wp04 endpoint lists as before;
#   - `deliver --endpoint` sends each of the four dossier types as a
#     spec-kitty-events 3.0.0 envelope that sk3_validate.py accepts, the
#     internal types not at all, each signed over the rendered body (the
#     receiver checks the signature against the bytes it got);
#   - `deliver --url --profile spec-kitty-3` is its own ad-hoc endpoint
#     (the wp04 one to the same URL keeps its own cursor and bodies);
#   - `deliver --endpoint NAME --profile P` with another P than saved is a
#     usage error naming both.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$SRC/tests/support/deliver_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
"$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true
expect_exit 0 "$BIN" baseline accept --log "$log" > /dev/null
echo "one more line" >> "$m/plan.md"
"$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true
"$BIN" events --log "$log" > "$WORK/canon.ndjson"
n_four=$(grep -c '"event_type":"mission_dossier_' "$WORK/canon.ndjson")
n_all=$(wc -l < "$WORK/canon.ndjson")
[ "$n_four" -lt "$n_all" ] || fail "the run should hold internal events"

make_secret
start_receiver sk3 --secret-file "$SECRET" --bodies "$WORK/sk3-bodies.ndjson"
"$BIN" endpoint add saas --url "http://127.0.0.1:$RECV_PORT/hook" --secret-file "$SECRET" \
  --profile spec-kitty-3 --log "$log" > /dev/null || fail "endpoint add --profile"
expect_exit 2 "$BIN" endpoint add x --url "http://127.0.0.1:$RECV_PORT/" --profile nope --log "$log"
expect_exit 2 "$BIN" endpoint list --profile spec-kitty-3 --log "$log"
"$BIN" endpoint add plain --url "http://127.0.0.1:$RECV_PORT/plain" --log "$log" > /dev/null
"$BIN" endpoint list --log "$log" > "$WORK/list.txt"
grep -q "^    profile: spec-kitty-3$" "$WORK/list.txt" || fail "endpoint list: no profile line"
[ "$(grep -c "profile:" "$WORK/list.txt")" -eq 1 ] || fail "a wp04 endpoint lists a profile line"
"$BIN" endpoint list --json --log "$log" | "$PY" -c '
import json, sys
v = {e["name"]: e for e in json.load(sys.stdin)}
assert v["saas"]["profile"] == "spec-kitty-3" and v["plain"]["profile"] == "wp04", v' \
  || fail "endpoint list --json: profile"

expect_exit 2 "$BIN" deliver --endpoint saas --profile wp04 --log "$log" 2> "$WORK/err.txt"
grep -q "saved with profile spec-kitty-3, not wp04" "$WORK/err.txt" || fail "profile mismatch: $(cat "$WORK/err.txt")"
"$BIN" deliver --endpoint saas --log "$log" -q || fail "deliver --endpoint saas"
"$PY" "$SRC/tests/support/sk3_validate.py" --strict-types "$WORK/sk3-bodies.ndjson" \
  || fail "a delivered body fails sk3_validate.py"
"$PY" - "$WORK/sk3.ndjson" "$WORK/sk3-bodies.ndjson" "$n_four" <<'PYEOF' || fail "sk3 deliveries"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
bodies = [json.loads(l) for l in open(sys.argv[2])]
n = int(sys.argv[3])
assert len(recs) == n == len(bodies), (len(recs), n, len(bodies))
assert all(r["sig_ok"] and r["body_ok"] and r["accepted"] for r in recs), recs[:2]
assert all(b["event_type"].startswith("MissionDossier") for b in bodies)
assert {r["event_type"] for r in recs} >= {"MissionDossierArtifactIndexed",
                                          "MissionDossierSnapshotComputed",
                                          "MissionDossierParityDriftDetected"}
PYEOF

# the same URL without a profile: its own endpoint, canonical bodies, all types
rm -f "$WORK/sk3-bodies.ndjson"
"$BIN" deliver --url "http://127.0.0.1:$RECV_PORT/hook" --secret-file "$SECRET" --log "$log" -q \
  || fail "deliver --url (wp04)"
[ "$(wc -l < "$WORK/sk3-bodies.ndjson")" -eq "$n_all" ] || fail "wp04 ad-hoc: expected $n_all bodies"
grep -q '"schema_version":"1.0.0"' "$WORK/sk3-bodies.ndjson" || fail "wp04 ad-hoc: not canonical"
rm -f "$WORK/sk3-bodies.ndjson"
"$BIN" deliver --url "http://127.0.0.1:$RECV_PORT/hook" --profile spec-kitty-3 --secret-file "$SECRET" \
  --log "$log" -q || fail "deliver --url --profile spec-kitty-3"
[ "$(wc -l < "$WORK/sk3-bodies.ndjson")" -eq "$n_four" ] || fail "sk3 ad-hoc: expected $n_four bodies"
"$PY" "$SRC/tests/support/sk3_validate.py" --strict-types "$WORK/sk3-bodies.ndjson" \
  || fail "an ad-hoc spec-kitty-3 body fails sk3_validate.py"
echo "ok"
