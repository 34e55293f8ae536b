#!/usr/bin/env bash
# deliver_kill: `dossier deliver --follow --concurrency 4` is killed with
# SIGKILL mid-stream three times (new events are imported while it follows),
# then a plain deliver finishes.  Nothing is lost: the receiver accepted every
# event_id of the log, and each kill caused at most --concurrency duplicates
# (the documented crash window between a 2xx and the synced state write).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

CONC=4
KILLS=3
LOG="$WORK/log"
# Enough events that the third kill lands mid-stream on a quiet machine too:
# each cycle runs until 250 more are accepted, and the delivery keeps going
# while the receiver's count is read.
import_events 4000 20 "$LOG" 21
make_secret
start_receiver recv --secret-file "$SECRET" --default 204 --deadline 240
URL="http://127.0.0.1:$RECV_PORT/hook"

# (grep, not a Python start per check: the delivery runs on while we count)
accepted() {
  local n
  n=$(grep -c '"accepted": true' "$WORK/recv.ndjson" 2>/dev/null) || true
  echo "${n:-0}"
}

for k in $(seq 1 $KILLS); do
  base=$(accepted)
  "$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" --follow \
    --concurrency $CONC --poll 50ms -q > /dev/null 2>&1 &
  DPID=$!
  CLEANUP_PIDS+=("$DPID")
  if [ "$k" -eq 1 ]; then
    # New events while it follows: they must be picked up too.
    sleep 0.2
    import_events 500 5 "$LOG" 22
  fi
  # Let it get well into the stream, then kill it without warning.
  for i in $(seq 1 400); do
    [ "$(accepted)" -ge $((base + 250)) ] && break
    kill -0 "$DPID" 2>/dev/null || fail "deliver --follow exited early (cycle $k)"
    sleep 0.025
  done
  kill -9 "$DPID"
  wait "$DPID" 2>/dev/null || true
  now=$(accepted)
  echo "cycle $k: receiver accepted $now so far"
  [ "$now" -gt "$base" ] || fail "cycle $k delivered nothing"
done

total=$(log_ids "$LOG" | tee "$WORK/ids" | wc -l)
[ "$(accepted)" -lt "$total" ] || fail "every event was delivered before the last kill; the test proves nothing"

"$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" --concurrency $CONC -q \
  || fail "final deliver"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --max-dup $((KILLS * CONC)) \
  || fail "receiver check"
"$BIN" deliveries --log "$LOG" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)[0]
n = int(sys.argv[1])
assert (d["pending"], d["dead"], d["delivered"], d["cursor"]) == (0, 0, n, n), d' "$total" \
  || fail "final counts"
echo "deliver_kill: ok"
