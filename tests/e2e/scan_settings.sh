#!/usr/bin/env bash
# Remembered scan settings (issue 20 item 3): a scan that leaves out the
# manifest, step, profile or excludes reuses those of the feature's last
# completed scan, shown by status; a setting given with another value
# replaces it with a note; a manifest file edited since is noted; a drift
# gate never passes on a snapshot it cannot compare.  Also scan and watch
# --endpoint NAME (issue 22): delivery to that saved endpoint only.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

# out_err CODE cmd...: run cmd with stdout in $WORK/out and stderr in
# $WORK/err; fail (on the terminal) unless it exits with CODE
out_err() {
  local want=$1 got=0; shift
  "$@" > "$WORK/out" 2> "$WORK/err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$WORK/err" >&2; fail "expected exit $want, got $got: $*"; }
}
# st LOG FIELD: one field of the feature's remembered settings (status --json)
st() {
  "$BIN" status --log "$1" --json > "$WORK/st.json" || fail "status --log $1"
  "$PY" - "$WORK/st.json" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["features"][0]["settings"]
v = s[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else ("null" if v is None else v))
EOF
}
# snap LOG FIELD: a field of the latest snapshot
snap() {
  "$BIN" snapshot --log "$1" --json > "$WORK/snap.json" || true
  "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("null" if v is None else v)' \
    "$WORK/snap.json" "$2"
}

# ---- 1. the issue's scenario: a rescan without --mission-type ---------------
m=$(sample_copy m1)
log="$m/.dossier"
expect_exit 0 "$BIN" scan "$m" --mission-type software-dev -q
"$BIN" baseline accept --log "$log" > /dev/null || fail "baseline accept"
out_err 0 "$BIN" scan "$m" -v
grep -q 'manifest *software-dev (remembered from the last scan)' "$WORK/out" \
  || { cat "$WORK/out"; fail "the rescan did not reuse the mission type"; }
grep -q "reusing the settings of the feature's last scan.*manifest software-dev" "$WORK/err" \
  || { cat "$WORK/err"; fail "-v does not say which settings were reused"; }
[ "$(snap "$log" mission_type)" = software-dev ] || fail "snapshot lost the mission type"
expect_exit 0 "$BIN" drift --log "$log" > /dev/null      # compared, no change
echo "an edit" >> "$m/plan.md"
expect_exit 0 "$BIN" scan "$m" -q
expect_exit 4 "$BIN" drift --log "$log" > /dev/null      # compared, drift
[ "$(st "$log" mission_type)" = software-dev ] || fail "status does not show the mission type"
"$BIN" status --log "$log" > "$WORK/out"
grep -q '^  settings   manifest software-dev, step none, profile wp04, excludes none$' "$WORK/out" \
  || { cat "$WORK/out"; fail "status text does not show the settings"; }

# --reset-settings: nothing remembered is reused, the change is noted, and
# the snapshot (no manifest) cannot be compared: drift exits 5, never 0
out_err 0 "$BIN" scan "$m" --reset-settings
grep -q "note: settings changed from the feature's last scan.*manifest software-dev -> none" \
  "$WORK/err" || { cat "$WORK/err"; fail "no note for the reset manifest"; }
[ "$(snap "$log" mission_type)" = null ] || fail "--reset-settings kept the manifest"
expect_exit 5 "$BIN" drift --log "$log" > /dev/null
expect_exit 5 "$BIN" drift --log "$log" --json > /dev/null
[ "$(st "$log" mission_type)" = null ] || fail "the reset settings are not remembered"

# ---- 2. explicit change, and a step remembered with its manifest ------------
m=$(sample_copy m2)
log="$m/.dossier"
step=plan
expect_exit 0 "$BIN" scan "$m" --mission-type software-dev --step "$step" -q
expect_exit 0 "$BIN" scan "$m" -q                          # reuses both
[ "$(st "$log" step_id)" = "$step" ] || fail "the step was not reused"
[ "$(snap "$log" step_id)" = "$step" ] || fail "the snapshot lost the step"
out_err 0 "$BIN" scan "$m" --mission-type research
grep -q "note: settings changed.*manifest software-dev -> research; step $step -> none; later scans reuse the new ones" \
  "$WORK/err" || { cat "$WORK/err"; fail "no note naming the old and new settings"; }
[ "$(st "$log" mission_type)" = research ] && [ "$(st "$log" step_id)" = null ] \
  || fail "the new settings are not remembered"
# a step given alone applies to the remembered manifest
out_err 2 "$BIN" scan "$m" --step no-such-step -q
grep -q "manifest research has no step 'no-such-step'" "$WORK/err" \
  || { cat "$WORK/err"; fail "a bad step is not refused against the remembered manifest"; }
