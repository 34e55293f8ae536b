#!/usr/bin/env bash
# kill -9 of `dossier watch` at random moments while a stream of changes
# goes on, then a last watcher: nothing lost (its starting scan catches up:
# the final snapshot equals a fresh scan's), nothing recorded twice (no
# event_id stored twice), and the log passes verify.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
seed=${DOSSIER_WATCH_SEED:-$RANDOM}
cp -r "$SRC/examples/sample-mission" "$WORK/mission"
rm -rf "$WORK/mission/.dossier"
L="$WORK/log"
"$PY" "$SRC/tests/support/watch_seq.py" "$BIN" "$WORK" stream "$seed" 8 > "$WORK/stream.out" &
stream=$!
CLEANUP_PIDS+=("$stream")
kills=0
while kill -0 "$stream" 2>/dev/null; do
  "$BIN" watch "$WORK/mission" --log "$L" --mission-type software-dev --debounce 50 -q \
    --wait > /dev/null 2>> "$WORK/watch.err" &
  pid=$!
  CLEANUP_PIDS+=("$pid")
  sleep "0.$(( (RANDOM % 9) + 1 ))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kills=$((kills + 1))
done
wait "$stream" || fail "the change stream failed (seed $seed)"
# a last watcher: its starting scan catches up (-v: a line per run, recorded
# or not), then SIGINT stops it
"$BIN" watch "$WORK/mission" --log "$L" --mission-type software-dev -v --wait \
  > /dev/null 2> "$WORK/last.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
for _ in $(seq 1 600); do
  grep -q "run 1" "$WORK/last.err" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "run 1" "$WORK/last.err" || fail "the last watcher recorded no starting scan: $(tail -3 "$WORK/last.err")"
kill -INT "$pid"
wait "$pid" || fail "the last watcher did not stop cleanly (exit $?); $(tail -3 "$WORK/last.err")"
"$BIN" scan "$WORK/mission" --log "$WORK/fresh" --mission-type software-dev -q || true
# exit 1 is an incomplete snapshot (the stream deletes required files too)
"$BIN" snapshot --log "$L" --json --artifacts > "$WORK/watched.json" || true
"$BIN" snapshot --log "$WORK/fresh" --json --artifacts > "$WORK/fresh.json" || true
[ -s "$WORK/watched.json" ] || fail "no snapshot in the watched log: $(tail -5 "$WORK/watch.err")"
"$PY" "$SRC/tests/support/scan_runs.py" same-snapshot "$WORK/watched.json" "$WORK/fresh.json" \
  || fail "after $kills kills (seed $seed): the watched snapshot differs from a fresh scan"
expect_exit 0 "$BIN" verify --log "$L" -q
"$BIN" events --log "$L" > "$WORK/events.ndjson"
dups=$("$PY" -c 'import json,sys,collections
c=collections.Counter(json.loads(l)["event_id"] for l in open(sys.argv[1]) if l.strip())
print(sum(1 for v in c.values() if v > 1))' "$WORK/events.ndjson")
[ "$dups" = 0 ] || fail "$dups event_id(s) stored twice (seed $seed)"
echo "watch_kill ok ($kills kills, $(cat "$WORK/stream.out"), seed $seed)"
