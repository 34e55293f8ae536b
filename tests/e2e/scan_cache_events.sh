#!/usr/bin/env bash
# The scan cache changes nothing about what is recorded: a warm rescan that
# takes every digest from the cache (stat tuples unchanged), and one that
# re-reads touched files for XXH3 only, emit exactly the events a --rehash
# run emits (compared field by field except event ids, timestamps, lamport
# clocks and run ids), the cache is really used, and every event validates.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
H="$SRC/tests/support/scan_runs.py"
m="$WORK/mission"
log="$WORK/log"
"$PY" "$H" gen-tree "$m" 400 7
cp "$SRC/examples/sample-mission/spec.md" "$m/spec.md"
touch -d @1577836800 "$m/spec.md"
n=$(find "$m" -type f | wc -l)

scan() { "$BIN" scan "$m" --log "$log" --mission-type software-dev --json "$@"; }
field() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d' + sys.argv[2]))" "$@"; }

scan > "$WORK/r1.json" || fail "cold scan"
[ "$(field "$WORK/r1.json" "['cache']['unchanged']")" = 0 ] || fail "cold scan used a cache"
scan > "$WORK/r2.json" || fail "warm scan"
[ "$(field "$WORK/r2.json" "['cache']['unchanged']")" = "$n" ] \
  || fail "warm scan did not take all $n files from the cache: $(cat "$WORK/r2.json")"
scan --rehash > "$WORK/r3.json" || fail "rehash scan"
[ "$(field "$WORK/r3.json" "['cache']['unchanged']")" = 0 ] || fail "--rehash used the cache"
"$BIN" events --log "$log" > "$WORK/events.ndjson"
"$PY" "$H" same-events "$WORK/events.ndjson" "$(field "$WORK/r2.json" "['run_id']")" \
  "$(field "$WORK/r3.json" "['run_id']")" || fail "cached run differs from --rehash run"
"$PY" "$H" same-events "$WORK/events.ndjson" "$(field "$WORK/r1.json" "['run_id']")" \
  "$(field "$WORK/r3.json" "['run_id']")" || fail "cold run differs from --rehash run"

# touch every .md (same content, new mtime) and rewrite some .bin files
# with other content of the same size: XXH3 path and the second hash
find "$m" -name '*.md' -exec touch -d @1600000000 {} +
"$PY" - "$m" <<'PYEOF'
import os, sys
root = sys.argv[1]
n = 0
for dp, _, fs in sorted(os.walk(root)):
    for f in sorted(fs):
        p = os.path.join(dp, f)
        if f.endswith(".bin") and n < 25 and os.path.getsize(p) > 0:
            data = bytearray(open(p, "rb").read())
            data[0] ^= 0xFF
            open(p, "wb").write(bytes(data))
            os.utime(p, (1600000000, 1600000000))
            n += 1
PYEOF
scan > "$WORK/r4.json" || fail "scan after edits"
[ "$(field "$WORK/r4.json" "['cache']['xxh3_reused']")" -gt 50 ] \
  || fail "touched files were not re-read for XXH3: $(cat "$WORK/r4.json")"
scan --rehash > "$WORK/r5.json" || fail "rehash after edits"
"$BIN" events --log "$log" > "$WORK/events.ndjson"
"$PY" "$H" same-events "$WORK/events.ndjson" "$(field "$WORK/r4.json" "['run_id']")" \
  "$(field "$WORK/r5.json" "['run_id']")" || fail "XXH3-path run differs from --rehash run"
# and the recorded hashes are the files' real SHA-256 (independent: sha256sum)
run4=$(field "$WORK/r4.json" "['run_id']")
"$PY" - "$WORK/events.ndjson" "$run4" "$m" <<'PYEOF' || fail "recorded hashes differ from sha256sum"
import hashlib, json, os, sys
evs, run, root = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
for line in open(evs):
    e = json.loads(line)
    if e["correlation_id"] == run and e["event_type"] == "mission_dossier_artifact_indexed":
        p = e["payload"]
        want = hashlib.sha256(open(os.path.join(root, p["relative_path"]), "rb").read()).hexdigest()
        assert p["content_hash_sha256"] == want, p["relative_path"]
        n += 1
assert n > 400, n
PYEOF
"$PY" "$SRC/tests/support/validate_events.py" "$SRC/schemas" "$WORK/events.ndjson" > /dev/null \
  || fail "events do not validate"
# the tree's walk order (a/..., a-b..., a.txt, ab/...) is not byte order:
# the scanner's merge sort puts the result in byte order all the same
"$BIN" index "$m" -q > "$WORK/index.ndjson" || fail "index"
"$PY" - "$WORK/index.ndjson" <<'PYEOF' || fail "index output is not sorted by relative_path"
import json, sys
paths = [json.loads(l)["relative_path"].encode() for l in open(sys.argv[1])]
assert paths == sorted(paths) and len(paths) > 400, paths[:5]
PYEOF
echo "scan_cache_events ok"
