#!/usr/bin/env bash
# --emit changed folds to the same snapshot as a full scan.  One log (A) is
# rescanned with --emit changed after each round of edits; a fresh log (B)
# gets a full scan of the same tree; `dossier snapshot --json --artifacts`
# must agree on parity hash, counts, completeness and the artifact set.
# Rounds: content edits, new and deleted files, an optional text file turned
# invalid UTF-8 (unusable -> removed), a touched-only file (no event), a
# required file deleted (incomplete) and restored, a rename.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
H="$SRC/tests/support/scan_runs.py"
m=$(sample_copy mission)
"$PY" "$H" gen-tree "$m" 300 11
A="$WORK/logA"

full_snapshot() {  # round name -> B's snapshot json
  rm -rf "$WORK/logB"
  "$BIN" scan "$m" --log "$WORK/logB" --mission-type software-dev -q || true
  "$BIN" snapshot --log "$WORK/logB" --json --artifacts > "$WORK/B-$1.json" || true
}
changed_round() {  # round name, expected "indexed missing removed" or ""
  "$BIN" scan "$m" --log "$A" --mission-type software-dev --emit changed --json \
    > "$WORK/A-$1.run.json" || true
  "$BIN" snapshot --log "$A" --json --artifacts > "$WORK/A-$1.json" || true
  full_snapshot "$1"
  "$PY" "$H" same-snapshot "$WORK/A-$1.json" "$WORK/B-$1.json" || fail "round $1: snapshots differ"
  grep -q '"emit_mode":"changed"' "$WORK/A-$1.json" || fail "round $1: not a changed-mode snapshot"
  if [ -n "$2" ]; then
    run=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['run_id'])" "$WORK/A-$1.run.json")
    "$BIN" events --log "$A" > "$WORK/A.ndjson"
    got=$("$PY" "$H" run-counts "$WORK/A.ndjson" "$run")
    [ "$got" = "$2" ] || fail "round $1: events (indexed missing removed) $got, expected $2"
  fi
}

"$BIN" scan "$m" --log "$A" --mission-type software-dev -q || fail "initial full scan"
total=$(find "$m" -type f ! -path '*/.*' | wc -l)
changed_round r0 "0 0 0"            # nothing changed: nothing re-emitted

# round 1: 2 edits, 1 new file, 1 deleted, 1 optional .md made invalid UTF-8
printf 'changed\n' >> "$m/research.md"
printf 'changed too\n' >> "$m/a/f00000.md"
printf 'brand new\n' > "$m/evidence/run-1/new.log"
rm "$m/ab/f00003.bin"
printf '\xff\xfe broken\n' > "$m/data-model.md"
changed_round r1 "3 0 2"

# round 2: touch only (same content) + delete the required spec.md
touch "$m/plan.md"
cp "$m/spec.md" "$WORK/spec.md.saved"
rm "$m/spec.md"
changed_round r2 "0 1 1"

# round 3: restore spec.md, rename a file, repair data-model.md
cp "$WORK/spec.md.saved" "$m/spec.md"
mv "$m/a-b/f00002.bin" "$m/a-b/renamed.bin"
printf '# data model\n' > "$m/data-model.md"
changed_round r3 "3 0 1"

# a full scan in between, then changed again: still the same
"$BIN" scan "$m" --log "$A" --mission-type software-dev -q || fail "full scan on A"
"$PY" "$H" mutate "$m" 5 20
changed_round r4 "20 0 0"

"$BIN" events --log "$A" > "$WORK/A.ndjson"
"$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/A.ndjson" > /dev/null \
  || fail "events of log A do not validate"
expect_exit 0 "$BIN" replay --verify --log "$A"
echo "scan_emit_changed ok ($total files)"
