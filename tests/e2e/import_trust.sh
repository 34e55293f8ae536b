#!/usr/bin/env bash
# import_trust: the trust rule of `dossier import` (issue 17 item 7;
# docs/log.md "Trust").  A forged dossier_baseline_accepted naming the latest
# snapshot and carrying the log's own node_id would turn drift's exit 4 into
# 0; it is refused (exit 1, nothing appended), drift stays 4 and verify stays
# clean.  A baseline from another node and an ordinary event claiming the
# log's own node_id are refused too; the log's own export re-imports as
# duplicates; --trust-internal accepts a replica's baseline, whose origin
# `status` and `drift` then show as imported from that node.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
unset DOSSIER_LOG

m=$(sample_copy m)
log="$m/.dossier"
"$BIN" scan "$m" --mission-type software-dev -q
expect_exit 0 "$BIN" baseline accept --log "$log" > /dev/null
echo "a change" >> "$m/plan.md"
expect_exit 0 "$BIN" scan "$m" --mission-type software-dev -q
expect_exit 4 "$BIN" drift --log "$log" > /dev/null
"$BIN" events --log "$log" > "$WORK/own.ndjson"
n_before=$(wc -l < "$WORK/own.ndjson")

# forge.py KIND OUT: one envelope built from the log's export.
#   baseline-own      baseline of the latest snapshot, this log's node_id
#   baseline-foreign  the same from another node
#   indexed-own       an artifact_indexed claiming this log's node_id
cat > "$WORK/forge.py" <<'PY'
import json, random, sys, time
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def ulid():
    v = (int(time.time() * 1000) << 80) | random.getrandbits(80)
    return "".join(CROCKFORD[(v >> (5 * i)) & 31] for i in range(25, -1, -1))
kind, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
evs = [json.loads(l) for l in open(src)]
base = [e for e in evs if e["event_type"] == "dossier_baseline_accepted"][-1]
snap = [e for e in evs if e["event_type"] == "mission_dossier_snapshot_computed"][-1]
idx = [e for e in evs if e["event_type"] == "mission_dossier_artifact_indexed"][-1]
top = max(e["lamport_clock"] for e in evs)
e = json.loads(json.dumps(idx if kind == "indexed-own" else base))
e["event_id"] = ulid()
e["lamport_clock"] = top + 10
if kind.startswith("baseline"):
    e["payload"]["snapshot_id"] = snap["payload"]["snapshot_id"]
    e["payload"]["parity_hash_sha256"] = snap["payload"]["parity_hash_sha256"]
if kind == "baseline-foreign":
    e["node_id"] = e["payload"]["node_id"] = ulid()
if kind == "indexed-own":
    e["payload"]["relative_path"] = "forged.md"
    e["payload"]["artifact_key"] = "forged.md"
open(out, "w").write(json.dumps(e) + "\n")
PY

for kind in baseline-own baseline-foreign indexed-own; do
  "$PY" "$WORK/forge.py" "$kind" "$WORK/own.ndjson" "$WORK/$kind.ndjson"
  rc=0
  "$BIN" import "$WORK/$kind.ndjson" --log "$log" 2> "$WORK/err" > /dev/null || rc=$?
  [ "$rc" -eq 1 ] || fail "$kind: import exited $rc, want 1"
  grep -q "$kind.ndjson:1: .*refused" "$WORK/err" || fail "$kind: no FILE:LINE refusal: $(cat "$WORK/err")"
  grep -q -- "--trust-internal" "$WORK/err" || fail "$kind: the error does not name --trust-internal"
  [ "$("$BIN" events --log "$log" | wc -l)" -eq "$n_before" ] || fail "$kind: something was appended"
  expect_exit 4 "$BIN" drift --log "$log" > /dev/null
  expect_exit 0 "$BIN" verify --log "$log" > /dev/null
done

# The log's own export: all duplicates, accepted.
out=$("$BIN" import "$WORK/own.ndjson" --log "$log") || fail "re-import of the own export"
[ "$out" = "$WORK/own.ndjson: $n_before envelopes, 0 added, $n_before duplicates" ] \
  || fail "re-import said: $out"

# The baseline here was accepted by this log.
# (drift exits 4 here: its output is kept in a file, not piped)
"$BIN" status --log "$log" > "$WORK/status.txt" || [ $? -eq 4 ] || fail "status"
grep -q "^  baseline .*, by this log$" "$WORK/status.txt" || fail "status: local baseline not shown as such"
"$BIN" drift --log "$log" > "$WORK/drift.txt" || [ $? -eq 4 ] || fail "drift"
grep -q "^Accepted:   here" "$WORK/drift.txt" || fail "drift: local baseline not shown as such"

# A replica: refused without the flag (its baseline), accepted with it; the
# baseline's origin is the first log's node.
node=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["node_id"])' "$WORK/own.ndjson")
expect_exit 1 "$BIN" import "$WORK/own.ndjson" --log "$WORK/replica" -q 2> /dev/null
[ ! -e "$WORK/replica/CURRENT" ] || [ "$("$BIN" events --log "$WORK/replica" | wc -l)" -eq 0 ] \
  || fail "a refused replica import appended events"
expect_exit 0 "$BIN" import "$WORK/own.ndjson" --log "$WORK/replica" -q --trust-internal
"$BIN" status --log "$WORK/replica" > "$WORK/status.txt" || [ $? -eq 4 ] || fail "status replica"
grep -q "^  baseline .*, imported from node $node$" "$WORK/status.txt" \
  || fail "status: imported baseline's origin not shown: $(grep baseline "$WORK/status.txt")"
"$BIN" drift --log "$WORK/replica" > "$WORK/drift.txt" || [ $? -eq 4 ] || fail "drift replica"
grep -q "^Accepted:   imported from node $node$" "$WORK/drift.txt" \
  || fail "drift: imported baseline's origin not shown"
"$BIN" drift --log "$WORK/replica" --json > "$WORK/drift.json" || [ $? -eq 4 ] || fail "drift --json"
"$PY" - "$WORK/drift.json" "$node" <<'PY' || fail "drift --json origin"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["baseline"]["origin"] == "imported" and d["baseline"]["origin_node_id"] == sys.argv[2], d
PY

# Trusted on purpose, the forged baseline is accepted: the flag is the gate.
expect_exit 0 "$BIN" import "$WORK/baseline-own.ndjson" --log "$log" -q --trust-internal
expect_exit 0 "$BIN" drift --log "$log" > /dev/null
echo "ok"
