#!/usr/bin/env bash
# import_hostile: `dossier import` of NDJSON built to break a parser --
# nesting 33..64 deep (past msgpack-c's 32 levels, within the JSON parser's
# 64) and past 64, huge numbers, duplicate keys, wrong types, truncated
# lines, NUL bytes, invalid UTF-8, a byte order mark, a 20 MB line.  Each
# file holds one bad line among valid ones: the import must exit 1 naming
# FILE:LINE, append nothing (the event count of an existing log does not
# move), and `dossier validate` must agree on the line.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

log="$WORK/log"
m=$(sample_copy m)
"$BIN" scan "$m" --log "$log" -q 2>/dev/null || fail "scan"
"$BIN" events --log "$log" > "$WORK/good.ndjson"
before=$("$BIN" events --log "$log" | wc -l)
# Valid envelopes of another log, to surround each bad line with.
"$PY" "$SRC/tests/support/gen_envelopes.py" 6 --seed 9 > "$WORK/other.ndjson"

"$PY" - "$WORK/other.ndjson" "$WORK/cases" <<'PYEOF'
import json, os, sys
good = [l.rstrip("\n") for l in open(sys.argv[1])]
out = sys.argv[2]
os.makedirs(out)
ev = json.loads(good[0])
def env(**over):
    e = json.loads(good[0])
    e.update(over)
    return json.dumps(e)
def payload(**over):
    e = json.loads(good[0])
    e["payload"].update(over)
    return json.dumps(e)
g1 = json.dumps(json.loads(good[1]))   # one spacing style for the edits below
def nest(n):
    return env(correlation_id=None, causation_id=None).replace(
        '"causation_id": null', '"causation_id": ' + "[" * n + "]" * n)
cases = {
    "nested40": nest(40).encode(),           # msgpack-c decodes only 32 levels
    "nested64": nest(63).encode(),
    "nested100": nest(100).encode(),         # past the JSON parser's 64
    "huge_float": payload(size_bytes=1).replace('"size_bytes": 1', '"size_bytes": 1e400').encode(),
    "huge_int": payload(size_bytes=1).replace('"size_bytes": 1', '"size_bytes": 184467440737095516160').encode(),
    "negative": payload(size_bytes=-1).encode(),
    "fraction": payload(size_bytes=1.5).encode(),
    "lamport_huge": env(lamport_clock=1).replace('"lamport_clock": 1', '"lamport_clock": 18446744073709551616').encode(),
    "dup_key": env().replace('{"event_id"', '{"event_type": "x", "event_id"', 1).encode(),
    "dup_payload_key": payload().replace('"artifact_key"', '"artifact_key": "a", "artifact_key"', 1).encode(),
    "wrong_type_str": env(lamport_clock="7").encode(),
    "wrong_type_obj": payload(artifact_key={"a": 1}).encode(),
    "wrong_type_arr": env(payload=[1, 2]).encode(),
    "null_payload": env(payload=None).encode(),
    "truncated": g1[: len(g1) // 2].encode(),
    "truncated_string": g1[:40].encode(),
    "nul_byte": g1.replace('"node_id": "', '"node_id": "a\\u0000', 1).encode()[:-1] + b"\x00}",
    "invalid_utf8": g1.encode().replace(b'"feature_slug": "', b'"feature_slug": "\xff\xfe', 1),
    "bom": b"\xef\xbb\xbf" + g1.encode(),
    "trailing": (g1 + " {}").encode(),
    "not_object": b"[1,2,3]",
    "bare_word": b"nul",
    "huge_line": env(correlation_id="x" * (20 << 20)).replace("x" * 10, "\\u00", 1).encode(),
}
for name, bad in cases.items():
    with open(f"{out}/{name}.ndjson", "wb") as f:
        for i, l in enumerate(good):
            if i == 3:
                f.write(bad + b"\n")   # line 4
            f.write(l.encode() + b"\n")
PYEOF

n=0
for f in "$WORK"/cases/*.ndjson; do
  name=$(basename "$f" .ndjson)
  rc=0
  "$BIN" import "$f" --log "$log" -q > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 1 ] || { head -c 600 "$WORK/err"; fail "$name: import exit $rc, expected 1"; }
  grep -aq "$f:4: " "$WORK/err" || { head -c 600 "$WORK/err"; fail "$name: error does not name line 4"; }
  grep -aq "nothing was imported" "$WORK/err" || fail "$name: does not say nothing was imported"
  [ "$(grep -ac "^dossier import: $f:[0-9]*:" "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "$name: more than the bad line reported"; }
  [ "$(wc -c < "$WORK/err")" -lt 4096 ] || fail "$name: the error message is not short"
  rc=0
  "$BIN" validate "$f" > "$WORK/vout" 2>/dev/null || rc=$?
  [ "$rc" -eq 1 ] && grep -aq "$f:4: " "$WORK/vout" || fail "$name: validate does not flag line 4 (exit $rc)"
  n=$((n + 1))
done
[ "$("$BIN" events --log "$log" | wc -l)" -eq "$before" ] || fail "something was appended"
# and into a log that does not exist yet: it is not even created
expect_exit 1 "$BIN" import "$WORK/cases/nested40.ndjson" --log "$WORK/fresh" -q 2>/dev/null
[ ! -e "$WORK/fresh" ] || fail "a refused import created the log"
expect_exit 0 "$BIN" verify --log "$log" -q
echo "import_hostile: $n hostile files refused at their line, nothing appended"
