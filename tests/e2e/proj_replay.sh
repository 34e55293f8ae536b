#!/usr/bin/env bash
# Replay of the projections with the real binary:
#   - after 10 scans (and baselines, drifts), `replay --from-zero` gives
#     byte-identical projection state and adds 0 events, for all projections
#     and for each alone; replaying again changes nothing;
#   - `replay --verify` finds no difference, then catches a deliberately
#     corrupted row (flipped by tests/e2e/proj_corrupt.c through the log API)
#     and exits 1; a rebuild repairs it.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy mission)
log="$WORK/log"
n_events() { "$BIN" events --log "$log" | wc -l; }

for i in $(seq 1 10); do
  echo "revision $i" >> "$m/plan.md"
  if [ $((i % 3)) -eq 0 ]; then rm -f "$m/evidence/extra.md"; else echo "extra $i" > "$m/evidence/extra.md"; fi
  "$BIN" scan --mission-type software-dev --log "$log" -q "$m" || true
  "$BIN" replay --log "$log" > /dev/null   # a no-op when scan already caught up
  [ "$i" -eq 2 ] && "$BIN" baseline accept --log "$log" > /dev/null
  [ "$i" -eq 7 ] && "$BIN" baseline accept --log "$log" > /dev/null
done
[ "$("$BIN" events --log "$log" --type mission_dossier_snapshot_computed | wc -l)" -eq 10 ] \
  || fail "expected 10 snapshot events"
[ "$("$BIN" events --log "$log" --type mission_dossier_parity_drift_detected | wc -l)" -ge 6 ] \
  || fail "expected drift events"

"$BIN" replay --dump --log "$log" > "$WORK/before.dump"
[ -s "$WORK/before.dump" ] || fail "empty projection dump"
events_before=$(n_events)

for p in all snapshot drift; do
  "$BIN" replay --projection "$p" --from-zero --log "$log" > "$WORK/replay.out"
  grep -q " 0 derived events appended" "$WORK/replay.out" || fail "replay --from-zero ($p) appended events: $(cat "$WORK/replay.out")"
  "$BIN" replay --dump --log "$log" > "$WORK/after.dump"
  cmp -s "$WORK/before.dump" "$WORK/after.dump" || fail "projection state differs after --from-zero ($p)"
  [ "$(n_events)" -eq "$events_before" ] || fail "event count changed after --from-zero ($p)"
done
"$BIN" replay --log "$log" > /dev/null
"$BIN" replay --dump --log "$log" > "$WORK/after.dump"
cmp -s "$WORK/before.dump" "$WORK/after.dump" || fail "a catch-up changed the state"

expect_exit 0 "$BIN" replay --verify --log "$log"

# corrupt one row with a helper built against this build's library
build_helper proj_corrupt "corruption helper"
"$WORK/proj_corrupt" "$log" proj_snapshot snap || fail "corruption helper failed"

expect_exit 1 "$BIN" replay --verify --log "$log" > "$WORK/verify.out"
grep -q "^snapshot: row snap/" "$WORK/verify.out" || fail "verify did not name the row: $(cat "$WORK/verify.out")"
grep -q "1 difference" "$WORK/verify.out" || fail "verify count: $(cat "$WORK/verify.out")"
"$BIN" replay --from-zero --projection snapshot --log "$log" > /dev/null
expect_exit 0 "$BIN" replay --verify --log "$log"
"$BIN" replay --dump --log "$log" > "$WORK/after.dump"
cmp -s "$WORK/before.dump" "$WORK/after.dump" || fail "rebuild did not restore the state"
expect_exit 2 "$BIN" replay --projection nope --log "$log" 2>/dev/null
echo "replay ok"
