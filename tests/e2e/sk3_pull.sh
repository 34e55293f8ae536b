#!/usr/bin/env bash
# `pull --profile spec-kitty-3` (issue 19): a log fed only by pulling the
# spec-kitty-3 stream that `publish --profile spec-kitty-3` wrote renders
# every spec-kitty-3 event of the publishing log (plus the snapshots its own
# projection derives, with the same hashes), and status and snapshot
# work on it (each pulled run gets its scan completion); pulling again adds
# nothing; a wp04 pull of that stream reports every message invalid, naming
# the field.  Loopback only.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require

m=$(sample_copy mission)
A="$WORK/A"
B="$WORK/B"
"$BIN" scan --mission-type software-dev --log "$A" -q "$m" || true
"$BIN" baseline accept --log "$A" > /dev/null
echo "one more line" >> "$m/plan.md"
"$BIN" scan --mission-type software-dev --log "$A" -q "$m" || true
n_four=$("$BIN" events --log "$A" | grep -c '"event_type":"mission_dossier_')

expect_exit 2 "$BIN" pull --nats nats://127.0.0.1:1 --profile nope --log "$B"
nats_start
"$BIN" publish --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 \
  --log "$A" -q || fail "publish --profile spec-kitty-3"

# 1. pull into a fresh log: the same spec-kitty-3 events
"$BIN" pull --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 \
  --log "$B" --json > "$WORK/pull1.json" || fail "pull --profile spec-kitty-3: $(cat "$WORK/pull1.json")"
grep -q "\"received\":$n_four," "$WORK/pull1.json" || fail "expected $n_four received: $(cat "$WORK/pull1.json")"
grep -q '"invalid":0,' "$WORK/pull1.json" || fail "invalid messages: $(cat "$WORK/pull1.json")"
"$BIN" events --profile spec-kitty-3 --log "$A" | sort > "$WORK/a.sk3"
"$BIN" events --profile spec-kitty-3 --log "$B" | sort > "$WORK/b.sk3"
[ "$(wc -l < "$WORK/a.sk3")" -eq "$n_four" ] || fail "log A renders $(wc -l < "$WORK/a.sk3") events, not $n_four"
# Every event of A is in B, byte for byte.  B's projection also derives a
# snapshot of its own for each pulled run (as after an import: the run's
# completion was made here); those carry A's snapshot hashes.
"$PY" - "$WORK/a.sk3" "$WORK/b.sk3" <<'PYEOF' || fail "B's spec-kitty-3 events differ from A's"
import json, sys
a = [l for l in open(sys.argv[1])]
b = [l for l in open(sys.argv[2])]
missing = [l for l in a if l not in b]
assert not missing, ("not in B", missing[:2])
hashes = {json.loads(l)["payload"].get("snapshot_hash") for l in a}
for l in b:
    if l in a:
        continue
    e = json.loads(l)
    assert e["event_type"] == "MissionDossierSnapshotComputed", ("extra in B", l)
    assert e["payload"]["snapshot_hash"] in hashes, ("B's own snapshot differs", l)
PYEOF
# each pulled run was closed by a made completion, so B has its snapshots
[ "$("$BIN" events --log "$B" | grep -c '"event_type":"dossier_scan_completed"')" -eq 2 ] \
  || fail "expected a scan completion per pulled run"
"$BIN" status --log "$B" > "$WORK/status.txt" || true
grep -q "total" "$WORK/status.txt" || fail "status on a pulled log: $(cat "$WORK/status.txt")"
"$BIN" snapshot --log "$B" > "$WORK/snap.txt" || fail "snapshot on a pulled log: $(cat "$WORK/snap.txt")"

# 2. pulling again adds nothing
n_b=$("$BIN" events --log "$B" | wc -l)
"$BIN" pull --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 \
  --log "$B" --json > "$WORK/pull2.json" || fail "second pull"
grep -q '"imported":0,' "$WORK/pull2.json" || fail "second pull imported: $(cat "$WORK/pull2.json")"
[ "$("$BIN" events --log "$B" | wc -l)" -eq "$n_b" ] || fail "second pull added events"
# a second consumer of the same log re-reads the whole stream: all duplicates
"$BIN" pull --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 --profile spec-kitty-3 \
  --durable again --log "$B" --json > "$WORK/pull3.json" || fail "re-read pull"
grep -q "\"imported\":0,\"duplicates\":$n_four," "$WORK/pull3.json" \
  || fail "re-reading the stream added events: $(cat "$WORK/pull3.json")"
[ "$("$BIN" events --log "$B" | wc -l)" -eq "$n_b" ] || fail "re-read pull added events"

# 3. a wp04 pull of the spec-kitty-3 stream: every message invalid, named
expect_exit 1 "$BIN" pull --nats "$NATS_URL" --stream SK3 --subject-prefix sk3 \
  --log "$WORK/C" --json > "$WORK/wp04.json" 2> "$WORK/wp04.err"
out=$(cat "$WORK/wp04.json")
grep -q "\"imported\":0,\"duplicates\":0,\"invalid\":$n_four," <<<"$out" \
  || fail "wp04 pull of a spec-kitty-3 stream: $out"
grep -q "is not a valid envelope" "$WORK/wp04.err" || fail "no invalid report: $(head -3 "$WORK/wp04.err")"
# and a spec-kitty-3 pull of the canonical stream: invalid, naming the field
"$BIN" publish --nats "$NATS_URL" --stream CANON --log "$A" -q || fail "publish wp04"
"$BIN" pull --nats "$NATS_URL" --stream CANON --profile spec-kitty-3 --log "$WORK/D" \
  > /dev/null 2> "$WORK/sk3.err" && fail "spec-kitty-3 pull of a canonical stream succeeded"
grep -q "is not a valid envelope, not imported: payload\.feature_slug: forbidden" "$WORK/sk3.err" \
  || fail "the problem does not name the field: $(head -3 "$WORK/sk3.err")"
echo "ok"
