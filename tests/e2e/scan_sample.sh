#!/usr/bin/env bash
# `dossier scan` of the bundled sample: exit codes, the events it appends, and
# that every event validates against schemas/ with python3-jsonschema.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy)
log="$WORK/log"

# complete sample: exit 0, one indexed event per present artifact, no missing event
"$BIN" scan "$m" --mission-type software-dev --log "$log" --json > "$WORK/summary.json"
"$BIN" index "$m" --mission-type software-dev > "$WORK/index.ndjson"
present=$(grep -c '"present":true' "$WORK/index.ndjson")
"$BIN" events --log "$log" > "$WORK/events.ndjson"
"$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/events.ndjson" > "$WORK/counts.txt" \
  || { cat "$WORK/counts.txt"; fail "events do not validate against schemas/"; }
indexed=$(awk '$1=="mission_dossier_artifact_indexed"{print $2}' "$WORK/counts.txt")
[ "$indexed" = "$present" ] || fail "indexed events $indexed != present artifacts $present"
grep -q mission_dossier_artifact_missing "$WORK/counts.txt" && fail "missing event on a complete sample"
grep -q '"completed":true' "$WORK/summary.json" || fail "summary does not say completed"
"$PY" "$SRC/tests/support/check_log.py" "$WORK/events.ndjson" | grepq 'runs_completed=1 runs_incomplete=0' \
  || fail "log invariants"

# remove a required artifact: exit 1, exactly one missing event naming it
rm "$m/spec.md"
expect_exit 1 "$BIN" scan "$m" --mission-type software-dev --log "$log" -q
"$BIN" events --log "$log" --type mission_dossier_artifact_missing > "$WORK/missing.ndjson"
[ "$(wc -l < "$WORK/missing.ndjson")" -eq 1 ] || fail "expected one missing event"
grep -q '"reason_code":"not_found"' "$WORK/missing.ndjson" || fail "missing reason"
grep -q '"blocking":true' "$WORK/missing.ndjson" || fail "missing event not blocking"

# every event of both runs still validates
"$BIN" events --log "$log" | "$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" >/dev/null \
  || fail "second run's events do not validate"

# usage errors
expect_exit 2 "$BIN" scan
expect_exit 2 "$BIN" scan "$m" --no-such-option
expect_exit 2 "$BIN" scan "$m" --mission-type no-such-type --log "$log"
echo "scan_sample: ok"
