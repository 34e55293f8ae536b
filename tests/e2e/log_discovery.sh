#!/usr/bin/env bash
# Every report finds the log the way `scan` wrote it: `dossier status m5`
# reads m5/.dossier, and with no argument the nearest .dossier folder of the
# current folder or its parents is used, as git finds .git.  When there is
# none, the error names the folders looked in.  A symlink named .dossier is
# not followed; --log and $DOSSIER_LOG still come first.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
unset DOSSIER_LOG
m=$(sample_copy m5)
cd "$WORK"
"$BIN" scan m5 --mission-type software-dev -q

for c in status snapshot drift log; do
  expect_exit 0 "$BIN" "$c" m5
done
"$BIN" status m5 > "$WORK/status.txt"
grep -q '^m5: complete' "$WORK/status.txt" || fail "status m5 shows the wrong feature"
expect_exit 0 "$BIN" baseline accept m5
expect_exit 0 "$BIN" baseline show m5
expect_exit 0 "$BIN" diff m5

# from inside the mission, any depth: found by walking up
(cd "$m/tasks" && "$BIN" snapshot) > "$WORK/snap.txt" || fail "snapshot from m5/tasks"
grep -q '^Feature: *m5' "$WORK/snap.txt" || fail "found the wrong log from m5/tasks"
(cd "$m" && "$BIN" status) > /dev/null || fail "status from m5"

# nowhere to be found: exit 3, the folders tried are named
mkdir -p "$WORK/empty/a/b"
rc=0
(cd "$WORK/empty/a/b" && "$BIN" status) 2> "$WORK/err" || rc=$?
[ "$rc" -eq 3 ] || fail "no log: exit $rc"
grep -q "no .dossier folder in $WORK/empty/a/b, $WORK/empty/a, $WORK/empty, " "$WORK/err" \
  || fail "error does not name the folders tried: $(cat "$WORK/err")"

# a planted symlink named .dossier is not followed
mkdir -p "$WORK/planted/x"
ln -s "$m/.dossier" "$WORK/planted/.dossier"
rc=0
(cd "$WORK/planted/x" && "$BIN" status) > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "a .dossier symlink was followed (exit $rc)"

# explicit choices come first
"$BIN" scan m5 --mission-type software-dev --log "$WORK/other" -q
(cd "$m" && DOSSIER_LOG="$WORK/other" "$BIN" log --json) > "$WORK/other.json"
grep -q '"is_baseline":false' "$WORK/other.json" || fail "DOSSIER_LOG: $(cat "$WORK/other.json")"
[ "$( (cd "$m" && "$BIN" log --log "$WORK/other") | grep -c '^01')" -eq 1 ] || fail "--log"
(cd "$m" && "$BIN" log) > "$WORK/near.txt"
grep -q 'baseline$' "$WORK/near.txt" || fail "the nearest log (with its baseline): $(cat "$WORK/near.txt")"
# options may follow the mission folder
for c in status snapshot drift log; do
  "$BIN" "$c" m5 --json > "$WORK/$c.json" || [ "$c" = drift ] || fail "$c m5 --json"
  "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/$c.json" || fail "$c m5 --json: not JSON"
done
expect_exit 2 "$BIN" status m5 extra
echo "ok"
