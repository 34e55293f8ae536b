#!/usr/bin/env bash
# Crash recovery of `dossier publish --follow`: the publisher is killed with
# SIGKILL mid-stream three times and restarted, then the NATS server itself is
# killed with SIGKILL twice while a publisher runs, and restarted on the same
# store.  Afterwards the stream holds every event of the log exactly once (no
# event lost, re-sends dropped by the duplicate window), a SIGTERM'd follower
# saved its cursor (a new run has nothing to send), and a pull into a fresh
# log - itself killed with SIGKILL mid-stream and restarted - reproduces the
# log's event_ids.  Loopback only, bounded waits.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require
nats_start

# A log of 20,000 events (generated envelopes, imported: quicker than
# creating and scanning 20,000 files).
L="$WORK/L"
"$PY" "$SRC/tests/support/gen_envelopes.py" 20000 > "$WORK/events.ndjson"
"$BIN" import --log "$L" "$WORK/events.ndjson" >/dev/null
ids_of() {
  "$PY" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.loads(line)["event_id"])' | sort
}
"$BIN" events --log "$L" | ids_of > "$WORK/log.ids"
total=$(wc -l < "$WORK/log.ids")
[ "$total" -eq 20000 ] || fail "expected 20000 events, got $total"

PUB=""
start_pub() {
  # a small window and a short ack wait keep each step observable and quick
  "$BIN" publish --nats "$NATS_URL" --log "$L" --follow --poll 100ms --window 8 \
    --ack-wait 2s -q >>"$WORK/pub.out" 2>>"$WORK/pub.err" &
  PUB=$!
  CLEANUP_PIDS+=("$PUB")
}
wait_count() {   # wait_count N: until the stream holds >= N messages (60 s at most)
  nats_stream wait "$1" 60 >/dev/null || { cat "$WORK/pub.err" >&2; fail "stream stuck below $1"; }
}
count() { nats_stream info | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["messages"])'; }

# 1. SIGKILL the publisher mid-stream, three times
mid=0
for pct in 10 25 40; do
  start_pub
  wait_count $((total * pct / 100))
  kill -9 "$PUB"
  wait "$PUB" 2>/dev/null || true
  c=$(count)
  [ "$c" -lt "$total" ] && mid=$((mid + 1))
done
[ "$mid" -ge 1 ] || fail "no publisher kill landed mid-stream (the test proves nothing)"

# 2. SIGKILL the server twice while a publisher runs; restart it on the same store
start_pub
for pct in 55 75; do
  wait_count $((total * pct / 100))
  nats_kill9
  sleep 0.5
  nats_restart
done
wait_count "$total"
sleep 0.5                                  # let the last acks reach the cursor
kill -TERM "$PUB"
rc=0
wait "$PUB" || rc=$?
[ "$rc" -eq 0 ] || fail "publish --follow exited $rc on SIGTERM: $(tail -5 "$WORK/pub.err")"

# the stream holds each event_id of the log exactly once
nats_stream ids | sort > "$WORK/stream.ids"
dups=$(uniq -d "$WORK/stream.ids" | wc -l)
[ "$dups" -eq 0 ] || fail "$dups event_ids are in the stream more than once"
cmp -s "$WORK/stream.ids" "$WORK/log.ids" \
  || fail "stream and log differ: $(diff "$WORK/stream.ids" "$WORK/log.ids" | head -5)"
[ "$(count)" -eq "$total" ] || fail "stream holds $(count) messages, log $total events"

# the follower saved its cursor on SIGTERM: nothing left to send
"$BIN" publish --nats "$NATS_URL" --log "$L" > "$WORK/last.out"
grep -q "dossier publish: 0 published, 0 already in the stream" "$WORK/last.out" \
  || fail "cursor not saved on SIGTERM: $(cat "$WORK/last.out")"

# a fresh log pulls exactly the same events, even when the pull is killed
# with SIGKILL mid-stream: its uncommitted batch is re-delivered (after the
# consumer's ack wait) and nothing is stored twice
F="$WORK/F"
"$BIN" pull --nats "$NATS_URL" --log "$F" --durable recover-f --batch 128 --ack-wait 2s -q \
  2>>"$WORK/pull.err" &
PULL=$!
CLEANUP_PIDS+=("$PULL")
nats_stream wait-consumer recover-f $((total / 3)) 60 >/dev/null || fail "pull made no progress"
kill -9 "$PULL"
wait "$PULL" 2>/dev/null || true
nf=$("$BIN" events --log "$F" | wc -l)
[ "$nf" -lt "$total" ] || echo "note: the pull had finished before SIGKILL" >&2
"$BIN" pull --nats "$NATS_URL" --log "$F" --durable recover-f > "$WORK/pull.out"
grep -q " $((total - nf)) imported" "$WORK/pull.out" || fail "pull after SIGKILL: $(cat "$WORK/pull.out") (had $nf of $total)"
"$BIN" events --log "$F" | ids_of > "$WORK/f_all.ids"
[ -z "$(uniq -d "$WORK/f_all.ids")" ] || fail "the pulled log holds an event_id twice"
"$BIN" events --log "$F" --type mission_dossier_artifact_indexed | ids_of > "$WORK/f_indexed.ids"
"$BIN" events --log "$L" --type mission_dossier_artifact_indexed | ids_of > "$WORK/l_indexed.ids"
cmp -s "$WORK/f_indexed.ids" "$WORK/l_indexed.ids" || fail "pulled log differs from the source"
echo "nats_recovery: ok ($total events, $mid publisher kills mid-stream)"
