#!/usr/bin/env bash
# log_lock: while `dossier scan` holds the log (it hashes a large file), a
# second writer (scan, import, verify --repair) is refused at once with a
# clear "locked by another writer" error naming the folder (exit 3); the
# readers -- events, status, verify -- work beside it; a second scan with
# --wait waits and then completes.  Both scans end complete and the log
# verifies.  Writers racing to open a fresh log: each one either imports or
# is told the log is locked -- none fails on another's half-done open
# (RocksDB rotates its info log before it takes its LOCK file; the folder
# flock in eventlog/log_open.c comes first) -- and with --wait all import.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy m)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q 2>/dev/null || fail "first scan"
"$BIN" events --log "$log" --limit 1 > "$WORK/one.ndjson"
# Hashing ~1.5 GiB (sparse, so no disk is used) keeps the writer busy for a
# few seconds while it holds the lock.
truncate -s 1536M "$m/evidence-big.bin"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q --jobs 1 --wait 2>/dev/null &
holder=$!
CLEANUP_PIDS+=("$holder")

# Wait until the holder has the lock: a second writer is refused.  (The
# probe is a quick, idempotent import -- were it to get the lock first, the
# holder waits for it.)
locked=0
for _ in $(seq 1 200); do
  rc=0
  "$BIN" import "$WORK/one.ndjson" --log "$log" -q 2> "$WORK/lock.err" > /dev/null || rc=$?
  if [ "$rc" -eq 3 ] && grep -q "locked by another writer" "$WORK/lock.err"; then locked=1; break; fi
  kill -0 "$holder" 2>/dev/null || break
  sleep 0.02
done
[ "$locked" -eq 1 ] || { cat "$WORK/lock.err"; echo "log_lock: the holder finished before a second writer tried; skipped"; exit 77; }
grep -q -- "$log" "$WORK/lock.err" || fail "lock error does not name the log folder"
grep -q -- "--wait" "$WORK/lock.err" || fail "lock error does not mention --wait"

# Other writers, refused the same way, at once.
rc=0; "$BIN" scan "$m" --log "$log" -q 2> "$WORK/e" > /dev/null || rc=$?
[ "$rc" -eq 3 ] && grep -q "locked by another writer" "$WORK/e" || fail "scan beside a writer: exit $rc"
rc=0; "$BIN" verify --repair --log "$log" > /dev/null 2> "$WORK/e" || rc=$?
[ "$rc" -eq 3 ] && grep -q "locked by another writer" "$WORK/e" || fail "verify --repair beside a writer: exit $rc"

# Readers work beside the writer.
"$BIN" events --log "$log" > "$WORK/ev.ndjson" || fail "events beside a writer"
[ -s "$WORK/ev.ndjson" ] || fail "events printed nothing"
"$BIN" status --log "$log" > "$WORK/status.out" 2>&1 || fail "status beside a writer"
expect_exit 0 "$BIN" verify --log "$log" -q
kill -0 "$holder" 2>/dev/null || echo "note: the holder finished while the readers ran"

# A waiting writer gets the log when the holder is done.
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q --wait 2>/dev/null &
waiter=$!
CLEANUP_PIDS+=("$waiter")
wait "$holder" || fail "the scan holding the log failed"
wait "$waiter" || fail "scan --wait failed"
"$BIN" verify --log "$log" --json | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["ok"] and r["runs_completed"] == 3 and r["runs_open"] == 0, r' || fail "final verify"

# Four writers at once on a fresh log, many times.
for round in $(seq 1 "$(scaled 50)"); do
  rm -rf "$WORK/race"
  pids=()
  for k in 1 2 3 4; do
    "$BIN" import "$WORK/one.ndjson" --log "$WORK/race" -q 2> "$WORK/race.$k" &
    pids+=($!)
  done
  wait "${pids[@]}" || true    # exit 3 when locked; stderr is checked
  for k in 1 2 3 4; do
    if [ -s "$WORK/race.$k" ] && ! grep -q "locked by another writer" "$WORK/race.$k"; then
      fail "round $round: a racing writer failed otherwise: $(cat "$WORK/race.$k")"
    fi
  done
  [ "$("$BIN" events --log "$WORK/race" | wc -l)" -eq 1 ] || fail "round $round: not one event"
done
rm -rf "$WORK/race"
pids=()
for k in 1 2 3 4; do
  "$BIN" import "$WORK/one.ndjson" --log "$WORK/race" -q --wait 2> "$WORK/race.$k" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a racing writer with --wait failed: $(cat "$WORK"/race.*)"; done
[ "$("$BIN" events --log "$WORK/race" | wc -l)" -eq 1 ] || fail "--wait race: not one event"
echo "log_lock: second writers refused, readers served, --wait completed, racing opens clean"
