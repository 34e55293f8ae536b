#!/usr/bin/env bash
# Crash safety of the scan cache: cached scans (full, --emit changed and
# --rehash, after rewriting files so there is hashing and cache writing to
# do) are killed with SIGKILL at random moments.  After every kill the log
# opens, its invariants hold (check_log.py), and every scan-cache entry's
# SHA-256 is in an artifact_indexed event for the same feature and path: the
# cache is never ahead of the log.  Finally a changed-mode scan on the
# crashed log folds to the same snapshot as a full scan on a fresh log: the
# base is the last COMPLETED run, whatever the killed runs left behind.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
H="$SRC/tests/support/scan_runs.py"
m="$WORK/mission"
log="$WORK/log"
"$PY" "$H" gen-tree "$m" 6000 21

build_helper cache_dump "cache dump helper"

export DOSSIER_BATCH_EVENTS=40
"$BIN" scan "$m" --log "$log" -q || fail "first scan"
# how long a rescan after rewriting files takes here (sanitizer builds are
# several times slower): kills are spread over [dur/4, dur], where the run
# is hashing and committing batches.  The faster of two timing scans counts:
# one slowed down by a load spike would put every kill after the scans end.
dur_ms=0
for t in 0 100; do
  "$PY" "$H" mutate "$m" "$t" 400
  t0=$(date +%s%N)
  "$BIN" scan "$m" --log "$log" -q || fail "timing scan"
  d=$(( ($(date +%s%N) - t0) / 1000000 ))
  { [ "$dur_ms" -eq 0 ] || [ "$d" -lt "$dur_ms" ]; } && dur_ms=$d
done
[ "$dur_ms" -ge 8 ] || dur_ms=8
kills=0
modes=("" "--emit changed" "--rehash")
for i in $(seq 1 18); do
  "$PY" "$H" mutate "$m" "$i" 400
  # shellcheck disable=SC2086
  "$BIN" scan "$m" --log "$log" -q --wait ${modes[$((i % 3))]} &
  pid=$!
  ms=$(( dur_ms / 4 + RANDOM % (dur_ms * 3 / 4 + 1) ))
  sleep "$(( ms / 1000 )).$(printf '%03d' $(( ms % 1000 )))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  "$BIN" events --log "$log" > "$WORK/events.ndjson" || fail "log does not open after kill $i"
  "$PY" "$SRC/tests/support/check_log.py" "$WORK/events.ndjson" > /dev/null \
    || fail "log invariant broken after kill $i"
  "$WORK/cache_dump" "$log" > "$WORK/cache.tsv" || fail "cache does not read after kill $i"
  "$PY" "$H" cache-behind-log "$WORK/events.ndjson" "$WORK/cache.tsv" > /dev/null \
    || fail "cache ahead of the log after kill $i"
done
[ "$kills" -ge 9 ] || fail "only $kills of 18 scans were killed mid-run (too fast?)"
open_runs=$("$PY" "$SRC/tests/support/check_log.py" "$WORK/events.ndjson" \
  | sed -n 's/.*runs_incomplete=\([0-9]*\).*/\1/p')
[ "${open_runs:-0}" -ge 1 ] || fail "no kill landed between two batches of a run"

"$BIN" scan "$m" --log "$log" -q --emit changed || fail "changed scan after the kills"
"$BIN" snapshot --log "$log" --json --artifacts > "$WORK/a.json"
"$BIN" scan "$m" --log "$WORK/fresh" -q || fail "fresh full scan"
"$BIN" snapshot --log "$WORK/fresh" --json --artifacts > "$WORK/b.json"
"$PY" "$H" same-snapshot "$WORK/a.json" "$WORK/b.json" || fail "changed scan after kills differs"
"$WORK/cache_dump" "$log" > "$WORK/cache.tsv"
"$BIN" events --log "$log" > "$WORK/events.ndjson"
"$PY" "$H" cache-behind-log "$WORK/events.ndjson" "$WORK/cache.tsv"
echo "scan_cache_kill: $kills kills survived"
