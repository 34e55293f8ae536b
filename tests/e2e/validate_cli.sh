#!/usr/bin/env bash
# `dossier validate FILE|-`: diagnostics name FILE:LINE, exit codes 0/1/2/3,
# --quiet, stdin, CRLF and blank lines; and its verdicts on the envelope
# cases of tests/data/payload_cases.json are the table's.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

# usage
"$BIN" validate --help > "$WORK/help" || fail "--help exit"
grep -q "Exit status" "$WORK/help" || fail "--help lacks exit status"
expect_exit 2 "$BIN" validate
expect_exit 2 "$BIN" validate a b
expect_exit 2 "$BIN" validate --bogus x
# unreadable
expect_exit 3 "$BIN" validate "$WORK/does-not-exist"
expect_exit 3 "$BIN" validate "$WORK"

# The envelope cases as NDJSON: line i+1 holds case i; expected bad lines.
"$PY" - "$SRC/tests/data/payload_cases.json" "$WORK/cases.ndjson" "$WORK/want_bad" "$WORK/good.ndjson" <<'PYEOF'
import json, sys
table = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as all_, open(sys.argv[3], "w") as bad, open(sys.argv[4], "w") as good:
    for i, c in enumerate(table["envelope_cases"], 1):
        line = json.dumps(c["envelope"], ensure_ascii=False)
        all_.write(line + "\n")
        if c["valid"]:
            good.write(line + "\n")
        else:
            bad.write("%d\n" % i)
PYEOF

# all valid: exit 0, nothing on stdout, a summary on stderr
"$BIN" validate "$WORK/good.ndjson" > "$WORK/out" 2> "$WORK/err" || fail "valid file refused: $(cat "$WORK/out")"
[ ! -s "$WORK/out" ] || fail "diagnostics for a valid file"
grep -q "0 invalid" "$WORK/err" || fail "no summary"

# the table's verdicts, line by line
expect_exit 1 "$BIN" validate "$WORK/cases.ndjson" > "$WORK/out" 2>/dev/null
sed -n 's|^'"$WORK"'/cases.ndjson:\([0-9]*\): .*|\1|p' "$WORK/out" > "$WORK/got_bad"
diff "$WORK/want_bad" "$WORK/got_bad" > /dev/null || {
  diff "$WORK/want_bad" "$WORK/got_bad"; fail "reported lines differ from the table's invalid cases"; }
[ "$(wc -l < "$WORK/out")" -eq "$(wc -l < "$WORK/want_bad")" ] || fail "one diagnostic per bad line"

# a diagnostic names the event, the field and the value
grep -q ':[0-9]*: event 01JD3Q8Z5M6W7X8Y9A0BCDEFGH: mission_dossier_artifact_indexed: payload.size_bytes: -1 is below the minimum 0$' \
  "$WORK/out" || fail "payload diagnostic: $(grep size_bytes "$WORK/out")"

# stdin, blank lines (still counted), CRLF, no final newline, non-JSON lines
good=$(head -1 "$WORK/good.ndjson")
{ printf '%s\r\n' "$good"; printf '\n   \n'; printf '%s\n' '{"event_id":' ; printf '%s\n' "$good";
  printf '%s\n' '{"a":1,"a":2}'; printf '%s' "$good"; } > "$WORK/mixed.ndjson"
expect_exit 1 "$BIN" validate - < "$WORK/mixed.ndjson" > "$WORK/out" 2>/dev/null
[ "$(cat "$WORK/out")" = "<stdin>:4: column 13: unexpected end of input
<stdin>:6: column 8: duplicate key \"a\"" ] || { cat "$WORK/out"; fail "stdin diagnostics"; }

# --quiet: nothing printed, same exit status
expect_exit 1 "$BIN" validate --quiet "$WORK/mixed.ndjson" > "$WORK/out" 2> "$WORK/err"
[ ! -s "$WORK/out" ] && [ ! -s "$WORK/err" ] || fail "--quiet printed something"
expect_exit 0 "$BIN" validate -q "$WORK/good.ndjson"

# an empty file holds no invalid event
: > "$WORK/empty.ndjson"
expect_exit 0 "$BIN" validate -q "$WORK/empty.ndjson"

# the binary's own output validates, when the log commands are available
if [ -d "$SRC/examples/sample-mission" ] && "$BIN" scan --help > /dev/null 2>&1; then
  m=$(sample_copy)
  if "$BIN" scan --mission-type software-dev --log "$WORK/log" -q "$m" > /dev/null 2>&1; then
    "$BIN" events --log "$WORK/log" > "$WORK/events.ndjson"
    [ -s "$WORK/events.ndjson" ] || fail "scan wrote no events"
    "$BIN" validate "$WORK/events.ndjson" > "$WORK/out" 2>&1 \
      || { cat "$WORK/out"; fail "the binary's own events do not validate"; }
  else
    echo "note: scan of the sample failed; own-output check not run"
  fi
fi
echo "validate cli ok"