# the same value given again: no note
out_err 0 "$BIN" scan "$m" --mission-type research
! grep -q "note:" "$WORK/err" || { cat "$WORK/err"; fail "a note for an unchanged setting"; }

# ---- 3. excludes reused ------------------------------------------------------
m=$(sample_copy m3)
log="$WORK/log3"
expect_exit 0 "$BIN" scan "$m" --log "$log" --exclude 'evidence/' --exclude '*.json' --json \
  > "$WORK/s1.json"
expect_exit 0 "$BIN" scan "$m" --log "$log" --json > "$WORK/s2.json"
"$PY" - "$WORK/s1.json" "$WORK/s2.json" <<'EOF' || fail "excludes not reused"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["excluded"] > 0 and a["excluded"] == b["excluded"], (a["excluded"], b["excluded"])
assert a["parity_hash_sha256"] == b["parity_hash_sha256"]
EOF
[ "$(st "$log" excludes)" = "evidence/ *.json" ] || fail "status shows excludes '$(st "$log" excludes)'"
"$BIN" events --log "$log" > "$WORK/ev"
! grep -q '"relative_path":"evidence/' "$WORK/ev" || fail "an excluded file was recorded"
grep -q '"excludes":\["evidence/","\*.json"\]' "$WORK/ev" \
  || fail "the scan marker does not record the excludes"

# ---- 4. profile reused -----------------------------------------------------
m=$(sample_copy m4)
log="$WORK/log4"
expect_exit 0 "$BIN" scan "$m" --log "$log" --profile spec-kitty-3 --mission-type software-dev -q
expect_exit 0 "$BIN" scan "$m" --log "$log" -q
[ "$(snap "$log" profile)" = spec-kitty-3 ] || fail "the profile was not reused"
[ "$(st "$log" profile)" = spec-kitty-3 ] || fail "status does not show the profile"
expect_exit 0 "$BIN" snapshot --log "$log" --profile spec-kitty-3 > /dev/null

# ---- 5. a manifest file: path reused, content change noted -----------------
m=$(sample_copy m5)
log="$WORK/log5"
mkdir -p "$WORK/cfg"
cp "$SRC/manifests/software-dev.yaml" "$WORK/cfg/expected.yaml"
(cd "$WORK/cfg" && "$BIN" scan "$m" --log "$log" --manifest expected.yaml -q) \
  || fail "scan --manifest (relative path)"
[ "$(st "$log" manifest_path)" = "$(realpath "$WORK/cfg/expected.yaml")" ] \
  || fail "status shows manifest_path $(st "$log" manifest_path)"
sha1=$(sha256sum "$WORK/cfg/expected.yaml" | cut -d' ' -f1)
[ "$(st "$log" manifest_sha256)" = "$sha1" ] || fail "manifest_sha256 is not the file's"
out_err 0 "$BIN" scan "$m" --log "$log"  # from another folder
grep -q "manifest *$WORK/cfg/expected.yaml (mission type software-dev) (remembered" "$WORK/out" \
  || { cat "$WORK/out"; fail "the manifest file was not reused"; }
! grep -q "note:" "$WORK/err" || { cat "$WORK/err"; fail "a note for an unchanged manifest"; }
echo "# edited" >> "$WORK/cfg/expected.yaml"
out_err 0 "$BIN" scan "$m" --log "$log"
grep -q "note: manifest $WORK/cfg/expected.yaml changed since the feature's last scan (content sha256 ${sha1:0:12}" \
  "$WORK/err" || { cat "$WORK/err"; fail "no note for the edited manifest"; }
sha2=$(sha256sum "$WORK/cfg/expected.yaml" | cut -d' ' -f1)
[ "$(st "$log" manifest_sha256)" = "$sha2" ] || fail "the new content hash is not remembered"
out_err 0 "$BIN" scan "$m" --log "$log" -q
[ ! -s "$WORK/err" ] || { cat "$WORK/err"; fail "the edit is noted twice"; }
# the remembered file gone: a usage error naming it, with the way out
rm "$WORK/cfg/expected.yaml"
out_err 2 "$BIN" scan "$m" --log "$log" -q
grep -q "the manifest remembered from its scan.*expected.yaml.*--reset-settings" "$WORK/err" \
  || { cat "$WORK/err"; fail "no clear error for a remembered manifest gone"; }
expect_exit 0 "$BIN" scan "$m" --log "$log" --mission-type software-dev -q 2> /dev/null

