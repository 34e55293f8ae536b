#!/usr/bin/env bash
# Idempotency and the lamport merge rule through the CLI:
#   export (`dossier events`) -> import into the same log adds 0
#   -> import into a fresh log reproduces the same event_ids and payloads
#   -> importing into a log with its own history merges lamport clocks as
#      max(local, stamp) + 1 while the stored envelopes keep their stamps.
# Also: filters of `dossier events`, a bad line refusing the whole file with
# FILE:LINE reports, and PascalCase event types accepted on import.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

a="$WORK/a"; b="$WORK/b"; c="$WORK/c"
m=$(sample_copy mission)

# Log a: three scans (a clock well ahead of b's).  Log b: one scan.
for i in 1 2 3; do "$BIN" scan --log "$a" -q "$m" || [ $? -eq 1 ] || fail "scan a"; done
"$BIN" scan --log "$b" -q "$m" || [ $? -eq 1 ] || fail "scan b"

"$BIN" events --log "$a" > "$WORK/a.ndjson" || fail "export a"
n=$(wc -l < "$WORK/a.ndjson")
[ "$n" -gt 10 ] || fail "expected a few dozen events in a, got $n"

# 1. The same log: nothing added.
out=$("$BIN" import "$WORK/a.ndjson" --log "$a") || fail "re-import into a"
[ "$out" = "$WORK/a.ndjson: $n envelopes, 0 added, $n duplicates" ] || fail "re-import said: $out"
[ "$("$BIN" events --log "$a" | wc -l)" -eq "$n" ] || fail "re-import changed a"

# 2. A fresh log: the same event_ids and payloads, in the same order; twice
#    from stdin adds nothing more.
out=$("$BIN" import "$WORK/a.ndjson" --log "$c") || fail "import into fresh c"
[ "$out" = "$WORK/a.ndjson: $n envelopes, $n added, 0 duplicates" ] || fail "fresh import said: $out"
out=$("$BIN" import - --log "$c" < "$WORK/a.ndjson") || fail "second import into c"
[ "$out" = "<stdin>: $n envelopes, 0 added, $n duplicates" ] || fail "second import said: $out"
"$BIN" events --log "$c" > "$WORK/c.ndjson" || fail "export c"
"$PY" - "$WORK/a.ndjson" "$WORK/c.ndjson" <<'PYEOF' || fail "fresh log differs from its source"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
c = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(c), (len(a), len(c))
for x, y in zip(a, c):
    assert x == y, (x["event_id"], y["event_id"])   # every field, stamps included
ids = [x["event_id"] for x in c]
assert len(set(ids)) == len(ids)
PYEOF
cmp -s "$WORK/a.ndjson" "$WORK/c.ndjson" || fail "exports of a and c are not byte-identical"

# 3. Lamport merge into b, which has history of its own.
"$BIN" events --log "$b" > "$WORK/b0.ndjson" || fail "export b"
nb=$(wc -l < "$WORK/b0.ndjson")
expect=$("$PY" - "$WORK/b0.ndjson" "$WORK/a.ndjson" <<'PYEOF'
import json, sys
local = [json.loads(l) for l in open(sys.argv[1])]
clock = max(e["lamport_clock"] for e in local)      # b's clock: one tick per local event
for e in (json.loads(l) for l in open(sys.argv[2])):
    clock = max(clock, e["lamport_clock"]) + 1
print(clock)
PYEOF
)
"$BIN" import "$WORK/a.ndjson" --log "$b" -q || fail "import into b"
"$BIN" scan --log "$b" -q "$m" || [ $? -eq 1 ] || fail "scan b after import"
"$BIN" events --log "$b" --since $((nb + n)) --limit 1 > "$WORK/next.ndjson"
got=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["lamport_clock"])' "$WORK/next.ndjson")
[ "$got" -eq $((expect + 1)) ] || fail "first local event after import stamped $got, want $((expect + 1))"
# the imported envelopes kept their own stamps
"$BIN" events --log "$b" --since "$nb" --limit "$n" > "$WORK/b_imported.ndjson"
cmp -s "$WORK/b_imported.ndjson" "$WORK/a.ndjson" || fail "imported envelopes changed in b"

# 4. Filters: --feature, --type (both spellings), --since/--limit.
t1=$("$BIN" events --log "$a" --type mission_dossier_artifact_indexed | wc -l)
t2=$("$BIN" events --log "$a" --type MissionDossierArtifactIndexed | wc -l)
want=$(grep -c '"event_type":"mission_dossier_artifact_indexed"' "$WORK/a.ndjson")
[ "$t1" -eq "$want" ] && [ "$t2" -eq "$want" ] || fail "--type: $t1 / $t2, want $want"
[ "$("$BIN" events --log "$a" --feature mission | wc -l)" -eq "$n" ] || fail "--feature mission"
[ "$("$BIN" events --log "$a" --feature nope | wc -l)" -eq 0 ] || fail "--feature nope"
"$BIN" events --log "$a" --since 2 --limit 3 > "$WORK/slice.ndjson"
sed -n '3,5p' "$WORK/a.ndjson" | cmp -s - "$WORK/slice.ndjson" || fail "--since 2 --limit 3"
expect_exit 2 "$BIN" events --log "$a" --type NoSuchEvent
expect_exit 2 "$BIN" events --log "$a" --since -1
expect_exit 3 "$BIN" events --log "$WORK/none"

# 5. One bad line: nothing from the file is appended; every problem reported.
head -1 "$WORK/a.ndjson" | "$PY" -c '
import json, sys
e = json.loads(sys.stdin.readline())
good = dict(e, event_id="7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
bad = json.loads(json.dumps(good)); bad["event_id"] = "7ZZZZZZZZZZZZZZZZZZZZZZZZY"
bad["payload"]["content_hash_sha256"] = "XYZ"
print(json.dumps(good)); print(json.dumps(bad)); print("{not json"); print()
' > "$WORK/bad.ndjson"
before=$("$BIN" events --log "$c" | wc -l)
expect_exit 1 "$BIN" import "$WORK/bad.ndjson" --log "$c" 2> "$WORK/bad.err"
grep -q "bad.ndjson:2: .*content_hash_sha256" "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "line 2 not reported"; }
grep -q "bad.ndjson:3: " "$WORK/bad.err" || { cat "$WORK/bad.err"; fail "line 3 not reported"; }
[ "$("$BIN" events --log "$c" | wc -l)" -eq "$before" ] || fail "a bad file appended something"

# 6. PascalCase event_type on import is stored in snake_case.
head -1 "$WORK/a.ndjson" | "$PY" -c '
import json, sys
e = json.loads(sys.stdin.readline())
e["event_id"] = "7ZZZZZZZZZZZZZZZZZZZZZZZZX"
e["event_type"] = "MissionDossierArtifactIndexed"
print(json.dumps(e))' > "$WORK/pascal.ndjson"
out=$("$BIN" import "$WORK/pascal.ndjson" --log "$c") || fail "PascalCase import"
[ "$out" = "$WORK/pascal.ndjson: 1 envelope, 1 added, 0 duplicates" ] || fail "PascalCase said: $out"
"$BIN" events --log "$c" --since "$before" | grepq '"event_id":"7ZZZZZZZZZZZZZZZZZZZZZZZZX","event_type":"mission_dossier_artifact_indexed"' \
  || fail "PascalCase event not stored in snake_case"

echo "events_import: $n events exported, re-imported (0 added), reproduced, merged (clock $expect)"
