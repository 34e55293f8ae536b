#!/usr/bin/env bash
# deliver_unreachable: an auto-delivery endpoint whose port is closed never
# fails a scan: `dossier scan` exits 0, the events stay pending (none is
# dead-lettered), and once a receiver listens on that port a later
# `dossier deliver --endpoint` drains them all.  While a `deliver --follow`
# holds the delivery state, a scan still exits 0.  Four `deliver`s racing to
# create the delivery state: each either runs or is told the state is locked
# (common/dir_lock.h: RocksDB rotates its info log before taking LOCK).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

M=$(sample_copy m)
LOG="$M/.dossier"
PORT=$(closed_port)
make_secret
# Saved before the first scan: the log folder does not exist yet.
"$BIN" endpoint add ci --log "$LOG" --url "http://127.0.0.1:$PORT/hook" \
  --secret-file "$SECRET" --auto > /dev/null || fail "endpoint add"
"$BIN" endpoint list --log "$LOG" | grepq "ci .*\[auto\]" || fail "endpoint list"

rc=0; "$BIN" scan "$M" > "$WORK/scan.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/scan.out" >&2; fail "scan exited $rc with an unreachable endpoint"; }
"$BIN" replay --log "$LOG" > /dev/null || fail "replay"
total=$(log_ids "$LOG" | tee "$WORK/ids" | wc -l)
[ "$total" -gt 0 ] || fail "no events"

"$BIN" deliveries --log "$LOG" --json > "$WORK/d1.json" || fail "deliveries"
"$PY" - "$WORK/d1.json" "$total" <<'EOF' || fail "counts after the scan"
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert len(d) == 1 and d[0]["endpoint"] == "ci", d
e = d[0]
assert (e["pending"], e["delivered"], e["dead"]) == (n, 0, 0), e
EOF
# When scan runs the delivery window, the failed attempt is on record.
if grep -q -- "deliver" <("$BIN" scan --help); then
  "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))[0]; assert e["retrying"] >= 1, e' \
    "$WORK/d1.json" || fail "the scan did not try the auto endpoint"
fi

# A receiver appears on that port: deliver drains everything.
start_receiver recv --port "$PORT" --secret-file "$SECRET" --deadline 120
"$BIN" deliver --endpoint ci --log "$LOG" --backoff-base 50ms -q || fail "deliver --endpoint"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "receiver check"
"$BIN" deliveries --log "$LOG" --json | "$PY" -c '
import json, sys
e = json.load(sys.stdin)[0]
n = int(sys.argv[1])
assert (e["pending"], e["delivered"], e["dead"]) == (0, n, 0), e' "$total" \
  || fail "counts after deliver"

# A running deliver --follow holds the delivery state: a second deliver is
# refused with a clear message, and a scan is not disturbed.
FPID=
for i in $(seq 1 50); do
  # Our probe may hold the lock at the moment the follower starts, which
  # then exits "locked": start it again until the probe is the one refused.
  if [ -z "$FPID" ] || ! kill -0 "$FPID" 2>/dev/null; then
    "$BIN" deliver --endpoint ci --log "$LOG" --follow -q > /dev/null 2>&1 &
    FPID=$!
    CLEANUP_PIDS+=("$FPID")
    sleep 0.2
  fi
  "$BIN" deliver --endpoint ci --log "$LOG" -q > /dev/null 2> "$WORK/locked.err" || true
  grep -q "locked by another process" "$WORK/locked.err" && break
  sleep 0.05
done
grep -q "locked by another process" "$WORK/locked.err" || fail "no 'locked' error"
expect_exit 3 "$BIN" deliver --endpoint ci --log "$LOG" -q
echo "more" >> "$M/plan.md"
rc=0; "$BIN" scan "$M" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "scan beside deliver --follow exited $rc"
# Counts stay readable beside the running deliver.
"$BIN" deliveries --log "$LOG" > /dev/null || fail "deliveries beside deliver --follow"
kill -TERM "$FPID"
wait "$FPID" || fail "deliver --follow did not stop cleanly on SIGTERM"

"$BIN" events --log "$LOG" --limit 1 > "$WORK/one.ndjson"
PORT=$(closed_port)     # the first one has a receiver now
for round in $(seq 1 "$(scaled 60)"); do
  rm -rf "$WORK/rlog"
  "$BIN" import "$WORK/one.ndjson" --log "$WORK/rlog" -q || fail "import for the race"
  pids=()
  for k in 1 2 3 4; do
    "$BIN" deliver --log "$WORK/rlog" --url "http://127.0.0.1:$PORT/hook" --max-attempts 1 -q \
      > /dev/null 2> "$WORK/race.$k" &
    pids+=($!)
  done
  wait "${pids[@]}" || true    # exit 1 (dead letter) or 3 (locked); stderr is checked
  for k in 1 2 3 4; do
    if grep -v -e 'locked by another process' -e 'dead-lettered' "$WORK/race.$k" | grepq .; then
      fail "round $round: a racing deliver failed otherwise: $(cat "$WORK/race.$k")"
    fi
  done
done
echo "deliver_unreachable: ok"
