#!/usr/bin/env bash
# Two logs that scanned different missions both publish to one JetStream
# stream and both pull from it: afterwards each holds the union of the events,
# no event_id twice, the stream holds each event_id exactly once (publishing
# again echoes nothing back), a second pull imports nothing, --feature pulls
# only that feature, the lamport merge rule holds, and a read-only
# `publish --follow` mirrors a scan committed while it runs.  Loopback only;
# the server is stopped on exit.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require
nats_start

ma=$(sample_copy mission-a)
mb=$(sample_copy mission-b)
echo "extra evidence of mission a" > "$ma/research.md"
A="$WORK/A" B="$WORK/B"
"$BIN" scan --mission-type software-dev --log "$A" -q "$ma"
"$BIN" scan --mission-type software-dev --log "$B" -q "$mb"
rm "$mb/spec.md"                      # a second run of B, with a missing artifact
expect_exit 1 "$BIN" scan --mission-type software-dev --log "$B" -q "$mb"

ids() {   # sorted event_ids of log $1
  "$BIN" events --log "$1" | "$PY" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.loads(line)["event_id"])' | sort
}
ids "$A" > "$WORK/a0.ids"
ids "$B" > "$WORK/b0.ids"
[ -s "$WORK/a0.ids" ] && [ -s "$WORK/b0.ids" ] || fail "scans produced no events"
comm -12 "$WORK/a0.ids" "$WORK/b0.ids" | grepq . && fail "the two logs share event_ids before any exchange"
sort -u "$WORK/a0.ids" "$WORK/b0.ids" > "$WORK/union0.ids"

# publish both, then pull both
"$BIN" publish --nats "$NATS_URL" --log "$A" > "$WORK/pubA.out"
grep -q "(created)" "$WORK/pubA.out" || fail "first publish did not create the stream: $(cat "$WORK/pubA.out")"
"$BIN" publish --nats "$NATS_URL" --log "$B" -q
nats_stream info > "$WORK/info.json"
grep -q '"storage": "file"' "$WORK/info.json" || fail "stream is not file-backed: $(cat "$WORK/info.json")"
grep -q '"dossier.>"' "$WORK/info.json" || fail "stream subjects: $(cat "$WORK/info.json")"
"$BIN" pull --nats "$NATS_URL" --log "$A" > "$WORK/pullA.out"
"$BIN" pull --nats "$NATS_URL" --log "$B" > "$WORK/pullB.out"
na=$(wc -l < "$WORK/a0.ids") nb=$(wc -l < "$WORK/b0.ids")
grep -q " $nb imported" "$WORK/pullA.out" || fail "A should import B's $nb events: $(cat "$WORK/pullA.out")"
grep -q " $na imported" "$WORK/pullB.out" || fail "B should import A's $na events: $(cat "$WORK/pullB.out")"

ids "$A" > "$WORK/a1.ids"
ids "$B" > "$WORK/b1.ids"
[ -z "$(uniq -d "$WORK/a1.ids")" ] || fail "log A holds an event_id twice"
[ -z "$(uniq -d "$WORK/b1.ids")" ] || fail "log B holds an event_id twice"
cmp -s "$WORK/a1.ids" "$WORK/b1.ids" || fail "logs A and B differ after publish+pull: $(diff "$WORK/a1.ids" "$WORK/b1.ids" | head)"
comm -23 "$WORK/union0.ids" "$WORK/a1.ids" | grepq . && fail "an original event is missing after the merge"
"$BIN" events --log "$A" | "$PY" "$SRC/tests/support/check_log.py" >/dev/null || fail "log A invariants after the merge"
"$BIN" events --log "$B" | "$PY" "$SRC/tests/support/check_log.py" >/dev/null || fail "log B invariants after the merge"
"$BIN" events --log "$A" | "$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" >/dev/null \
  || fail "merged events do not validate against schemas/"

# publishing again does not echo the pulled events back (they count as
# "pulled from it"); what the projections derived from them after the pull
# carries the same deterministic event_id on both sides, so whichever log
# publishes it second gets "already in the stream"
"$BIN" publish --nats "$NATS_URL" --log "$A" > "$WORK/pubA2.out"
"$BIN" publish --nats "$NATS_URL" --log "$B" > "$WORK/pubB2.out"
grep -q " $nb pulled from it" "$WORK/pubA2.out" || fail "A echoed pulled events: $(cat "$WORK/pubA2.out")"
grep -q " $na pulled from it" "$WORK/pubB2.out" || fail "B echoed pulled events: $(cat "$WORK/pubB2.out")"

# pull again: both logs end identical, and the stream holds exactly their
# events, each event_id once
"$BIN" pull --nats "$NATS_URL" --log "$A" -q
"$BIN" pull --nats "$NATS_URL" --log "$B" -q
ids "$A" > "$WORK/a2.ids"
ids "$B" > "$WORK/b2.ids"
cmp -s "$WORK/a2.ids" "$WORK/b2.ids" || fail "logs differ after the second round: $(diff "$WORK/a2.ids" "$WORK/b2.ids" | head)"
[ -z "$(uniq -d "$WORK/a2.ids")" ] || fail "log A holds an event_id twice"
nats_stream ids | sort > "$WORK/stream.ids"
[ -z "$(uniq -d "$WORK/stream.ids")" ] || fail "the stream holds an event_id twice"
cmp -s "$WORK/stream.ids" "$WORK/a2.ids" || fail "stream and logs disagree: $(diff "$WORK/stream.ids" "$WORK/a2.ids" | head)"

