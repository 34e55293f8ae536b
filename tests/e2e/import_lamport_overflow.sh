#!/usr/bin/env bash
# import_lamport_overflow: an imported lamport_clock that would overflow the
# log's clock (2^64-1 used to wrap it to 0 for good) is refused: exit 1, the
# file, line and event named, nothing of that import's batch appended, the
# clock unchanged.  The largest stamp accepted still leaves room for a local
# event after it.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

LOG="$WORK/log"
"$PY" "$SRC/tests/support/gen_envelopes.py" 3 --seed 41 > "$WORK/gen.ndjson"
# stamp(FILE LINE VALUE): set the lamport_clock of line LINE (1-based)
stamp() {
  "$PY" - "$@" <<'PYEOF'
import json, sys
path, line, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(path).read().splitlines()
e = json.loads(lines[line - 1])
e["lamport_clock"] = value
lines[line - 1] = json.dumps(e)
open(path, "w").write("\n".join(lines) + "\n")
print(e["event_id"])
PYEOF
}
cp "$WORK/gen.ndjson" "$WORK/max.ndjson"
id=$(stamp "$WORK/max.ndjson" 2 18446744073709551615)
rc=0
"$BIN" import --log "$LOG" "$WORK/max.ndjson" > /dev/null 2> "$WORK/imp.err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/imp.err"; fail "import of lamport 2^64-1: exit $rc, expected 1"; }
grep -q "max.ndjson:2" "$WORK/imp.err" || { cat "$WORK/imp.err"; fail "no FILE:LINE"; }
grep -q "$id" "$WORK/imp.err" || { cat "$WORK/imp.err"; fail "the event is not named"; }
grep -q "lamport" "$WORK/imp.err" || { cat "$WORK/imp.err"; fail "the field is not named"; }
n=$("$BIN" events --log "$LOG" 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || fail "$n events of the refused batch were appended"

# 2^64-2 would leave the clock at 2^64-1: no room for a local event.
cp "$WORK/gen.ndjson" "$WORK/max2.ndjson"
stamp "$WORK/max2.ndjson" 3 18446744073709551614 > /dev/null
expect_exit 1 "$BIN" import --log "$LOG" "$WORK/max2.ndjson" -q

# The largest accepted stamp: the clock moves to 2^64-2, not past it.
cp "$WORK/gen.ndjson" "$WORK/ok.ndjson"
stamp "$WORK/ok.ndjson" 3 18446744073709551613 > /dev/null
"$BIN" import --log "$LOG" "$WORK/ok.ndjson" > /dev/null || fail "import of lamport 2^64-3"
[ "$("$BIN" events --log "$LOG" | wc -l)" -eq 3 ] || fail "the valid import did not append 3 events"
expect_exit 0 "$BIN" verify --log "$LOG" -q
echo "ok: overflowing lamport stamps refused, nothing appended; 2^64-3 accepted"
