#!/usr/bin/env bash
# read_first: the read commands (status, snapshot, drift, log) open the log
# read-only when the projections have folded all of it, and as a writer
# only to catch them up (cli/cli_proj.c):
#   1. after a scan, status and the others change nothing in the log
#      folder (no OPTIONS, MANIFEST, WAL or info LOG file, the folder's own
#      mtime included), and report what a writer's open reported before;
#   2. an event committed without its catch-up (a writer killed between the
#      two): status folds it (checkpoints at the head, the artifact in the
#      snapshot) and says nothing is stale;
#   3. a log whose write-ahead log was cut short of the committed sequences,
#      and one missing a table file: status still refuses them (exit 3), as
#      the writer's open does, rather than showing what is left (a RocksDB
#      secondary passes over a table file it cannot open).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q || fail "scan"
"$BIN" baseline accept --log "$log" > /dev/null || fail "baseline accept"

build_helper append_event "append helper"

listing() { (cd "$1" && find . -maxdepth 1 -printf '%f %s %T@\n' | sort); }

# ---- 1. a folded log is only read ---------------------------------------------
listing "$log" > "$WORK/before"
"$BIN" status --log "$log" --json > "$WORK/status.json" || fail "status"
"$BIN" snapshot --log "$log" --json > /dev/null || fail "snapshot"
"$BIN" drift --log "$log" > /dev/null || fail "drift"
"$BIN" log --log "$log" > /dev/null || fail "log"
listing "$log" > "$WORK/after"
diff "$WORK/before" "$WORK/after" > "$WORK/listing.diff" \
  || { cat "$WORK/listing.diff"; fail "a read command of a folded log changed the log folder"; }
"$PY" - "$WORK/status.json" <<'PYEOF' || fail "status of a folded log"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["head"] > 0 and d["stale"] is False, d
assert all(v == d["head"] for v in d["checkpoints"].values()), d
assert d["features"][0]["completeness_status"] == "complete", d["features"][0]
PYEOF

# ---- 2. an event the projections have not folded -------------------------------
feature=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["features"][0]["feature_slug"])' \
  "$WORK/status.json")
head0=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["head"])' "$WORK/status.json")
"$WORK/append_event" "$log" "$feature" "late/added.md" || fail "append an event"
"$BIN" status --log "$log" --json > "$WORK/status2.json" || fail "status after the append"
"$PY" - "$WORK/status2.json" "$head0" <<'PYEOF' || fail "status did not fold the appended event"
import json, sys
d, head0 = json.load(open(sys.argv[1])), int(sys.argv[2])
assert d["head"] > head0, (d["head"], head0)
assert d["stale"] is False, d
assert all(v == d["head"] for v in d["checkpoints"].values()), d
PYEOF

# ---- 3. a write-ahead log cut short of what was committed ----------------------
c="$WORK/cut"
cp -r "$log" "$c"
find "$c" -maxdepth 1 -name '[0-9]*.log' -delete
rc=0
"$BIN" status --log "$c" > /dev/null 2> "$WORK/status3.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/status3.err"; fail "status of a log without its WAL exited $rc, want 3"; }
grep -q "verify" "$WORK/status3.err" \
  || { cat "$WORK/status3.err"; fail "status's error does not point at verify"; }
# a table file gone (the log flushed to tables first, so that there are some)
t="$WORK/table"
cp -r "$log" "$t"
flush_to_tables "$t"
sst=$(find "$t" -maxdepth 1 -name '*.sst' | sort | sed -n 1p)
[ -n "$sst" ] || fail "no table file in $t"
rm "$sst"
rc=0
"$BIN" status --log "$t" > /dev/null 2> "$WORK/status4.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/status4.err"; fail "status of a log missing $(basename "$sst") exited $rc, want 3"; }
grep -q "$(basename "$sst" .sst)" "$WORK/status4.err" \
  || { cat "$WORK/status4.err"; fail "status's error does not name the missing table file"; }
echo "read_first: a folded log is only read; an unfolded event is folded; a cut log and a missing table are refused"