# ---- 6. watch reuses the settings too ---------------------------------------
m=$(sample_copy m6)
log="$WORK/log6"
expect_exit 0 "$BIN" scan "$m" --log "$log" --mission-type research --exclude 'evidence/' -q
"$BIN" watch "$m" --log "$log" --wait --debounce 100 -q &
pid=$!
CLEANUP_PIDS+=("$pid")
echo "# new" > "$m/new.md"
wait_recorded "$log" new.md
kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly"
[ "$(snap "$log" mission_type)" = research ] || fail "watch did not reuse the mission type"
[ "$(st "$log" excludes)" = "evidence/" ] || fail "watch did not reuse the excludes"
# a watch started with another setting on an unchanged tree records a run,
# so the new setting is remembered
"$BIN" watch "$m" --log "$log" --wait --exclude 'evidence/' --exclude 'no-such-dir/' --debounce 100 -q &
pid=$!
CLEANUP_PIDS+=("$pid")
for _ in $(seq 1 300); do
  [ "$(st "$log" excludes 2> /dev/null)" = "evidence/ no-such-dir/" ] && break
  sleep 0.1
done
kill -TERM "$pid"
wait "$pid" || fail "watch did not stop cleanly"
[ "$(st "$log" excludes)" = "evidence/ no-such-dir/" ] \
  || fail "a watch with a new exclude on an unchanged tree did not remember it"

# ---- 7. --endpoint NAME: scan and watch deliver to that endpoint only -------
m=$(sample_copy m7)
log="$WORK/log7"
receiver_endpoint "$log" hook
# an auto endpoint nothing listens on: tried by every plain scan, not by
# one that names another endpoint
"$BIN" endpoint add other --auto --log "$log" --url "http://127.0.0.1:$(closed_port)/x" \
  --secret-file "$SECRET" > /dev/null || fail "endpoint add other"
expect_exit 2 "$BIN" scan "$m" --log "$log" --deliver --endpoint hook -q 2> /dev/null
out_err 0 "$BIN" scan "$m" --log "$log" --endpoint hook
# (the window after a scan is bounded in time: what it leaves pending on a
# loaded machine is sent by 'dossier deliver'; the other endpoint never)
grep -q "delivery: [0-9]* delivered, 0 failed attempt(s), 0 dead-lettered, [0-9]* pending (1 endpoint(s))" \
  "$WORK/err" || { cat "$WORK/err"; fail "scan --endpoint hook: not that endpoint only"; }
"$BIN" deliver --log "$log" --endpoint hook -q || fail "deliver the rest to hook"
log_ids "$log" | sort > "$WORK/ids"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "scan --endpoint hook"
out_err 0 "$BIN" scan "$m" --log "$log" --endpoint nope
grep -q "no saved endpoint 'nope'" "$WORK/err" || { cat "$WORK/err"; fail "unknown endpoint not said"; }
echo "# watched" > "$m/watched.md"
n0=$(wc -l < "$WORK/recv.ndjson")
"$BIN" watch "$m" --log "$log" --wait --endpoint hook --debounce 100 -q &
pid=$!
CLEANUP_PIDS+=("$pid")
# each run tries the endpoint: a new file every 2 s until one delivered
for i in $(seq 1 60); do
  [ "$(wc -l < "$WORK/recv.ndjson")" -gt "$n0" ] && break
  [ $((i % 20)) -eq 0 ] && echo "# more $i" > "$m/more-$i.md"
  sleep 0.1
done
[ "$(wc -l < "$WORK/recv.ndjson")" -gt "$n0" ] || fail "watch --endpoint hook delivered nothing"
# a scan asking it for the same endpoint is answered with the window of
# the watcher's own run (one window, reported as the scan reports its own)
out_err 0 "$BIN" scan "$m" --log "$log" --endpoint hook
grep -q "answered by 'dossier watch'" "$WORK/out" || fail "scan --endpoint hook not answered by the watcher"
grep -q "delivery: [0-9]* delivered, [0-9]* failed attempt(s), 0 dead-lettered, [0-9]* pending (1 endpoint(s))" \
  "$WORK/err" || { cat "$WORK/err"; fail "the watcher's answer to scan --endpoint hook: no delivery line"; }
kill -TERM "$pid"
wait "$pid" || fail "watch --endpoint did not stop cleanly"
"$BIN" deliver --log "$log" --endpoint hook -q || fail "deliver the rest to hook"
log_ids "$log" | sort > "$WORK/ids"
recv_check "$WORK/recv.ndjson" "$WORK/ids" --exact || fail "watch --endpoint hook"
echo "scan_settings: ok"
