#!/usr/bin/env bash
# scan_max_file_size: `dossier scan --max-file-size SIZE` caps the bytes read
# per file as `index` does (issue 17 item 12): a required artifact over the
# cap is recorded missing with the cap as its reason and is not read; one at
# the cap is hashed; a rescan with the cap does not take the larger file's
# hash from the scan cache; a bad SIZE is a usage error before anything is
# created.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M="$WORK/m"
mkdir -p "$M"
head -c 1024 /dev/zero | tr '\0' 'a' > "$M/small.txt"     # 1 KiB: at the cap
head -c 1025 /dev/zero | tr '\0' 'b' > "$M/big.txt"       # over it
cat > "$WORK/manifest.yaml" <<'YAML'
schema_version: "1.0"
mission_type: "capped"
manifest_version: "1"
required_always:
  - artifact_key: "input.small"
    artifact_class: "input"
    path_pattern: "small.txt"
    blocking: true
  - artifact_key: "input.big"
    artifact_class: "input"
    path_pattern: "big.txt"
    blocking: true
YAML
LOG="$WORK/log"

last_run() {  # the big.txt event of the latest run: type and reason
  "$BIN" events --log "$LOG" | "$PY" -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin]
runs = [e for e in evs if e["event_type"] == "dossier_scan_completed"]
run = runs[-1]["correlation_id"]
for e in evs:
    p = e["payload"]
    if e.get("correlation_id") == run and "big.txt" in json.dumps(p):
        print(e["event_type"], p.get("reason_detail") or p.get("reason") or "")'
}

for bad in 0 1X 1.5G ""; do
  rc=0
  "$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --log "$LOG" --max-file-size "$bad" -q \
    > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "--max-file-size '$bad': exit $rc, want 2"
  grep -q -- "--max-file-size" "$WORK/err" || fail "--max-file-size '$bad': $(cat "$WORK/err")"
  [ ! -e "$LOG" ] || fail "--max-file-size '$bad' created the log"
done

rc=0
"$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --log "$LOG" --max-file-size 1K -q || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "scan --max-file-size 1K: exit $rc"
last_run | grepq "^mission_dossier_artifact_missing .*larger than the size cap: 1025 bytes, cap 1024" \
  || fail "big.txt not recorded missing over the cap: $(last_run)"

"$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --log "$LOG" -q || fail "scan without a cap"
last_run | grepq "^mission_dossier_artifact_indexed" || fail "default cap: $(last_run)"

rc=0
"$BIN" scan "$M" --manifest "$WORK/manifest.yaml" --log "$LOG" --max-file-size 1K -q || rc=$?
last_run | grepq "^mission_dossier_artifact_missing .*cap 1024" \
  || fail "the scan cache bypassed the cap: $(last_run)"
echo "scan_max_file_size: capped, named, not taken from the cache; bad sizes refused"
