#!/usr/bin/env bash
# --profile spec-kitty-3 against spec-kitty's own values (issue 19; the
# missions and expected files in tests/data/interop/, docs/interop.md):
#   index: presence and per-file hash of every file of m1..m4, with and
#     without a manifest (built-ins of spec-kitty's current types and steps,
#     and our manifest with a key under two steps), and the snapshot hash
#     from the present files;
#   scan + snapshot: the snapshot hash the log's projection computes;
#   churn: m1 -> m2 (lane, agent, history, body edits of WP files) is no
#     drift under spec-kitty-3, and drift (exit 4) under wp04;
#   a baseline of one profile and a snapshot of the other: not compared,
#     exit 5, no drift event;
#   the manifest with a repeated key is accepted under both profiles.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
D="$SRC/tests/data/interop"
parity() { "$PY" "$SRC/tests/support/sk3_parity.py" "$@" || fail "parity: $1"; }

# 1. index, every mission, with the step each expected file was computed at
while read -r m type step; do
  "$BIN" index --profile spec-kitty-3 -q "$D/missions/$m" > "$WORK/$m.nd" || true
  parity "$D/expected/$m.json" "$WORK/$m.nd"
  "$BIN" index --profile spec-kitty-3 --mission-type "$type" --step "$step" -q \
      "$D/missions/$m" > "$WORK/$m.typed.nd" || true
  parity "$D/expected/$m.json" "$WORK/$m.typed.nd"
done <<'LIST'
m1-software-dev software-dev tasks_finalize
m2-software-dev-churn software-dev tasks_finalize
m3-research research gathering
m4-documentation documentation generate
LIST
"$BIN" index --profile spec-kitty-3 --mission-type documentation --step publish -q \
    "$D/missions/m4-documentation" > "$WORK/m4p.nd" || true
parity "$D/expected/m4-documentation.publish.json" "$WORK/m4p.nd"
grep -q '"relative_path":"release.md".*"reason_code":"not_found"' "$WORK/m4p.nd" \
  || fail "documentation at publish: release.md not reported missing"

# 2. our manifest: output.tasks.per_wp under two steps and evidence.data under
#    a step and optional_always; accepted by both profiles
for p in wp04 spec-kitty-3; do
  expect_exit 1 "$BIN" index --profile "$p" --manifest "$D/manifests/interop-custom.yaml" \
      --step review -q "$D/missions/m1-software-dev" > "$WORK/custom-$p.nd"
done
parity "$D/expected/m1-software-dev.interop-custom.json" "$WORK/custom-spec-kitty-3.nd"
# wp04 hashes raw bytes: its snapshot hash is not spec-kitty's
if "$PY" "$SRC/tests/support/sk3_parity.py" "$D/expected/m1-software-dev.json" \
    "$WORK/custom-wp04.nd" > /dev/null; then fail "wp04 output matched spec-kitty-3 values"; fi
# the built-in types are spec-kitty's under spec-kitty-3 only
expect_exit 2 "$BIN" index --mission-type documentation -q "$D/missions/m4-documentation" 2>/dev/null

# 3. scan + snapshot: the projection's snapshot hash is spec-kitty's
m="$WORK/mission"
cp -r "$D/missions/m1-software-dev" "$m"
log="$WORK/log"
snap_hash() { "$BIN" snapshot --log "$log" --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("snapshot_hash", "sha256:" + d["parity_hash_sha256"] + " (wp04)"))'; }
want1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_hash"])' "$D/expected/m1-software-dev.json")
# a wp04 scan first fills the scan cache with raw-byte hashes: the
# spec-kitty-3 scan must not take them (nor the wp04 scan after it its hashes)
"$BIN" scan --log "$log" -q "$m" || fail "wp04 scan m1"
"$BIN" scan --profile spec-kitty-3 --log "$log" -q "$m" || fail "scan m1"
[ "$(snap_hash)" = "$want1" ] || fail "snapshot hash $(snap_hash), spec-kitty $want1"
"$BIN" status --log "$log" | grepq "profile spec-kitty-3" || fail "status does not show the profile"

# 4. churn under spec-kitty-3: no drift
expect_exit 0 "$BIN" baseline accept --log "$log"
replace_with() { find "$m" -mindepth 1 -maxdepth 1 ! -name .dossier -exec rm -rf {} +; cp -r "$D/missions/$1/." "$m/"; }
replace_with m2-software-dev-churn
"$BIN" scan --profile spec-kitty-3 --log "$log" -q "$m" || fail "scan m2"
[ "$(snap_hash)" = "$want1" ] || fail "churn changed the spec-kitty-3 snapshot hash"
expect_exit 0 "$BIN" drift --log "$log"

# 5. a wp04 snapshot against the spec-kitty-3 baseline: not comparable
"$BIN" scan --profile wp04 --log "$log" -q "$m" || fail "wp04 scan"   # given: scan would reuse the remembered profile
expect_exit 5 "$BIN" drift --log "$log"
wp01=$("$BIN" snapshot --log "$log" --artifacts --json | "$PY" -c 'import json,sys; print([a["content_hash_sha256"] for a in json.load(sys.stdin)["artifacts"] if a["relative_path"] == "tasks/WP01-setup.md"][0])')
[ "$wp01" = "$(sha256sum "$m/tasks/WP01-setup.md" | cut -d" " -f1)" ] \
  || fail "wp04 scan after a spec-kitty-3 one reused a projection hash from the cache"
# --profile on the readers: the latest snapshot (wp04) is not a spec-kitty-3 one
expect_exit 0 "$BIN" snapshot --log "$log" --profile wp04 > /dev/null
expect_exit 1 "$BIN" snapshot --log "$log" --profile spec-kitty-3 2> "$WORK/err" > /dev/null
grep -q "scanned with profile wp04, not spec-kitty-3" "$WORK/err" || fail "snapshot --profile message"
expect_exit 1 "$BIN" status --log "$log" --profile spec-kitty-3 > /dev/null 2>&1
expect_exit 5 "$BIN" drift --log "$log" --profile spec-kitty-3 > /dev/null 2>&1
expect_exit 2 "$BIN" drift --log "$log" --profile wp05 2> "$WORK/err"
grep -q "wp04, spec-kitty-3" "$WORK/err" || fail "unknown profile: the known ones are not named"
"$BIN" drift --log "$log" --json > "$WORK/drift.json" || true
"$PY" - "$WORK/drift.json" <<'PYEOF' || fail "cross-profile drift report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "not_compared", d
assert any("profile" in w for w in d.get("why", [])) or "profile" in json.dumps(d), d
PYEOF
[ "$("$BIN" events --log "$log" --type mission_dossier_parity_drift_detected | wc -l)" -eq 0 ] \
  || fail "a cross-profile comparison emitted a drift event"

# 6. churn under wp04: drift (raw bytes of WP files changed)
replace_with m1-software-dev
"$BIN" scan --log "$log" -q "$m" || fail "wp04 scan m1"
expect_exit 0 "$BIN" baseline accept --log "$log"
replace_with m2-software-dev-churn
"$BIN" scan --log "$log" -q "$m" || fail "wp04 scan m2"
expect_exit 4 "$BIN" drift --log "$log"
"$BIN" validate --log "$log" > /dev/null 2>&1 || "$BIN" verify --log "$log" > /dev/null \
  || fail "log does not verify"
echo "ok"
