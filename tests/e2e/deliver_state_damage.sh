#!/usr/bin/env bash
# deliver_state_damage: 16 zero bytes written into the middle of the
# delivery state's write-ahead log (LOG/delivery/*.log) after 30 events were
# delivered.  RocksDB's replay stopped at the damaged record and dropped the
# rest of its block, so every cursor committed after it rolled back and the
# next `deliver` sent 28 events again with the same webhook-id (issue 17
# item 3).  Now: deliver, endpoint list and deliveries refuse the state
# (exit 3, the WAL file and offset named, pointing at `verify --repair`)
# and send nothing; verify reports it (exit 1); `verify --repair` keeps
# every commit after the damaged record; then only new events are sent --
# at most --concurrency (1) duplicates, the documented at-least-once window.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

LOG="$WORK/log"
import_events 30 3 "$LOG" 5
make_secret
start_receiver recv --secret-file "$SECRET" --default 204 --deadline 60
"$BIN" endpoint add hook --url "http://127.0.0.1:$RECV_PORT/h" --secret-file "$SECRET" \
  --log "$LOG" > /dev/null || fail "endpoint add"
"$BIN" deliver --log "$LOG" --endpoint hook --concurrency 1 --max-attempts 1 -q || fail "first deliver"
[ "$(wc -l < "$WORK/recv.ndjson")" -eq 30 ] || fail "first deliver: not 30 requests"

wal=$(ls "$LOG"/delivery/*.log | sort | tail -1)
size=$(stat -c %s "$wal")
[ "$size" -gt 600 ] || fail "$wal: $size bytes, too few records to damage one in the middle"
off=$((size / 3))
"$PY" - "$wal" "$off" <<'PYEOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    f.write(b"\0" * 16)
PYEOF
name="delivery/$(basename "$wal")"

refused() {  # WHAT cmd...: exit 3 naming the WAL and the repair, nothing sent
  local what=$1; shift
  local rc=0
  "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "$what on a damaged state: exit $rc, expected 3"; }
  grep -q "$name: the write-ahead log of the delivery state is damaged at offset" "$WORK/err" \
    || { cat "$WORK/err"; fail "$what: the WAL file and offset are not named"; }
  grep -q "dossier verify --repair --log $LOG" "$WORK/err" \
    || { cat "$WORK/err"; fail "$what: no pointer to the repair"; }
}
refused "deliver" "$BIN" deliver --log "$LOG" --endpoint hook --concurrency 1 --max-attempts 1 -q
refused "endpoint list" "$BIN" endpoint list --log "$LOG"
refused "deliveries" "$BIN" deliveries --log "$LOG"
[ "$(wc -l < "$WORK/recv.ndjson")" -eq 30 ] || fail "a damaged state sent events again"

rc=0
"$BIN" verify --log "$LOG" > "$WORK/verify" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/verify"; fail "verify: exit $rc, expected 1"; }
grep -q "$name: the write-ahead log of the delivery state is damaged" "$WORK/verify" \
  || { cat "$WORK/verify"; fail "verify does not report the delivery state"; }

import_events 10 2 "$LOG" 6
"$BIN" verify --repair --log "$LOG" > "$WORK/repair" 2>&1 || { cat "$WORK/repair"; fail "verify --repair"; }
grep -q "write-ahead log $name was damaged at offset" "$WORK/repair" \
  || { cat "$WORK/repair"; fail "repair does not say what it repaired"; }
expect_exit 0 "$BIN" verify --log "$LOG" -q

"$BIN" deliver --log "$LOG" --endpoint hook --concurrency 1 --max-attempts 1 -q || fail "deliver after the repair"
log_ids "$LOG" > "$WORK/ids"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --max-dup 1 || fail "receiver check"
echo "deliver_state_damage: refused with the WAL named, repaired, no duplicates beyond the window"