# a third round changes nothing: nothing to publish, nothing to import
"$BIN" publish --nats "$NATS_URL" --log "$A" > "$WORK/pubA3.out"
grep -q "dossier publish: 0 published, 0 already in the stream, 0 pulled" "$WORK/pubA3.out" \
  || fail "third publish sent something: $(cat "$WORK/pubA3.out")"
"$BIN" pull --nats "$NATS_URL" --log "$A" > "$WORK/pullA3.out"
grep -q " 0 imported" "$WORK/pullA3.out" || fail "third pull imported: $(cat "$WORK/pullA3.out")"
ids "$A" | cmp -s - "$WORK/a2.ids" || fail "third round changed log A"

# --feature: a fresh log gets only mission-b's events, under its own consumer
C="$WORK/C"
"$BIN" pull --nats "$NATS_URL" --log "$C" --feature mission-b > "$WORK/pullC.out"
grep -q "consumer dossier-.*-mission-b" "$WORK/pullC.out" || fail "feature consumer name: $(cat "$WORK/pullC.out")"
"$BIN" events --log "$C" | "$PY" -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin if l.strip()]
assert evs, "no events imported"
bad = [e["aggregate_id"] for e in evs if e["aggregate_id"] != "feature/mission-b"]
assert not bad, bad' || fail "--feature imported other features"
nbf=$("$BIN" events --log "$B" --feature mission-b | wc -l)
nc=$("$BIN" events --log "$C" --feature mission-b | wc -l)
[ "$nc" -ge 1 ] && [ "$nc" -le "$nbf" ] || fail "--feature imported $nc of $nbf events"

# verify: the projections of both merged logs match a rebuild from zero
# (`dossier replay --verify`; `dossier verify` too when that command exists)
if "$BIN" verify --help >/dev/null 2>&1; then
  "$BIN" verify --log "$A" >/dev/null || fail "dossier verify A"
  "$BIN" verify --log "$B" >/dev/null || fail "dossier verify B"
fi
"$BIN" replay --verify --log "$A" > "$WORK/verifyA.out" || fail "replay --verify A: $(cat "$WORK/verifyA.out")"
"$BIN" replay --verify --log "$B" > "$WORK/verifyB.out" || fail "replay --verify B: $(cat "$WORK/verifyB.out")"
# `dossier status` agrees per feature: the same snapshot, completeness,
# counts, parity hash and drift on both nodes
for f in mission-a mission-b; do
  "$BIN" status --log "$A" --feature "$f" --json > "$WORK/statusA.json" || fail "status A $f"
  "$BIN" status --log "$B" --feature "$f" --json > "$WORK/statusB.json" || fail "status B $f"
  "$PY" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
fa = [x for x in a["features"] if x["feature_slug"] == sys.argv[3]]
fb = [x for x in b["features"] if x["feature_slug"] == sys.argv[3]]
assert fa and fa == fb, (fa, fb)' "$WORK/statusA.json" "$WORK/statusB.json" "$f" \
    || fail "status of $f differs between A and B"
done

# lamport merge rule: after importing, A's next local events are stamped above
# every clock it imported from B
maxb=$("$BIN" events --log "$B" | "$PY" -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin if l.strip()]
print(max(e["lamport_clock"] for e in evs))')
head_a=$("$BIN" events --log "$A" | wc -l)
# meanwhile a `publish --follow` (read-only) mirrors the new scan as it commits
"$BIN" publish --nats "$NATS_URL" --log "$A" --follow --poll 100ms -q 2>"$WORK/follow.err" &
follower=$!
CLEANUP_PIDS+=("$follower")
before=$(nats_stream info | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["messages"])')
echo "one more line" >> "$ma/spec.md"
"$BIN" scan --mission-type software-dev --log "$A" -q "$ma"   # the writer, concurrently
minnew=$("$BIN" events --log "$A" --since "$head_a" | "$PY" -c '
import json, sys
print(min(json.loads(l)["lamport_clock"] for l in sys.stdin if l.strip()))')
[ "$minnew" -gt "$maxb" ] || fail "lamport: new local event $minnew not above imported $maxb"
nnew=$("$BIN" events --log "$A" --since "$head_a" | wc -l)
nats_stream wait $((before + nnew)) 30 >/dev/null || fail "publish --follow did not mirror the new scan"
kill -TERM "$follower"
rc=0
wait "$follower" || rc=$?
[ "$rc" -eq 0 ] || fail "publish --follow exited $rc on SIGTERM: $(cat "$WORK/follow.err")"
nats_stream ids | sort > "$WORK/stream_final.ids"
ids "$A" > "$WORK/a_final.ids"
cmp -s "$WORK/stream_final.ids" "$WORK/a_final.ids" || fail "the follower's stream differs from log A"
# --json reports: nothing new to publish or pull, said as JSON
"$BIN" publish --nats "$NATS_URL" --log "$A" --json > "$WORK/pub.json"
"$PY" -c 'import json,sys; o=json.loads(open(sys.argv[1]).read().splitlines()[-1]); assert o["published"] == 0, o' "$WORK/pub.json" \
  || fail "publish --json: $(cat "$WORK/pub.json")"
"$BIN" pull --nats "$NATS_URL" --log "$A" --json > "$WORK/pull.json"
"$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["imported"] == 0, o' "$WORK/pull.json" \
  || fail "pull --json: $(cat "$WORK/pull.json")"
echo "nats_converge: ok"
