#!/usr/bin/env bash
# DOSSIER_BATCH_EVENTS that is not a number of events is a usage error naming
# the variable and its value (scan and import), before anything is created;
# a valid value is used (a scan in batches of 3 records the same run).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
m=$(sample_copy)
for v in abc -5 0 12x 99999999999; do
  rc=0
  DOSSIER_BATCH_EVENTS=$v "$BIN" scan "$m" --log "$WORK/log" -q 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "scan with DOSSIER_BATCH_EVENTS=$v: exit $rc"
  grep -qF "DOSSIER_BATCH_EVENTS='$v'" "$WORK/err" || fail "error does not name the value: $(cat "$WORK/err")"
  [ ! -e "$WORK/log" ] || fail "a log was created with DOSSIER_BATCH_EVENTS=$v"
  rc=0
  DOSSIER_BATCH_EVENTS=$v "$BIN" import /dev/null --log "$WORK/log" -q 2> /dev/null || rc=$?
  [ "$rc" -eq 2 ] || fail "import with DOSSIER_BATCH_EVENTS=$v: exit $rc"
done
DOSSIER_BATCH_EVENTS=3 "$BIN" scan "$m" --mission-type software-dev --log "$WORK/log" -q \
  || fail "scan with DOSSIER_BATCH_EVENTS=3"
"$BIN" events --log "$WORK/log" --type mission_dossier_artifact_indexed | wc -l > "$WORK/n"
[ "$(cat "$WORK/n")" -eq 14 ] || fail "batches of 3: $(cat "$WORK/n") indexed events"
echo "ok"
