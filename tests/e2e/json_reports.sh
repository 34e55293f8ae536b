#!/usr/bin/env bash
# Every --json report of every command is valid against its schema in
# schemas/reports/ (draft 2020-12, checked with Debian's python3-jsonschema):
# index (NDJSON rows), scan, status, snapshot (with --artifacts), drift (no
# drift, drift, no baseline), diff, log, baseline show, verify (and
# --repair), replay (and --verify), validate, import, deliver, deliveries
# (counts, --dead, --retry), endpoint list, and publish and pull when a
# nats-server is at hand.  Then the check's teeth: the old names and shapes
# (a count where a list is due, local_parity_hash, a drift that is a string)
# are refused.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"
"$PY" -c 'import jsonschema' 2>/dev/null || { echo "python3-jsonschema missing: skip"; exit 77; }
SCHEMAS="$SRC/schemas/reports"
CHECK=("$PY" "$SRC/tests/support/check_reports.py" "$SCHEMAS")
"${CHECK[@]}" --check || fail "schemas/reports/ is not a valid set of draft 2020-12 schemas"

m=$(sample_copy)
log="$WORK/log"
export DOSSIER_LOG="$log"
checked=()   # schema names, and the arguments of the one check at the end
pairs=()
# run EXPECTED_EXIT SCHEMA FILE [--ndjson] -- cmd...: run, keep stdout for
# the check (one python run for all: loading jsonschema takes most of a second)
run() {
  local want=$1 schema=$2 out="$WORK/$3"; shift 3
  local nd=()
  [ "${1:-}" = --ndjson ] && { nd=(--ndjson); shift; }
  [ "$1" = -- ] && shift
  expect_exit "$want" "$@" > "$out"
  checked+=("$schema")
  pairs+=("${nd[@]}" "$schema" "$out")
}

run 0 index index.ndjson --ndjson -- "$BIN" index "$m" --mission-type software-dev -q
run 0 scan scan1.json -- "$BIN" scan "$m" --mission-type software-dev --json
run 0 drift drift-none.json -- "$BIN" drift --json          # no baseline yet
run 0 status status1.json -- "$BIN" status --json
"$BIN" baseline accept > /dev/null
run 0 baseline baseline.json -- "$BIN" baseline show --json
run 0 drift drift-same.json -- "$BIN" drift --json

# drift: a required artifact gone, one edited, one new, one unusable
rm "$m/spec.md"
echo "one more line" >> "$m/plan.md"
echo "new evidence" > "$m/evidence/new.md"
printf 'bad \xff utf-8\n' > "$m/extra.md"
run 1 scan scan2.json -- "$BIN" scan "$m" --mission-type software-dev --json --rehash
run 4 drift drift.json -- "$BIN" drift --json
run 0 status status2.json -- "$BIN" status --json
run 1 snapshot snapshot.json -- "$BIN" snapshot --json --artifacts
run 0 log log.json -- "$BIN" log --json
run 1 diff diff.json -- "$BIN" diff --json
"$PY" - "$WORK/drift.json" "$WORK/status2.json" "$WORK/scan2.json" <<'PYEOF' || fail "drift reports disagree"
import json, sys
d, st, sc = (json.load(open(p)) for p in sys.argv[1:4])
assert d["status"] == "drift" and d["drift_detected"], d
assert d["missing_in_local"] and d["missing_in_baseline"] and d["changed"], d
# the same drift summary in scan, status and drift
keys = ["status", "severity", "snapshot_id", "baseline_snapshot_id", "event_id",
        "missing_in_local", "missing_in_baseline", "changed"]
f = st["features"][0]
for k in keys:
    assert f["drift"][k] == d[k] == sc["drift"][k], (k, f["drift"][k], d[k], sc["drift"][k])
assert f["baseline"] == {k: v for k, v in d["baseline"].items()}, (f["baseline"], d["baseline"])
assert sc["optional_unusable"] == 1, sc
PYEOF

run 0 verify verify.json -- "$BIN" verify --json
run 0 verify repair.json -- "$BIN" verify --repair --json
run 0 replay replay.json -- "$BIN" replay --json
run 0 replay replay0.json -- "$BIN" replay --from-zero --json
run 0 replay-verify rverify.ndjson --ndjson -- "$BIN" replay --verify --json
grep -q '"differences":0' "$WORK/rverify.ndjson" || fail "replay --verify found differences"

"$BIN" events > "$WORK/events.ndjson"
run 0 import import.json -- "$BIN" import --json "$WORK/events.ndjson"
grep -q '"added":0' "$WORK/import.json" || fail "re-import added events"
run 0 validate validate.ndjson --ndjson -- "$BIN" validate --json "$WORK/events.ndjson"
echo '{"event_id": 1}' >> "$WORK/events.ndjson"
run 1 validate validate2.ndjson --ndjson -- "$BIN" validate --json "$WORK/events.ndjson"
grep -q '"line":' "$WORK/validate2.ndjson" || fail "validate --json names no line"

