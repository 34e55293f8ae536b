#!/usr/bin/env bash
# index, scan, status, snapshot and log count the same run the same way
# (docs/reports.md, Counts): the same artifact_counts in their JSON, the same
# phrase in their text, and index's rows agree with them; a mission with a
# required artifact unusable (invalid UTF-8), absent optional entries and an
# unusable file no entry requires, then one with a required artifact gone.
# Events and the head agree too: scan's events are the run's envelopes, its
# head is status's and verify's, and the events between are the derived ones.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
export DOSSIER_LOG="$WORK/log"
MT=(--mission-type software-dev)

check_run() {   # check_run NAME EXPECTED_SCAN_EXIT
  local n=$1 want=$2
  expect_exit "$want" "$BIN" index "$m" "${MT[@]}" > "$WORK/$n.index" 2> "$WORK/$n.index.err"
  expect_exit "$want" "$BIN" scan "$m" "${MT[@]}" --json > "$WORK/$n.scan.json"
  "$BIN" status --json > "$WORK/$n.status.json"
  "$BIN" snapshot --json > "$WORK/$n.snapshot.json" || true
  "$BIN" log --json > "$WORK/$n.log.json"
  "$BIN" verify --json > "$WORK/$n.verify.json"
  "$BIN" events > "$WORK/$n.events.ndjson"
  # the text of the same reports
  expect_exit "$want" "$BIN" scan "$m" "${MT[@]}" > "$WORK/$n.scan.txt"
  "$BIN" status > "$WORK/$n.status.txt"
  "$BIN" snapshot > "$WORK/$n.snapshot.txt" || true
  "$PY" - "$WORK" "$n" <<'PYEOF' || fail "$n: the reports do not agree"
import json, re, sys
w, n = sys.argv[1], sys.argv[2]
def j(x): return json.load(open("%s/%s.%s" % (w, n, x)))
scan, status, snap, log, verify = (j(x) for x in
    ("scan.json", "status.json", "snapshot.json", "log.json", "verify.json"))
counts = scan["artifact_counts"]
for who, c in (("status", status["features"][0]["artifact_counts"]),
               ("snapshot", snap["artifact_counts"]),
               ("log", log["snapshots"][0]["artifact_counts"])):
    assert c == counts, (who, c, "scan", counts)
c = counts
assert c["total"] == c["present"] + c["required_missing"] + c["optional_absent"], c
assert c["total"] == c["required"] + c["optional"], c

# index: its rows are the present, the missing required and the unusable
rows = [json.loads(l) for l in open("%s/%s.index" % (w, n))]
present = sum(r["present"] for r in rows)
req_missing = sum(1 for r in rows if r["required_status"] == "required" and not r["present"])
req_unusable = sum(1 for r in rows if r["required_status"] == "required" and not r["present"]
                   and r["reason_code"] != "not_found")
opt_unusable = sum(1 for r in rows if r["required_status"] == "optional" and not r["present"])
assert (present, req_missing, req_unusable, opt_unusable) == (
    c["present"], c["required_missing"], c["required_unusable"], scan["optional_unusable"]), \
    (present, req_missing, req_unusable, opt_unusable, c, scan["optional_unusable"])

# one phrase in the text of index, scan, status and snapshot
phrase = "%d total: %d present, %d missing required" % (c["total"], c["present"],
                                                        c["required_missing"])
if c["required_unusable"]:
    phrase += " (%d unusable)" % c["required_unusable"]
phrase += ", %d absent optional (required %d: %d present; optional %d: %d present)" % (
    c["optional_absent"], c["required"], c["required_present"], c["optional"],
    c["optional_present"])
for f in ("index.err", "scan.txt", "status.txt", "snapshot.txt"):
    text = open("%s/%s.%s" % (w, n, f)).read()
    assert phrase in text, (f, phrase, text)

# events: the run's envelopes, then the derived ones up to the head
envs = [json.loads(l) for l in open("%s/%s.events.ndjson" % (w, n))]
run = [e for e in envs if e["correlation_id"] == scan["run_id"]]
derived = {"mission_dossier_snapshot_computed", "mission_dossier_parity_drift_detected"}
recorded = [e for e in run if e["event_type"] not in derived]
assert scan["events"] == len(recorded) == scan["last_seq"] - scan["first_seq"] + 1, \
    (scan["events"], len(recorded), scan["first_seq"], scan["last_seq"])
assert scan["events"] == scan["indexed"] + scan["missing"] + scan["removed"] + 1, scan
assert scan["head"] == status["head"] == verify["head"] == verify["events"], \
    (scan["head"], status["head"], verify["head"], verify["events"])
assert scan["head"] - scan["last_seq"] == len(run) - len(recorded), (scan, len(run))
m = re.search(r"head (\d+)", open("%s/%s.scan.txt" % (w, n)).read())
s = re.search(r"head (\d+)", open("%s/%s.status.txt" % (w, n)).read())
assert m and s and m.group(1) == s.group(1), "scan's and status's head differ in the text"
PYEOF
}

# 1. spec.md (required) is not UTF-8: missing, unusable; extra.md, which no
#    entry requires, is unusable too and in no count
printf 'spec \xff\xfe\n' > "$m/spec.md"
printf 'extra \xff\n' > "$m/extra.md"
check_run unusable 1
# 2. spec.md gone, extra.md fixed
rm "$m/spec.md"
echo "extra" > "$m/extra.md"
check_run gone 1
# 3. complete
cp "$SRC/examples/sample-mission/spec.md" "$m/spec.md"
check_run complete 0
echo "report_counts: ok"
