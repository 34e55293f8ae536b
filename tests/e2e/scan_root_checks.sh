#!/usr/bin/env bash
# scan_root_checks: `dossier scan` checks the mission root and the default log
# path before creating anything (issue 17, smaller points).
#   - a regular file or a FIFO as MISSION_DIR: exit 3, "not a folder", and no
#     log is created, also where --log or $DOSSIER_LOG points;
#   - MISSION_DIR/.dossier planted as a symlink: exit 3 naming it, nothing is
#     written where it points; --log naming that link is the user's choice
#     and works.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
unset DOSSIER_LOG

echo "not a mission" > "$WORK/file.txt"
mkfifo "$WORK/fifo"
for root in "$WORK/file.txt" "$WORK/fifo"; do
  rm -rf "$WORK/L"
  rc=0
  timeout 20 "$BIN" scan "$root" --log "$WORK/L" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || fail "scan $root --log: exit $rc, want 3"
  grep -q "not a folder" "$WORK/err" || fail "scan $root: error does not say 'not a folder': $(cat "$WORK/err")"
  [ ! -e "$WORK/L" ] || fail "scan $root --log L created L before failing"
  rc=0
  DOSSIER_LOG="$WORK/L" timeout 20 "$BIN" scan "$root" 2> /dev/null || rc=$?
  [ "$rc" -eq 3 ] || fail "DOSSIER_LOG=L scan $root: exit $rc, want 3"
  [ ! -e "$WORK/L" ] || fail "DOSSIER_LOG=L scan $root created L before failing"
  rc=0
  timeout 20 "$BIN" scan "$root" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || fail "scan $root: exit $rc, want 3"
  grep -q "not a folder" "$WORK/err" || fail "scan $root (default log): $(cat "$WORK/err")"
done

# A planted .dossier symlink does not redirect the record.
m=$(sample_copy m)
mkdir "$WORK/elsewhere"
ln -s "$WORK/elsewhere" "$m/.dossier"
rc=0
"$BIN" scan "$m" --mission-type software-dev 2> "$WORK/err" > /dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "scan with a planted .dossier symlink: exit $rc, want 3"
grep -q "$m/.dossier" "$WORK/err" || fail "the error does not name the link: $(cat "$WORK/err")"
grep -q "symlink" "$WORK/err" || fail "the error does not say symlink: $(cat "$WORK/err")"
[ -z "$(ls -A "$WORK/elsewhere")" ] || fail "something was written through the planted link"

# Named explicitly, the link is followed.
expect_exit 0 "$BIN" scan "$m" --mission-type software-dev --log "$m/.dossier" -q
[ -e "$WORK/elsewhere/CURRENT" ] || fail "--log through a symlink did not write the log there"
echo "ok"