# delivery: the first request is refused (a dead letter), the rest accepted
make_secret
start_receiver recv --secret-file "$SECRET" --script 404 --default 204 --deadline 60
"$BIN" endpoint add hook --url "http://127.0.0.1:$RECV_PORT/hook" --secret-file "$SECRET" > /dev/null
run 0 endpoint-list endpoints.json -- "$BIN" endpoint list --json
run 1 deliver deliver.json -- "$BIN" deliver --endpoint hook --concurrency 1 --timeout 2 --json
run 0 deliveries deliveries.json -- "$BIN" deliveries --json
run 0 deliveries-dead dead.json -- "$BIN" deliveries --dead --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) == 1, d' "$WORK/dead.json" \
  || fail "expected one dead letter: $(cat "$WORK/dead.json")"
run 0 deliveries-retry retry.json -- "$BIN" deliveries --retry --json
run 0 status status3.json -- "$BIN" status --json   # with an endpoint's counts

# NATS: publish and pull, when a server and NATS support are at hand
if command -v nats-server > /dev/null &&
   ! grep -q "without NATS support" <<<"$("$BIN" publish --nats nats://127.0.0.1:1 2>&1)"; then
  source "$SRC/tests/support/nats_lib.sh"
  nats_require
  nats_start
  run 0 publish publish.json -- "$BIN" publish --nats "$NATS_URL" --json
  run 0 pull pull.json -- "$BIN" pull --nats "$NATS_URL" --log "$WORK/replica" --trust-internal --json
else
  echo "note: publish and pull not checked (no nats-server or no NATS support)" >&2
fi

# --profile spec-kitty-3: scan, snapshot and status add profile and
# snapshot_hash (a log of its own, so the wp04 reports above keep theirs)
sk3=$WORK/sk3-mission
cp -r "$SRC/tests/data/interop/missions/m1-software-dev" "$sk3"
run 0 scan scan-sk3.json -- "$BIN" scan "$sk3" --log "$WORK/sk3-log" --profile spec-kitty-3 \
  --mission-type software-dev --json
run 0 snapshot snapshot-sk3.json -- "$BIN" snapshot --log "$WORK/sk3-log" --profile spec-kitty-3 --json
run 0 status status-sk3.json -- "$BIN" status --log "$WORK/sk3-log" --profile spec-kitty-3 --json
for f in scan-sk3 snapshot-sk3 status-sk3; do
  grep -q '"profile":"spec-kitty-3","snapshot_hash":"sha256:' "$WORK/$f.json" \
    || fail "$f.json does not name its profile and snapshot_hash: $(cat "$WORK/$f.json")"
done

"${CHECK[@]}" "${pairs[@]}" > "$WORK/check.out" 2>&1 \
  || { cat "$WORK/check.out" >&2; fail "a report does not match its schema"; }

# Every schema but the shared definitions was used.
for s in "$SCHEMAS"/*.schema.json; do
  name=$(basename "$s" .schema.json)
  [ "$name" = common ] && continue
  case " ${checked[*]} " in
    *" $name "*) ;;
    *) [ "$name" = publish ] || [ "$name" = pull ] || fail "schema $name was not checked" ;;
  esac
done

# The check has teeth: yesterday's names and shapes are refused.
"$PY" - "$WORK" <<'PYEOF'
import json, sys
w = sys.argv[1]
st = json.load(open(w + "/status2.json"))
st["features"][0]["drift"]["missing_in_local"] = 1          # a count, not the keys
json.dump(st, open(w + "/bad-status.json", "w"))
d = json.load(open(w + "/drift.json"))
d["local_parity_hash"] = d.pop("parity_hash_sha256")         # the old name
json.dump(d, open(w + "/bad-drift.json", "w"))
sc = json.load(open(w + "/scan2.json"))
sc["drift"] = "drift"                                        # a string, not the object
json.dump(sc, open(w + "/bad-scan.json", "w"))
PYEOF
rc=0
"${CHECK[@]}" status "$WORK/bad-status.json" drift "$WORK/bad-drift.json" scan "$WORK/bad-scan.json" \
  > "$WORK/bad.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/bad.out"; fail "old names and shapes passed the schemas (exit $rc)"; }
for f in bad-status bad-drift bad-scan; do
  grep -q "^$f.json:1: " "$WORK/bad.out" || { cat "$WORK/bad.out"; fail "$f.json was not refused"; }
done
echo "json_reports: ok (${#checked[@]} reports checked)"
